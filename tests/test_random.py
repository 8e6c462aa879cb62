"""gpukeras.random: Keras's signatures and seeds, on the device stream, resumable exactly."""

from __future__ import annotations

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras import ops
from gpukeras import random as krandom
from gpukeras.autodiff import GradientTape


def _host(x):
    return np.asarray(x.get() if hasattr(x, "get") else x)


def test_draws_have_the_shape_dtype_and_range_asked_for(xp):
    u = krandom.uniform((200, 3), minval=-2.0, maxval=-1.0)
    n = krandom.normal((4000,), mean=3.0, stddev=0.5, dtype="float64")
    t = krandom.truncated_normal((4000,), mean=1.0, stddev=2.0)
    assert type(u) is xp.ndarray and u.shape == (200, 3) and u.dtype == np.float32
    assert -2.0 <= float(_host(u).min()) and float(_host(u).max()) < -1.0
    assert n.dtype == np.float64 and abs(float(_host(n).mean()) - 3.0) < 0.05
    assert float(np.abs(_host(t) - 1.0).max()) <= 4.0 and abs(float(_host(t).std()) - 1.76) < 0.1


def test_an_int_seed_gives_the_same_numbers_every_call(xp):
    a, b = krandom.normal((5,), seed=7), krandom.normal((5,), seed=7)
    np.testing.assert_array_equal(_host(a), _host(b))
    assert not np.array_equal(_host(krandom.normal((5,))), _host(krandom.normal((5,))))


def test_a_seed_generator_advances_and_is_reproducible(xp):
    first = krandom.SeedGenerator(42)
    draws = [_host(krandom.uniform((3,), seed=first)) for _ in range(2)]
    assert not np.array_equal(*draws) and first.count == 2
    again = krandom.SeedGenerator(42)
    np.testing.assert_array_equal(_host(krandom.uniform((3,), seed=again)), draws[0])


def test_seed_generator_position_resumes_from_the_backend_state(xp):
    generator = krandom.SeedGenerator(3, name="sampler")
    krandom.normal((2,), seed=generator)
    state = K.random.get_state()
    expected = _host(krandom.normal((2,), seed=generator))
    K.random.set_state(state)
    np.testing.assert_array_equal(_host(krandom.normal((2,), seed=generator)), expected)


@pytest.mark.numpy_only("bit-identical resume: CuPy's cuRAND stream cannot be saved and restored")
def test_global_stream_draws_resume_identically_after_set_state():
    K.random.seed(11)
    krandom.normal((3,))
    state = K.random.get_state()
    expected = [_host(krandom.normal((3,))), _host(krandom.dropout(np.ones(6, "float32"), 0.5))]
    K.random.set_state(state)
    got = [_host(krandom.normal((3,))), _host(krandom.dropout(np.ones(6, "float32"), 0.5))]
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_dropout_scales_the_kept_values_and_is_differentiable(xp):
    x = xp.ones((1000,), dtype="float32")
    with GradientTape() as tape:
        tape.watch(x)
        y = krandom.dropout(x, 0.25, seed=1)
        loss = ops.sum(y)
    values = _host(y)
    assert set(np.unique(values).tolist()) <= {0.0, np.float32(1 / 0.75)}
    np.testing.assert_array_equal(_host(tape.gradient(loss, x)), values)


def test_dropout_noise_shape_shares_the_mask(xp):
    y = _host(krandom.dropout(xp.ones((4, 5), dtype="float32"), 0.5, noise_shape=(None, 1), seed=2))
    assert all(len(set(row.tolist())) == 1 for row in y)


def test_shuffle_permutes_along_an_axis(xp):
    x = xp.asarray(np.arange(12).reshape(3, 4))
    shuffled = _host(krandom.shuffle(x, axis=1, seed=5))
    assert sorted(shuffled[0].tolist()) == [0, 1, 2, 3]
    np.testing.assert_array_equal(
        shuffled - shuffled[:, :1], np.zeros((3, 1)) + (shuffled[0] - shuffled[0, 0])
    )


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: krandom.normal((2,), seed=-1), "seed"),
        (lambda: krandom.uniform((2,), dtype="int32"), "dtype"),
        (lambda: krandom.dropout(np.ones(2, "float32"), 1.0), "rate"),
        (lambda: krandom.SeedGenerator(seed="x"), "seed"),
        (lambda: krandom.normal((2, -1)), "shape"),
    ],
)
def test_bad_arguments_are_refused_by_name(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_randint_stays_in_range_and_covers_it(xp):
    drawn = _host(krandom.randint((2000,), 3, 7, seed=4))
    assert drawn.dtype == np.int32 and set(np.unique(drawn).tolist()) == {3, 4, 5, 6}


def test_categorical_follows_the_logits(xp):
    logits = xp.log(xp.asarray([[0.7, 0.2, 0.1], [0.0, 0.0, 1.0]], dtype="float32") + 1e-12)
    drawn = _host(krandom.categorical(logits, 3000, seed=9))
    assert drawn.shape == (2, 3000) and drawn.dtype == np.int32
    assert abs((drawn[0] == 0).mean() - 0.7) < 0.04 and (drawn[1] == 2).all()
