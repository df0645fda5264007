"""Convergence to analytic optima on convex problems, and measured linear rates
against theory."""

import math

import numpy as np
import pytest

from tinytorch.core.autograd import Variable
from tinytorch.core.optimizers import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    RMSprop,
    gradient_descent_step,
)
from tinytorch.core.tensor import Tensor


# --- least squares, gradients from autograd ----------------------------------
def least_squares(seed=0, n=60, d=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.linspace(
        0.5, 2.0, d
    )  # uneven column scales: κ ≈ 20
    y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)
    solution = np.linalg.solve(X.T @ X, X.T @ y)  # the normal equations
    curvatures = np.linalg.eigvalsh(X.T @ X / n)
    return X, y, solution, curvatures


SOLVERS = {
    "sgd": (lambda w, lam: (SGD([w], lr=1 / lam.max()), None), 3000, 1e-9),
    "heavy-ball": (
        lambda w, lam: (
            SGD(
                [w],
                lr=4 / (np.sqrt(lam.max()) + np.sqrt(lam.min())) ** 2,
                momentum=(
                    (np.sqrt(lam.max() / lam.min()) - 1)
                    / (np.sqrt(lam.max() / lam.min()) + 1)
                )
                ** 2,
            ),
            None,
        ),
        400,
        1e-9,
    ),
    "nesterov": (
        lambda w, lam: (
            SGD([w], lr=1 / lam.max(), momentum=0.8, nesterov=True),
            None,
        ),
        600,
        1e-9,
    ),
    "adam+cosine": (
        lambda w, lam: _with(
            Adam([w], lr=0.1), lambda o: CosineAnnealingLR(o, T_max=1500)
        ),
        1500,
        1e-5,
    ),
    "adamw-no-decay+exp": (
        lambda w, lam: _with(
            AdamW([w], lr=0.1, weight_decay=0.0),
            lambda o: ExponentialLR(o, 0.995),
        ),
        1500,
        1e-5,
    ),
    "rmsprop+exp": (
        lambda w, lam: _with(
            RMSprop([w], lr=0.05), lambda o: ExponentialLR(o, 0.997)
        ),
        1500,
        1e-4,
    ),
    "adagrad": (lambda w, lam: (Adagrad([w], lr=0.5), None), 3000, 1e-6),
}


def _with(optimizer, make_scheduler):
    return optimizer, make_scheduler(optimizer)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_least_squares_reaches_the_normal_equation_solution(name):
    make, steps, tolerance = SOLVERS[name]
    X, y, solution, curvatures = least_squares()
    w = Variable(np.zeros(X.shape[1]), requires_grad=True)
    optimizer, scheduler = make(w, curvatures)
    Xv, yv = Variable(X), Variable(y)
    for _ in range(steps):
        optimizer.zero_grad()
        residual = Xv @ w - yv
        loss = (residual * residual).sum() / (2 * len(y))
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    error = np.linalg.norm(w.data - solution) / np.linalg.norm(solution)
    assert error < tolerance, (
        f"{name}: relative distance to the solution {error:.2e}"
    )


def test_gradient_descent_step_solves_a_quadratic():
    """θ* = H⁻¹b for L = ½θᵀHθ − bᵀθ."""
    H = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    theta = Variable(np.zeros(2), requires_grad=True)
    for _ in range(200):
        theta.grad = Tensor(H @ theta.data - b)
        gradient_descent_step(theta, 0.3)
    np.testing.assert_allclose(theta.data, np.linalg.solve(H, b), rtol=1e-12)
    np.testing.assert_allclose(
        theta.data, [0.6, -0.8], rtol=1e-12
    )  # by hand: (2·1 − 1·(−1))/5, ...


def test_one_dimensional_quadratic_in_closed_form():
    """L = λθ²/2: θ_t = (1 − αλ)^t θ_0 exactly, for steps that converge,
    oscillate and diverge."""
    for alpha_lambda in (0.5, 1.0, 1.5, 2.5):
        theta = Variable(np.array(1.0), requires_grad=True)
        optimizer = SGD([theta], lr=alpha_lambda / 4.0)  # λ = 4
        for t in range(1, 21):
            theta.grad = Tensor(4.0 * theta.data)
            optimizer.step()
            assert math.isclose(
                theta.data,
                (1 - alpha_lambda) ** t,
                rel_tol=1e-12,
                abs_tol=1e-300,
            )


