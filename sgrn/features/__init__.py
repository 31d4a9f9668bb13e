"""Image feature extraction (frozen ImageNet backbones) to HDF5."""
