"""Keras 1/2's ``keras.preprocessing.text``: ``Tokenizer`` and ``text_to_word_sequence``.

Keras 3 replaced these with the ``TextVectorization`` layer, which gpukeras does not
have, so this module is their home and imports without a warning.
"""

from gpukeras.preprocessing._tokenizer import Tokenizer, text_to_word_sequence

__all__ = ["Tokenizer", "text_to_word_sequence"]
