"""Independent NumPy references for the optimizer tests (tests/optimizers/).

Written from the published update rules (PyTorch's documentation of
torch.optim, the Adam and AdamW papers), not from tinytorch's code: each
reference runs a whole trajectory on one flat float64 vector. Elementwise
optimizers treat every entry on its own, so a vector that concatenates several
parameters gives the same numbers as the optimizer running on the parameters
separately.
"""

from __future__ import annotations

import math

import numpy as np

# --- a test problem: a convex quadratic plus a wiggle ---------------------
# (so gradients change sign and size)
SHAPES = [
    (3, 2),
    (4,),
]  # two parameters of different shapes: 10 numbers in all
SIZE = sum(int(np.prod(shape)) for shape in SHAPES)


def make_problem(seed=0):
    """Gradient of L(θ) = ½θᵀHθ − cᵀθ + 0.3 Σ cos θ_i (H symmetric positive
    definite), and a start θ₀."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((SIZE, SIZE)))
    hessian = q @ np.diag(np.linspace(0.5, 4.0, SIZE)) @ q.T
    target = rng.standard_normal(SIZE)
    start = rng.standard_normal(SIZE) * 2.0

    def gradient(theta):
        return hessian @ theta - target - 0.3 * np.sin(theta)

    return gradient, start


def split(flat):
    """The flat vector as arrays of SHAPES."""
    out, offset = [], 0
    for shape in SHAPES:
        size = int(np.prod(shape))
        out.append(flat[offset : offset + size].reshape(shape).copy())
        offset += size
    return out


def join(arrays):
    return np.concatenate(
        [np.asarray(a, dtype=np.float64).ravel() for a in arrays]
    )


def relative_error(actual, expected):
    """Largest per-step ‖a − e‖ / ‖e‖ over a trajectory (rows are steps)."""
    actual, expected = np.atleast_2d(actual), np.atleast_2d(expected)
    return float(
        np.max(
            np.linalg.norm(actual - expected, axis=-1)
            / np.linalg.norm(expected, axis=-1)
        )
    )


# --- optimizers --------------------------------------------------------------
def sgd(
    theta,
    gradient,
    steps,
    lr,
    momentum=0.0,
    dampening=0.0,
    weight_decay=0.0,
    nesterov=False,
    maximize=False,
):
    theta = theta.astype(np.float64).copy()
    velocity = None
    path = []
    for _ in range(steps):
        d = (
            gradient(theta) * (-1.0 if maximize else 1.0)
            + weight_decay * theta
        )
        if momentum:
            velocity = (
                d.copy()
                if velocity is None
                else momentum * velocity + (1.0 - dampening) * d
            )
            d = d + momentum * velocity if nesterov else velocity
        theta = theta - lr * d
        path.append(theta.copy())
    return np.array(path)


def adam(
    theta,
    gradient,
    steps,
    lr=1e-3,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    amsgrad=False,
    decoupled=False,
):
    """Adam as in Kingma & Ba (Algorithm 1) with m̂ and v̂; AdamW (Loshchilov &
    Hutter) when decoupled."""
    b1, b2 = betas
    theta = theta.astype(np.float64).copy()
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    v_max = np.zeros_like(theta)
    path = []
    for t in range(1, steps + 1):
        g = gradient(theta)
        if decoupled:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1**t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - b2**t)
        else:
            v_hat = v / (1 - b2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        path.append(theta.copy())
    return np.array(path)


def rmsprop(
    theta,
    gradient,
    steps,
    lr=0.01,
    alpha=0.99,
    eps=1e-8,
    weight_decay=0.0,
    momentum=0.0,
    centered=False,
):
    theta = theta.astype(np.float64).copy()
    mean_square = np.zeros_like(theta)
    mean = np.zeros_like(theta)
    buffer = np.zeros_like(theta)
    path = []
    for _ in range(steps):
        g = gradient(theta) + weight_decay * theta
        mean_square = alpha * mean_square + (1 - alpha) * g * g
        if centered:
            mean = alpha * mean + (1 - alpha) * g
            scale = np.sqrt(mean_square - mean * mean) + eps
        else:
            scale = np.sqrt(mean_square) + eps
        if momentum > 0:
            buffer = momentum * buffer + g / scale
            theta = theta - lr * buffer
        else:
            theta = theta - lr * g / scale
        path.append(theta.copy())
    return np.array(path)


def adagrad(
    theta,
    gradient,
    steps,
    lr=0.01,
    lr_decay=0.0,
    weight_decay=0.0,
    initial_accumulator_value=0.0,
    eps=1e-10,
):
    theta = theta.astype(np.float64).copy()
    total = np.full_like(theta, initial_accumulator_value)
    path = []
    for t in range(1, steps + 1):
        g = gradient(theta) + weight_decay * theta
        total = total + g * g
        theta = theta - lr / (1 + (t - 1) * lr_decay) * g / (
            np.sqrt(total) + eps
        )
        path.append(theta.copy())
    return np.array(path)


# --- schedules, as closed forms of the epoch e -------------------------------
def step_lr(base, e, step_size, gamma=0.1):
    return base * gamma ** (e // step_size)


def multi_step_lr(base, e, milestones, gamma=0.1):
    return base * gamma ** sum(1 for m in milestones if m <= e)


def exponential_lr(base, e, gamma):
    return base * gamma**e


def cosine_lr(base, e, T_max, eta_min=0.0):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * e / T_max)) / 2


def linear_lr(base, e, start_factor=1 / 3, end_factor=1.0, total_iters=5):
    return base * (
        start_factor
        + (end_factor - start_factor) * min(e, total_iters) / total_iters
    )


def one_cycle(
    e,
    max_lr,
    total_steps,
    pct_start=0.3,
    div_factor=25.0,
    final_div_factor=1e4,
    strategy="cos",
    base_momentum=0.85,
    max_momentum=0.95,
    three_phase=False,
):
    """(lr, momentum) at step e of the 1cycle policy (Smith & Topin; PyTorch's
    phase boundaries)."""
    start = max_lr / div_factor
    low = start / final_div_factor

    def anneal(a, b, x):
        return (
            b + (a - b) * (1 + math.cos(math.pi * x)) / 2
            if strategy == "cos"
            else a + (b - a) * x
        )

    up_end = pct_start * total_steps - 1
    if three_phase:
        down_end = 2 * pct_start * total_steps - 2
        if e <= up_end:
            x = e / up_end
            return anneal(start, max_lr, x), anneal(
                max_momentum, base_momentum, x
            )
        if e <= down_end:
            x = (e - up_end) / (down_end - up_end)
            return anneal(max_lr, start, x), anneal(
                base_momentum, max_momentum, x
            )
        x = (e - down_end) / (total_steps - 1 - down_end)
        return anneal(start, low, x), max_momentum
    if e <= up_end:
        x = e / up_end
        return anneal(start, max_lr, x), anneal(max_momentum, base_momentum, x)
    x = (e - up_end) / (total_steps - 1 - up_end)
    return anneal(max_lr, low, x), anneal(base_momentum, max_momentum, x)


def plateau_lrs(
    metrics,
    lr,
    mode="min",
    factor=0.1,
    patience=10,
    threshold=1e-4,
    threshold_mode="rel",
    cooldown=0,
    min_lr=0.0,
    eps=1e-8,
):
    """The learning rate after each metric, following PyTorch's
    ReduceLROnPlateau documentation."""
    best = math.inf if mode == "min" else -math.inf
    bad = wait = 0
    rates = []
    for value in metrics:
        if mode == "min":
            limit = (
                best * (1 - threshold)
                if threshold_mode == "rel"
                else best - threshold
            )
            improved = value < limit
        else:
            limit = (
                best * (1 + threshold)
                if threshold_mode == "rel"
                else best + threshold
            )
            improved = value > limit
        if improved:
            best, bad = value, 0
        else:
            bad += 1
        if wait > 0:
            wait -= 1
            bad = 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            if lr - new > eps:
                lr = new
            wait, bad = cooldown, 0
        rates.append(lr)
    return rates
