"""Keras 1/2's ``keras.layers.advanced_activations``: activation layers."""

from gpukeras._module_alias import alias_module

_NOT_YET = "not yet implemented as a layer in gpukeras; use `Lambda` with `keras.ops.{}`."

alias_module(
    __name__,
    "`keras.layers`",
    {},
    refused={
        "LeakyReLU": _NOT_YET.format("leaky_relu"),
        "ELU": _NOT_YET.format("elu"),
        "PReLU": "not yet implemented in gpukeras (it has a trainable slope).",
        "ThresholdedReLU": _NOT_YET.format("where"),
        "ParametricSoftplus": "removed in Keras 2; no replacement.",
        "SReLU": "removed in Keras 2; no replacement.",
    },
)
