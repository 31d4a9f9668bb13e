"""SGRN unsupervised cross-modal hashing."""
