"""Parley's tests, one directory per kind (tests/README.md)."""
