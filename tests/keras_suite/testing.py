"""``keras.src.testing`` for the Keras suite: our own TestCase with the assertions used.

Written from the behaviour the tests need (tolerant array comparison, temporary directories, a
config round trip), not copied from Keras.
"""

from __future__ import annotations

import itertools
import json
import shutil
import sys
import tempfile
from typing import Any

import numpy as np
from absl.testing import parameterized

from tests.keras_suite.backend_view import convert_to_numpy

# Keras's ``keras.src.testing`` is a package with a ``test_utils`` module; this one module plays
# both (the shim maps ``keras.src.testing.test_utils`` here too).
__path__: list[str] = []


def named_product(*args: Any, **kwargs: Any) -> list[dict]:
    """absl-style named parameter combinations: every product of the given choices."""
    names = list(kwargs)
    cases = []
    for values in itertools.product(*(kwargs[name] for name in names)):
        label = "_".join(str(value) for value in values)
        cases.append({"testcase_name": label, **dict(zip(names, values, strict=True))})
    return cases


def get_test_data(train_samples, test_samples, input_shape, num_classes, random_seed=None):
    """Separable synthetic classification data: ``((x_train, y_train), (x_test, y_test))``.

    Each class has a random centre; samples are their class's centre plus unit noise, labels
    cycle through the classes so every class appears, and the pairs are shuffled before the
    train/test split.
    """
    rng = np.random.default_rng(random_seed)
    total = train_samples + test_samples
    labels = np.arange(total) % num_classes
    centres = 2 * num_classes * rng.random((num_classes, *input_shape))
    x = (centres[labels] + rng.normal(size=(total, *input_shape))).astype(np.float32)
    order = rng.permutation(total)
    x, labels = x[order], labels[order].astype(np.int64)
    return (x[:train_samples], labels[:train_samples]), (x[train_samples:], labels[train_samples:])


def jax_uses_gpu() -> bool:
    """Keras's skip condition for JAX-on-GPU tests: never true here (gpukeras is not JAX)."""
    return False


def uses_tpu() -> bool:
    return False


def _as_json(config: Any) -> str:
    return json.dumps(config, sort_keys=True, default=repr)


class TestCase(parameterized.TestCase):
    maxDiff = None

    def setUp(self) -> None:
        # Like Keras's TestCase: each test starts with fresh default names (``dense``, ``adam``).
        super().setUp()
        from gpukeras.utils import clear_session

        clear_session()

    def get_temp_dir(self) -> str:
        temp_dir = tempfile.mkdtemp()
        self.addCleanup(lambda: shutil.rmtree(temp_dir, ignore_errors=True))
        return temp_dir

    def assertAllClose(self, actual, desired, atol=1e-6, rtol=1e-6, msg=None, **_tpu):
        np.testing.assert_allclose(
            convert_to_numpy(actual), convert_to_numpy(desired), atol=atol, rtol=rtol,
            err_msg=msg or "",
        )  # fmt: skip

    def assertNotAllClose(self, x1, x2, atol=1e-6, rtol=1e-6, msg=None):
        try:
            self.assertAllClose(x1, x2, atol=atol, rtol=rtol)
        except AssertionError:
            return
        raise AssertionError(f"The two values are close at all elements. {msg or ''}")

    def assertAlmostEqual(self, actual, desired, decimal=7, msg=None, **kwargs):
        np.testing.assert_almost_equal(
            convert_to_numpy(actual), convert_to_numpy(desired), decimal=decimal
        )

    def assertAllEqual(self, actual, desired, msg=None):
        np.testing.assert_array_equal(convert_to_numpy(actual), convert_to_numpy(desired))

    def assertLen(self, container, expected_len, msg=None):
        self.assertEqual(len(container), expected_len, msg=msg)

    def assertDType(self, x, dtype, msg=None):
        """Keras's check of a value's dtype, names standardized by NumPy (``'float'`` is
        float32 there, as Keras's standardize_dtype makes it)."""
        found = getattr(x, "dtype", None)
        found = np.dtype(found).name if found is not None else np.asarray(x).dtype.name
        expected = "float32" if dtype in ("float", float) else np.dtype(str(dtype)).name
        self.assertEqual(found, expected, msg=msg or f"dtype {found} is not {expected}")

    def run_class_serialization_test(self, instance, custom_objects=None):
        """get_config/from_config and serialize/deserialize both give back the same config."""
        from gpukeras.saving import (
            custom_object_scope,
            deserialize_keras_object,
            serialize_keras_object,
        )

        cls = instance.__class__
        config = instance.get_config()
        with custom_object_scope(custom_objects or {}):
            revived = cls.from_config(config)
        self.assertEqual(_as_json(config), _as_json(revived.get_config()))
        self.assertEqual(set(dir(instance)), set(dir(revived)))
        serialized = json.loads(json.dumps(serialize_keras_object(instance)))
        with custom_object_scope(custom_objects or {}):
            revived = deserialize_keras_object(serialized)
        self.assertEqual(_as_json(config), _as_json(revived.get_config()))
        return revived


test_utils = sys.modules[__name__]
