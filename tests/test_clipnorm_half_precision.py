"""clipnorm and global_clipnorm on float16 variables: the norm is summed in float32.

A float16 gradient of 100 entries equal to 300 has a squared sum of 9e6, far past float16's
65504: summed in float16 the norm was inf and the clipped gradient 0 (no update at all).
"""

from __future__ import annotations

import numpy as np
import pytest

from gpukeras import backend as K
from gpukeras import optimizers
from gpukeras.backend.kernels import norms
from gpukeras.variables import Variable


@pytest.mark.parametrize("clip", [{"clipnorm": 1.0}, {"global_clipnorm": 1.0}])
def test_a_float16_gradient_with_a_large_norm_is_clipped_not_zeroed(xp, clip):
    variable = Variable(xp.zeros(100, dtype="float16"), "w")
    variable.grad = xp.full(100, 300.0, dtype="float16")
    optimizers.SGD(learning_rate=1.0, **clip).apply([variable])
    # ||g|| = 3000, so the clipped gradient is 300 / 3000 = 0.1 everywhere.
    np.testing.assert_allclose(K.to_host(variable.value), np.full(100, -0.1), rtol=1e-3)


def test_squared_sum_of_float16_accumulates_in_float32(xp):
    x = xp.full(1000, 100.0, dtype="float16")
    out = xp.zeros((), dtype="float32")
    norms.squared_sum(x, out=out)
    assert float(K.to_host(out)) == 1e7


def test_squared_sum_refuses_an_output_of_the_narrow_dtype(xp):
    x = xp.ones(4, dtype="float16")
    with pytest.raises(TypeError, match="accumulates float16 in float32.*out.dtype=float16"):
        norms.squared_sum(x, out=xp.zeros((), dtype="float16"))


def test_squared_sum_of_float32_is_unchanged(xp):
    x = xp.asarray(np.linspace(-3, 3, 50, dtype="float32"))
    out = xp.zeros((), dtype="float32")
    norms.squared_sum(x, out=out)
    host = K.to_host(x)
    assert K.to_host(out) == np.sum(np.multiply(host, host))
