"""Optimizer state in Keras's files: ``optimizer/vars/<i>`` (Keras 3) and the legacy
``optimizer_weights`` group (attr ``weight_names``, one dataset per variable, in the
optimizer's ``variables`` order). A LossScaleOptimizer adds
``optimizer/inner_optimizer/vars/<i>`` (the wrapped optimizer's state, written twice, as
Keras does).
"""

from __future__ import annotations

import warnings
from typing import Any

import h5py

from gpukeras.saving import _h5safe as safe
from gpukeras.saving._h5safe import Budget, read_string_list, unique_names, write_string_list


def write_keras3_optimizer(group: h5py.Group, optimizer: Any) -> None:
    """``vars/<i>`` in the optimizer's ``variables`` order; a LossScaleOptimizer's inner
    optimizer again in ``inner_optimizer/vars`` (its own variables also sit, after the
    wrapper's four, in the wrapper's ``vars``: Keras writes both)."""
    variables_group = group.create_group("vars")
    variables_group.attrs["name"] = optimizer.name
    store: dict[str, Any] = {}
    optimizer.save_own_variables(store)  # host copies, Keras's order
    for key, value in store.items():
        variables_group.create_dataset(key, data=value)
    inner = getattr(optimizer, "inner_optimizer", None)
    if inner is not None:
        write_keras3_optimizer(group.create_group("inner_optimizer"), inner)


def write_optimizer_weights(file: h5py.File, model: Any) -> None:
    """Keras's ``optimizer_weights`` group: ``weight_names`` and one dataset per name."""
    optimizer = built_optimizer(model)
    if optimizer is None:
        return
    store: dict[str, Any] = {}
    optimizer.save_own_variables(store)
    if not store:
        return
    group = file.create_group("optimizer_weights")
    names = unique_names(optimizer_weight_names(optimizer))
    write_string_list(group, "weight_names", names)
    for index, name in enumerate(names):
        group.create_dataset(name, data=store[str(index)])


def optimizer_weight_names(optimizer: Any) -> list[str]:
    """``'<optimizer name>/<variable name>'`` for each of ``variables``, as Keras names them:
    a LossScaleOptimizer's own four under its name, its inner optimizer's under that one's."""
    names = optimizer.variable_names
    inner = getattr(optimizer, "inner_optimizer", None)
    if inner is None:
        return [f"{optimizer.name}/{name}" for name in names]
    own = names[: len(names) - len(inner.variable_names)]
    return [f"{optimizer.name}/{name}" for name in own] + optimizer_weight_names(inner)


def built_optimizer(model: Any) -> Any:
    """The model's optimizer once it has state worth saving (built on the weights)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(optimizer, "built", False):
        return None
    return optimizer if hasattr(optimizer, "save_own_variables") else None


def legacy_optimizer_datasets(file: h5py.File, budget: Budget) -> list[h5py.Dataset] | None:
    """The datasets of a full-model file's ``optimizer_weights`` (None if absent)."""
    if not safe.has_entry(file, "optimizer_weights"):
        return None
    group = safe.safe_group(file, "optimizer_weights")
    names = read_string_list(group, "weight_names")
    return [safe.safe_dataset(group, name, budget) for name in names]


def keras3_optimizer_datasets(file: h5py.Group, budget: Budget) -> list[h5py.Dataset] | None:
    """The datasets of ``optimizer/vars/<i>`` (None if absent)."""
    if not safe.has_entry(file, "optimizer"):
        return None
    group = safe.safe_group(file, "optimizer")
    if not safe.has_entry(group, "vars"):
        return None
    variables = safe.safe_group(group, "vars")
    return [safe.safe_dataset(variables, str(i), budget) for i in range(len(variables))]


def holds_loss_scale_state(file: h5py.Group) -> bool:
    """Whether ``optimizer/`` holds a LossScaleOptimizer's state (its ``inner_optimizer``)."""
    if not safe.has_entry(file, "optimizer"):
        return False
    return safe.has_entry(safe.safe_group(file, "optimizer"), "inner_optimizer")


def optimizer_values(model: Any, datasets: list[Any] | None, budget: Budget) -> list[Any] | None:
    """Host values for the model's optimizer state, or None (with a warning) if they don't fit.

    Builds the optimizer on the model's trainable weights first, so the
    state of a compiled but untrained model can be restored (training then
    continues where the saved run stopped).
    """
    optimizer = getattr(model, "optimizer", None)
    if datasets is None or optimizer is None or not hasattr(optimizer, "set_weights"):
        return None
    if not optimizer.built:
        optimizer.build(model.trainable_weights)
    expected = [tuple(value.shape) for value in optimizer.variables]
    received = [tuple(dataset.shape) for dataset in datasets]
    if expected != received:
        if len(received) <= 2:
            return None  # an unbuilt optimizer's iteration and learning rate: nothing to resume
        warnings.warn(
            f"Skipping variable loading for optimizer '{optimizer.name}', because it has "
            f"{len(expected)} variables {expected} whereas the saved optimizer has "
            f"{len(received)} variables {received}. Training starts with a fresh optimizer.",
            stacklevel=4,
        )
        return None
    budget.check_total(sum(dataset.size * dataset.dtype.itemsize for dataset in datasets))
    return [safe.read_dataset(dataset) for dataset in datasets]