# --- measured linear rates ---------------------------------------------------
KAPPA = 20.0


def quadratic(kappa=KAPPA, size=8, seed=0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((size, size)))
    curvatures = np.linspace(1.0, kappa, size)
    return q @ np.diag(curvatures) @ q.T, rng.standard_normal(
        size
    )  # minimum at 0


def measured_rate(make_optimizer, first=30, last=200, kappa=KAPPA):
    """Geometric mean contraction of ‖θ_t − θ*‖ between steps `first` and
    `last` (θ* = 0)."""
    H, start = quadratic(kappa)
    theta = Variable(start.copy(), requires_grad=True)
    optimizer = make_optimizer([theta])
    errors = []
    for _ in range(last):
        theta.grad = Tensor(H @ theta.data)
        optimizer.step()
        errors.append(np.linalg.norm(theta.data))
    return (errors[last - 1] / errors[first - 1]) ** (
        1 / (last - first)
    ), errors


def test_gradient_descent_rate_is_kappa_minus_one_over_kappa_plus_one():
    rate, _ = measured_rate(lambda p: SGD(p, lr=2 / (1 + KAPPA)))
    theory = (KAPPA - 1) / (KAPPA + 1)
    assert abs(theory - 0.905) < 1e-3
    assert abs(rate - theory) / theory < 0.05, (rate, theory)
    assert abs(rate - theory) < 0.01


def test_heavy_ball_rate_is_sqrt_kappa_minus_one_over_sqrt_kappa_plus_one():
    root = math.sqrt(KAPPA)
    alpha = 4 / (math.sqrt(KAPPA) + 1) ** 2
    beta = ((root - 1) / (root + 1)) ** 2
    rate, _ = measured_rate(lambda p: SGD(p, lr=alpha, momentum=beta))
    theory = (root - 1) / (root + 1)
    assert abs(theory - 0.635) < 1e-3
    assert abs(rate - theory) / theory < 0.05, (rate, theory)


def test_momentum_needs_far_fewer_steps():
    """Steps to shrink the error a million times: about κ/2·ln(10⁶) for GD,
    √κ/2·ln(10⁶) for heavy ball."""
    root = math.sqrt(KAPPA)
    _, gd = measured_rate(lambda p: SGD(p, lr=2 / (1 + KAPPA)), last=300)
    _, hb = measured_rate(
        lambda p: SGD(
            p, lr=4 / (root + 1) ** 2, momentum=((root - 1) / (root + 1)) ** 2
        ),
        last=300,
    )
    start = np.linalg.norm(quadratic()[1])
    steps_gd = next(t for t, e in enumerate(gd, 1) if e < 1e-6 * start)
    steps_hb = next(t for t, e in enumerate(hb, 1) if e < 1e-6 * start)
    assert 120 < steps_gd < 160 and 25 < steps_hb < 45, (steps_gd, steps_hb)


@pytest.mark.parametrize("alpha_lambda_max", [0.5, 1.0, 1.9])
def test_gradient_descent_rate_at_other_learning_rates(alpha_lambda_max):
    alpha = alpha_lambda_max / KAPPA
    theory = max(abs(1 - alpha * 1.0), abs(1 - alpha * KAPPA))
    rate, _ = measured_rate(lambda p: SGD(p, lr=alpha), first=50, last=250)
    assert abs(rate - theory) / theory < 0.05, (rate, theory)


def test_gradient_descent_diverges_beyond_the_stability_edge():
    """α·λmax > 2: the error grows by |1 − αλmax| per step."""
    alpha = 2.1 / KAPPA
    rate, errors = measured_rate(
        lambda p: SGD(p, lr=alpha), first=50, last=150
    )
    assert errors[-1] > 1e3 * errors[0]
    assert abs(rate - 1.1) / 1.1 < 0.05, rate
    _, stable = measured_rate(
        lambda p: SGD(p, lr=1.99 / KAPPA), first=50, last=150
    )
    assert stable[-1] < stable[0]


def test_nesterov_rate_is_one_minus_one_over_sqrt_kappa():
    root = math.sqrt(KAPPA)
    rate, _ = measured_rate(
        lambda p: SGD(
            p, lr=1 / KAPPA, momentum=(root - 1) / (root + 1), nesterov=True
        )
    )
    theory = 1 - 1 / root
    assert abs(rate - theory) / theory < 0.05, (rate, theory)
