"""Keras 1/2's ``keras.layers.noise``: the noise layers, now in ``keras.layers``."""

from gpukeras._module_alias import alias_module

alias_module(__name__, "`keras.layers`", {"gpukeras.layers": ("GaussianDropout", "GaussianNoise")})
