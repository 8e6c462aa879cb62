"""Keras 1/2's ``keras.layers.merge``: Keras 1's ``Merge``."""

from gpukeras._module_alias import MERGE_REFUSAL, alias_module

alias_module(
    __name__,
    "the functional API (`keras.Model(inputs, outputs)`) with `keras.ops`",
    {"gpukeras.layers": ("Merge",)},
    refused={"merge": MERGE_REFUSAL},
)
