"""Deployment and local-run tooling for Parley (not part of the Lambda bundle)."""
