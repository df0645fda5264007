"""clip_grad_norm_ and clip_grad_value_ against hand-computed values, a NumPy
reference and torch.nn.utils."""

import math

import numpy as np
import pytest
from torch_support import needs_torch, torch

from tinytorch.core.autograd import Variable
from tinytorch.core.optimizers import clip_grad_norm_, clip_grad_value_
from tinytorch.core.tensor import Tensor


def parameters_with(grads):
    params = []
    for g in grads:
        p = Variable(np.zeros(np.shape(g)), requires_grad=True)
        p.grad = None if g is None else Tensor(np.array(g, dtype=np.float64))
        params.append(p)
    return params


def test_hand_computed_3_4_5():
    params = parameters_with([[3.0, 0.0], [[0.0], [4.0]]])
    total = clip_grad_norm_(params, max_norm=2.5)
    assert total == 5.0
    scale = 2.5 / (5.0 + 1e-6)
    np.testing.assert_array_equal(
        params[0].grad.data, np.array([3.0, 0.0]) * scale
    )
    np.testing.assert_array_equal(
        params[1].grad.data, np.array([[0.0], [4.0]]) * scale
    )
    assert math.isclose(
        np.sqrt(sum(np.sum(p.grad.data**2) for p in params)), 2.5, rel_tol=1e-6
    )


def reference_clip(grads, max_norm, norm_type):
    flat = np.concatenate([np.ravel(g) for g in grads])
    total = (
        np.max(np.abs(flat))
        if norm_type == math.inf
        else np.sum(np.abs(flat) ** norm_type) ** (1 / norm_type)
    )
    scale = min(1.0, max_norm / (total + 1e-6))
    return total, [np.asarray(g) * scale for g in grads]


@needs_torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 100.0])
def test_matches_reference_and_torch(norm_type, max_norm):
    rng = np.random.default_rng(int(max_norm * 10) + int(min(norm_type, 9)))
    grads = [
        rng.standard_normal((3, 4)),
        rng.standard_normal(5),
        rng.standard_normal(()),
    ]
    params = parameters_with(
        grads + [None]
    )  # a parameter without gradient is ignored
    total = clip_grad_norm_(params, max_norm=max_norm, norm_type=norm_type)
    expected_total, expected = reference_clip(grads, max_norm, norm_type)
    assert math.isclose(total, expected_total, rel_tol=1e-12)
    for p, g in zip(params, expected):
        np.testing.assert_allclose(p.grad.data, g, rtol=1e-12)
    assert params[-1].grad is None

    tensors = [
        torch.zeros(np.shape(g), dtype=torch.float64, requires_grad=True)
        for g in grads
    ]
    for t, g in zip(tensors, grads):
        t.grad = torch.from_numpy(np.array(g))
    torch_total = torch.nn.utils.clip_grad_norm_(
        tensors, max_norm=max_norm, norm_type=norm_type
    )
    assert math.isclose(total, float(torch_total), rel_tol=1e-12)
    for p, t in zip(params, tensors):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-12)


def test_clipping_is_in_place_and_keeps_float32():
    p = Variable(np.zeros(3, dtype=np.float32), requires_grad=True)
    p.grad = Tensor(np.array([30.0, 40.0, 0.0], dtype=np.float32))
    array = p.grad.data
    clip_grad_norm_([p], 1.0)
    assert p.grad.data is array and array.dtype == np.float32
    np.testing.assert_allclose(array, [0.6, 0.8, 0.0], rtol=1e-5)


@needs_torch
def test_no_gradients_gives_zero_and_nan_spreads_like_torch():
    assert clip_grad_norm_(parameters_with([None, None]), 1.0) == 0.0
    params = parameters_with([[1.0, np.nan]])
    total = clip_grad_norm_(params, 1.0)
    assert math.isnan(total) and np.all(np.isnan(params[0].grad.data))
    t = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    t.grad = torch.tensor([1.0, float("nan")], dtype=torch.float64)
    torch.nn.utils.clip_grad_norm_([t], 1.0)
    assert torch.all(torch.isnan(t.grad))


def test_read_only_gradient_gets_its_own_clipped_copy():
    p = Variable(np.zeros((2, 2)), requires_grad=True)
    p.grad = Tensor(np.zeros((2, 2)))
    p.grad.data = np.broadcast_to(np.array([6.0, 8.0]), (2, 2))
    total = clip_grad_norm_(p, 1.0)
    assert math.isclose(total, math.sqrt(200))
    assert p.grad.data.flags.writeable
    np.testing.assert_allclose(np.sqrt(np.sum(p.grad.data**2)), 1.0, rtol=1e-6)


@needs_torch
def test_clip_grad_value():
    params = parameters_with([[-3.0, 0.5, 2.0], [[-0.1, 7.0]], None])
    clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad.data, [-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(params[1].grad.data, [[-0.1, 1.0]])
    t = torch.tensor([-3.0, 0.5, 2.0], dtype=torch.float64, requires_grad=True)
    t.grad = torch.tensor([-3.0, 0.5, 2.0], dtype=torch.float64)
    torch.nn.utils.clip_grad_value_([t], 1.0)
    np.testing.assert_array_equal(t.grad.numpy(), params[0].grad.data)
