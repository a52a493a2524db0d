"""DynamoDB storage: the PynamoDB models and every access pattern Parley uses.

Each function here is one documented access pattern (see docs/data-model.md): a GetItem,
a Query on a key or index, or a (conditional) write. No Scan.
"""
