"""saving.serialize_keras_object / deserialize_keras_object: Keras 3's dict form, round trips."""

from __future__ import annotations

import json

import pytest

from gpukeras import initializers, losses, metrics, optimizers, regularizers, saving
from gpukeras.optimizers import schedules


@pytest.mark.parametrize(
    "obj",
    [
        optimizers.Adam(learning_rate=0.25, beta_1=0.8),
        optimizers.SGD(momentum=0.5, nesterov=True, clipnorm=1.0),
        schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5),
        schedules.CosineDecayRestarts(0.1, first_decay_steps=5, t_mul=1.5),
        losses.MeanSquaredError(),
        metrics.AUC(curve="PR", multi_label=True, label_weights=[0.5, 1.0]),
        metrics.Precision(thresholds=[0.2, 0.7], class_id=1),
        metrics.FBetaScore(average="weighted", beta=2.0),
        metrics.OneHotMeanIoU(num_classes=3, ignore_class=0),
        initializers.GlorotUniform(seed=3),
        regularizers.L2(0.01),
    ],
    ids=lambda obj: type(obj).__name__,
)
def test_gpukeras_objects_round_trip_through_json(obj):
    serialized = saving.serialize_keras_object(obj)
    assert serialized["class_name"] == type(obj).__name__
    assert serialized["module"].startswith("keras.")
    # Keras 3's four keys; registered_name is None for a built-in class
    assert sorted(serialized) == ["class_name", "config", "module", "registered_name"]
    assert serialized["registered_name"] is None
    revived = saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
    assert type(revived) is type(obj)
    assert revived.get_config() == obj.get_config()


def test_plain_values_pass_through():
    assert saving.serialize_keras_object([1, "a", None, {"k": 2.5}]) == [1, "a", None, {"k": 2.5}]
    assert saving.deserialize_keras_object(3) == 3


class _Custom:
    def __init__(self, size=1):
        self.size = size

    def get_config(self):
        return {"size": self.size}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def test_custom_classes_come_back_only_through_custom_objects():
    serialized = saving.serialize_keras_object(_Custom(4))
    with pytest.raises(ValueError, match="Pass your own classes as `custom_objects`"):
        saving.deserialize_keras_object(serialized)
    assert saving.deserialize_keras_object(serialized, {"_Custom": _Custom}).size == 4
    with saving.custom_object_scope({"_Custom": _Custom}):
        assert saving.deserialize_keras_object(serialized).size == 4


def test_a_config_cannot_name_a_module_to_import():
    config = {"module": "os", "class_name": "system", "config": {}, "registered_name": None}
    with pytest.raises(ValueError, match="Unknown object in a config: class_name='system'"):
        saving.deserialize_keras_object(config)


@pytest.mark.parametrize(
    "function",
    [losses.mean_squared_error, metrics.binary_accuracy, metrics.pearson_correlation],
    ids=lambda f: f.__name__,
)
def test_functions_are_written_by_name_as_keras_writes_them(function):
    serialized = saving.serialize_keras_object(function)
    assert serialized == {
        "module": "builtins",
        "class_name": "function",
        "config": function.__name__,
        "registered_name": "function",
    }
    assert saving.deserialize_keras_object(json.loads(json.dumps(serialized))) is function


def test_a_built_in_activation_is_a_function_by_name_and_a_bound_one_keeps_its_config():
    from gpukeras import activations

    serialized = saving.serialize_keras_object(activations.relu)
    assert serialized["class_name"] == "function" and serialized["config"] == "relu"
    assert saving.deserialize_keras_object(serialized) is activations.relu
    bound = activations.relu.with_params(negative_slope=0.2)
    assert saving.serialize_keras_object(bound)["config"]["negative_slope"] == 0.2


def test_numpy_values_become_numbers_and_keras_numpy_dicts():
    import numpy as np

    assert saving.serialize_keras_object(np.float32(1.5)) == 1.5
    serialized = saving.serialize_keras_object(np.array([[1, 2]], dtype=np.int32))
    assert serialized == {
        "class_name": "__numpy__",
        "config": {"value": [[1, 2]], "dtype": "int32"},
    }
    back = saving.deserialize_keras_object(serialized)
    assert back.dtype == np.int32 and back.tolist() == [[1, 2]]


@pytest.mark.parametrize(
    "config, message",
    [
        ({"class_name": "function", "config": "os.system"},
         "Unknown function in a config: 'os.system'"),
        ({"class_name": "function", "config": ["relu"]}, "Unknown function in a config"),
        ({"class_name": "__numpy__", "config": {"value": [1], "dtype": "object"}},
         "not a number type"),
        ({"class_name": "__numpy__", "config": {"value": [1], "dtype": "nope"}},
         "Bad '__numpy__' config"),
        ({"class_name": "__numpy__", "config": [1]}, "needs 'value' and 'dtype'"),
    ],
)  # fmt: skip
def test_hostile_function_and_numpy_configs_are_refused(config, message):
    with pytest.raises(ValueError, match=message):
        saving.deserialize_keras_object(config)
