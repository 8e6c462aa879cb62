"""Keras 1/2's ``keras.preprocessing.sequence``: ``pad_sequences`` and ``skipgrams``."""

from gpukeras._module_alias import alias_module

alias_module(
    __name__,
    "`keras.utils.pad_sequences` (and `skipgrams` from here)",
    {
        "gpukeras.utils": ("pad_sequences",),
        "gpukeras.preprocessing._skipgrams": ("skipgrams",),
    },
)
