"""nnapps: train small neural networks on image, text and audio data and compare them."""

__version__ = "0.1.0"
