"""Keras 1/2's ``keras.layers.wrappers``: ``TimeDistributed``, ``Bidirectional``."""

from gpukeras._module_alias import alias_module

alias_module(__name__, "`keras.layers`", {"gpukeras.layers": ("Bidirectional", "TimeDistributed")})
