"""Layers with Keras 3's names, arguments and weight layouts."""

from gpukeras.layers._activation import Activation
from gpukeras.layers._activation_layers import ELU, LeakyReLU, ReLU, Softmax, ThresholdedReLU
from gpukeras.layers._batch_normalization import BatchNormalization
from gpukeras.layers._bidirectional import Bidirectional
from gpukeras.layers._conv_transpose import Conv2DTranspose
from gpukeras.layers._convolution import Conv1D, Conv2D, Convolution1D, Convolution2D
from gpukeras.layers._cropping import Cropping1D, Cropping3D
from gpukeras.layers._dense import Dense
from gpukeras.layers._depthwise import DepthwiseConv2D, SeparableConv2D
from gpukeras.layers._dropout import Dropout
from gpukeras.layers._embedding import Embedding
from gpukeras.layers._global_pooling import (
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
)
from gpukeras.layers._gru import GRU
from gpukeras.layers._input import Input, InputLayer, KerasTensor
from gpukeras.layers._input_spec import InputSpec
from gpukeras.layers._lambda import Lambda
from gpukeras.layers._layer import Layer
from gpukeras.layers._layer_normalization import LayerNormalization
from gpukeras.layers._legacy_merge import Merge
from gpukeras.layers._lstm import LSTM
from gpukeras.layers._masking_layer import ActivityRegularization, Masking
from gpukeras.layers._noise import (
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from gpukeras.layers._padding import Cropping2D, UpSampling2D, ZeroPadding2D
from gpukeras.layers._pooling import AveragePooling1D, AveragePooling2D, MaxPooling1D, MaxPooling2D
from gpukeras.layers._prelu import PReLU
from gpukeras.layers._repeat_permute import Permute, RepeatVector
from gpukeras.layers._reshaping import Flatten, Reshape
from gpukeras.layers._simple_rnn import SimpleRNN
from gpukeras.layers._time_distributed import TimeDistributed
from gpukeras.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from gpukeras.layers.rnn import RNN, GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells

__all__ = [
    "Merge",
    "ELU",
    "LeakyReLU",
    "PReLU",
    "ReLU",
    "Softmax",
    "ThresholdedReLU",
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "Maximum",
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
    "Cropping3D",
    "Cropping1D",
    "SpatialDropout3D",
    "SpatialDropout2D",
    "SpatialDropout1D",
    "RepeatVector",
    "Permute",
    "Masking",
    "GaussianNoise",
    "GaussianDropout",
    "ActivityRegularization",
    "Activation",
    "AveragePooling1D",
    "AveragePooling2D",
    "BatchNormalization",
    "Bidirectional",
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "Convolution1D",
    "Convolution2D",
    "Cropping2D",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Embedding",
    "Flatten",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GRU",
    "GRUCell",
    "LSTMCell",
    "RNN",
    "SimpleRNNCell",
    "StackedRNNCells",
    "Input",
    "InputLayer",
    "InputSpec",
    "KerasTensor",
    "Lambda",
    "Layer",
    "LayerNormalization",
    "LSTM",
    "MaxPooling1D",
    "MaxPooling2D",
    "Reshape",
    "SeparableConv2D",
    "SimpleRNN",
    "TimeDistributed",
    "UpSampling2D",
    "ZeroPadding2D",
]
