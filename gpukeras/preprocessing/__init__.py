"""Keras 1/2's ``keras.preprocessing`` package: ``sequence`` and ``text``."""
