"""Muon's own rules: which variables take the AdamW step, its weight decays, the Newton-Schulz
orthogonalisation, the RMS scaling and Keras's ``update_step``."""

from __future__ import annotations

import numpy as np
import pytest

import gpukeras as keras
from gpukeras import backend as K
from gpukeras import optimizers
from gpukeras.variables import Variable


def _variable(path, shape, xp, seed=0):
    value = np.random.default_rng(seed).normal(size=shape).astype("float32")
    variable = Variable(value, path.rsplit("/", 1)[-1], path=path)
    variable.grad = xp.asarray(np.random.default_rng(seed + 1).normal(size=shape), "float32")
    return variable


def test_adamw_takes_what_is_not_a_matrix_embeddings_and_excluded_paths(xp):
    muon = optimizers.Muon(exclude_layers=["^head/"])
    assert muon._should_use_adamw(_variable("dense/bias", (3,), xp))
    assert muon._should_use_adamw(_variable("conv/kernel", (3, 3, 2), xp))
    assert muon._should_use_adamw(_variable("Embedding_1/embeddings", (10, 3), xp))
    assert muon._should_use_adamw(_variable("head/kernel", (3, 2), xp))
    assert not muon._should_use_adamw(_variable("dense/kernel", (3, 2), xp))
    keep = optimizers.Muon(exclude_embeddings=False)
    assert not keep._should_use_adamw(_variable("embedding/embeddings", (10, 3), xp))


def test_state_follows_the_rule_momentum_for_all_velocity_for_adamw_only(xp):
    model = keras.Sequential(
        [
            keras.Input((4,), dtype="int32"),
            keras.layers.Embedding(10, 3, name="embedding"),
            keras.layers.Flatten(),
            keras.layers.Dense(2, name="out"),
        ]
    )
    muon = optimizers.Muon()
    muon.build(model.trainable_weights)
    assert muon.variable_names == [
        "iteration",
        "learning_rate",
        "embedding_embeddings_momentum",
        "embedding_embeddings_velocity",
        "out_kernel_momentum",
        "out_bias_momentum",
        "out_bias_velocity",
    ]


def test_each_kind_of_variable_decays_by_its_own_rate(xp):
    matrix, vector = _variable("d/kernel", (2, 2), xp), _variable("d/bias", (2,), xp)
    before = [K.to_host(v.value).copy() for v in (matrix, vector)]
    muon = optimizers.Muon(learning_rate=1.0, weight_decay=0.01, adam_weight_decay=0.1)
    muon._apply_weight_decay([matrix, vector])
    np.testing.assert_allclose(K.to_host(matrix.value), before[0] * 0.99, rtol=1e-6)
    np.testing.assert_allclose(K.to_host(vector.value), before[1] * 0.9, rtol=1e-6)
    muon.exclude_from_weight_decay(var_names=["bias"])
    muon._apply_weight_decay([vector])
    np.testing.assert_allclose(K.to_host(vector.value), before[1] * 0.9, rtol=1e-6)


def test_newton_schulz_gives_a_nearly_orthogonal_matrix_of_the_input_shape(xp):
    muon = optimizers.Muon()
    rng = np.random.default_rng(4)
    for shape in [(3, 5), (5, 3), (4, 4)]:
        x = xp.asarray(rng.normal(size=shape), dtype="float32")
        out = K.to_host(muon.zeropower_via_newtonschulz5(x, 10))
        assert out.shape == shape
        small = min(shape)
        gram = out @ out.T if shape[0] <= shape[1] else out.T @ out
        # The quintic drives the singular values into roughly [0.7, 1.2], not exactly 1.
        singular = np.linalg.svd(out, compute_uv=False)
        assert gram.shape == (small, small)
        assert np.all(singular > 0.6) and np.all(singular < 1.3), singular
    with pytest.raises(ValueError, match=r"at least 2 dimensions. Received: shape=\(3,\)"):
        muon.zeropower_via_newtonschulz5(xp.ones(3, dtype="float32"), 5)


def test_lr_adjust_scales_by_the_larger_side_and_the_rms_rate(xp):
    x = xp.ones((4, 2), dtype="float32")
    np.testing.assert_allclose(K.to_host(optimizers.Muon(rms_rate=0.2).lr_adjust(x)), 0.4)
    np.testing.assert_allclose(K.to_host(optimizers.Muon(rms_rate=None).lr_adjust(x)), 1.0)


def test_update_step_applies_one_unclipped_undecayed_step(xp):
    muon = optimizers.Muon(clipvalue=1e-6)
    vector = _variable("v", (4,), xp)
    muon.build([vector])
    before = K.to_host(vector.value).copy()
    muon.update_step(xp.asarray([1.0, -6.0, 7.0, 2.0], "float32"), vector, 0.5)
    # Adam's first step moves every weight by the rate, whatever the gradient's size (up to
    # epsilon's share); a clipvalue of 1e-6 would have made the step ~1e-6 / (1e-6 + eps).
    want = before - 0.5 * np.sign([1, -6, 7, 2])
    np.testing.assert_allclose(K.to_host(vector.value), want, atol=1e-5)
