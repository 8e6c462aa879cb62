"""Keras 1/2's ``keras.layers.recurrent``: the recurrent layers, now in ``keras.layers``."""

from gpukeras._module_alias import alias_module

alias_module(
    __name__,
    "`keras.layers`",
    {
        "gpukeras.layers": (
            "GRU",
            "GRUCell",
            "LSTM",
            "LSTMCell",
            "RNN",
            "SimpleRNN",
            "SimpleRNNCell",
            "StackedRNNCells",
        )
    },
)
