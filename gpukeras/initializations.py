"""Keras 1's ``keras.initializations``: now ``keras.initializers``."""

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
    },
    refused={
        name: "Keras 1's initializer functions `f(shape, name)` are not yet supported; pass "
        f"the name as a string (`init='{name}'`) or an object from `keras.initializers`."
        for name in ("normal", "uniform", "identity", "orthogonal", "zero", "one")
    },
)
