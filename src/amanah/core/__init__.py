"""Core: configuration, database engine and transactions, errors, clock, ids and limits.

Nothing here knows about a domain; every other package may import it.
"""
