"""Keras 2's ``keras.utils.data_utils``: now ``keras.utils``."""

from gpukeras._module_alias import alias_module

alias_module(
    __name__, "`keras.utils`", {"gpukeras.utils": ("Sequence", "get_file", "pad_sequences")}
)
