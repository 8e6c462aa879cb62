"""Keras 1/2's ``keras.layers.advanced_activations``: activation layers."""

from gpukeras._module_alias import alias_module

alias_module(
    __name__,
    "`keras.layers`",
    {
        "gpukeras.layers": (
            "LeakyReLU", "ELU", "PReLU", "ThresholdedReLU", "ReLU", "Softmax",
        ),
    },
    refused={
        "ParametricSoftplus": "removed in Keras 2; no replacement.",
        "SReLU": "removed in Keras 2; no replacement.",
    },
)  # fmt: skip
