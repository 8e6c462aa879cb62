"""Keras 1/2's ``keras.preprocessing`` package: ``sequence``, ``text`` and ``image``."""
