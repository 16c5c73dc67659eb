"""Neural-network layers with PyTorch names, parameter layouts and defaults."""
