"""Keras 1's ``keras.initializations``: now ``keras.initializers`` (the functions of the
Keras 1 form, ``normal(shape, scale, name)``, live in ``gpukeras._legacy_initializers``)."""

from gpukeras._legacy_initializers import FUNCTIONS
from gpukeras._module_alias import alias_module

alias_module(
    __name__,
    "`keras.initializers`",
    {
        "gpukeras.initializers": (
            "Constant",
            "Identity",
            "Ones",
            "Orthogonal",
            "RandomNormal",
            "RandomUniform",
            "TruncatedNormal",
            "VarianceScaling",
            "Zeros",
            "get",
        ),
        "gpukeras._legacy_initializers": FUNCTIONS,
    },
)
