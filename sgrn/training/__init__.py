"""Training: the hash nets, the loop with validation and early stopping, checkpoints, devices, and
turning a trained model into packed codes (encoding)."""
