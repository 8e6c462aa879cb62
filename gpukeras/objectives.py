"""Keras 1's ``keras.objectives``: now ``keras.losses``."""

from gpukeras import losses as _losses
from gpukeras._module_alias import alias_module

alias_module(__name__, "`keras.losses`", {"gpukeras.losses": tuple(_losses.__all__)})
