"""nn.init: in-place initializers matching torch's."""
