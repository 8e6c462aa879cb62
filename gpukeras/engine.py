"""Keras 1/2's ``keras.engine``: ``Layer`` and ``InputSpec``, now in ``keras.layers``."""

from gpukeras._module_alias import alias_module

alias_module(__name__, "`keras.layers`", {"gpukeras.layers": ("InputSpec", "Layer")})
