"""Dataset adapters: list-format reader, synthetic demo, bag of words, splits."""
