"""gpukeras: Keras-compatible deep learning on CuPy, with a NumPy fallback."""

__version__ = "0.1.0"
