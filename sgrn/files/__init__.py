"""Files on disk: atomic writes, HDF5 with provenance and a complete mark, the features file, logs."""
