"""Operators' reports: read-only views across domains (they read the ledger's and the trades'
tables directly, and change nothing). ``liabilities``: what is still owed, before a closure."""
