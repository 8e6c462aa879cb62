"""The tape's errors: each names the layer and the op (see ``_scope.where``)."""


class NonDifferentiableError(TypeError):
    """A gradient reached an op that has none (``argmax``, ``argmin``, ...)."""


class TracedValueError(TypeError):
    """A traced value was read on the host or written in place while recording."""


class OpShapeError(ValueError):
    """An op's inputs have shapes it cannot combine."""
