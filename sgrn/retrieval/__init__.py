"""Retrieval over packed binary codes: sign and packing, Hamming ranking (codes) and its metrics (metrics)."""
