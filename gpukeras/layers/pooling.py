"""Keras 1/2's ``keras.layers.pooling``: the pooling layers, now in ``keras.layers``."""

from gpukeras._module_alias import alias_module

alias_module(
    __name__,
    "`keras.layers`",
    {
        "gpukeras.layers": (
            "AveragePooling1D",
            "AveragePooling2D",
            "GlobalAveragePooling1D",
            "GlobalAveragePooling2D",
            "GlobalMaxPooling1D",
            "GlobalMaxPooling2D",
            "MaxPooling1D",
            "MaxPooling2D",
        ),
    },
)
