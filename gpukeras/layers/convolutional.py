"""Keras 1/2's ``keras.layers.convolutional``: convolutions (and Keras 1's pooling)."""

from gpukeras._module_alias import alias_module

alias_module(
    __name__,
    "`keras.layers`",
    {
        "gpukeras.layers": (
            "AveragePooling1D",
            "AveragePooling2D",
            "Conv1D",
            "Conv2D",
            "Conv2DTranspose",
            "Convolution1D",
            "Convolution2D",
            "Cropping1D",
            "Cropping2D",
            "Cropping3D",
            "DepthwiseConv2D",
            "MaxPooling1D",
            "MaxPooling2D",
            "SeparableConv2D",
            "UpSampling2D",
            "ZeroPadding2D",
        ),
    },
    refused={
        "Convolution3D": "3-D convolutions are not yet implemented in gpukeras.",
        "Conv3D": "3-D convolutions are not yet implemented in gpukeras.",
        "AtrousConvolution2D": "use `Conv2D(..., dilation_rate=...)`.",
    },
)
