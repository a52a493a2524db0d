"""Parley: the product's domain, storage and real-time delivery."""
