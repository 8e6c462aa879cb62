"""Forgetting global state between models."""

from __future__ import annotations


def clear_session() -> None:
    """Forget the default layer names handed out so far.

    After this call the next ``Dense`` is named ``dense`` again, as in a new
    process. Random streams are left as they are: call
    :func:`gpukeras.utils.set_random_seed` to restart them.
    """
    # Imported here so that importing gpukeras.utils does not pull in every layer.
    from gpukeras import _naming

    _naming.reset_names()
