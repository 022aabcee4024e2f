"""Operators: the people who run an Amanah installation, and their API keys (``ak_…``).

A key is shown once when created (``amanah admin-keys create``) and only its SHA-256 hash is
stored: keys are 256-bit random, so a fast hash is enough (there is nothing to brute-force)."""
