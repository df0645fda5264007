"""The spec every implementation must meet, through the public package API only
(so any correct learner solution passes): a step never changes `.grad`;
momentum under a changing learning rate follows PyTorch's form; Adam counts
steps per parameter. Values are computed by hand in the comments."""

import math

import numpy as np
import pytest

from tinytorch.core.autograd import Variable
from tinytorch.core.optimizers import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    RMSprop,
    StepLR,
)
from tinytorch.core.tensor import Tensor

EVERY_OPTION = [
    (SGD, {"lr": 0.1}),
    (SGD, {"lr": 0.1, "maximize": True}),
    (SGD, {"lr": 0.1, "weight_decay": 0.5}),
    (SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.5}),
    (SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "maximize": True}),
    (Adam, {"lr": 0.1}),
    (Adam, {"lr": 0.1, "weight_decay": 0.5}),
    (Adam, {"lr": 0.1, "weight_decay": 0.5, "amsgrad": True}),
    (AdamW, {"lr": 0.1, "weight_decay": 0.5}),
    (AdamW, {"lr": 0.1, "weight_decay": 0.5, "amsgrad": True}),
    (RMSprop, {"lr": 0.1, "weight_decay": 0.5}),
    (RMSprop, {"lr": 0.1, "momentum": 0.9, "centered": True}),
    (Adagrad, {"lr": 0.1, "weight_decay": 0.5, "lr_decay": 0.1}),
]


def _parameter(values, grad, as_array):
    p = Variable(np.array(values, dtype=np.float64), requires_grad=True)
    grad = np.array(grad, dtype=np.float64)
    p.grad = grad if as_array else Tensor(grad)
    return p


@pytest.mark.parametrize("as_array", [False, True], ids=["tensor", "array"])
@pytest.mark.parametrize(
    ("optimizer_class", "options"),
    EVERY_OPTION,
    ids=[f"{c.__name__}-{sorted(o)}" for c, o in EVERY_OPTION],
)
def test_a_step_leaves_the_gradient_unchanged(
    optimizer_class, options, as_array
):
    p = _parameter([1.0, -2.0, 3.0], [0.5, 1.5, -2.5], as_array)
    grad = p.grad if as_array else p.grad.data
    before = grad.copy()
    optimizer = optimizer_class([p], **options)
    for _ in range(3):  # the same gradient object, as after a backward pass
        optimizer.step()
    held = p.grad if as_array else p.grad.data
    assert held is grad, ".grad was replaced by another array"
    np.testing.assert_array_equal(held, before, "a step changed .grad")
    assert not np.array_equal(p.data, [1.0, -2.0, 3.0]), "nothing moved"


def _momentum_trajectory(lrs, grads, **options):
    p = Variable(np.array(0.0), requires_grad=True)
    sgd = SGD([p], lr=lrs[0], **options)
    thetas = []
    for lr, g in zip(lrs, grads):
        sgd.param_groups[0]["lr"] = lr
        p.grad = Tensor(np.array(g))
        sgd.step()
        thetas.append(float(p.data))
    return thetas


def test_momentum_applies_todays_learning_rate_to_the_whole_buffer():
    # μ = 0.9, g = 1, 2, −1, 0.5, α = 0.1, 0.05, 0.2, 0.01:
    # b = 1, 2.9, 1.61, 1.949; θ = −0.1, −0.245, −0.567, −0.58649.
    # (The velocity form u ← μu − αg, θ ← θ + u gives −0.1, −0.29, −0.261,
    # −0.2399: it agrees only while α is constant.)
    thetas = _momentum_trajectory(
        [0.1, 0.05, 0.2, 0.01], [1.0, 2.0, -1.0, 0.5], momentum=0.9
    )
    np.testing.assert_allclose(
        thetas, [-0.1, -0.245, -0.567, -0.58649], rtol=1e-12
    )


def test_nesterov_and_dampening_under_a_changing_learning_rate():
    # Nesterov, μ = 0.5, g = 1, α = 1 then 0.5: b = 1, 1.5; steps along
    # g + μb = 1.5, 1.75, so θ = −1.5, −1.5 − 0.875 = −2.375
    thetas = _momentum_trajectory(
        [1.0, 0.5], [1.0, 1.0], momentum=0.5, nesterov=True
    )
    np.testing.assert_allclose(thetas, [-1.5, -2.375], rtol=1e-12)
    # dampening 0.5, μ = 0.5, g = 2, α = 1 then 0.1: b = 2 (no dampening at
    # the first step), then 0.5·2 + 0.5·2 = 2; θ = −2, −2.2
    thetas = _momentum_trajectory(
        [1.0, 0.1], [2.0, 2.0], momentum=0.5, dampening=0.5
    )
    np.testing.assert_allclose(thetas, [-2.0, -2.2], rtol=1e-12)


def test_momentum_with_a_scheduler_follows_the_closed_form_rates():
    # StepLR halves α every epoch: α = 1, 0.5, 0.25; μ = 0.5, g = 1:
    # b = 1, 1.5, 1.75; θ = −1, −1.75, −2.1875
    p = Variable(np.array(0.0), requires_grad=True)
    sgd = SGD([p], lr=1.0, momentum=0.5)
    scheduler = StepLR(sgd, step_size=1, gamma=0.5)
    thetas = []
    for _ in range(3):
        p.grad = Tensor(np.array(1.0))
        sgd.step()
        scheduler.step()
        thetas.append(float(p.data))
    np.testing.assert_allclose(thetas, [-1.0, -1.75, -2.1875], rtol=1e-12)


@pytest.mark.parametrize("optimizer_class", [Adam, AdamW])
def test_adam_counts_steps_per_parameter(optimizer_class):
    # b's first gradient comes at the optimizer's third step: its bias
    # correction uses t = 1, so its first step is α·g/(|g| + ε)
    a = Variable(np.array(0.0), requires_grad=True)
    b = Variable(np.array(0.0), requires_grad=True)
    optimizer = optimizer_class([a, b], lr=0.1, weight_decay=0.0)
    for t in range(1, 4):
        a.grad = Tensor(np.array(1.0))
        b.grad = Tensor(np.array(1.0)) if t == 3 else None
        optimizer.step()
    assert optimizer.state[b]["step"] == 1
    assert optimizer.state[a]["step"] == 3
    assert math.isclose(float(b.data), -0.1 / (1 + 1e-8), rel_tol=1e-12)


def test_adam_eps_sits_outside_the_square_root():
    # g = 2, ε = 1, α = 0.1: m̂ = 2, v̂ = 4, θ = 1 − 0.2/(2 + 1)
    p = Variable(np.array(1.0), requires_grad=True)
    p.grad = Tensor(np.array(2.0))
    Adam([p], lr=0.1, eps=1.0).step()
    assert math.isclose(float(p.data), 1.0 - 0.2 / 3.0, rel_tol=1e-12)
