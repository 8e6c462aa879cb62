"""Keras 1/2's ``keras.utils.np_utils``: now ``keras.utils``."""

from gpukeras._module_alias import alias_module

alias_module(__name__, "`keras.utils`", {"gpukeras.utils": ("normalize", "to_categorical")})
