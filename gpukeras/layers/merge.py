"""Keras 1/2's ``keras.layers.merge``: the merge layers, now in ``keras.layers``, and
Keras 1's ``Merge``."""

from gpukeras._module_alias import MERGE_REFUSAL, alias_module

alias_module(
    __name__,
    "`keras.layers`",
    {
        "gpukeras.layers": (
            "Add",
            "Average",
            "Concatenate",
            "Dot",
            "Maximum",
            "Merge",
            "Minimum",
            "Multiply",
            "Subtract",
            "add",
            "average",
            "concatenate",
            "dot",
            "maximum",
            "minimum",
            "multiply",
            "subtract",
        ),
    },
    refused={"merge": MERGE_REFUSAL},
)
