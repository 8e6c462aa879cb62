"""Keras 1/2's ``keras.layers.core``: the core layers, now in ``keras.layers``."""

from gpukeras._module_alias import alias_module

alias_module(
    __name__,
    "`keras.layers`",
    {
        "gpukeras.layers": (
            "Activation",
            "ActivityRegularization",
            "Dense",
            "Dropout",
            "Flatten",
            "Lambda",
            "Masking",
            "Merge",
            "Permute",
            "RepeatVector",
            "Reshape",
            "SpatialDropout1D",
            "SpatialDropout2D",
            "SpatialDropout3D",
        ),
    },
    refused={
        "MaxoutDense": "removed in Keras 2; use `Dense` followed by a max over a `Reshape`.",
        "Highway": "removed in Keras 2; write it as a subclassed layer with `call()`.",
        "TimeDistributedDense": "use `TimeDistributed(Dense(...))`.",
    },
)
