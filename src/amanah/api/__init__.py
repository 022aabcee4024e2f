"""The HTTP API (FastAPI): one router per domain, errors mapped to API.md's shape in one place."""
