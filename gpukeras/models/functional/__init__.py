"""The functional API's models: ``keras.Model(inputs, outputs)``.

Modules, one concept each:

- ``_graph``: the nodes between the inputs and the outputs, in order, checked once;
- ``_run``: running the graph on data (masks along edges, arrays freed after last use);
- ``_inputs``: the data matched to the Inputs (structure, dtype, rank, shape checks);
- ``_functional``: the ``Functional`` model class (structure, weights, the fused chain);
- ``_summary``: its ``summary()`` rows with Keras's "Connected to";
- ``_subclass``: a ``Model`` subclass made with inputs and outputs becomes functional.

The symbolic side lives with the layers: ``layers/_keras_tensor.py`` (KerasTensor),
``layers/_node.py`` (Node, Operation), ``layers/_symbolic_call.py`` (a layer called on
KerasTensors) and ``ops/_symbolic.py`` (an op called on KerasTensors).
"""

from gpukeras.models.functional._functional import Functional

__all__ = ["Functional"]
