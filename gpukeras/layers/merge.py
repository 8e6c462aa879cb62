"""Keras 1/2's ``keras.layers.merge``: refused until the functional API exists."""

from gpukeras._module_alias import MERGE_REFUSAL

raise ImportError(f"`keras.layers.merge` is not available in gpukeras: {MERGE_REFUSAL}")
