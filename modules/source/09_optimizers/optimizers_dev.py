# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 09: Optimizers
#
# ⭐⭐⭐⭐ **Expert** | ⏱️ **6–8 hours** | **Prerequisites:** Tensor, Autograd (modules 02–03; the *Use* part
# also uses modules 04–08) | **Next steps:** Training (module 10), then MLOps
#
# Autograd tells you, for every parameter, which way the loss goes up. This module is about what to do
# with that information: how far to step, how to remember where you were going, how to give every
# parameter its own step size, and how to change all of that while training runs. These few lines of
# arithmetic decide whether a network learns in minutes, learns in days, or never learns at all.
#
# **Build → Use → Optimize.** In this first part you *build* the optimizers from their formulas:
#
# | you write (graded) | provided, ready to read |
# | --- | --- |
# | `gradient_descent_step` | the `Optimizer` base class: parameter groups, state, `zero_grad`, checkpoints |
# | `SGD.step` with momentum, Nesterov, weight decay | `RMSprop`, `Adagrad`, `AdamW` |
# | `Adam.step` with bias correction and AMSGrad | the `LRScheduler` base and eight more schedules |
# | `StepLR.get_lr` | gradient clipping: `clip_grad_norm_`, `clip_grad_value_` |
#
# Everything follows PyTorch's `torch.optim` exactly: the same update rules, the same names
# (`param_groups`, `group["lr"]`, `state_dict()`), the same numbers to nine digits. Code you write with
# TinyTorch ports to PyTorch and back. The parts after this one *use* the optimizers to train a real
# network and *optimize* your choices by measuring how fast each method converges.
#
# ## Learning objectives
#
# By the end of this module you will be able to:
#
# - **Master gradient-based optimization theory:** understand how gradients guide parameter updates and the
#   mathematical foundations of learning.
# - **Implement core optimization algorithms:** build SGD, momentum and Adam from mathematical first principles.
# - **Design learning rate strategies:** create schedules that balance convergence speed with training stability.
# - **Apply optimization in practice:** use optimizers in complete training workflows with real neural networks.
# - **Analyze optimization dynamics:** compare algorithm behaviour, convergence patterns and performance.
#
# Concretely, you will:
#
# - Derive gradient descent and explain, with a formula, when a learning rate is too large.
# - Implement momentum as a velocity, and show that the two common ways to write it agree while the
#   learning rate is constant, and differ once a schedule changes it.
# - Derive Adam's bias correction from the expectation of an exponential moving average.
# - Tell L2 regularisation from decoupled weight decay, and say why it matters for Adam.
# - Schedule the learning rate, checkpoint an optimizer and resume it without changing a single bit.

# %% [markdown]
# ## Getting started
#
# Work in the browser (Binder or Colab: the launch buttons at the top of the course page open the student
# notebook) or locally. Locally, from the repository root, in this order:
#
# ```bash
# source bin/activate-tinytorch.sh      # activate the TinyTorch environment
# tito test --module tensor             # check the modules this one builds on
# tito test --module autograd
# tito module start optimizers   # your edition: stubs to write, no hidden tests
# ```
#
# `tito module start` turns this module into your copy to work in: the exercises become stubs, the
# hidden tests are removed, and nothing you write is ever overwritten. Then open
# `modules/source/09_optimizers/optimizers_dev.py` (or its paired notebook) and work in order:
#
# 1. **Implement gradient descent:** the basic parameter update.
# 2. **Build SGD with momentum:** add velocity accumulation for acceleration.
# 3. **Create the Adam optimizer:** adaptive learning rates from moment estimates.
# 4. **Add learning rate scheduling:** adjust the learning rate as training runs.
#
# Export your code into the package and test it, then see where you stand:
#
# ```bash
# tito export --module optimizers && tito test --module optimizers
# tito module status
# ```
#
# When a test fails it says which quantity, at which step, what it expected and what it got, and, when
# your numbers match a mistake learners often make, which mistake that is.
#
# > 💾 **Save your progress.** Binder sessions are temporary: download your notebook when you are done
# > (File → Download), or switch to local development for persistent work.

# %%
#| bootstrap
# Makes `tinytorch` importable. Locally and on Binder it is installed already;
# the student notebooks that open on Colab install it here first.
import tinytorch

# %%
#| default_exp core.optimizers
#| export
import bisect
import contextlib
import copy
import functools
import inspect
import math
import numbers
import types
import warnings
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any, Protocol

import numpy as np


# %%
#| export
# Input checks shared by every function and class of this module: each kind of
# rule is written once, so every optimizer, scheduler and helper gives the same
# message for the same mistake.
def _is_parameter(obj):
    """Duck typing: anything with a NumPy `.data` and a `.grad` attribute can
    be optimized."""
    return isinstance(getattr(obj, "data", None), np.ndarray) and hasattr(
        obj, "grad"
    )


def _grad_array(parameter):
    """The parameter's gradient as a NumPy array (`.grad` may be a tensor or an
    array), or None."""
    grad = parameter.grad
    if grad is None:
        return None
    return (
        grad.data
        if isinstance(getattr(grad, "data", None), np.ndarray)
        else np.asarray(grad)
    )


def _check_gradient_shape(parameter):
    """ValueError unless the gradient has the parameter's shape.

    NumPy would broadcast a (1,) gradient over a (3,) parameter without a word;
    that is always a bug.
    """
    grad = _grad_array(parameter)
    if grad is not None and grad.shape != parameter.data.shape:
        raise ValueError(
            f"a gradient of shape {grad.shape} belongs to a parameter of "
            f"shape {parameter.data.shape}: a gradient must have the shape of "
            "its parameter"
        )


def _check_range(
    name,
    value,
    low=0.0,
    high=math.inf,
    low_open=False,
    high_open=False,
    allow_inf=False,
):
    """TypeError unless `value` is a real number; ValueError unless it is
    finite and in the range.

    Infinity and NaN are refused (a step with them can only give inf or NaN
    parameters), except where `allow_inf` says that +inf means "no limit".
    """
    if math.isinf(high):
        allowed = f"{'>' if low_open else '>='} {low:g}"
    else:
        allowed = (
            f"in {'(' if low_open else '['}{low:g}, {high:g}"
            f"{')' if high_open else ']'}"
        )
    kind, inf = (
        ("a number", " or inf") if allow_inf else ("a finite number", "")
    )
    message = f"{name} must be {kind} {allowed}{inf}, got {value!r}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{message} (a {type(value).__name__})")
    above_low = value > low if low_open else value >= low
    below_high = value < high if high_open else value <= high
    finite = math.isfinite(value) or (allow_inf and value == math.inf)
    if not (finite and above_low and below_high):
        raise ValueError(message)  # NaN fails every comparison: refused too


def _check_int(name, value, low=1):
    """ValueError unless `value` is an integer >= low (True and 2.0 are not
    integers here).
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < low
    ):
        kind = {1: "a positive integer", 0: "a non-negative integer"}
        allowed = kind.get(low, f"an integer >= {low}")
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def _check_flag(name, value):
    """TypeError unless `value` is True or False: a string like "False"
    would count as true.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")


# The types of the public API, for readers and editors (the hints check
# nothing at run time: the checks above do, with messages that name the
# argument).
class Parameter(Protocol):
    """What an optimizer updates: a float NumPy array `.data` and its
    gradient `.grad` (a tensor, a NumPy array of `.data`'s shape, or None),
    such as Variable(..., requires_grad=True). Recognised by duck typing.
    """

    data: np.ndarray
    grad: Any


# an optimizer's `parameters` (PyTorch: `params`): a list of parameters, or a
# list of parameter groups, dicts {"params": [...], "lr": ..., ...}
Params = Iterable[Parameter] | Iterable[dict[str, Any]]


# %%
# Used by the examples and tests in this notebook (the package itself needs
# only NumPy).
from tinytorch.core.autograd import Variable
from tinytorch.core.setup import (
    after_exercise,
    expect,
    expect_close,
    expect_equal,
)
from tinytorch.core.tensor import Tensor


def make_parameter(values, grad=None):
    """A float64 parameter for the examples and tests, with a gradient set by
    hand (or none)."""
    parameter = Variable(
        np.array(values, dtype=np.float64), requires_grad=True
    )
    if grad is not None:
        parameter.grad = Tensor(np.array(grad, dtype=np.float64))
    return parameter


# %% [markdown]
# # Part 1 — Build: optimizers from their formulas
#
# ## 1.1 Gradient descent
#
# Training a network means finding parameters $\theta$ that make a loss $L(\theta)$ small. The gradient
# $\nabla L(\theta)$ points in the direction in which $L$ grows fastest, so a small step against it makes
# $L$ smaller. Repeating that step is **gradient descent**:
#
# $$\theta_{t+1} = \theta_t - \alpha\, \nabla L(\theta_t)$$
#
# The step size $\alpha > 0$ is the **learning rate**. Why does a small enough step always help? Taylor's
# formula says $L(\theta - \alpha g) = L(\theta) - \alpha\, \|g\|^2 + O(\alpha^2)$ for $g = \nabla L(\theta)$.
# For small $\alpha$ the negative middle term wins and the loss decreases. For large $\alpha$ the
# $O(\alpha^2)$ term, which measures the *curvature* of $L$, takes over.
#
# ### Why the learning rate matters: one dimension says it all
#
# Take the simplest curved loss, a parabola $L(\theta) = \tfrac{\lambda}{2}\theta^2$ with curvature
# $\lambda > 0$ and minimum at $0$. Its gradient is $\lambda\theta$, so one step of gradient descent is
#
# $$\theta_{t+1} = \theta_t - \alpha\lambda\theta_t = (1 - \alpha\lambda)\,\theta_t
# \qquad\Longrightarrow\qquad \theta_t = (1 - \alpha\lambda)^t\, \theta_0 .$$
#
# Everything depends on the factor $r = 1 - \alpha\lambda$:
#
# | $\alpha\lambda$ | factor $r$ | what happens |
# | --- | --- | --- |
# | between 0 and 1 | $0 < r < 1$ | creeps towards the minimum from one side |
# | exactly 1 | $r = 0$ | lands on the minimum in one step |
# | between 1 and 2 | $-1 < r < 0$ | overshoots, oscillates, still converges |
# | above 2 | $\lvert r\rvert > 1$ | every step overshoots further: **divergence** |
#
# So gradient descent is stable exactly when $\alpha < 2/\lambda$. A network has many directions with
# different curvatures; the sharpest one, $\lambda_{\max}$, sets the limit $\alpha < 2/\lambda_{\max}$, while the
# flattest one, $\lambda_{\min}$, is the one that converges slowest. That tension is the reason momentum,
# Adam and schedules exist.

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt

    steps = np.arange(16)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for alpha_lambda in (0.2, 0.6, 1.0, 1.5, 1.9, 2.1):
        left.plot(
            steps,
            (1 - alpha_lambda) ** steps,
            marker="o",
            markersize=3,
            label=rf"$\alpha\lambda={alpha_lambda}$",
        )
    left.set_ylim(-2.2, 2.2)
    left.axhline(0, color="gray", linewidth=0.8)
    left.set_xlabel("step $t$")
    left.set_ylabel(r"$\theta_t$  (start $\theta_0 = 1$)")
    left.set_title(r"Gradient descent on $L = \frac{\lambda}{2}\theta^2$")
    left.legend(fontsize=8, ncol=2)

    alpha_lambda = np.linspace(0, 2.5, 500)
    right.plot(alpha_lambda, np.abs(1 - alpha_lambda), color="black")
    right.axhspan(
        0, 1, color="tab:green", alpha=0.12, label="converges ($|r|<1$)"
    )
    right.axvline(
        2,
        color="tab:red",
        linestyle="--",
        label=r"stability edge $\alpha\lambda = 2$",
    )
    right.set_xlabel(r"$\alpha\lambda$")
    right.set_ylabel(r"contraction per step $|1-\alpha\lambda|$")
    right.set_title("Too small is slow, too large diverges")
    right.legend(fontsize=8)
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ### Exercise 1: one step of gradient descent
#
# Write `gradient_descent_step(parameter, learning_rate)`, one step of
#
# $$\theta \leftarrow \theta - \alpha\, g$$
#
# where $\theta$ is `parameter.data` (a NumPy array), $\alpha$ the learning rate and $g$ the gradient.
# What you need to know about `parameter.grad`:
#
# - It is `None` when no loss has used the parameter since the gradients were cleared. Then there is no
#   information about this parameter: leave it alone (no step, no error).
# - Otherwise it is either a **tensor**, whose `.data` is an array of the parameter's shape, or a plain
#   **NumPy array** of that shape: the `Optimizer` base class below accepts both (see its
#   `_grad_array`). Careful: a NumPy array also has an attribute `.data`, but it is a raw memory
#   buffer, not the numbers, so `.data` is only right for a tensor (`isinstance(x, np.ndarray)` tells
#   which one you have).
#
# Pitfalls the tests check:
#
# - **The sign.** The gradient points uphill; the step goes the other way.
# - **In place.** Update the existing array rather than assigning a new one to `parameter.data`. A new
#   array computes the right numbers, but anything else that holds the old array (a layer, a checkpoint,
#   a second view of the weights) silently keeps the old values. An in-place update also keeps the
#   array's dtype: a `float32` model stays `float32`, even when the gradient is `float64`.


# %% nbgrader={"grade": false, "grade_id": "gradient-descent-step", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def gradient_descent_step(parameter: Parameter, learning_rate: float) -> None:
    """One step of gradient descent on one parameter, in place.

        θ ← θ − α·g        (θ: parameter.data, g: its gradient, α ≥ 0)

    Arguments:
        parameter: updated in place on `parameter.data` (so every holder of
            the array sees the step, and its dtype is kept); a parameter
            whose `.grad` is None is left alone.
        learning_rate: α ≥ 0 (PyTorch: `lr`).
    """
    # provided: refuse what NumPy would silently turn into wrong numbers
    _check_range("learning_rate", learning_rate)
    _check_gradient_shape(parameter)
    ### BEGIN SOLUTION
    grad = parameter.grad
    if grad is None:  # no loss used this parameter: nothing to learn from
        return
    # a tensor keeps its numbers in .data; a NumPy array is the numbers
    g = grad if isinstance(grad, np.ndarray) else grad.data
    parameter.data -= learning_rate * g  # in place: every holder sees it
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-gradient-descent-step", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_gradient_descent_step():
    print("🔬 Unit Test: gradient descent step...")
    theta, g, alpha = (
        np.array([1.0, -2.0, 3.0]),
        np.array([0.5, -1.0, 2.0]),
        0.1,
    )
    p = make_parameter(theta, grad=g)
    data_before = p.data
    gradient_descent_step(p, learning_rate=alpha)
    expect_close(
        "θ after one step",
        p.data,
        theta - alpha * g,
        mistakes={
            "the step goes up the gradient (θ + α·g)": theta + alpha * g,
            "the learning rate is left out (θ − g)": theta - g,
        },
    )
    # a layer, an optimizer or a checkpoint may hold the same array
    expect_close(
        "θ seen through another reference to the parameter's array",
        data_before,
        theta - alpha * g,
        mistakes={
            "p.data is replaced by a new array (p.data = p.data - ...) "
            "instead of updated in place (p.data -= ...)": theta
        },
    )
    print("✅ θ ← θ − α·g computed correctly, in place")

    # three steps on L = θ²/2 (gradient θ): θ_t = (1 − α)^t θ_0 = 0.9³ · 4
    p = make_parameter(4.0)
    for t in range(1, 4):
        p.grad = Tensor(p.data.copy())
        gradient_descent_step(p, learning_rate=0.1)
        expect_close(
            "θ on θ²/2 from θ₀ = 4",
            p.data,
            0.9**t * 4.0,
            step=t,
            mistakes={"the step goes up the gradient": 1.1**t * 4.0},
        )
    print("✅ Three steps on θ²/2 give (1 − α)³ θ₀")

    p = make_parameter([1.0, 2.0])
    try:
        gradient_descent_step(p, learning_rate=0.1)
    except (AttributeError, TypeError) as error:
        raise AssertionError(
            "a parameter whose .grad is None must be left alone (no "
            f"gradient, no step), but the step raised {error!r}"
        ) from None
    expect_equal("θ of a parameter without a gradient", p.data, [1.0, 2.0])
    print("✅ A parameter without a gradient is left alone")
    ### BEGIN HIDDEN TESTS
    # .grad may be a plain NumPy array (the Optimizer base class accepts it)
    p = make_parameter([1.0, -1.0])
    p.grad = np.array([2.0, 4.0])
    try:
        gradient_descent_step(p, 0.25)
    except (AttributeError, TypeError) as error:
        raise AssertionError(
            "a step with .grad given as a NumPy array failed "
            f"({error!r}): an array's own .data is a raw memory buffer, "
            "not its numbers, so read .data only from a tensor"
        ) from None
    expect_close(
        "θ after a step whose .grad is a NumPy array",
        p.data,
        [0.5, -2.0],
        mistakes={"the step goes up the gradient": [1.5, 0.0]},
    )
    # in place keeps the parameter's dtype, even for a float64 gradient
    p32 = Variable(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    p32.grad = Tensor(np.array([1.0, 1.0]))
    gradient_descent_step(p32, 0.5)
    expect_equal(
        "dtype of a float32 parameter after a step with a float64 gradient",
        str(p32.data.dtype),
        "float32",
        mistakes={
            "p.data is replaced by a new (float64) array instead of "
            "updated in place": "float64"
        },
    )
    expect_close("θ (float32)", p32.data, np.array([0.5, 1.5], np.float32))
    # α = 0 does not move; α above 2/λ overshoots as the formula says
    for alpha, expected in ((0.0, 1.0), (3.0, -2.0)):
        p = make_parameter(1.0, grad=1.0)
        gradient_descent_step(p, alpha)
        expect_close(
            f"θ after one step from θ = 1 with g = 1 and α = {alpha}",
            p.data,
            expected,
            mistakes={
                "the learning rate is left out (θ − g)": 0.0,
                "the step goes up the gradient": 1.0 + alpha,
            },
        )
    ### END HIDDEN TESTS
    print("📈 Progress: Gradient Descent Step ✓")


if __name__ == "__main__":
    test_unit_gradient_descent_step()


# %% [markdown]
# ## 1.2 The optimizer object
#
# `gradient_descent_step` updates one parameter. A network has many, and better methods than plain gradient
# descent keep a memory per parameter (a velocity, running averages). PyTorch organises this in one base
# class, `torch.optim.Optimizer`, and every algorithm is a small subclass. We do the same. Here is the
# vocabulary; the code below is ready for you to read, not an exercise.
#
# - **`param_groups`** — a list of dicts. Each dict holds a list of parameters under `"params"` and the
#   hyperparameters for them under PyTorch's names: `"lr"`, `"momentum"`, `"betas"`, `"eps"`,
#   `"weight_decay"`, … Groups let you give, say, the last layer a larger learning rate. A key a group does
#   not set is filled in from **`defaults`**, the constructor's values. Schedulers change `group["lr"]`.
# - **`state`** — one dict per parameter for the optimizer's memory (`"momentum_buffer"`, `"exp_avg"`,
#   `"step"`, …), empty until the first step. It is keyed by the parameter object itself.
# - **`zero_grad(set_to_none=True)`** — gradients *accumulate* in `.grad`, so clear them before every
#   backward pass. `None` (the default, as in PyTorch) means "no gradient"; `set_to_none=False` fills zeros.
# - **`step(closure=None)`** — apply the update rule once to every parameter that has a gradient; a
#   parameter whose `.grad` is `None` is skipped, and so is its state. Some methods need to re-evaluate the
#   loss; they pass a `closure` that does forward and backward and returns the loss, and `step` returns it.
# - **`state_dict()` / `load_state_dict()`** — a checkpoint of hyperparameters and state as plain Python
#   and NumPy values. Parameters are stored by their position, not by identity, so a fresh optimizer over
#   a fresh model can load it, and training resumes **bit for bit** where it stopped.
#
# Every subclass's `step` looks the same around its formula:
#
# ```python
# def step(self, closure=None):
#     # count the step, evaluate the closure
#     loss = self._begin_step(closure)
#     # only the parameters that have a gradient
#     for p, g, state, group in self._each_parameter():
#         ...  # the update formula, in place on p.data
#     return loss
# ```
#
# `g` is the gradient as a NumPy array, `state` that parameter's dict and `group` its hyperparameters.
# The base class also checks its inputs, so mistakes fail loudly at the line that made them: an empty
# parameter list, the same parameter twice, something that is not a parameter, or a checkpoint from a
# different model.


# %%
#| export
def _as_list(params, name):
    """A list of parameters (or of group dicts), with a clear message for the
    usual mistakes."""
    if _is_parameter(params):
        raise TypeError(
            f"{name} must be a list of parameters such as [w, b], not a "
            "single parameter: wrap it in a list"
        )
    if isinstance(params, (set, frozenset)):
        raise TypeError(
            f"{name} must be an ordered collection (a list), not a set: the "
            "order decides which saved state belongs to which parameter in a "
            "checkpoint"
        )
    try:
        return list(params)
    except TypeError:
        raise TypeError(
            f"{name} must be a list of parameters or of parameter groups "
            f"(dicts), got {type(params).__name__}"
        ) from None


def _check_parameter(p, name):
    if not _is_parameter(p):
        raise TypeError(
            f"{name} holds a {type(p).__name__}, which is not a parameter: a "
            "parameter has a NumPy array `.data` and a `.grad`, e.g. "
            "Variable(..., requires_grad=True)"
        )
    if not np.issubdtype(p.data.dtype, np.floating):
        raise TypeError(
            f"{name} holds a parameter of dtype {p.data.dtype}: parameters "
            "must hold floating-point numbers (create it with "
            "requires_grad=True or dtype=float)"
        )


# The range each hyperparameter is defined on, by its key in a parameter group
# (PyTorch's names). Where PyTorch accepts a value that can only give NaN or a
# run that never settles, the module is stricter: eps = 0 divides 0 by 0 on a
# zero gradient; a momentum, beta or alpha of 1 or more makes an average that
# never forgets (or grows without bound).
_UNIT = dict(high=1.0, high_open=True)  # [0, 1)
_RANGES = {
    "lr": ("learning_rate (lr)", {}),
    "momentum": ("momentum", _UNIT),
    "dampening": ("dampening", dict(high=1.0)),
    "weight_decay": ("weight_decay", {}),
    "eps": ("eps", dict(low_open=True)),
    "alpha": ("alpha", _UNIT),
    "lr_decay": ("lr_decay", {}),
    "initial_accumulator_value": ("initial_accumulator_value", {}),
    # what schedulers add to a group
    "initial_lr": ("initial_lr", {}),
    "max_lr": ("max_lr", {}),
    "min_lr": ("min_lr", {}),
    "max_momentum": ("max_momentum", _UNIT),
    "base_momentum": ("base_momentum", _UNIT),
}
_FLAGS = ("nesterov", "maximize", "amsgrad", "centered")
# options added after the first release: an older checkpoint loads with these
_ADDED_KEYS = {"fused": None}
_SCHEDULE_KEYS = {
    "initial_lr",
    "max_lr",
    "min_lr",
    "max_momentum",
    "base_momentum",
}


def _check_betas(betas):
    pair = isinstance(betas, (tuple, list))
    if pair and betas and isinstance(betas[0], (tuple, list)):
        # Adam(params, lr, (0.9, 0.999)): PyTorch's positional pair
        raise TypeError(
            f"beta1 must be a number, got {betas[0]!r}: pass PyTorch's pair "
            f"as betas={betas[0]!r}"
        )
    if not pair or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    _check_range("beta1", betas[0], **_UNIT)
    _check_range("beta2", betas[1], **_UNIT)


def _check_hyperparameters(group):
    """Check every hyperparameter of a group whose range is known, whichever
    optimizer it belongs to.
    """
    for key, value in group.items():
        if key in _RANGES:
            name, limits = _RANGES[key]
            _check_range(name, value, **limits)
        elif key in _FLAGS:
            _check_flag(key, value)
    if "betas" in group:
        _check_betas(group["betas"])


# PyTorch's argument names for the module's own: code written for torch.optim
# ports unchanged.
_PYTORCH_NAMES = {
    "params": ("parameters",),
    "lr": ("learning_rate",),
    "betas": ("beta1", "beta2"),
}


def _accept_pytorch_names(init):
    """Wrap an optimizer's `__init__` so that it also takes `params`, `lr`
    and `betas` (PyTorch's names).
    """
    signature = inspect.signature(init)
    aliases = {
        torch_name: own_names
        for torch_name, own_names in _PYTORCH_NAMES.items()
        if torch_name not in signature.parameters
        and all(name in signature.parameters for name in own_names)
    }
    if not aliases:
        return init

    @functools.wraps(init)
    def init_with_pytorch_names(self, *args, **kwargs):
        torch_values = {
            name: kwargs.pop(name) for name in aliases if name in kwargs
        }
        given = signature.bind_partial(self, *args, **kwargs).arguments
        for torch_name, value in torch_values.items():
            own_names = aliases[torch_name]
            values = (value,)
            if len(own_names) > 1:  # betas=(beta1, beta2)
                values = (
                    tuple(value) if isinstance(value, (tuple, list)) else ()
                )
                if len(values) != len(own_names):
                    raise ValueError(
                        f"{torch_name} must be a pair "
                        f"({', '.join(own_names)}), got {value!r}"
                    )
            for name, own_value in zip(own_names, values):
                if name in given:
                    raise TypeError(
                        f"got both {name}={given[name]!r} and "
                        f"{torch_name}={value!r}: pass only one of them"
                    )
                kwargs[name] = own_value
        return init(self, *args, **kwargs)

    return init_with_pytorch_names


def _optimizers_with_keys(keys):
    """The names of the optimizer classes whose groups hold these
    hyperparameters (to name a foreign state).
    """
    own_key = {
        own: torch for torch, owns in _PYTORCH_NAMES.items() for own in owns
    }
    found, classes = {}, list(Optimizer.__subclasses__())
    while classes:
        cls = classes.pop()
        classes += cls.__subclasses__()
        names = inspect.signature(cls.__init__).parameters
        wanted = {own_key.get(n, n) for n in names} - {"self", "params"}
        if wanted <= set(keys):
            found[cls.__name__] = len(wanted)
    best = max(found.values(), default=0)
    names = sorted(name for name, size in found.items() if size == best)
    return " or ".join(names) if names else "another optimizer"


def _entries(state_dict, where, keys):
    """The values of `keys` in a loaded dict; a missing one is named instead
    of a bare KeyError.
    """
    if not isinstance(state_dict, dict):
        raise TypeError(
            f"{where} must be a dict (from state_dict()), got "
            f"{type(state_dict).__name__}"
        )
    for key in keys:
        if key not in state_dict:
            raise ValueError(
                f"{where} has no {key!r} entry: is it a state dict made by "
                "state_dict()?"
            )
    return [state_dict[key] for key in keys]


@contextlib.contextmanager
def _context(where):
    """Prefix a ValueError/TypeError raised inside with where it happened."""
    try:
        yield
    except (TypeError, ValueError) as error:
        raise type(error)(f"{where}: {error}") from None


def _copy_value(value):
    """A deep copy, so a checkpoint never shares arrays with the live
    optimizer."""
    return (
        value.copy() if isinstance(value, np.ndarray) else copy.deepcopy(value)
    )


class ParameterState(MutableMapping):
    """`optimizer.state`: the dict of buffers (momentum, running averages, step
    count) of each parameter.

    The keys are the parameter objects, matched by identity (`is`), never by
    `==`: two parameters that hold equal numbers are still two parameters, and
    a tensor's `==` may compare element by element.
    """

    def __init__(self):
        self._entries = {}  # id(parameter) -> (parameter, its state dict)

    def __getitem__(self, parameter):
        try:
            return self._entries[id(parameter)][1]
        except KeyError:
            raise KeyError(
                "this parameter has no optimizer state yet"
            ) from None

    def __setitem__(self, parameter, state):
        # keeping the parameter alive keeps its id unique
        self._entries[id(parameter)] = (parameter, state)

    def __delitem__(self, parameter):
        del self._entries[id(parameter)]

    def __iter__(self):
        return (parameter for parameter, _ in self._entries.values())

    def __len__(self):
        return len(self._entries)

    def __repr__(self):
        keys = [sorted(state) for _, state in self._entries.values()]
        return f"ParameterState({len(self)} parameters: {keys})"


# %%
#| export
class Optimizer:
    """Base class of every optimizer (as torch.optim.Optimizer).

    It keeps the parameter groups, the state of each parameter, zero_grad
    and checkpoints. A subclass hands its hyperparameter defaults (PyTorch's
    names: lr, momentum, betas, ...) to `__init__` and writes one method,
    `step`, whose body is its update formula.

    Attributes:
        param_groups: a list of dicts {"params": [...], "lr": ..., ...}, one
            per group, with PyTorch's key names; a key a group does not set
            comes from `defaults`. Schedulers change group["lr"].
        defaults: the constructor's hyperparameters.
        state: per parameter (matched by identity), the dict of buffers its
            update rule keeps; empty until the parameter's first step.

    Arguments:
        params: a list of parameters, or a list of parameter groups (dicts
            with a "params" entry and any hyperparameters of their own).
            Not empty, no parameter twice, and not a set: the order decides
            which saved state belongs to which parameter in a checkpoint.
        defaults: the hyperparameters of a group that does not set its own.

    Every subclass's constructor also takes PyTorch's argument names:
    `params` for `parameters`, `lr` for `learning_rate`, and
    `betas=(beta1, beta2)` (resolved in one place, `_accept_pytorch_names`).
    The base class checks every hyperparameter it knows (`_RANGES`) wherever
    it enters: constructor, `add_param_group` and `load_state_dict`; a
    subclass adds rules that tie several together in `_validate(group)`.
    Every hyperparameter must be a finite number: stricter than PyTorch,
    which lets inf through, a value that can only give inf or NaN.
    """

    def __init_subclass__(cls, **kwargs):
        # one place for PyTorch's names: every optimizer's constructor takes
        # params, lr and betas too
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls):
            cls.__init__ = _accept_pytorch_names(cls.__init__)

    def __init__(self, params: Params, defaults: dict[str, Any]) -> None:
        if params is None:
            raise TypeError(
                f"{type(self).__name__} needs the parameters to optimize, "
                f"e.g. {type(self).__name__}(model.parameters(), ...)"
            )
        self.defaults = dict(defaults)
        self.state = ParameterState()
        self.param_groups = []
        # schedulers warn if they step before the optimizer has
        self._steps_taken = 0
        groups = _as_list(params, "parameters")
        if not groups and iter(params) is params:
            raise ValueError(
                "parameters is an empty iterator: was it already used, e.g. "
                "by another optimizer? A generator can be read only once: "
                "pass a list, list(model.parameters())"
            )
        if not groups:
            raise ValueError(
                "parameters is an empty list: an optimizer needs at least "
                "one parameter to update"
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters.

        param_group: {"params": [...], "lr": ..., ...} with PyTorch's key
        names; a hyperparameter it does not set comes from `defaults`.
        """
        if not isinstance(param_group, dict):
            raise TypeError(
                "a parameter group must be a dict like "
                "{'params': [...], 'lr': 0.1}, "
                f"got {type(param_group).__name__}"
            )
        if "params" not in param_group:
            raise ValueError(
                "a parameter group needs a 'params' entry with its parameters"
            )
        for own_name, torch_name in (
            ("learning_rate", "lr"),
            ("beta1", "betas"),
            ("beta2", "betas"),
        ):
            if own_name in param_group:
                raise ValueError(
                    "parameter groups use PyTorch's key names: write "
                    f"{torch_name!r}, not {own_name!r}"
                )
        group_params = param_group["params"]
        params = (
            [group_params]
            if _is_parameter(group_params)
            else _as_list(group_params, "params")
        )
        for p in params:
            _check_parameter(p, "parameters")
        known = {id(p) for group in self.param_groups for p in group["params"]}
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids) or known.intersection(ids):
            raise ValueError(
                "the same parameter appears twice (in one group or in two "
                "groups): each parameter can be optimized only once"
            )
        group = {**param_group, "params": params}
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._validate(group)
        self.param_groups.append(group)

    def _validate(self, group):
        """ValueError/TypeError for a hyperparameter outside its range;
        subclasses add joint rules.
        """
        _check_hyperparameters(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set `.grad` to None (default), or fill it with
        zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = _grad_array(p)
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif grad.flags.writeable:
                    grad[...] = 0
                else:  # a read-only view: replace it by fresh zeros
                    _set_grad_array(p, np.zeros_like(grad))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Apply the update rule once; each optimizer defines it.

        closure: a function that re-evaluates the model (forward and
        backward) and returns the loss; `step` returns that loss, or None.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not define step()"
        )

    # --- what every step shares ----------------------------------------------
    def _begin_step(self, closure):
        """The start of every `step`: count it, and re-evaluate the loss when a
        closure is given."""
        self._steps_taken += 1
        return None if closure is None else closure()

    def _each_parameter(self):
        """(parameter, gradient array, its state dict, its group) for every
        parameter with a gradient that the readable loop of `step` updates.

        The fast path (Part 3.6) is chosen here, once for every optimizer, as
        torch.optim chooses between its implementations: a parameter that
        takes it is updated by the class's `_fast_update` (the same numbers,
        in place, in cache-sized blocks) and is not yielded, so `step` stays
        the readable formula. The group's `fused` decides: None (auto) for
        large float arrays, True wherever possible, False never.
        """
        for group in self.param_groups:
            for p in group["params"]:
                grad = _grad_array(p)
                if grad is None:
                    # not used by this loss: leave it and its state alone
                    continue
                _check_gradient_shape(p)
                state = self.state.setdefault(p, {})
                if self._takes_fast_path(p.data, grad, state, group):
                    self._fast_update(p.data, grad, state, group)
                else:
                    yield p, grad, state, group

    # the fast path: a subclass that has one overrides these two
    _fast_update = None  # (param, grad, state, group) -> None, in place

    def _fast_path_supports(self, param, group, state):
        """Whether the fast update handles this group's options and state."""
        return False

    def _scratch(self, param):
        """Three rows of one block, reused by every fast update (per dtype)."""
        buffers = self.__dict__.setdefault("_scratch_buffers", {})
        if param.dtype not in buffers:
            buffers[param.dtype] = np.empty((3, BLOCK_SIZE), param.dtype)
        return buffers[param.dtype]

    def _takes_fast_path(self, param, grad, state, group):
        fused = group.get("fused")
        if fused not in (None, True, False):
            raise ValueError(
                f"fused must be None (auto), True or False, got {fused!r}"
            )
        if fused is False or self._fast_update is None:
            return False
        if fused is None and np.size(param) < FAST_PATH_MIN_SIZE:
            return False  # small: the readable step is as fast
        if not _fast_path_arrays(param, grad):
            return False  # fused=True too: the readable step handles it
        if not _plain_numbers(group):
            return False  # NumPy scalars can widen the readable step's dtype
        return self._fast_path_supports(param, group, state)

    # --- checkpoints ---------------------------------------------------------
    def _all_parameters(self):
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters and state as plain Python and NumPy values;
        parameters appear as positions.

        {"state": {position: {key: value}}, "param_groups": [{..., "params":
        [positions]}]}, as torch.optim's; a deep copy of the live optimizer.
        """
        index = {id(p): i for i, p in enumerate(self._all_parameters())}
        groups = [
            {
                **{
                    key: _copy_value(value)
                    for key, value in group.items()
                    if key != "params"
                },
                "params": [index[id(p)] for p in group["params"]],
            }
            for group in self.param_groups
        ]
        state = {
            index[id(p)]: {
                key: _copy_value(value) for key, value in buffers.items()
            }
            for p, buffers in self.state.items()
            if id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a checkpoint made by `state_dict()` of an optimizer over the
        same parameter shapes.

        Everything is checked before anything changes: a refused state dict
        leaves the optimizer as it was.
        """
        saved_groups, saved_state = _entries(
            state_dict, "the state dict", ("param_groups", "state")
        )
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"the state dict has {len(saved_groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        groups, by_position = [], {}
        for i, (saved, group) in enumerate(
            zip(saved_groups, self.param_groups)
        ):
            where = f"the state dict's param_groups[{i}]"
            (positions,) = _entries(saved, where, ("params",))
            if len(positions) != len(group["params"]):
                raise ValueError(
                    f"parameter group {i} has {len(positions)} parameters in "
                    f"the state dict and {len(group['params'])} in this "
                    "optimizer"
                )
            # an option added since the checkpoint was written: its default
            added = {k: v for k, v in _ADDED_KEYS.items() if k not in saved}
            saved = {**saved, **{k: v for k, v in added.items() if k in group}}
            self._check_same_kind(saved, group, where)
            restored = {
                **{k: _copy_value(v) for k, v in saved.items()},
                "params": group["params"],
            }
            with _context(where):
                self._validate(restored)
            groups.append(restored)
            by_position.update(zip(positions, group["params"]))
        state = ParameterState()
        for position, buffers in saved_state.items():
            if position not in by_position:
                raise ValueError(
                    f"the state dict has state for parameter {position}, "
                    "which no group contains"
                )
            p = by_position[position]
            for key, value in buffers.items():
                if (
                    isinstance(value, np.ndarray)
                    and value.shape != p.data.shape
                ):
                    raise ValueError(
                        f"state {key!r} of parameter {position} has shape "
                        f"{value.shape}, but the parameter has shape "
                        f"{p.data.shape}: is this a checkpoint of another "
                        "model?"
                    )
            state[p] = {
                key: value.astype(p.data.dtype)
                if isinstance(value, np.ndarray)
                else copy.deepcopy(value)
                for key, value in buffers.items()
            }
        # every check passed: only now replace anything
        self.state = state
        self.param_groups = groups

    def _check_same_kind(self, saved, group, where):
        """ValueError unless a saved group has this optimizer's
        hyperparameters (not another's).
        """
        name = type(self).__name__
        missing = sorted(set(self.defaults) - set(saved))
        extra = sorted(set(saved) - set(group) - _SCHEDULE_KEYS - {"params"})
        if missing and extra:
            raise ValueError(
                f"{name} cannot load the state of "
                f"{_optimizers_with_keys(saved)}: {where} has "
                f"{', '.join(extra)} instead of {', '.join(missing)}"
            )
        if missing:
            raise ValueError(
                f"{where} has no {missing[0]!r}: a state dict of {name} holds "
                f"{', '.join(sorted(self.defaults))}"
            )
        if extra:
            raise ValueError(
                f"{where} has {', '.join(extra)}, which {name} does not use: "
                "is it the state of another optimizer?"
            )

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [
                f"    {key}: {value}"
                for key, value in sorted(group.items())
                if key != "params"
            ]
        return "\n".join(lines + [")"])


def _set_grad_array(parameter, array):
    """Replace the array behind `parameter.grad` (a tensor's `.data`, or the
    array itself)."""
    if isinstance(getattr(parameter.grad, "data", None), np.ndarray):
        parameter.grad.data = array
    else:
        parameter.grad = array


# The fast path pays where temporaries are expensive: a full-size temporary is
# fresh memory the system must find and clear, and costs a pass over memory.
# Below ~64K elements (256 KB in float32) it stays in cache and the readable
# step is as fast.
FAST_PATH_MIN_SIZE = 1 << 16
FAST_PATH_DTYPES = (np.float32, np.float64)
# A fast update works on blocks of this many elements: the block's arrays
# (128 KB each in float32) stay in the processor's caches from one operation to
# the next, and each NumPy call (about a microsecond of fixed cost) still does
# enough work. Measured at 16M parameters: 4K is 2x slower, 64K no faster.
BLOCK_SIZE = 1 << 15


def _plain_numbers(group):
    """Whether every hyperparameter is a Python number (or a pair of them)."""
    values = [value for key, value in group.items() if key != "params"]
    for value in values:
        for item in value if isinstance(value, (tuple, list)) else [value]:
            if isinstance(item, (np.generic, np.ndarray)):
                return False
    return True


def _fast_path_arrays(param, *arrays):
    """Whether flat views can update `param` in place, reading `arrays`."""
    return (
        isinstance(param, np.ndarray)
        and param.dtype in FAST_PATH_DTYPES
        and param.flags.c_contiguous
        and param.flags.writeable
        and all(
            isinstance(a, np.ndarray)
            and a.dtype == param.dtype
            and a.shape == param.shape
            and a.flags.c_contiguous
            for a in arrays
        )
    )


# %% [markdown]
# A complete optimizer is now a few lines. Here is plain gradient descent as a subclass (the same formula
# as your `gradient_descent_step`, written against the group's `"lr"`), used on two parameter groups with
# different learning rates:


# %%
class PlainGD(Optimizer):
    """θ ← θ − lr·g (an example of a subclass; the module's real one is SGD
    below)."""

    def __init__(self, parameters, lr=0.1):
        super().__init__(parameters, defaults={"lr": lr})

    def step(self, closure=None):
        loss = self._begin_step(closure)
        for p, g, state, group in self._each_parameter():
            p.data -= group["lr"] * g
        return loss


if __name__ == "__main__":
    w, b = (
        make_parameter([1.0, 1.0], grad=[1.0, 1.0]),
        make_parameter(1.0, grad=1.0),
    )
    optimizer = PlainGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    optimizer.step()
    print(optimizer)
    print("w:", w.data, " b:", b.data)
    optimizer.zero_grad()
    print("after zero_grad, w.grad is", w.grad)


# %% nbgrader={"grade": false, "grade_id": "test-optimizer-base", "locked": true, "schema_version": 3, "solution": false, "task": false}
def test_unit_optimizer_base():
    print("🔬 Unit Test: Optimizer base class...")
    w, b, unused = (
        make_parameter([1.0, 2.0], grad=[1.0, 1.0]),
        make_parameter(0.0, grad=2.0),
        make_parameter(5.0),
    )
    opt = PlainGD([{"params": [w, unused]}, {"params": b, "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    loss = opt.step(closure=lambda: 42.0)
    assert loss == 42.0
    assert (
        np.allclose(w.data, [0.9, 1.9])
        and b.data == -1.0
        and unused.data == 5.0
    )
    assert unused not in opt.state, (
        "a parameter without gradient gets no state"
    )
    print("✅ Parameter groups, defaults, closure and skipped parameters work")
    opt.zero_grad(set_to_none=False)
    assert np.array_equal(w.grad.data, [0.0, 0.0])
    opt.zero_grad()
    assert w.grad is None and b.grad is None
    print("✅ zero_grad in both modes")
    for bad, error in (
        ([], ValueError),
        ([w, w], ValueError),
        ([1.0], TypeError),
        (w, TypeError),
    ):
        try:
            PlainGD(bad)
        except error:
            pass
        else:
            raise AssertionError(
                f"PlainGD({bad!r}) should raise {error.__name__}"
            )
    print("✅ Bad parameter lists are refused")


if __name__ == "__main__":
    test_unit_optimizer_base()

# %% [markdown]
# ## 1.3 Momentum: gradient descent with a velocity
#
# On a loss shaped like a long narrow valley, gradient descent zig-zags: the steep walls (large curvature)
# force a small learning rate, and along the flat valley floor (small curvature) that small step crawls.
# A ball rolling down the same valley behaves better. It keeps its velocity, so the back-and-forth pushes
# from the walls cancel out, while the small but consistent push along the floor adds up.
#
# **Momentum** (Polyak's *heavy ball*) gives the parameters such a velocity $v$:
#
# $$v_{t+1} = \beta\, v_t + \nabla L(\theta_t), \qquad \theta_{t+1} = \theta_t - \alpha\, v_{t+1},
# \qquad v_0 = 0 .$$
#
# $\beta \in [0, 1)$ is how much velocity survives a step (friction is $1-\beta$). Unrolled, the velocity is
# a geometrically weighted sum of all past gradients, $v_{t+1} = \sum_{k=0}^{t} \beta^{k}\, \nabla L(\theta_{t-k})$.
# When the gradient keeps pointing the same way, $g$, the velocity approaches $g/(1-\beta)$: with
# $\beta = 0.9$ momentum moves up to **ten times** faster than plain gradient descent. When the gradient
# flips sign every step, the terms cancel and the velocity stays small.
#
# How much faster, exactly? On a quadratic whose curvatures lie between $\lambda_{\min}$ and $\lambda_{\max}$,
# with condition number $\kappa = \lambda_{\max}/\lambda_{\min}$, the best learning rate makes the error of
# gradient descent shrink by $\frac{\kappa-1}{\kappa+1}$ per step; the best heavy ball
# ($\alpha = 4/(\sqrt{\lambda_{\max}}+\sqrt{\lambda_{\min}})^2$, $\beta = \big(\frac{\sqrt\kappa-1}{\sqrt\kappa+1}\big)^2$)
# shrinks it by $\frac{\sqrt\kappa-1}{\sqrt\kappa+1}$. For $\kappa = 20$ that is $0.905$ against $0.635$: to gain a
# factor of a million, about 140 steps against 30. The right panel below shows exactly that (the heavy-ball
# curve runs a little above its dashed rate: at the optimal $\beta$ the error carries an extra factor $t$, which
# costs a few steps but not the rate).
#
# ### The same velocity, written the PyTorch way
#
# PyTorch stores the velocity as a **momentum buffer** $b$. At the first step the buffer is a copy of the
# gradient; afterwards $b \leftarrow \mu b + (1-\tau)\, g$ with momentum $\mu$ and *dampening* $\tau$ (default 0);
# the step is $\theta \leftarrow \theta - \alpha\, b$. With $\tau = 0$ this is the page's formula with $b = v$ and
# $\mu = \beta$: $v_1 = \beta\cdot 0 + g_0 = g_0$ is the copy, and the recursion is the same. (Another common form,
# $u \leftarrow \beta u - \alpha g$, $\theta \leftarrow \theta + u$, gives the same steps only while $\alpha$ is constant;
# with a learning-rate schedule PyTorch's form, which applies today's $\alpha$ to the whole velocity, differs.)
#
# ### Nesterov momentum: look before you leap
#
# Heavy ball first computes the gradient, then adds the velocity. **Nesterov** momentum evaluates the
# gradient where the velocity is about to take you, which corrects an overshoot one step earlier. PyTorch
# writes it without a second gradient evaluation: after updating the buffer, step along
# $g + \mu b$ instead of $b$, that is, the current gradient plus a preview of the next velocity.
#
# ### Weight decay and maximizing
#
# Two more options complete `SGD`. **Weight decay** $\lambda$ adds $\frac{\lambda}{2}\|\theta\|^2$ to the loss (L2
# regularisation), whose gradient is $\lambda\theta$: it pulls every weight a little towards zero. **Maximize**
# climbs instead of descending by flipping the gradient's sign.

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    steps = np.arange(1, 61)
    for beta in (0.0, 0.5, 0.9, 0.95):
        left.plot(
            steps, (1 - beta**steps) / (1 - beta), label=rf"$\beta = {beta}$"
        )  # v_t for g = 1
    left.set_xlabel("step $t$")
    left.set_ylabel("velocity $v_t$ for a constant gradient $g = 1$")
    left.set_title(r"Velocity approaches $g/(1-\beta)$")
    left.legend()

    # quadratic with curvatures 1 and κ = 20, both methods at their best
    # hyperparameters (NumPy only)
    curvatures = np.array([1.0, 20.0])
    kappa = curvatures.max() / curvatures.min()
    alpha_gd = 2 / (curvatures.min() + curvatures.max())
    alpha_hb = 4 / (np.sqrt(curvatures.max()) + np.sqrt(curvatures.min())) ** 2
    beta_hb = ((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2
    theta_gd, theta_hb, velocity = np.ones(2), np.ones(2), np.zeros(2)
    errors_gd, errors_hb = [], []
    for _ in range(80):
        theta_gd = theta_gd - alpha_gd * curvatures * theta_gd
        velocity = beta_hb * velocity + curvatures * theta_hb
        theta_hb = theta_hb - alpha_hb * velocity
        errors_gd.append(np.linalg.norm(theta_gd))
        errors_hb.append(np.linalg.norm(theta_hb))
    t = np.arange(1, 81)
    rate_gd, rate_hb = (
        (kappa - 1) / (kappa + 1),
        (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1),
    )
    right.semilogy(t, errors_gd, label="gradient descent")
    right.semilogy(t, errors_hb, label="heavy ball")
    right.semilogy(
        t, rate_gd**t, "k--", linewidth=0.8, label=rf"$({rate_gd:.3f})^t$"
    )
    right.semilogy(
        t, rate_hb**t, "k:", linewidth=0.8, label=rf"$({rate_hb:.3f})^t$"
    )
    right.set_xlabel("step $t$")
    right.set_ylabel(r"$\|\theta_t - \theta^*\|$")
    right.set_title(r"Quadratic with $\kappa = 20$, best hyperparameters")
    right.legend(fontsize=8)
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ### Exercise 2: `SGD.step`
#
# The constructor, the checks and the loop are written. Write the body of the loop: the update of one
# parameter `p` with gradient array `g`, its `state` dict and its `group` of hyperparameters
# (`group["lr"]`, `group["momentum"]`, `group["dampening"]`, `group["weight_decay"]`,
# `group["nesterov"]`, `group["maximize"]`). In this order:
#
# $$
# \begin{aligned}
# g &\leftarrow -g \quad \text{if maximize} \\
# g &\leftarrow g + \lambda\,\theta \quad \text{(weight decay } \lambda\text{)} \\
# \text{if } \mu \ne 0:\quad b &\leftarrow \begin{cases} \text{a copy of } g & \text{first step (no buffer yet)} \\
#                                        \mu\, b + (1-\tau)\, g & \text{afterwards} \end{cases} \\
# g &\leftarrow \begin{cases} g + \mu\, b & \text{nesterov} \\ b & \text{otherwise} \end{cases} \\
# \theta &\leftarrow \theta - \alpha\, g
# \end{aligned}
# $$
#
# Keep the buffer in `state["momentum_buffer"]` (PyTorch's name, so checkpoints read the same). Two
# traps: `g` may be the very array stored in `p.grad`, so build new arrays (`g = g + ...`) instead of
# changing it in place; and the buffer must be a *copy* of the first gradient, not the same array.
# Update `p.data` in place, as in Exercise 1.


# %% nbgrader={"grade": false, "grade_id": "sgd-step", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class SGD(Optimizer):
    """Stochastic gradient descent with momentum, Nesterov momentum and weight
    decay (as torch.optim.SGD).

    sgd = SGD(parameters=[w1, w2, bias], learning_rate=0.01, momentum=0.9)
    sgd = SGD(model.parameters(), lr=0.01, momentum=0.9)  # PyTorch's names

    Each step, for every parameter θ whose gradient g is not None:
        g ← −g                   (maximize)
        g ← g + λ·θ              (weight_decay λ)
        b ← μ·b + (1 − τ)·g      (momentum μ ≠ 0, dampening τ;
                                  b ← a copy of g at the first step)
        g ← g + μ·b              (nesterov; otherwise g ← b, if μ ≠ 0)
        θ ← θ − α·g              (learning_rate α)

    State per parameter: `momentum_buffer` (b; only when momentum ≠ 0).

    Arguments:
        parameters: the parameters, or parameter groups (PyTorch: `params`).
        learning_rate: α ≥ 0 (PyTorch: `lr`).
        momentum: μ in [0, 1).
        dampening: τ in [0, 1].
        weight_decay: λ ≥ 0, an L2 penalty λ/2·‖θ‖² added to the loss.
        nesterov: True or False; needs momentum > 0 and dampening = 0.
        maximize: True or False; climb the objective instead.
        fused: None (auto: the blocked in-place update of Part 3.6 for
            float32/float64 parameters of FAST_PATH_MIN_SIZE elements or
            more), True (wherever it applies) or False (never); keyword
            only. The numbers are the same either way.

    momentum must be in [0, 1) and dampening in [0, 1]: stricter than PyTorch,
    which accepts a momentum of 1 or more, whose velocity never decays and
    grows without bound.
    """

    def __init__(
        self,
        parameters: Params | None = None,
        learning_rate: float = 0.01,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
        *,
        fused: bool | None = None,
    ) -> None:
        defaults = {
            "lr": learning_rate,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "fused": fused,  # the fast path (Part 3.6): None = auto
        }
        super().__init__(parameters, defaults)

    def _fast_path_supports(self, param, group, state):
        buffer = state.get("momentum_buffer")
        return buffer is None or _fast_path_arrays(buffer, param)

    def _fast_update(self, param, grad, state, group):
        """The same numbers as `step`, in place in blocks (Part 3.6)."""
        sgd_fast_update(param, grad, state, group, self._scratch(param))

    def _validate(self, group):
        super()._validate(group)
        if group["nesterov"] and (
            group["momentum"] <= 0 or group["dampening"] != 0
        ):
            raise ValueError(
                "nesterov=True needs momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']!r} and "
                f"dampening={group['dampening']!r}"
            )

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """θ ← θ − α·b for every parameter with a gradient (see the class)."""
        loss = self._begin_step(closure)
        for p, g, state, group in self._each_parameter():
            ### BEGIN SOLUTION
            lr, mu, tau, wd = (
                group["lr"],
                group["momentum"],
                group["dampening"],
                group["weight_decay"],
            )
            if group["maximize"]:
                g = -g
            if wd != 0:
                g = g + wd * p.data
            if mu != 0:
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = g.copy()
                else:
                    state["momentum_buffer"] = (
                        mu * state["momentum_buffer"] + (1 - tau) * g
                    )
                b = state["momentum_buffer"]
                g = g + mu * b if group["nesterov"] else b
            p.data -= lr * g
            ### END SOLUTION
        return loss


# %% nbgrader={"grade": true, "grade_id": "test-sgd-momentum", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_unit_sgd_momentum():
    print("🔬 Unit Test: SGD with momentum...")
    # L = θ²/2, gradient θ, θ₀ = 1, α = 0.1, β = 0.9. By hand:
    #   t=1: b = 1                      θ = 1    − 0.1·1    = 0.9
    #   t=2: b = 0.9·1   + 0.9  = 1.8   θ = 0.9  − 0.1·1.8  = 0.72
    #   t=3: b = 0.9·1.8 + 0.72 = 2.34  θ = 0.72 − 0.1·2.34 = 0.486
    # Without a buffer kept between steps it is plain descent: θ = 0.9^t.
    # Stepping with the buffer from before this step's update: θ₁ = 1.
    p = make_parameter(1.0)
    sgd = SGD([p], learning_rate=0.1, momentum=0.9)
    trajectory = ((0.9, 1.0), (0.72, 1.8), (0.486, 2.34))
    for t, (expected_theta, expected_buffer) in enumerate(trajectory, 1):
        p.grad = Tensor(p.data.copy())
        sgd.step()
        expect_close(
            "θ",
            p.data,
            expected_theta,
            step=t,
            mistakes={
                "the momentum buffer is not kept between steps "
                "(it restarts from the gradient every step)": 0.9**t,
                "θ is stepped with the buffer from before this step's "
                "update": 1.0,
            },
        )
        expect(
            "momentum_buffer" in sgd.state[p],
            "state['momentum_buffer'] is missing: keep the buffer under "
            "PyTorch's name",
        )
        expect_close(
            "state['momentum_buffer']",
            sgd.state[p]["momentum_buffer"],
            expected_buffer,
            step=t,
            mistakes={
                "the buffer stores the velocity u = −α·b (u ← μu − αg) "
                "instead of PyTorch's b ← μb + g": -0.1 * expected_buffer
            },
        )
    print("✅ Parameter updates follow momentum equations")

    # constant gradient g: b_t = (1 − β^t)/(1 − β)·g;
    # θ moves by α Σ_{t=1}^{10} b_t
    p = make_parameter([0.0, 0.0])
    sgd = SGD([p], learning_rate=0.1, momentum=0.9)
    for _ in range(10):
        p.grad = Tensor(np.array([1.0, -2.0]))
        sgd.step()
    buffer = (1 - 0.9**10) / (1 - 0.9)  # 6.5132155990
    moved = 0.1 * (10 - 0.9 * buffer) / (1 - 0.9)
    expect_close(
        "state['momentum_buffer'] for a constant gradient [1, -2]",
        sgd.state[p]["momentum_buffer"],
        [buffer, -2 * buffer],
        step=10,
        mistakes={"the buffer is not kept between steps": [1.0, -2.0]},
    )
    expect_close(
        "θ for a constant gradient [1, -2]",
        p.data,
        [-moved, 2 * moved],
        step=10,
        mistakes={"the buffer is not kept between steps": [-1.0, 2.0]},
    )
    print("✅ Velocity accumulation works correctly")

    # the page's example: minimize x² from x = 10 (the error shrinks
    # like 0.9487^t)
    x = Variable(10.0, requires_grad=True)
    sgd = SGD([x], learning_rate=0.1, momentum=0.9)
    for _ in range(300):
        sgd.zero_grad()
        loss = x**2
        loss.backward()
        sgd.step()
    expect(
        abs(x.data) < 1e-5,
        "x after 300 steps on x² from x = 10: expected |x| < 1e-5, "
        f"got {x.data}",
    )
    print("✅ Convergence achieved on test function")
    ### BEGIN HIDDEN TESTS
    # dampening τ scales the later gradients only: b₁ = g, b = μb + (1 − τ)g.
    # g = 1, μ = 0.5, τ = 0.75, α = 1: b = 1, 0.75, 0.625,
    # so θ = −1, −1.75, −2.375.
    # τ ignored: b = 1, 1.5, 1.75; τ also at step 1: b = 0.25, 0.375, 0.4375
    p = make_parameter(0.0)
    sgd = SGD([p], learning_rate=1.0, momentum=0.5, dampening=0.75)
    wrong_ignored, wrong_first = (-1.0, -2.5, -4.25), (-0.25, -0.625, -1.0625)
    for t, expected in enumerate((-1.0, -1.75, -2.375), 1):
        p.grad = Tensor(np.array(1.0))
        sgd.step()
        expect_close(
            "θ with momentum 0.5, dampening 0.75, gradient 1, lr 1",
            p.data,
            expected,
            step=t,
            mistakes={
                "dampening is ignored": wrong_ignored[t - 1],
                "dampening is applied at the first step too (the first "
                "buffer is a plain copy of g)": wrong_first[t - 1],
            },
        )
    # a gradient array overwritten in place between steps (as a backward
    # pass into zeroed gradients does): the buffer must be a copy.
    # μ = 0.9, α = 0.1, g = 1 then 2: b₂ = 0.9 + 2 → θ₂ = −0.1 − 0.29
    p = make_parameter([0.0], grad=[1.0])
    grad = p.grad.data
    sgd = SGD([p], learning_rate=0.1, momentum=0.9)
    sgd.step()
    expect(
        not np.shares_memory(sgd.state[p]["momentum_buffer"], grad),
        "after the first step, state['momentum_buffer'] is the very array "
        "of p.grad: store a copy of the gradient, not the gradient itself",
    )
    grad[...] = 2.0
    sgd.step()
    expect_close(
        "θ when the gradient array is overwritten (1, then 2) between steps",
        p.data,
        [-0.39],
        step=2,
        mistakes={
            "the momentum buffer is p.grad's own array (not a copy)": [-0.48],
            "the momentum buffer is p.grad's own array and is updated in "
            "place": [-0.46],
        },
    )
    expect_equal(
        "p.grad after two momentum steps (a step must not change it)",
        grad,
        [2.0],
    )
    # a learning rate changed between steps (as a scheduler does): PyTorch
    # applies today's α to the whole buffer. g = 1, μ = 0.5, α = 1, 0.5, 0.25:
    # b = 1, 1.5, 1.75 → θ = −1, −1.75, −2.1875; the form u ← μu − αg,
    # θ ← θ + u gives θ = −1, −2, −2.75.
    p = make_parameter(0.0)
    sgd = SGD([p], learning_rate=1.0, momentum=0.5)
    velocity_form = (-1.0, -2.0, -2.75)
    for t, (lr, expected) in enumerate(
        ((1.0, -1.0), (0.5, -1.75), (0.25, -2.1875)), 1
    ):
        sgd.param_groups[0]["lr"] = lr
        p.grad = Tensor(np.array(1.0))
        sgd.step()
        expect_close(
            "θ with momentum 0.5 while the learning rate goes 1, 0.5, 0.25",
            p.data,
            expected,
            step=t,
            mistakes={
                "the buffer stores α·g (u ← μu − αg): PyTorch's buffer "
                "holds gradients and today's α scales all of it": (
                    velocity_form[t - 1]
                ),
            },
        )
    # momentum 0 is plain descent and keeps no buffer
    p = make_parameter(1.0, grad=1.0)
    sgd = SGD([p], learning_rate=0.5)
    sgd.step()
    expect_close("θ with momentum 0 (θ = 1, g = 1, α = 0.5)", p.data, 0.5)
    expect(
        "momentum_buffer" not in sgd.state[p],
        "with momentum 0 there is no velocity to remember: "
        "state['momentum_buffer'] should not exist",
    )
    ### END HIDDEN TESTS
    print("📈 Progress: SGD with Momentum ✓")


if __name__ == "__main__":
    test_unit_sgd_momentum()


# %% nbgrader={"grade": true, "grade_id": "test-sgd-options", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_sgd_options():
    print("🔬 Unit Test: SGD options (weight decay, Nesterov, maximize)...")
    # weight decay λ = 0.1 on a zero gradient: θ ← θ − αλθ = (1 − 0.01) θ
    theta = np.array([2.0, -4.0])
    p = make_parameter(theta, grad=[0.0, 0.0])
    sgd = SGD([p], learning_rate=0.1, weight_decay=0.1)
    for t in range(1, 4):
        sgd.step()
        expect_close(
            "θ with weight decay 0.1, lr 0.1 and a zero gradient",
            p.data,
            theta * 0.99**t,
            step=t,
            mistakes={
                "weight decay has the wrong sign (g − λθ)": theta * 1.01**t,
                "the decay λθ is applied without the learning rate": (
                    theta * 0.9**t
                ),
            },
        )
    print("✅ Weight decay adds λθ to the gradient")

    # Nesterov, g = 1, μ = 0.9, α = 1: b = 1, 1.9, 2.71; steps along
    # g + μb = 1.9, 2.71, 3.439 (along b alone: 1, 1.9, 2.71)
    p = make_parameter(0.0)
    sgd = SGD([p], learning_rate=1.0, momentum=0.9, nesterov=True)
    along_b = (-1.0, -2.9, -5.61)
    for t, expected in enumerate((-1.9, -4.61, -8.049), 1):
        p.grad = Tensor(np.array(1.0))
        sgd.step()
        expect_close(
            "θ with Nesterov momentum 0.9, gradient 1, lr 1",
            p.data,
            expected,
            step=t,
            mistakes={
                "Nesterov steps along b (plain momentum) or along g + μ·(the "
                "buffer before this step's update)": along_b[t - 1],
            },
        )
    print("✅ Nesterov steps along g + μ·b")

    p = make_parameter(1.0, grad=3.0)
    SGD([p], learning_rate=0.5, maximize=True).step()
    expect_close(
        "θ with maximize=True (θ = 1, g = 3, α = 0.5)",
        p.data,
        2.5,
        mistakes={"maximize is ignored": -0.5},
    )
    print("✅ maximize climbs the gradient")
    ### BEGIN HIDDEN TESTS
    # everything together, two steps by hand: maximize, weight decay λ = 0.5,
    # momentum μ = 0.5, dampening τ = 0.25, α = 0.1, θ₀ = 1, ∇ = 2
    # t=1: g = −2 + 0.5·1 = −1.5; b = −1.5; θ = 1.15
    # t=2: g = −2 + 0.575 = −1.425; b = −0.75 − 1.06875; θ = 1.331875
    p = make_parameter(1.0)
    sgd = SGD(
        [p],
        learning_rate=0.1,
        momentum=0.5,
        dampening=0.25,
        weight_decay=0.5,
        maximize=True,
    )
    wrong = {
        "the decay term has the wrong sign under maximize (g = −(∇ + λθ) "
        "instead of −∇ + λθ)": (1.25, 1.571875),
        "dampening is ignored": (1.15, 1.3675),
        "dampening is applied at the first step too": (1.1125, 1.27703125),
    }
    for t, expected in enumerate((1.15, 1.331875), 1):
        p.grad = Tensor(np.array(2.0))
        sgd.step()
        expect_close(
            "θ with maximize, weight decay 0.5, momentum 0.5, dampening 0.25",
            p.data,
            expected,
            step=t,
            mistakes={text: values[t - 1] for text, values in wrong.items()},
        )
    # no option may change the gradient array that p.grad holds
    theta, grad = np.array([1.0, -2.0]), np.array([0.5, 1.5])
    in_place = {
        "the gradient is negated in place (g *= -1)": -grad,
        "weight decay is added in place (g += λθ)": grad + 0.5 * theta,
        "maximize and weight decay change g in place": -grad + 0.5 * theta,
        "Nesterov's g + μb is computed in place (g += μb)": 1.9 * grad,
    }
    for options in (
        {"maximize": True},
        {"weight_decay": 0.5},
        {"maximize": True, "weight_decay": 0.5, "momentum": 0.9},
        {"momentum": 0.9, "nesterov": True},
    ):
        p = make_parameter(theta, grad=grad)
        SGD([p], learning_rate=0.1, **options).step()
        expect_equal(
            f"p.grad after one step with {options} (a step must not "
            "change the gradient)",
            p.grad.data,
            grad,
            mistakes=in_place,
        )
    # Nesterov with weight decay in two groups with different rates:
    # g = θ = 1, b = 1, step along g + 0.5·b = 1.5
    a, b = make_parameter(1.0), make_parameter(1.0)
    sgd = SGD(
        [{"params": [a]}, {"params": [b], "lr": 0.2}],
        learning_rate=0.1,
        momentum=0.5,
        nesterov=True,
        weight_decay=1.0,
    )
    a.grad, b.grad = Tensor(np.array(0.0)), Tensor(np.array(0.0))
    sgd.step()
    expect_close(
        "θ of two groups (lr 0.1 and 0.2) with Nesterov and weight decay",
        [a.data, b.data],
        [0.85, 0.7],
        mistakes={
            "every group uses the first group's lr": [0.85, 0.85],
            "Nesterov steps along b": [0.9, 0.8],
        },
    )
    ### END HIDDEN TESTS
    print("📈 Progress: SGD options ✓")


if __name__ == "__main__":
    test_unit_sgd_options()


# %% [markdown]
# ## 1.4 Adaptive learning rates: one step size per parameter
#
# Momentum fixes the zig-zag, but one learning rate still has to serve every parameter. In a network the
# gradients of different weights differ by orders of magnitude: the embedding of a rare word gets a
# gradient once in a thousand batches, a bias every time. **Adaptive** methods divide each parameter's
# step by a running measure of how large its gradients usually are, so every parameter moves at a
# similar pace. Three generations, each fixing its predecessor:
#
# **Adagrad** adds up all squared gradients, $s \leftarrow s + g^2$, and steps $\theta \leftarrow \theta - \alpha\, g / (\sqrt{s} + \epsilon)$
# (all operations element by element). Rare features get large steps. But $s$ only grows, so the steps
# shrink for ever and training eventually stalls. PyTorch's version can also decay the rate:
# $\alpha_t = \alpha / (1 + (t-1)\cdot\text{lr\_decay})$.
#
# **RMSprop** forgets: it keeps an *exponential moving average* $v \leftarrow \rho\, v + (1-\rho)\, g^2$ (PyTorch calls
# $\rho$ `alpha`, default 0.99), so $\sqrt{v}$ tracks the recent size of the gradient. Options: `centered`
# divides by the standard deviation instead ($\sqrt{v - \bar g^2}$, with $\bar g$ the moving average of $g$),
# and `momentum` adds a velocity on top of the scaled gradient.
#
# The two are provided; read their `step` next to the formulas.
#
# $$\textbf{Adagrad:}\quad s \leftarrow s + g^2, \qquad \theta \leftarrow \theta - \frac{\alpha}{1 + (t-1)\,\text{lr\_decay}} \cdot \frac{g}{\sqrt{s} + \epsilon}$$
#
# $$\textbf{RMSprop:}\quad v \leftarrow \rho v + (1-\rho) g^2, \qquad d = \sqrt{v} + \epsilon \;\;(\text{centered: } \bar g \leftarrow \rho\bar g + (1-\rho) g,\; d = \sqrt{v - \bar g^2} + \epsilon),$$
# $$\theta \leftarrow \theta - \alpha\, \frac{g}{d} \quad\text{or, with momentum } \mu:\quad b \leftarrow \mu b + \frac{g}{d},\;\; \theta \leftarrow \theta - \alpha b$$
#
# In both, weight decay first adds $\lambda\theta$ to $g$, as in SGD.


# %%
#| export
class Adagrad(Optimizer):
    """Adagrad: each parameter's step is divided by the root of its summed
    squared gradients (torch.optim.Adagrad).

    Each step, for every parameter θ whose gradient g is not None:
        t ← t + 1
        g ← g + λ·θ                        (weight_decay λ)
        s ← s + g²                         (element by element)
        θ ← θ − α / (1 + (t − 1)·η) · g / (√s + ε)
    with learning_rate α and lr_decay η; s starts at
    initial_accumulator_value, t at 0.

    State per parameter: `step` (t, an int), `sum` (s).

    Arguments:
        parameters: the parameters, or parameter groups (PyTorch: `params`).
        learning_rate: α ≥ 0 (PyTorch: `lr`).
        lr_decay: η ≥ 0.
        weight_decay: λ ≥ 0, an L2 penalty added to the gradient.
        initial_accumulator_value: ≥ 0, the start of every entry of s.
        eps: ε > 0.

    eps must be > 0: stricter than PyTorch (eps = 0 gives 0/0 on a zero
    gradient).
    """

    def __init__(
        self,
        parameters: Params | None = None,
        learning_rate: float = 0.01,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        defaults = {
            "lr": learning_rate,
            "lr_decay": lr_decay,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "eps": eps,
        }
        super().__init__(parameters, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """θ ← θ − α·g / (√s + ε) for every parameter with a gradient."""
        loss = self._begin_step(closure)
        for p, g, state, group in self._each_parameter():
            if not state:
                state["step"] = 0
                state["sum"] = np.full_like(
                    p.data, group["initial_accumulator_value"]
                )
            state["step"] += 1
            if group["weight_decay"] != 0:
                g = g + group["weight_decay"] * p.data
            lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
            state["sum"] = state["sum"] + g * g  # s ← s + g²
            p.data -= lr * g / (np.sqrt(state["sum"]) + group["eps"])
        return loss


class RMSprop(Optimizer):
    """RMSprop: steps divided by a moving root-mean-square of the gradient
    (torch.optim.RMSprop).

    Each step, for every parameter θ whose gradient g is not None:
        g ← g + λ·θ                   (weight_decay λ)
        v ← ρ·v + (1 − ρ)·g²          (alpha ρ; element by element)
        d ← √v + ε
        centered:  ḡ ← ρ·ḡ + (1 − ρ)·g  and  d ← √(v − ḡ²) + ε
        θ ← θ − α·g / d               (learning_rate α)
        with momentum μ > 0:  b ← μ·b + g / d,  θ ← θ − α·b  instead
    v, ḡ and b start at 0.

    State per parameter: `step` (an int), `square_avg` (v), `grad_avg` (ḡ;
    only when centered), `momentum_buffer` (b; only when momentum > 0).

    Arguments:
        parameters: the parameters, or parameter groups (PyTorch: `params`).
        learning_rate: α ≥ 0 (PyTorch: `lr`).
        alpha: ρ in [0, 1), the decay of the average of g².
        eps: ε > 0.
        weight_decay: λ ≥ 0, an L2 penalty added to the gradient.
        momentum: μ in [0, 1).
        centered: True or False; divide by an estimate of the standard
            deviation of g instead of its root mean square.

    Stricter than PyTorch: alpha must be in [0, 1) (at 1 the average of g²
    stays 0 forever), momentum in [0, 1) (at 1 or more the velocity never
    decays) and eps > 0 (eps = 0 gives 0/0 on a zero gradient).
    """

    def __init__(
        self,
        parameters: Params | None = None,
        learning_rate: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        defaults = {
            "lr": learning_rate,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
        }
        super().__init__(parameters, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """θ ← θ − α·g / (√v + ε) (or its variants; see the class)."""
        loss = self._begin_step(closure)
        for p, g, state, group in self._each_parameter():
            rho, mu, eps = group["alpha"], group["momentum"], group["eps"]
            if not state:
                state["step"] = 0
                state["square_avg"] = np.zeros_like(p.data)
            state["step"] += 1
            if group["weight_decay"] != 0:
                g = g + group["weight_decay"] * p.data
            # v ← ρv + (1−ρ)g²
            v = rho * state["square_avg"] + (1 - rho) * g * g
            state["square_avg"] = v
            if group["centered"]:
                # ḡ ← ρḡ + (1−ρ)g
                mean = state.get("grad_avg", np.zeros_like(p.data))
                mean = rho * mean + (1 - rho) * g
                state["grad_avg"] = mean
                d = np.sqrt(v - mean**2) + eps
            else:
                d = np.sqrt(v) + eps
            if mu > 0:
                buffer = state.get("momentum_buffer", np.zeros_like(p.data))
                state["momentum_buffer"] = mu * buffer + g / d  # b ← μb + g/d
                p.data -= group["lr"] * state["momentum_buffer"]
            else:
                p.data -= group["lr"] * g / d
        return loss


# %% [markdown]
# ### Adam: momentum and adaptive rates, with bias correction
#
# **Adam** (Kingma and Ba, 2015) keeps two exponential moving averages per parameter: of the gradient (the
# *first moment*, a velocity like momentum's) and of the squared gradient (the *second moment*, RMSprop's
# scale):
#
# $$m_t = \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, \qquad m_0 = v_0 = 0 .$$
#
# Defaults are $\beta_1 = 0.9$ (average over about 10 steps) and $\beta_2 = 0.999$ (about 1000 steps).
#
# **The bias.** Both averages start at zero, and that start drags them towards zero. Unroll $m_t$:
#
# $$m_t = (1-\beta_1) \sum_{i=1}^{t} \beta_1^{\,t-i}\, g_i .$$
#
# If the gradients come from a distribution with mean $\mathbb{E}[g]$ that does not change, take expectations
# and sum the geometric series $\sum_{i=1}^{t}\beta_1^{\,t-i} = \frac{1-\beta_1^t}{1-\beta_1}$:
#
# $$\mathbb{E}[m_t] = (1-\beta_1)\,\mathbb{E}[g] \sum_{i=1}^{t} \beta_1^{\,t-i} = (1-\beta_1^{\,t})\; \mathbb{E}[g] .$$
#
# After one step $m_1$ is only $10\%$ of the mean gradient. The same argument gives
# $\mathbb{E}[v_t] = (1-\beta_2^{\,t})\,\mathbb{E}[g^2]$, and with $\beta_2 = 0.999$, $v_t$ is too small by a factor of
# $1-0.999^{t}$ for *thousands* of steps. Dividing undoes the bias exactly:
#
# $$\hat m_t = \frac{m_t}{1-\beta_1^{\,t}}, \qquad \hat v_t = \frac{v_t}{1-\beta_2^{\,t}},
# \qquad \theta_t = \theta_{t-1} - \alpha\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon} .$$
#
# Without the correction the first steps would be wrong in a dangerous way: $m_1/\sqrt{v_1} = \frac{0.1\,g}{\sqrt{0.001}\,|g|} \approx 3.16\,\text{sign}(g)$,
# a step three times the learning rate. With it, $\hat m_1/\sqrt{\hat v_1} = \text{sign}(g)$: Adam's first step moves every
# parameter by about $\alpha$, whatever the scale of its gradient. That is the *adaptive learning rate*: the
# step depends on the gradient's sign and its consistency, not on its size.
#
# The figure feeds a stream of noisy gradients with mean 1 through both averages.

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    gradients = 1.0 + 0.5 * rng.standard_normal(300)  # E[g] = 1, E[g²] = 1.25
    beta1, beta2 = 0.9, 0.999
    m = v = 0.0
    raw_m, corrected_m, raw_v, corrected_v = [], [], [], []
    for t, g in enumerate(gradients, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        raw_m.append(m)
        corrected_m.append(m / (1 - beta1**t))
        raw_v.append(np.sqrt(v))
        corrected_v.append(np.sqrt(v / (1 - beta2**t)))
    t = np.arange(1, len(gradients) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    left.plot(
        t[:60], gradients[:60], ".", color="lightgray", label="gradients $g_t$"
    )
    left.plot(t[:60], raw_m[:60], label="raw $m_t$")
    left.plot(t[:60], corrected_m[:60], label=r"corrected $\hat m_t$")
    left.axhline(
        1.0,
        color="black",
        linestyle="--",
        linewidth=0.8,
        label=r"$\mathbb{E}[g] = 1$",
    )
    left.plot(
        t[:60],
        1 - beta1 ** t[:60],
        ":",
        color="tab:blue",
        label=r"$(1-\beta_1^t)\,\mathbb{E}[g]$",
    )
    left.set_xlabel("step $t$")
    left.set_title(r"First moment, $\beta_1 = 0.9$")
    left.legend(fontsize=8)
    right.plot(t, raw_v, label=r"raw $\sqrt{v_t}$")
    right.plot(t, corrected_v, label=r"corrected $\sqrt{\hat v_t}$")
    right.axhline(
        np.sqrt(1.25),
        color="black",
        linestyle="--",
        linewidth=0.8,
        label=r"$\sqrt{\mathbb{E}[g^2]}$",
    )
    right.set_xlabel("step $t$")
    right.set_title(
        r"Second moment, $\beta_2 = 0.999$: biased for hundreds of steps"
    )
    right.legend(fontsize=8)
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ### Exercise 3: `Adam.step`
#
# Write the body of the loop for one parameter. The first lines are written for you: they read the
# hyperparameters and handle AdamW's decoupled weight decay (section 1.5), which leaves you `l2`, the
# L2 weight decay to add to the gradient. Then, in PyTorch's order:
#
# $$
# \begin{aligned}
# &\text{first step only: } t = 0,\; m = 0,\; v = 0 \;(\text{and } \hat v_{\max} = 0 \text{ with amsgrad}) \\
# &t \leftarrow t + 1 \\
# &g \leftarrow g + \lambda_{\text{L2}}\, \theta \\
# &m \leftarrow \beta_1 m + (1-\beta_1)\, g \\
# &v \leftarrow \beta_2 v + (1-\beta_2)\, g^2 \\
# &\text{amsgrad: } \hat v_{\max} \leftarrow \max(\hat v_{\max}, v) \text{ and use } \hat v_{\max} \text{ instead of } v \text{ below} \\
# &\theta \leftarrow \theta - \frac{\alpha}{1-\beta_1^{\,t}}\cdot \frac{m}{\sqrt{v}\,/\sqrt{1-\beta_2^{\,t}} + \epsilon}
# \end{aligned}
# $$
#
# The last line is $\theta - \alpha\,\hat m/(\sqrt{\hat v}+\epsilon)$, arranged as PyTorch computes it. Keep
# PyTorch's state names: `state["step"]` (an `int`), `state["exp_avg"]` ($m$), `state["exp_avg_sq"]` ($v$) and,
# with `group["amsgrad"]`, `state["max_exp_avg_sq"]`. Create the arrays with `np.zeros_like(p.data)` so they
# have the parameter's shape and dtype.
#
# **Do not change `g` in place.** `g` is the very array of `p.grad`: `g += l2 * p.data` (or `g *= ...`)
# would change the gradient the rest of the program sees (another optimizer, gradient clipping, a log).
# Build a new array instead (`g = g + l2 * p.data`). Two more traps: keep one step count *per
# parameter* (`state["step"]`; a parameter that got no gradient for a while has taken fewer steps than
# the optimizer), and add $\epsilon$ after the square root, not inside it.
#
# **AMSGrad** (Reddi et al., 2018) fixes a flaw in Adam's convergence
# proof: the effective step $\alpha/\sqrt{v}$ can grow again when large gradients leave the average; the running
# maximum forbids that.


# %% nbgrader={"grade": false, "grade_id": "adam-step", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Adam(Optimizer):
    """Adam: momentum plus per-parameter adaptive step sizes, with bias
    correction (as torch.optim.Adam).

    adam = Adam(parameters=[w1, w2, bias], learning_rate=0.001,
                beta1=0.9, beta2=0.999)
    adam = Adam(model.parameters(), lr=0.001, betas=(0.9, 0.999))  # PyTorch

    Each step, for every parameter θ whose gradient g is not None:
        θ ← θ·(1 − α·λ)      (decoupled_weight_decay, AdamW: no L2 term)
        g ← g + λ·θ          (otherwise: weight_decay λ as an L2 term)
        t ← t + 1
        m ← β1·m + (1 − β1)·g
        v ← β2·v + (1 − β2)·g²              (element by element)
        vmax ← max(vmax, v)                 (amsgrad: vmax replaces v below)
        θ ← θ − α / (1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
    The last line is θ ← θ − α·m̂ / (√v̂ + ε) with the bias-corrected
    m̂ = m / (1 − β1^t) and v̂ = v / (1 − β2^t), arranged as PyTorch computes
    it. t, m, v (and vmax) start at 0; t counts this parameter's steps.

    State per parameter: `step` (t, an int), `exp_avg` (m), `exp_avg_sq`
    (v), `max_exp_avg_sq` (vmax; only with amsgrad).

    Arguments:
        parameters: the parameters, or parameter groups (PyTorch: `params`).
        learning_rate: α ≥ 0 (PyTorch: `lr`).
        beta1, beta2: β1, β2, each in [0, 1) (PyTorch: `betas=(beta1,
            beta2)`), the decays of the averages of g and g².
        eps: ε > 0, added to the root of v̂.
        weight_decay: λ ≥ 0.
        amsgrad: True or False; divide by the running maximum of v.
        decoupled_weight_decay: True or False (keyword only); True is AdamW.
        fused: None (auto: the blocked in-place update of Part 3.6 for
            float32/float64 parameters of FAST_PATH_MIN_SIZE elements or
            more; not with amsgrad), True (wherever it applies) or False
            (never); keyword only. The numbers are the same either way.

    eps must be > 0: stricter than PyTorch, which accepts eps=0, a value that
    can only give NaN (a zero gradient makes the step 0/0). A tiny eps such as
    1e-300 is fine.
    """

    def __init__(
        self,
        parameters: Params | None = None,
        learning_rate: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        decoupled_weight_decay: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = {
            "lr": learning_rate,
            "betas": (beta1, beta2),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "decoupled_weight_decay": decoupled_weight_decay,
            "fused": fused,  # the fast path (Part 3.6): None = auto
        }
        super().__init__(parameters, defaults)

    def _fast_path_supports(self, param, group, state):
        if group["amsgrad"]:  # not in the fast update: the readable step
            return False
        moments = [state.get("exp_avg"), state.get("exp_avg_sq")]
        return not state or all(_fast_path_arrays(m, param) for m in moments)

    def _fast_update(self, param, grad, state, group):
        """The same numbers as `step`, in place in blocks (Part 3.6)."""
        adam_fast_update(param, grad, state, group, self._scratch(param))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """θ ← θ − α·m̂ / (√v̂ + ε) for every parameter with a gradient."""
        loss = self._begin_step(closure)
        for p, g, state, group in self._each_parameter():
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            l2 = wd = group["weight_decay"]
            if group["decoupled_weight_decay"]:
                # AdamW: θ ← θ(1 − αλ), and no L2 term in g
                p.data *= 1 - lr * wd
                l2 = 0.0
            ### BEGIN SOLUTION
            if not state:
                state["step"] = 0
                state["exp_avg"] = np.zeros_like(p.data)
                state["exp_avg_sq"] = np.zeros_like(p.data)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = np.zeros_like(p.data)
            state["step"] += 1
            t = state["step"]
            if l2 != 0:
                g = g + l2 * p.data
            m = state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
            v = state["exp_avg_sq"] = (
                beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
            )
            if group["amsgrad"]:
                v = state["max_exp_avg_sq"] = np.maximum(
                    state["max_exp_avg_sq"], v
                )
            p.data -= (
                lr
                / (1 - beta1**t)
                * m
                / (np.sqrt(v) / math.sqrt(1 - beta2**t) + eps)
            )
            ### END SOLUTION
        return loss


# %% nbgrader={"grade": true, "grade_id": "test-adam", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_unit_adam():
    print("🔬 Unit Test: Adam optimizer...")
    # a constant gradient g = 2 for five steps, α = 0.1, β = (0.9, 0.999):
    # m_t = (1 − β1^t)·2 and v_t = (1 − β2^t)·4, so m̂ = 2, v̂ = 4 and every
    # step is α·2/(2 + ε). The wrong variants, in closed form:
    steps = np.arange(1, 6)
    m, v, eps = (1 - 0.9**steps) * 2.0, (1 - 0.999**steps) * 4.0, 1e-8
    wrong_steps = {
        "the bias correction is missing (m̂ = m and v̂ = v)": m
        / (np.sqrt(v) + eps),
        "only m is bias-corrected (v̂ = v)": 2.0 / (np.sqrt(v) + eps),
        "only v is bias-corrected (m̂ = m)": m / (2.0 + eps),
        "ε is inside the square root (√(v̂ + ε))": np.full(
            5, 2.0 / np.sqrt(4.0 + eps)
        ),
    }
    p = make_parameter(1.0)
    adam = Adam([p], learning_rate=0.1, beta1=0.9, beta2=0.999)
    for t in steps:
        p.grad = Tensor(np.array(2.0))
        adam.step()
        state = adam.state[p]
        missing = sorted({"step", "exp_avg", "exp_avg_sq"} - set(state))
        expect(
            not missing,
            f"the state of a parameter lacks {missing}: keep the step "
            "count and the moments under PyTorch's names",
        )
        expect_equal("state['step']", state["step"], t, step=t)
        expect_close(
            "state['exp_avg'] (m)",
            state["exp_avg"],
            m[t - 1],
            step=t,
            mistakes={
                "m stores the bias-corrected m̂ instead of m": 2.0,
                "m is not kept between steps": 0.2,
                "m weighs g by β1 instead of 1 − β1": (1 - 0.1**t) * 2.0,
            },
        )
        expect_close(
            "state['exp_avg_sq'] (v)",
            state["exp_avg_sq"],
            v[t - 1],
            step=t,
            mistakes={
                "v stores the bias-corrected v̂ instead of v": 4.0,
                "v averages g instead of g²": v[t - 1] / 2.0,
                "v is not kept between steps": 0.004,
            },
        )
        expect_close(
            "θ",
            p.data,
            1.0 - t * 0.1 * 2.0 / (2.0 + eps),
            step=t,
            mistakes={
                text: 1.0 - 0.1 * np.sum(sizes[:t])
                for text, sizes in wrong_steps.items()
            },
        )
    print("✅ m, v, the step count and the bias-corrected steps are right")

    # gradients 1000 and 0.001: the step depends on the sign, not the size
    p = make_parameter([0.0, 0.0])
    adam = Adam([p], learning_rate=0.01)
    for t in range(1, 4):
        p.grad = Tensor(np.array([1000.0, -0.001]))
        adam.step()
    expect_close(
        "θ after 3 steps with gradients [1000, -0.001] and α = 0.01",
        p.data,
        [-0.03, 0.03],
        rtol=1e-4,
        mistakes={"the step goes up the gradient": [0.03, -0.03]},
    )
    print("✅ Adaptive learning rates working")

    ### BEGIN HIDDEN TESTS
    # two different gradients by hand (g = 1 then 3, α = 1, β = (0.5, 0.75),
    # ε ≈ 0), against a reference written here, with and without the
    # correction of each moment
    def by_hand(correct_m, correct_v):
        theta, m, v, thetas = 0.0, 0.0, 0.0, []
        for t, g in enumerate((1.0, 3.0), 1):
            m, v = 0.5 * m + 0.5 * g, 0.75 * v + 0.25 * g * g
            m_hat = m / (1 - 0.5**t) if correct_m else m
            v_hat = v / (1 - 0.75**t) if correct_v else v
            theta -= m_hat / np.sqrt(v_hat)
            thetas.append(theta)
        return thetas

    p = make_parameter(0.0)
    adam = Adam([p], learning_rate=1.0, beta1=0.5, beta2=0.75, eps=1e-300)
    for t, g in enumerate((1.0, 3.0), 1):
        p.grad = Tensor(np.array(g))
        adam.step()
        expect_close(
            "θ after gradients 1 then 3 (α = 1, β1 = 0.5, β2 = 0.75, ε = 0)",
            p.data,
            by_hand(True, True)[t - 1],
            step=t,
            mistakes={
                "the bias correction is missing": by_hand(False, False)[t - 1],
                "only m is bias-corrected": by_hand(True, False)[t - 1],
                "only v is bias-corrected": by_hand(False, True)[t - 1],
            },
        )
    # where ε sits: one step, g = 2, ε = 1, α = 0.1: m̂ = 2, v̂ = 4 (v = 0.004)
    p = make_parameter(1.0, grad=2.0)
    Adam([p], learning_rate=0.1, eps=1.0).step()
    root_c = math.sqrt(0.001)
    expect_close(
        "θ after one step with g = 2, ε = 1, α = 0.1",
        p.data,
        1.0 - 0.2 / (2.0 + 1.0),
        mistakes={
            "ε is inside the square root (√(v̂ + ε))": 1.0 - 0.2 / math.sqrt(5),
            "ε is added to v before the bias correction": 1.0
            - 0.2 / math.sqrt(1.004 / 0.001),
            "ε is added before dividing by √(1 − β2^t)": 1.0
            - 0.2 / ((math.sqrt(0.004) + 1.0) / root_c),
            "ε is left out": 0.8,
        },
    )

    # one step count per parameter: b gets its first gradient at the
    # optimizer's third step, so its bias correction uses t = 1
    def first_step(t, g=1.0, lr=0.1):
        m_hat, v_hat = 0.1 * g / (1 - 0.9**t), 0.001 * g * g / (1 - 0.999**t)
        return -lr * m_hat / (math.sqrt(v_hat) + 1e-8)

    a, b = make_parameter(0.0), make_parameter(0.0)
    adam = Adam([a, b], learning_rate=0.1)
    for t in range(1, 4):
        a.grad = Tensor(np.array(1.0))
        b.grad = Tensor(np.array(1.0)) if t == 3 else None
        adam.step()
    expect_close(
        "θ of a parameter whose first gradient comes at the optimizer's "
        "third step",
        b.data,
        first_step(1),
        mistakes={
            "one step counter is shared by all parameters (this parameter "
            "was stepped once, its correction used t = 3)": first_step(3),
            "one step counter is shared by all parameters and counted once "
            "per parameter (t = 4)": first_step(4),
        },
    )
    expect_equal(
        "state['step'] of a parameter stepped once (while another was "
        "stepped three times)",
        adam.state[b]["step"],
        1,
    )
    # float32 parameters stay float32, and p.grad is not changed
    p32 = Variable(np.array([1.0, -1.0], dtype=np.float32), requires_grad=True)
    p32.grad = Tensor(np.array([0.5, 0.5], dtype=np.float32))
    adam = Adam([p32], lr=0.1)
    adam.step()
    expect_equal(
        "dtype of state['exp_avg'] for a float32 parameter",
        str(adam.state[p32]["exp_avg"].dtype),
        "float32",
        mistakes={
            "the moments are created with np.zeros(shape), which is "
            "float64: np.zeros_like(p.data) keeps the dtype": "float64"
        },
    )
    expect_equal(
        "p.grad after a step (a step must not change the gradient)",
        p32.grad.data,
        np.array([0.5, 0.5], np.float32),
    )
    expect_close("θ (float32)", p32.data, [0.9, -1.1], rtol=1e-6)
    ### END HIDDEN TESTS
    print("📈 Progress: Adam Optimizer ✓")


if __name__ == "__main__":
    test_unit_adam()


# %% nbgrader={"grade": true, "grade_id": "test-adam-options", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_adam_options():
    print("🔬 Unit Test: Adam options (weight decay as L2, AMSGrad)...")
    # L2 weight decay λ = 0.1 on a zero loss gradient: g = λθ = 0.1, so the
    # first step is α·g/(|g| + ε), about α = 0.01 towards zero
    p = make_parameter(1.0, grad=0.0)
    Adam([p], learning_rate=0.01, weight_decay=0.1).step()
    size = 0.01 * 0.1 / (0.1 + 1e-8)
    expect_close(
        "θ after one step with weight decay 0.1 and a zero gradient",
        p.data,
        1.0 - size,
        mistakes={
            "weight decay has the wrong sign (g − λθ)": 1.0 + size,
            "θ is shrunk directly, θ(1 − αλ) (AdamW's decoupled form), "
            "instead of adding λθ to g": 0.999,
            "weight decay is ignored": 1.0,
            "ε is inside the square root (√(v̂ + ε))": 1.0
            - 0.01 * 0.1 / np.sqrt(0.01 + 1e-8),
        },
    )
    print("✅ Weight decay enters the gradient (L2)")

    # AMSGrad with gradients 3, 0: v₁ = 0.009, v₂ = 0.999·0.009 < v₁, so the
    # running maximum keeps v₁ (PyTorch keeps the maximum of v, not of v̂)
    def two_steps(amsgrad):
        p = make_parameter(0.0)
        adam = Adam([p], learning_rate=0.1, amsgrad=amsgrad)
        for g in (3.0, 0.0):
            p.grad = Tensor(np.array(g))
            adam.step()
        return p, adam

    def theta_2(v_used, corrected=True):
        root = np.sqrt(v_used) / (np.sqrt(1 - 0.999**2) if corrected else 1)
        step2 = 0.1 / (1 - 0.9**2) * (0.9 * 0.3) / (root + 1e-8)
        return -0.1 * 3.0 / (3.0 + 1e-8) - step2

    v1, v2 = 0.009, 0.999 * 0.009
    p, adam = two_steps(amsgrad=True)
    expect(
        "max_exp_avg_sq" in adam.state[p],
        "with amsgrad=True the state should keep the running maximum of v "
        "under 'max_exp_avg_sq'",
    )
    expect_close(
        "state['max_exp_avg_sq'] after gradients 3 then 0",
        adam.state[p]["max_exp_avg_sq"],
        v1,
        step=2,
        mistakes={
            "the maximum is kept of the bias-corrected v̂ instead of v": 9.0,
            "the maximum is not kept (it holds the latest v)": v2,
            "the running maximum is never updated (it stays 0)": 0.0,
        },
    )
    expect_close(
        "θ with amsgrad=True after gradients 3 then 0",
        p.data,
        theta_2(v1),
        step=2,
        mistakes={
            "amsgrad is ignored (the step uses v₂)": theta_2(v2),
            "the step divides by the square root of max v̂ without "
            "correcting it again": theta_2(9.0, corrected=False),
        },
    )
    print("✅ AMSGrad uses the running maximum of v")
    ### BEGIN HIDDEN TESTS
    # without amsgrad the same gradients use v₂ itself, and keep no maximum
    p, adam = two_steps(amsgrad=False)
    expect_close(
        "θ with amsgrad=False after gradients 3 then 0",
        p.data,
        theta_2(v2),
        step=2,
        mistakes={"the running maximum is used without amsgrad": theta_2(v1)},
    )
    expect(
        "max_exp_avg_sq" not in adam.state[p],
        "with amsgrad=False the state should hold no 'max_exp_avg_sq'",
    )
    # weight decay and amsgrad in two groups (lr 0.1 and 0.2); g = λθ = ±1;
    # a parameter without a gradient keeps its value and gets no state
    a, b, c = (
        make_parameter(2.0, grad=0.0),
        make_parameter(-2.0, grad=0.0),
        make_parameter(1.0),
    )
    adam = Adam(
        [{"params": [a, c]}, {"params": [b], "lr": 0.2}],
        learning_rate=0.1,
        weight_decay=0.5,
        amsgrad=True,
    )
    adam.step()
    expect_close(
        "θ of three parameters (lr 0.1, 0.1 without gradient, 0.2) with "
        "weight decay 0.5 and amsgrad",
        [a.data, c.data, b.data],
        [2.0 - 0.1 / (1 + 1e-8), 1.0, -2.0 + 0.2 / (1 + 1e-8)],
        mistakes={
            "every group uses the first group's lr": [
                2.0 - 0.1 / (1 + 1e-8),
                1.0,
                -2.0 + 0.1 / (1 + 1e-8),
            ],
        },
    )
    expect(
        c not in adam.state,
        "a parameter whose .grad is None got optimizer state: it has not "
        "taken a step, so it should have none",
    )
    # no option may change the gradient array that p.grad holds
    theta, grad = np.array([1.0, -2.0]), np.array([0.5, 1.5])
    for options in (
        {"weight_decay": 0.5},
        {"weight_decay": 0.5, "amsgrad": True},
        {"weight_decay": 0.5, "decoupled_weight_decay": True},  # AdamW
    ):
        p = make_parameter(theta, grad=grad)
        Adam([p], learning_rate=0.1, **options).step()
        expect_equal(
            f"p.grad after one step with {options} (a step must not "
            "change the gradient)",
            p.grad.data,
            grad,
            mistakes={
                "the L2 term is added in place (g += λθ), which changes "
                "p.grad": grad + 0.5 * theta,
            },
        )
    ### END HIDDEN TESTS
    print("📈 Progress: Adam options ✓")


if __name__ == "__main__":
    test_unit_adam_options()


# %% [markdown]
# ## 1.5 Weight decay, coupled and decoupled: AdamW
#
# For SGD, "weight decay" and "L2 regularisation" are the same thing:
#
# $$\theta \leftarrow \theta - \alpha(g + \lambda\theta) = (1 - \alpha\lambda)\,\theta - \alpha g .$$
#
# Adding $\lambda\theta$ to the gradient *is* shrinking every weight by the factor $1-\alpha\lambda$. For Adam it is not.
# The L2 term goes into $m$ and $v$ and gets divided by $\sqrt{\hat v}$: a weight with large gradients (large $\hat v$)
# is barely decayed, a weight with tiny gradients is decayed hard, and the decay strength is tangled up
# with the adaptive scaling. Loshchilov and Hutter (2019) proposed to **decouple** the two: shrink the weights
# directly, and run Adam on the loss gradient alone:
#
# $$\theta \leftarrow \theta\,(1 - \alpha\lambda), \qquad \text{then the Adam step with } g = \nabla L(\theta) .$$
#
# That is **AdamW**, the default optimizer for training transformers. As in PyTorch it is Adam with
# `decoupled_weight_decay=True` (the two lines you got for free at the top of the loop) and a default
# $\lambda = 0.01$. The demonstration below compares the two on weights that differ only in their gradient scale.


# %%
#| export
class AdamW(Adam):
    """Adam with decoupled weight decay (as torch.optim.AdamW): Adam with
    decoupled_weight_decay=True and weight_decay 0.01 by default.

    Each step, for every parameter θ whose gradient g is not None:
        θ ← θ·(1 − α·λ)        (weight_decay λ; g gets no L2 term)
    then Adam's update with this g, t counting this parameter's steps:
        t ← t + 1,  m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²
        θ ← θ − α·m̂ / (√v̂ + ε),  m̂ = m / (1 − β1^t),  v̂ = v / (1 − β2^t)
    where amsgrad puts vmax ← max(vmax, v) in the place of v. t, m, v (and
    vmax) start at 0. See Adam for the order of the operations.

    State per parameter, as Adam's: `step` (t), `exp_avg` (m), `exp_avg_sq`
    (v) and, with amsgrad, `max_exp_avg_sq` (vmax).

    Arguments:
        parameters: the parameters, or parameter groups (PyTorch: `params`).
        learning_rate: α ≥ 0 (PyTorch: `lr`).
        weight_decay: λ ≥ 0, the fraction α·λ of θ removed at every step.
        beta1, beta2, eps, amsgrad, fused: as in Adam (PyTorch:
            `betas=(beta1, beta2)`); eps > 0 is stricter than PyTorch.
    """

    def __init__(
        self,
        parameters: Params | None = None,
        learning_rate: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        amsgrad: bool = False,
        *,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            parameters,
            learning_rate,
            beta1,
            beta2,
            eps,
            weight_decay,
            amsgrad,
            decoupled_weight_decay=True,
            fused=fused,
        )


# %%
if __name__ == "__main__":
    with after_exercise("Adam.step"):
        # weights 1, 1, 1 with weight decay λ = 0.1 and α = 0.01, no loss
        # gradient
        for name, optimizer_class in (("Adam + L2", Adam), ("AdamW", AdamW)):
            w = make_parameter([1.0, 1.0, 1.0])
            optimizer = optimizer_class(
                [w], learning_rate=0.01, weight_decay=0.1
            )
            for _ in range(100):
                w.grad = Tensor(
                    np.zeros(3)
                )  # no loss gradient at all: only the decay acts
                optimizer.step()
            print(f"{name:>10}: weights after 100 steps {np.round(w.data, 4)}")
        print(f"AdamW: every weight shrank by (1 − αλ)^100 = {0.999**100:.4f}")

# %% [markdown]
# With no loss gradient at all, Adam + L2 turns the decay term into a normalised step of size about
# $\alpha$ per step, whatever $\lambda$ is (the adaptive scaling cancels $\lambda$), while AdamW shrinks every weight by
# exactly $(1-\alpha\lambda)$ per step. That is the decoupling.
#
# ## 1.6 Learning-rate schedules
#
# A learning rate that is right at the start of training is usually too large at the end: near a minimum the
# gradient noise of mini-batches keeps the parameters bouncing around, and only a smaller step lets them
# settle. A too large rate at the very start, when the network is random and gradients are wild, can also
# blow training up. A **schedule** changes $\alpha$ as training runs: $\alpha_e = f(e)$, with $e$ the *epoch*
# (or the step) counted by the scheduler.
#
# | schedule | $\alpha_e$ for a base rate $\alpha_0$ | used for |
# | --- | --- | --- |
# | `StepLR(step_size=s, gamma=γ)` | $\alpha_0\, \gamma^{\lfloor e/s \rfloor}$ | the classic ResNet recipe (÷10 every 30 epochs) |
# | `MultiStepLR(milestones, gamma)` | $\alpha_0\, \gamma^{\#\{\text{milestones} \le e\}}$ | decays at chosen epochs |
# | `ExponentialLR(gamma)` | $\alpha_0\, \gamma^{e}$ | smooth decay |
# | `CosineAnnealingLR(T_max, eta_min)` | $\eta_{\min} + \tfrac12(\alpha_0-\eta_{\min})\big(1 + \cos\frac{\pi e}{T_{\max}}\big)$ | modern default |
# | `LinearLR(start_factor, end_factor, total_iters)` | $\alpha_0\big(s + (f-s)\min(e, T)/T\big)$ | warm-up |
# | `LambdaLR(lr_lambda)` | $\alpha_0 \cdot \lambda(e)$ | any formula you like |
# | `OneCycleLR(max_lr, total_steps)` | warm up to `max_lr`, anneal to almost 0 (and cycle momentum the other way) | fast training, stepped every batch |
# | `SequentialLR(schedulers, milestones)` | one schedule after another | warm-up then cosine |
# | `ReduceLROnPlateau(mode, factor, patience)` | multiply by `factor` when a metric stops improving | when you cannot plan ahead |
#
# All of them follow PyTorch's protocol, which the base class `LRScheduler` implements:
#
# - The constructor stores each group's starting rate as `group["initial_lr"]` (the **base rate** $\alpha_0$,
#   in `scheduler.base_lrs`) and takes the first step itself: `last_epoch` becomes 0 and the groups get the
#   rate for epoch 0.
# - `scheduler.step()` advances `last_epoch` by one and writes `get_lr()`, the rate of every group at that
#   epoch, into `group["lr"]`; `get_last_lr()` returns that list.
# - The training loop calls `optimizer.step()` for every batch and `scheduler.step()` **after** it, once per
#   epoch. Calling the scheduler first skips the schedule's first value; like PyTorch, we warn.
# - `state_dict()` / `load_state_dict()` save and restore the schedule's position.
#
# PyTorch's schedulers also have a recursive ("chainable") form: `StepLR` multiplies the *current*
# `group["lr"]` by $\gamma$ at every multiple of `step_size` and leaves it alone otherwise. As long as
# nothing but this one scheduler touches `group["lr"]`, it gives exactly the closed form's numbers. They
# part as soon as something else changes the rate: set `group["lr"]` by hand (to try a smaller rate
# for a while, say), or run a second scheduler on the same optimizer, and the chainable form carries
# on from that new rate, while the closed form $\alpha_0\,\gamma^{\lfloor e/s \rfloor}$ returns to the
# schedule at the next epoch. Here the rate is a function of the epoch alone, so `get_lr` must
# compute it from `self.base_lrs` and `self.last_epoch`, never from `group["lr"]`; the tests check
# it after setting `group["lr"]` by hand. (To combine schedules, use `SequentialLR` or a `LambdaLR`.)


# %%
#| export
def _check_optimizer(optimizer):
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(groups, list) or not all(
        isinstance(group, dict) and "lr" in group for group in groups
    ):
        raise TypeError(
            "optimizer must be an optimizer such as SGD or Adam (with "
            f"param_groups), got {type(optimizer).__name__}"
        )


class LRScheduler:
    """Base class of the learning-rate schedules (as
    torch.optim.lr_scheduler.LRScheduler).

    Each schedule says, in `get_lr()`, what every group's rate is at epoch
    `last_epoch`, as a function of the epoch and the base rates alone:
        lr = f(base_lr, epoch)
    The constructor stores each group's starting rate as
    group["initial_lr"] (the base rate, in `base_lrs`) and takes the first
    step itself: `last_epoch` becomes 0 and the groups get the rate of epoch
    0. Call `scheduler.step()` after `optimizer.step()`, once per epoch (or
    per batch, for OneCycleLR); it warns when called before.

    Unlike PyTorch's chainable form, the rate is the closed form of the
    epoch: a rate set by hand in group["lr"] lasts until the next step (use
    SequentialLR or LambdaLR to combine schedules).

    Arguments:
        optimizer: the optimizer whose groups' "lr" the schedule sets.
        last_epoch: -1 to start; the epoch to resume from (≥ 0) needs
            the groups' "initial_lr" (load the optimizer's state first).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        _check_int("last_epoch", last_epoch, low=-1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ValueError(
                        f"last_epoch={last_epoch} resumes a schedule, but "
                        f"param_groups[{i}] has no 'initial_lr': load the "
                        "optimizer's state_dict first, or use last_epoch=-1"
                    )
        self.base_lrs = [
            group["initial_lr"] for group in optimizer.param_groups
        ]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()  # the first step: last_epoch becomes 0

    def get_lr(self) -> list[float]:
        """The learning rate of every parameter group at epoch
        `self.last_epoch`."""
        raise NotImplementedError(
            f"{type(self).__name__} does not define get_lr()"
        )

    def step(self) -> None:
        """Advance one epoch and set every group's learning rate."""
        if (
            self._step_count == 1
            and getattr(self.optimizer, "_steps_taken", 1) == 0
        ):
            warnings.warn(
                "scheduler.step() was called before optimizer.step(): call "
                "optimizer.step() first (the training loop steps the "
                "optimizer, then the scheduler), otherwise the first "
                "learning rate of the schedule is skipped",
                UserWarning,
                stacklevel=2,
            )
        self.last_epoch += 1
        try:
            self._set_lrs(self.get_lr())
        except (TypeError, ValueError):
            self.last_epoch -= 1  # a refused step changes nothing
            raise
        self._step_count += 1

    def _set_lrs(self, lrs):
        """Give every group its rate, once all of them are checked (a NaN
        rate would train on NaN).
        """
        groups = self.optimizer.param_groups
        if len(lrs) != len(groups):
            raise ValueError(
                f"{len(lrs)} learning rates for {len(groups)} parameter groups"
            )
        for i, lr in enumerate(lrs):
            where = f"{type(self).__name__} at epoch {self.last_epoch}"
            with _context(f"{where}, param_groups[{i}]"):
                _check_range("learning_rate (lr)", lr)
        for group, lr in zip(groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last step set, one per parameter group."""
        return list(self._last_lr)

    _NOT_DATA = ("optimizer",)  # attributes that state_dict() leaves out

    def state_dict(self) -> dict[str, Any]:
        """The schedule's position and settings (everything but the optimizer),
        as plain values."""
        state = {
            key: _copy_value(value)
            for key, value in self.__dict__.items()
            if key not in self._NOT_DATA
        }
        return {"scheduler": type(self).__name__, **state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore `state_dict()`; all is checked first, so a refused state
        changes nothing.
        """
        self._restore(self._checked_state(state_dict))

    def _checked_state(self, state_dict):
        """A copy of a saved state, once it is known to be this kind of
        scheduler's, for these groups.
        """
        name = type(self).__name__
        (kind,) = _entries(state_dict, f"the {name} state dict", ["scheduler"])
        if kind != name:
            raise ValueError(
                f"{name} cannot load the state of {kind}: load each "
                "scheduler's state into a scheduler of the same kind"
            )
        own, saved = set(self.state_dict()), set(state_dict)
        missing, extra = sorted(own - saved), sorted(saved - own)
        if missing:
            raise ValueError(
                f"the {name} state dict has no {missing[0]!r} entry"
            )
        if extra:
            raise ValueError(
                f"the {name} state dict has {extra[0]!r}, which a {name} does "
                "not have: is it another scheduler's state?"
            )
        groups = len(self.optimizer.param_groups)
        for key in sorted(own & {"base_lrs", "_last_lr", "min_lrs"}):
            rates = state_dict[key]
            if len(rates) != groups:
                raise ValueError(
                    f"the {name} state dict's {key} has {len(rates)} rates, "
                    f"but the optimizer has {groups} parameter groups"
                )
            for i, lr in enumerate(rates):
                with _context(f"the {name} state dict's {key}[{i}]"):
                    _check_range("learning_rate (lr)", lr)
        _check_int("last_epoch", state_dict["last_epoch"], low=-1)
        state = {k: _copy_value(v) for k, v in state_dict.items()}
        del state["scheduler"]
        return state

    def _restore(self, state):
        self.__dict__.update(state)
        # the groups get the restored epoch's rates
        self._set_lrs(self._last_lr)

    def __repr__(self):
        return (
            f"{type(self).__name__}(last_epoch={self.last_epoch}, "
            f"last_lr={self._last_lr})"
        )


# %% [markdown]
# ### Exercise 4: `StepLR.get_lr`
#
# `StepLR` multiplies the rate by `gamma` every `step_size` epochs:
#
# $$\alpha_e = \alpha_0 \cdot \gamma^{\lfloor e / s \rfloor}$$
#
# Return a list with the rate of every parameter group at epoch `self.last_epoch`: one entry per base rate
# in `self.base_lrs`, using `self.gamma` and `self.step_size`. (`//` is integer division.) Epoch 0 has
# the base rate, and the first decay comes at epoch `step_size`, not one epoch before or after. Use the
# closed form, not the current `group["lr"]` (section 1.6 says why).


# %% nbgrader={"grade": false, "grade_id": "step-lr", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class StepLR(LRScheduler):
    """Decay every group's rate by `gamma` every `step_size` epochs (as
    torch.optim.lr_scheduler.StepLR).

        lr = base_lr · gamma^⌊epoch / step_size⌋

    scheduler = StepLR(optimizer, step_size=10, gamma=0.1)

    Arguments:
        optimizer, last_epoch: as for every LRScheduler.
        step_size: the epochs between two decays, an integer ≥ 1.
        gamma: the factor, > 0 (stricter than PyTorch, which does not check
            it: a rate must stay a positive number).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        step_size: int,
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        _check_int("step_size", step_size)
        _check_range("gamma", gamma, low_open=True)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """α_e = α_0 · γ^⌊e / step_size⌋ for every group."""
        ### BEGIN SOLUTION
        return [
            base_lr * self.gamma ** (self.last_epoch // self.step_size)
            for base_lr in self.base_lrs
        ]
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-step-lr", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_unit_step_lr():
    print("🔬 Unit Test: StepLR...")
    # α_e = 0.1 · 0.5^⌊e/3⌋ for epochs 0 to 9, and the usual wrong variants
    p = make_parameter(1.0, grad=0.0)
    optimizer = PlainGD([p], lr=0.1)
    scheduler = StepLR(optimizer, step_size=3, gamma=0.5)
    compounded = [0.1]  # group["lr"] · γ^⌊e/s⌋: the decays pile up
    for epoch in range(0, 10):
        if epoch > 0:
            optimizer.step()
            scheduler.step()
            compounded.append(compounded[-1] * 0.5 ** (epoch // 3))
        expect_close(
            f"learning rate at epoch {epoch} (step_size 3, gamma 0.5, "
            "base rate 0.1)",
            scheduler.get_last_lr()[0],
            0.1 * 0.5 ** (epoch // 3),
            mistakes={
                "the rate decays one epoch early (⌊(e + 1)/s⌋)": 0.1
                * 0.5 ** ((epoch + 1) // 3),
                "the rate decays one epoch late (⌊(e − 1)/s⌋)": 0.1
                * 0.5 ** ((epoch - 1) // 3),
                "the exponent uses / instead of // (γ^(e/s))": 0.1
                * 0.5 ** (epoch / 3),
                "the rate decays every epoch (γ^e)": 0.1 * 0.5**epoch,
                "the current rate group['lr'] is multiplied by γ^⌊e/s⌋ "
                "(the decays compound)": compounded[-1],
                "the decays count from 1 (γ^⌈e/s⌉)": 0.1
                * 0.5 ** -(-epoch // 3),
            },
        )
        expect_close(
            f"optimizer.param_groups[0]['lr'] at epoch {epoch}",
            optimizer.param_groups[0]["lr"],
            scheduler.get_last_lr()[0],
        )
    print("✅ The rate is multiplied by gamma every step_size epochs")
    a, b = make_parameter(1.0), make_parameter(1.0)
    optimizer = PlainGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    scheduler = StepLR(optimizer, step_size=2, gamma=0.1)
    for _ in range(4):
        optimizer.step()
        scheduler.step()
    expect_close(
        "learning rates of two groups (base 0.1 and 1) at epoch 4",
        scheduler.get_last_lr(),
        [0.001, 0.01],
        mistakes={
            "every group uses the first group's base rate": [0.001, 0.001],
            "every group uses the last group's base rate": [0.01, 0.01],
        },
    )
    print("✅ Every parameter group decays from its own base rate")
    ### BEGIN HIDDEN TESTS
    # the closed form does not depend on the current rate: a rate set by
    # hand (here 7 after epoch 4) is replaced by α₀·γ^⌊e/s⌋ at the next epoch
    p = make_parameter(1.0)
    optimizer = PlainGD([p], lr=0.1)
    scheduler = StepLR(optimizer, step_size=3, gamma=0.5)
    for epoch in range(1, 7):
        if epoch == 5:
            optimizer.param_groups[0]["lr"] = 7.0
        optimizer.step()
        scheduler.step()
        expect_close(
            f"learning rate at epoch {epoch}, after group['lr'] was set to 7 "
            "by hand at epoch 4 (step_size 3, gamma 0.5, base rate 0.1)",
            scheduler.get_last_lr()[0],
            0.1 * 0.5 ** (epoch // 3),
            mistakes={
                "the chainable form multiplies the current group['lr'] by γ "
                "at each multiple of step_size and keeps it otherwise: it "
                "continues from the rate set by hand": 7.0
                * 0.5 ** (epoch // 6),
                "the current rate group['lr'] is multiplied by γ^⌊e/s⌋": (
                    7.0 * 0.5 ** (epoch // 3)
                ),
            },
        )
    # step_size 1 for 20 epochs from a base rate of 2
    optimizer = PlainGD([p], lr=2.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.5)
    for epoch in range(1, 21):
        optimizer.step()
        scheduler.step()
        expect_close(
            f"learning rate at epoch {epoch} (step_size 1, gamma 0.5, "
            "base rate 2)",
            scheduler.get_last_lr()[0],
            2.0 * 0.5**epoch,
            mistakes={
                "the rate decays one epoch early": 2.0 * 0.5 ** (epoch + 1),
                "the rate decays one epoch late": 2.0 * 0.5 ** (epoch - 1),
            },
        )
    ### END HIDDEN TESTS
    print("📈 Progress: Learning Rate Scheduling ✓")


if __name__ == "__main__":
    test_unit_step_lr()


# %% [markdown]
# ### The rest of the schedule family
#
# Each schedule below is a constructor that checks its arguments and a `get_lr` that is the formula from
# the table. Two are different in kind: `ReduceLROnPlateau` reacts to a measured metric
# (`scheduler.step(validation_loss)`), so it has no formula in the epoch, and `SequentialLR` hands the
# optimizer from one schedule to the next at the milestones, restarting each at its epoch 0.


# %%
#| export
class MultiStepLR(LRScheduler):
    """Multiply the rate by `gamma` at each epoch in `milestones` (as
    torch.optim.lr_scheduler.MultiStepLR).

        lr = base_lr · gamma^(number of milestones ≤ epoch)

    Arguments:
        optimizer, last_epoch: as for every LRScheduler.
        milestones: epochs, integers ≥ 0, in any order (an epoch given
            twice decays twice).
        gamma: the factor, > 0 (stricter than PyTorch, which does not check
            it: a rate must stay a positive number).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        milestones = list(milestones)
        for milestone in milestones:
            if (
                isinstance(milestone, bool)
                or not isinstance(milestone, numbers.Integral)
                or milestone < 0
            ):
                raise ValueError(
                    "milestones must be non-negative integers (epochs), got "
                    f"{milestones!r}"
                )
        _check_range("gamma", gamma, low_open=True)
        self.milestones = sorted(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        # the number of milestones ≤ epoch
        passed = bisect.bisect_right(self.milestones, self.last_epoch)
        return [base_lr * self.gamma**passed for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the rate by `gamma` every epoch (as
    torch.optim.lr_scheduler.ExponentialLR).

        lr = base_lr · gamma^epoch

    Arguments:
        optimizer, last_epoch: as for every LRScheduler.
        gamma: the factor, > 0 (stricter than PyTorch, which does not check
            it: a rate must stay a positive number).
    """

    def __init__(
        self, optimizer: Optimizer, gamma: float, last_epoch: int = -1
    ) -> None:
        _check_range("gamma", gamma, low_open=True)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [
            base_lr * self.gamma**self.last_epoch for base_lr in self.base_lrs
        ]


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from the base rate down to `eta_min` over `T_max`
    epochs (as torch.optim.lr_scheduler.CosineAnnealingLR).

        lr = eta_min + (base_lr − eta_min) · (1 + cos(π · epoch / T_max)) / 2

    Past T_max the cosine climbs back (period 2·T_max), as PyTorch's closed
    form does.

    Arguments:
        optimizer, last_epoch: as for every LRScheduler.
        T_max: the epochs of the way down, an integer ≥ 1.
        eta_min: the last rate, ≥ 0.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        _check_int("T_max", T_max)
        _check_range("eta_min", eta_min)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [
            self.eta_min + (base_lr - self.eta_min) * cosine
            for base_lr in self.base_lrs
        ]


class LinearLR(LRScheduler):
    """Warm-up: the factor on the base rate goes linearly from
    `start_factor` to `end_factor` over `total_iters` epochs (as
    torch.optim.lr_scheduler.LinearLR).

        lr = base_lr · (s + (f − s) · min(epoch, T) / T)

    with s = start_factor, f = end_factor and T = total_iters.

    Arguments:
        optimizer, last_epoch: as for every LRScheduler.
        start_factor: s in (0, 1].
        end_factor: f in [0, 1].
        total_iters: T, an integer ≥ 1.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        _check_range("start_factor", start_factor, high=1.0, low_open=True)
        _check_range("end_factor", end_factor, high=1.0)
        _check_int("total_iters", total_iters)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        progress = min(self.total_iters, self.last_epoch) / self.total_iters
        factor = (
            self.start_factor
            + (self.end_factor - self.start_factor) * progress
        )
        return [base_lr * factor for base_lr in self.base_lrs]


class LambdaLR(LRScheduler):
    """The base rate times a function of the epoch (as
    torch.optim.lr_scheduler.LambdaLR).

        lr = base_lr · lr_lambda(epoch)

    Arguments:
        optimizer, last_epoch: as for every LRScheduler.
        lr_lambda: a function of the epoch (an int) that returns a factor
            ≥ 0, or a list of them, one per parameter group. A negative or
            NaN factor is refused at the step, which then changes nothing.

    state_dict() saves the attributes of callable objects, not functions
    (as PyTorch does).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer)
        count = len(optimizer.param_groups)
        lambdas = (
            list(lr_lambda)
            if isinstance(lr_lambda, (list, tuple))
            else [lr_lambda] * count
        )
        if len(lambdas) != count:
            raise ValueError(
                f"lr_lambda: expected {count} functions (one per parameter "
                f"group), got {len(lambdas)}"
            )
        if not all(callable(fn) for fn in lambdas):
            raise TypeError(
                "lr_lambda must be a function of the epoch (or a list of them)"
            )
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        factors = [fn(self.last_epoch) for fn in self.lr_lambdas]
        for factor in factors:  # a negative or NaN factor is a broken schedule
            _check_range(f"the factor lr_lambda({self.last_epoch})", factor)
        return [
            base_lr * factor for factor, base_lr in zip(factors, self.base_lrs)
        ]

    _NOT_DATA = ("optimizer", "lr_lambdas")

    def state_dict(self) -> dict[str, Any]:
        # functions are not data: save only the attributes of callable objects,
        # as PyTorch does
        state = super().state_dict()
        state["lr_lambdas"] = [
            None
            if isinstance(fn, types.FunctionType)
            or not hasattr(fn, "__dict__")
            else copy.deepcopy(fn.__dict__)
            for fn in self.lr_lambdas
        ]
        return state

    def _checked_state(self, state_dict):
        state = super()._checked_state(state_dict)
        if len(state["lr_lambdas"]) != len(self.lr_lambdas):
            raise ValueError(
                f"the LambdaLR state dict has {len(state['lr_lambdas'])} "
                f"lr_lambdas, this scheduler has {len(self.lr_lambdas)}"
            )
        return state

    def _restore(self, state):
        for fn, saved in zip(self.lr_lambdas, state.pop("lr_lambdas")):
            if saved is not None:
                fn.__dict__.update(saved)
        super()._restore(state)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith, 2018): warm up to `max_lr`, then anneal to
    max_lr/(div_factor·final_div_factor) (as
    torch.optim.lr_scheduler.OneCycleLR).

    Stepped after every batch, `total_steps` times in all. With
    `cycle_momentum` the momentum (or Adam's beta1) moves the opposite way,
    between `max_momentum` and `base_momentum`.

    With T = total_steps, k = the step (last_epoch) and
        initial_lr = max_lr / div_factor,
        min_lr = initial_lr / final_div_factor,
    the rate goes through phases, each from a rate a to a rate b:
        up:    initial_lr → max_lr   for k ≤ pct_start·T − 1
        down:  max_lr → min_lr       until k = T − 1
    and with three_phase:
        up:    initial_lr → max_lr   for k ≤ pct_start·T − 1
        back:  max_lr → initial_lr   for k ≤ 2·pct_start·T − 2
        down:  initial_lr → min_lr   until k = T − 1
    In a phase from step k0 to k1, with x = (k − k0) / (k1 − k0):
        cos:     lr = b + (a − b) · (1 + cos(π·x)) / 2
        linear:  lr = a + (b − a) · x
    The momentum anneals the same way, from max_momentum to base_momentum
    while the rate goes up, and back while it goes down (it stays at
    max_momentum in the third phase). Stepping past k = T is an error.

    The groups get the keys "initial_lr", "max_lr", "min_lr" and, with
    cycle_momentum, "max_momentum" and "base_momentum".

    Arguments:
        optimizer, last_epoch: as for every LRScheduler.
        max_lr: the peak rate, > 0, one for all groups or a list of one per
            group.
        total_steps: T, an integer ≥ 1; or give epochs and steps_per_epoch
            (integers ≥ 1), and T = epochs · steps_per_epoch.
        pct_start: the fraction of T spent warming up, in [0, 1].
        anneal_strategy: "cos" or "linear".
        cycle_momentum: True or False; needs an optimizer with momentum or
            betas (SGD, RMSprop, Adam, AdamW).
        base_momentum, max_momentum: in [0, 1), one or one per group
            (stricter than PyTorch: a momentum of 1 or more never decays).
        div_factor, final_div_factor: > 0.
        three_phase: True or False.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer)
        if total_steps is not None:
            _check_int("total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            _check_int("epochs", epochs)
            _check_int("steps_per_epoch", steps_per_epoch)
            total_steps = epochs * steps_per_epoch
        else:
            raise ValueError(
                "OneCycleLR needs total_steps, or both epochs and "
                "steps_per_epoch"
            )
        _check_range("pct_start", pct_start, high=1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                "anneal_strategy must be 'cos' or 'linear', got "
                f"{anneal_strategy!r}"
            )
        _check_range("div_factor", div_factor, low_open=True)
        _check_range("final_div_factor", final_div_factor, low_open=True)
        self.total_steps = total_steps
        self.anneal_strategy = anneal_strategy
        # each phase: (its last step, the group keys of the rate it goes
        # from and to, and of the momentum it goes from and to)
        lr0, peak, low = "initial_lr", "max_lr", "min_lr"
        top, bottom = "max_momentum", "base_momentum"
        warm_end = float(pct_start * total_steps) - 1
        last = total_steps - 1
        if three_phase:
            # up, back down to the start, then the long final decay
            back_end = float(2 * pct_start * total_steps) - 2
            self._phases = [
                (warm_end, lr0, peak, top, bottom),
                (back_end, peak, lr0, bottom, top),
                (last, lr0, low, top, top),
            ]
        else:
            self._phases = [
                (warm_end, lr0, peak, top, bottom),
                (last, peak, low, bottom, top),
            ]
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group, peak in zip(
                groups, _per_group("max_lr", max_lr, groups, low_open=True)
            ):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            defaults = getattr(optimizer, "defaults", {})
            if "momentum" not in defaults and "betas" not in defaults:
                raise ValueError(
                    "cycle_momentum=True needs an optimizer with momentum or "
                    "betas (SGD, RMSprop, Adam, AdamW); pass "
                    "cycle_momentum=False"
                )
            self.use_beta1 = "betas" in defaults
            if last_epoch == -1:
                for group, top, bottom in zip(
                    groups,
                    _per_group("max_momentum", max_momentum, groups, **_UNIT),
                    _per_group(
                        "base_momentum", base_momentum, groups, **_UNIT
                    ),
                ):
                    self._set_momentum(group, top)
                    group["max_momentum"] = top
                    group["base_momentum"] = bottom
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start, end, fraction):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (
                math.cos(math.pi * fraction) + 1
            )
        return (end - start) * fraction + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"OneCycleLR was stepped {step} times, but total_steps is "
                f"{self.total_steps}"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            phase_start = 0.0
            for i, phase in enumerate(self._phases):
                phase_end, lr_from, lr_to, m_from, m_to = phase
                if step <= phase_end or i == len(self._phases) - 1:
                    x = (step - phase_start) / (phase_end - phase_start)
                    lrs.append(self._anneal(group[lr_from], group[lr_to], x))
                    if self.cycle_momentum:
                        momentum = self._anneal(group[m_from], group[m_to], x)
                        self._set_momentum(group, momentum)
                    break
                phase_start = phase_end
        return lrs


def _per_group(name, value, groups, **limits):
    """One value per parameter group (a list of them, or one value for all),
    each in its range.
    """
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise ValueError(
                f"{name}: expected {len(groups)} values (one per parameter "
                f"group), got {len(value)}"
            )
        values = list(value)
    else:
        values = [value] * len(groups)
    for each in values:
        _check_range(name, each, **limits)
    return values


class SequentialLR(LRScheduler):
    """Run `schedulers[0]` until `milestones[0]`, then `schedulers[1]` (from
    its epoch 0), and so on (as torch.optim.lr_scheduler.SequentialLR).

        lr = the rate of schedulers[i] at its epoch (epoch − m_i)
    where i is the number of milestones ≤ epoch, m_i = milestones[i − 1]
    and m_0 = 0.

    warmup = LinearLR(optimizer, start_factor=0.1, total_iters=5)
    cosine = CosineAnnealingLR(optimizer, T_max=95)
    scheduler = SequentialLR(optimizer, [warmup, cosine], milestones=[5])

    Arguments:
        optimizer: the optimizer whose groups' "lr" the schedules set.
        schedulers: a non-empty list of schedulers of this same optimizer
            (not ReduceLROnPlateau, which steps on a metric).
        milestones: len(schedulers) − 1 epochs, where each next schedule
            takes over.
        last_epoch: -1 to start.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: list[LRScheduler],
        milestones: list[int],
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer)
        schedulers, milestones = list(schedulers), list(milestones)
        if not schedulers:
            raise ValueError(
                "schedulers is empty: SequentialLR needs at least one "
                "scheduler"
            )
        for i, scheduler in enumerate(schedulers):
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(
                    f"schedulers[{i}] is a ReduceLROnPlateau, which steps on "
                    "a metric: it cannot be part of a SequentialLR"
                )
            if getattr(scheduler, "optimizer", None) is not optimizer:
                raise ValueError(
                    f"schedulers[{i}] belongs to another optimizer: all must "
                    "share this one"
                )
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"milestones: expected {len(schedulers) - 1} (one fewer than "
                f"schedulers), got {len(milestones)}"
            )
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        # undo what the schedulers' first steps did
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in schedulers:
            _undo_first_step(scheduler)
        first = schedulers[bisect.bisect_right(milestones, 0)]
        first._step_count = 0
        first.step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        """Advance one epoch: the current schedule steps, or the next one
        starts at its epoch 0 at a milestone."""
        self.last_epoch += 1
        index = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            # the next schedule starts at its own epoch 0
            scheduler.last_epoch = 0
            scheduler._set_lrs(scheduler.get_lr())
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    _NOT_DATA = ("optimizer", "_schedulers")

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["_schedulers"] = [
            scheduler.state_dict() for scheduler in self._schedulers
        ]
        return state

    def _checked_state(self, state_dict):
        state = super()._checked_state(state_dict)
        if len(state["_schedulers"]) != len(self._schedulers):
            raise ValueError(
                f"the SequentialLR state dict has {len(state['_schedulers'])} "
                f"schedulers, this one has {len(self._schedulers)}"
            )
        state["_schedulers"] = [
            scheduler._checked_state(saved)
            for scheduler, saved in zip(self._schedulers, state["_schedulers"])
        ]
        return state

    def _restore(self, state):
        for scheduler, saved in zip(
            self._schedulers, state.pop("_schedulers")
        ):
            scheduler._restore(saved)
        super()._restore(state)


def _undo_first_step(scheduler):
    if hasattr(scheduler, "_schedulers"):
        for inner in scheduler._schedulers:
            _undo_first_step(inner)
    else:
        scheduler.last_epoch -= 1


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by `factor` when a metric has not improved for more
    than `patience` epochs (as torch.optim.lr_scheduler.ReduceLROnPlateau).

    # once per epoch, with the metric (mode="min": lower is better)
    scheduler.step(validation_loss)

    A metric x improves on the best so far when
        mode="min":  x < best·(1 − threshold)   (threshold_mode="rel")
                     x < best − threshold       (threshold_mode="abs")
        mode="max":  x > best·(1 + threshold)  or  x > best + threshold
    After more than `patience` epochs in a row without improvement, every
    group's rate (its current group["lr"]) becomes
        lr ← max(lr · factor, min_lr)     (unless that changes it by ≤ eps)
    and bad epochs are not counted during the next `cooldown` epochs.

    Arguments:
        optimizer: the optimizer whose groups' "lr" the schedule sets.
        mode: "min" (a loss) or "max" (an accuracy).
        factor: in [0, 1).
        patience: an integer ≥ 0.
        threshold: ≥ 0; threshold_mode: "rel" or "abs".
        cooldown: an integer ≥ 0.
        min_lr: ≥ 0, one for all groups or a list of one per group.
        eps: ≥ 0, the smallest change of a rate worth making.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        _check_optimizer(optimizer)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                "threshold_mode must be 'rel' or 'abs', got "
                f"{threshold_mode!r}"
            )
        _check_range("factor", factor, **_UNIT)
        _check_int("patience", patience, low=0)
        _check_int("cooldown", cooldown, low=0)
        _check_range("threshold", threshold)
        _check_range("eps", eps)
        self.optimizer = optimizer
        self.min_lrs = _per_group("min_lr", min_lr, optimizer.param_groups)
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def _is_better(self, value):
        if self.mode == "min":
            return value < (
                self.best * (1 - self.threshold)
                if self.threshold_mode == "rel"
                else self.best - self.threshold
            )
        return value > (
            self.best * (1 + self.threshold)
            if self.threshold_mode == "rel"
            else self.best + self.threshold
        )

    def step(self, metrics: float) -> None:
        """Record this epoch's metric; reduce the rates after more than
        `patience` epochs without progress.

        A metric that is not a finite number is refused (stricter than
        PyTorch, which counts NaN as one more bad epoch): it means the run
        diverged, which a smaller rate later cannot undo.
        """
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(
                "metrics must be a number (this epoch's loss or score), "
                f"got {metrics!r}"
            ) from None
        if not math.isfinite(current):
            raise ValueError(
                f"metrics must be a finite number, got {current}: the run "
                "diverged (lower the learning rate and start again)"
            )
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            # just reduced: ignore bad epochs for a while
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(
                self.optimizer.param_groups, self.min_lrs
            ):
                new_lr = max(group["lr"] * self.factor, min_lr)
                # changes smaller than eps are not worth making
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


# %% [markdown]
# Here are the schedules side by side, for a base rate of 0.1 over 100 epochs (OneCycle over 100 steps).


# %%
def schedule_curve(make_scheduler, epochs=100, lr=0.1):
    """The learning rate a scheduler sets at each epoch 0..epochs-1, on a
    throwaway optimizer."""
    optimizer = SGD([make_parameter(0.0)], learning_rate=lr, momentum=0.9)
    scheduler = make_scheduler(optimizer)
    rates = []
    for _ in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


if __name__ == "__main__":
    import matplotlib.pyplot as plt

    schedules = {
        "MultiStepLR([30, 80], 0.1)": lambda opt: MultiStepLR(
            opt, milestones=[30, 80], gamma=0.1
        ),
        "ExponentialLR(0.96)": lambda opt: ExponentialLR(opt, gamma=0.96),
        "CosineAnnealingLR(100)": lambda opt: CosineAnnealingLR(
            opt, T_max=100
        ),
        "LinearLR warm-up, then cosine": lambda opt: SequentialLR(
            opt,
            [
                LinearLR(opt, start_factor=0.1, total_iters=10),
                CosineAnnealingLR(opt, T_max=90),
            ],
            milestones=[10],
        ),
        "OneCycleLR(max_lr=0.1)": lambda opt: OneCycleLR(
            opt, max_lr=0.1, total_steps=100
        ),
    }
    fig, ax = plt.subplots(figsize=(9, 4))
    with after_exercise("StepLR.get_lr"):
        ax.plot(
            schedule_curve(lambda opt: StepLR(opt, step_size=30, gamma=0.5)),
            label="StepLR(30, 0.5)",
        )
    for name, make in schedules.items():
        ax.plot(schedule_curve(make), label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_title("Learning-rate schedules (base rate 0.1)")
    ax.legend(fontsize=8)
    plt.show()


# %% nbgrader={"grade": false, "grade_id": "test-schedulers", "locked": true, "schema_version": 3, "solution": false, "task": false}
def test_unit_schedulers():
    print("🔬 Unit Test: the schedule family...")
    curve = schedule_curve(
        lambda opt: CosineAnnealingLR(opt, T_max=10, eta_min=0.01), epochs=11
    )
    assert np.allclose(
        curve,
        0.01 + 0.09 * (1 + np.cos(np.pi * np.arange(11) / 10)) / 2,
        rtol=1e-14,
    )
    curve = schedule_curve(
        lambda opt: LinearLR(opt, start_factor=0.25, total_iters=3), epochs=6
    )
    assert np.allclose(curve, [0.025, 0.05, 0.075, 0.1, 0.1, 0.1], rtol=1e-14)
    curve = schedule_curve(
        lambda opt: MultiStepLR(opt, milestones=[2, 4], gamma=0.1), epochs=6
    )
    assert np.allclose(curve, [0.1, 0.1, 0.01, 0.01, 0.001, 0.001], rtol=1e-14)
    print("✅ Closed forms of cosine, linear warm-up and multi-step")
    optimizer = SGD([make_parameter(0.0)], learning_rate=1.0)
    plateau = ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    for loss in (1.0, 0.9, 0.9, 0.9, 0.9, 0.9):
        plateau.step(loss)
    assert plateau.get_last_lr() == [
        0.25
    ]  # reduced after epochs 4 and 6 (two bad epochs each)
    print("✅ ReduceLROnPlateau waits `patience` bad epochs before it reduces")


if __name__ == "__main__":
    test_unit_schedulers()

# %% [markdown]
# ## 1.7 Gradient clipping
#
# One bad batch can produce a gradient a thousand times larger than usual (recurrent networks are famous
# for it) and throw the parameters far away in a single step. **Clipping** bounds the step. Two ways:
#
# - `clip_grad_norm_(parameters, max_norm)` treats all gradients as one long vector, computes its norm
#   $\|g\| = \big(\sum_i \|g_i\|_p^p\big)^{1/p}$ ($p = 2$ by default, `norm_type=inf` for the largest entry), and
#   multiplies every gradient by $\min\!\big(1, \frac{\text{max\_norm}}{\|g\| + 10^{-6}}\big)$. The direction is kept, only
#   the length is capped. It returns the norm *before* clipping, which is worth logging. With
#   `error_if_nonfinite=True` a NaN or infinite norm raises instead of silently spreading NaN.
# - `clip_grad_value_(parameters, clip_value)` clamps every entry to $[-c, c]$, which can change the
#   direction.
#
# Both work in place on the `.grad` arrays, between `loss.backward()` and `optimizer.step()`; the trailing
# underscore is PyTorch's mark for "changes its argument".


# %%
#| export
def _gradients(parameters):
    """The gradient arrays of a parameter or a list of parameters, writable,
    skipping missing ones."""
    parameters = (
        [parameters]
        if _is_parameter(parameters)
        else _as_list(parameters, "parameters")
    )
    grads = []
    for p in parameters:
        _check_parameter(p, "parameters")
        grad = _grad_array(p)
        if grad is None:
            continue
        if not grad.flags.writeable:
            # e.g. a broadcast view: give the parameter its own copy
            grad = grad.copy()
            _set_grad_array(p, grad)
        grads.append(grad)
    return grads


def clip_grad_norm_(
    parameters: Parameter | Iterable[Parameter],
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale all gradients together so that their total norm is at most
    `max_norm`; return the norm before (as torch.nn.utils.clip_grad_norm_).

        total = ‖(‖g_1‖_p, ‖g_2‖_p, ...)‖_p      (p = norm_type)
        g_i ← g_i · min(1, max_norm / (total + 1e-6))   for every i

    total is the norm of all gradients as one long vector. In place on
    every `.grad`; a parameter without a gradient is skipped, and with none
    the result is 0.0. A NaN total makes every gradient NaN, as in PyTorch.

    Arguments:
        parameters: a parameter or a list of them.
        max_norm: ≥ 0, or inf to measure the norm without clipping.
        norm_type: p ≥ 1, or inf (or "inf") for the largest |entry|.
            Stricter than PyTorch: p < 1 (p = 0 counts the nonzero entries)
            is no norm, and cannot be scaled to max_norm.
        error_if_nonfinite: True raises RuntimeError when total is NaN or
            inf, instead of spreading NaN.
    """
    _check_range("max_norm", max_norm, allow_inf=True)  # inf: only measure
    norm_type = math.inf if norm_type == "inf" else norm_type
    # 0 counts the nonzero entries and p < 1 is no norm: neither can be
    # scaled to max_norm
    _check_range("norm_type", norm_type, low=1.0, allow_inf=True)
    grads = _gradients(parameters)
    if not grads:
        return 0.0
    norms = np.array(
        [
            np.linalg.norm(g.ravel(), norm_type) if g.size else 0.0
            for g in grads
        ]
    )
    total = float(np.linalg.norm(norms, norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"the total gradient norm is {total}, not finite: a loss or "
            "gradient is NaN or infinite (clip_grad_norm_ was called with "
            "error_if_nonfinite=True)"
        )
    # NaN stays NaN, as in PyTorch
    scale = np.minimum(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g *= scale
    return total


def clip_grad_value_(
    parameters: Parameter | Iterable[Parameter], clip_value: float
) -> None:
    """Clamp every gradient entry to [-clip_value, clip_value], in place (as
    torch.nn.utils.clip_grad_value_).

        g ← min(max(g, −c), c)    element by element   (clip_value c)

    Unlike clip_grad_norm_, it can change the gradient's direction.

    Arguments:
        parameters: a parameter or a list of them; a parameter without a
            gradient is skipped.
        clip_value: c ≥ 0, or inf (no clipping).
    """
    _check_range("clip_value", clip_value, allow_inf=True)
    for g in _gradients(parameters):
        np.clip(g, -clip_value, clip_value, out=g)


# %% nbgrader={"grade": false, "grade_id": "test-clipping", "locked": true, "schema_version": 3, "solution": false, "task": false}
def test_unit_gradient_clipping():
    print("🔬 Unit Test: gradient clipping...")
    a, b = (
        make_parameter([0.0, 0.0], grad=[3.0, 0.0]),
        make_parameter(0.0, grad=4.0),
    )
    total = clip_grad_norm_([a, b], max_norm=1.0)
    assert total == 5.0
    scale = 1.0 / (5.0 + 1e-6)
    assert (
        np.allclose(a.grad.data, [3 * scale, 0.0], rtol=1e-15)
        and abs(b.grad.data - 4 * scale) < 1e-15
    )
    print(
        "✅ clip_grad_norm_ scales by max_norm / (total + 1e-6) and returns "
        "the norm before clipping"
    )
    c = make_parameter([1.0, -1.0], grad=[0.1, -0.2])
    assert abs(clip_grad_norm_(c, max_norm=10.0) - np.sqrt(0.05)) < 1e-15
    assert np.array_equal(c.grad.data, [0.1, -0.2])
    clip_grad_value_([c], 0.15)
    assert np.array_equal(c.grad.data, [0.1, -0.15])
    print("✅ Small gradients are left alone; clip_grad_value_ clamps entries")


if __name__ == "__main__":
    test_unit_gradient_clipping()

# %% [markdown]
# ## 1.8 Checkpoints: stop, save, resume, bit for bit
#
# Long training runs get interrupted. To continue exactly, you need the parameters *and* the optimizer's
# memory (velocities, moment estimates, step counts) *and* the schedule's position. `state_dict()` turns each
# into plain Python and NumPy values that you can pickle or `np.savez`. The demonstration trains a small
# least-squares problem with Adam and a cosine schedule for 40 steps in one go, and again as 20 steps, a
# checkpoint, fresh objects, and 20 more. The two results must be *identical*, not just close.


# %%
def least_squares_run(steps, checkpoint=None, seed=0):
    """Adam + CosineAnnealingLR on ‖Xw − y‖²/n; returns (weights, checkpoint
    after `steps`)."""
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((32, 4)), rng.standard_normal(32)
    w = make_parameter(np.zeros(4))
    optimizer = Adam([w], learning_rate=0.05)
    scheduler = CosineAnnealingLR(optimizer, T_max=40)
    if checkpoint is not None:
        w.data[...] = checkpoint["w"]
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
    for _ in range(steps):
        w.grad = Tensor(2 * X.T @ (X @ w.data - y) / len(y))
        optimizer.step()
        scheduler.step()
    return w.data.copy(), {
        "w": w.data.copy(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
    }


if __name__ == "__main__":
    with after_exercise("Adam.step"):
        straight, _ = least_squares_run(40)
        _, checkpoint = least_squares_run(20)
        resumed, _ = least_squares_run(20, checkpoint=checkpoint)
        print("straight run:", straight)
        print("resumed run: ", resumed)
        print("bit for bit identical:", np.array_equal(straight, resumed))
        print(
            "what the optimizer saved:",
            {
                key: sorted(value)
                for key, value in checkpoint["optimizer"]["state"].items()
            },
        )

# %% [markdown]
# ## End of Part 1 — Build
#
# You have built the whole of `tinytorch.core.optimizers`: `gradient_descent_step`, the `Optimizer` base
# class, `SGD`, `Adam`, `AdamW`, `RMSprop`, `Adagrad`, nine schedulers and gradient clipping. Export it with
# `tito export --module optimizers` and check it with `tito test --module optimizers`; from now on
# `from tinytorch.core.optimizers import SGD, Adam, StepLR` is your code.

# %% [markdown]
# ## Testing your implementation
#
# Run the full test suite to verify your optimizers:
#
# ```bash
# tito test --module optimizers               # TinyTorch CLI (recommended)
# python -m pytest tests/ -k optimizers -v    # pytest directly
# ```
#
# What the tests cover:
#
# - ✅ **Algorithm implementation:** SGD, momentum and Adam compute the correct parameter updates, step after
#   step, against references written independently inside the tests and against `torch.optim`.
# - ✅ **Mathematical correctness:** convergence to analytic solutions of convex problems (least squares,
#   quadratics) at the rates theory predicts.
# - ✅ **State management:** momentum buffers and moment estimates are tracked per parameter, saved by
#   `state_dict()` and resumed bit for bit.
# - ✅ **Learning rate scheduling:** step decay and the rest of the schedule family against closed forms.
# - ✅ **Training integration:** the optimizers train a real network on the digits (Part 2).
# - ✅ **The spec:** a step never changes `.grad` (for every optimizer and option), momentum under a
#   changing learning rate follows PyTorch's form, and Adam counts steps per parameter.
#
# When a test fails, it names the quantity, the step, the expected and the actual value, and, when your
# numbers match a common mistake, the mistake:
#
# ```text
# θ at step 1: expected 0.9000000005, got 0.683772283983
#   → this is what you get when the bias correction is missing
#     (m̂ = m and v̂ = v)
# ```
#
# ### Manual testing
#
# The cell below is what you would type in a Python shell after `source bin/activate-tinytorch.sh`, where the
# first lines are `from optimizers_dev import SGD, Adam, StepLR` and `from autograd_dev import Variable`.
# Here the notebook's own `SGD` and `Adam` are used. Watch $x$ spiral in towards 0: with momentum $0.9$ it
# overshoots and comes back, as a heavy ball would.

# %%
if __name__ == "__main__":
    with after_exercise("SGD.step", "Adam.step"):
        # Test SGD on simple quadratic function
        x = Variable(10.0, requires_grad=True)
        sgd = SGD([x], learning_rate=0.1, momentum=0.9)
        for step in range(100):
            sgd.zero_grad()
            loss = x**2  # Minimize f(x) = x²
            loss.backward()
            sgd.step()
            if step % 10 == 0:
                print(f"Step {step}: x = {x.data:.4f}, loss = {loss.data:.4f}")

        # Test Adam convergence
        x = Variable([2.0, -3.0], requires_grad=True)
        adam = Adam([x], learning_rate=0.01)
        for step in range(50):
            adam.zero_grad()
            loss = (x[0] ** 2 + x[1] ** 2).sum()  # Minimize ||x||²
            loss.backward()
            adam.step()
            if step % 10 == 0:
                print(f"Step {step}: x = {x.data}, loss = {loss.data:.6f}")

# %% [markdown]
# # Part 2 — Use: training a real network
#
# Your optimizers pass their unit tests. Now let them do the job they exist for: train a network on real
# data. We use scikit-learn's handwritten digits, which ship with the library (nothing is downloaded):
# 1,797 grey-scale images of 8×8 pixels, so each image is a vector of 64 numbers in $[0, 1]$, labelled 0–9.
# `load_digits()` splits them into 1,438 training and 359 test images, stratified by class.
#
# The model is the module page's `Sequential([Dense(784, 128), ReLU(), Dense(128, 10)])`, sized for 8×8
# images: `Sequential([Dense(64, 128), ReLU(), Dense(128, 10)])`, that is
#
# $$\text{logits} = W_2\,\mathrm{ReLU}(W_1 x + b_1) + b_2, \qquad W_1 \in \mathbb{R}^{128\times 64},\; W_2 \in \mathbb{R}^{10\times 128},$$
#
# 9,610 parameters in all. Training minimises the average cross-entropy over the training set,
# $L(\theta) = \frac{1}{N}\sum_{i=1}^{N} -\log \mathrm{softmax}(\text{logits}_i)_{y_i}$. Each step sees one
# mini-batch $\mathcal{B}_t$ of 32 images, so the optimizer works with a *noisy* gradient
#
# $$g_t = \frac{1}{|\mathcal{B}_t|}\sum_{i \in \mathcal{B}_t} \nabla_\theta \ell_i(\theta_t), \qquad \mathbb{E}[g_t] = \nabla L(\theta_t).$$
#
# We train the same network from the same initial weights three times, changing only the optimizer:
#
# | optimizer | update | learning rate |
# | --- | --- | --- |
# | SGD | $\theta \leftarrow \theta - \eta\, g$ | $\eta = 0.1$ |
# | SGD + momentum | $b \leftarrow \mu b + g,\;\; \theta \leftarrow \theta - \eta\, b$ | $\eta = 0.01$, $\mu = 0.9$ |
# | Adam | $\theta \leftarrow \theta - \eta\, \hat m / (\sqrt{\hat v} + \epsilon)$ | $\eta = 0.005$ |
#
# Why a ten times smaller learning rate with momentum? When the gradient keeps pointing the same way, the
# buffer grows to $b = g + \mu g + \mu^2 g + \dots = g/(1-\mu)$, so the real step is $\eta/(1-\mu)$:
# $0.01/(1-0.9) = 0.1$, the same as plain SGD. Adam is different again: $\hat m/\sqrt{\hat v}$ is at most
# about 1 in size per coordinate, so each weight moves by up to about $\eta$ per step *whatever the size of
# its gradient*.
#
# Every run uses `StepLR(optimizer, step_size=5, gamma=0.5)`: the learning rate halves every 5 epochs,
# $\eta_e = \eta_0 \cdot 0.5^{\lfloor e/5 \rfloor}$. Large steps early make fast progress; smaller steps later
# let the weights settle instead of bouncing around in the noise of $g_t$. The log counts epochs from 0
# and prints the rate each epoch trained with: epochs 0–4 at $\eta_0$, epochs 5–9 at $\eta_0/2$, and so on.
#
# The loop below is the training loop of the module page, line for line, plus some bookkeeping. Watch
# for: Adam's loss falls fastest in the first epoch; the two SGD runs behave alike (same effective step);
# and each halving of the learning rate shows as a small drop in the loss curves.

# %%
import time

import numpy as np

from tinytorch.core.autograd import Variable, no_grad
from tinytorch.core.tensor import Tensor
from tinytorch.core.setup import (
    after_exercise,
    expect,
    expect_close,
    expect_equal,
)
from tinytorch.core.layers import Dense, manual_seed
from tinytorch.core.activations import ReLU
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.networks import Sequential
from tinytorch.core.dataloader import DataLoader, load_digits


# %%
def build_digits_classifier(seed=0, dtype=np.float64):
    """The 64 -> 128 -> 10 network; `seed` fixes the initial weights, so
    every optimizer starts from the same point."""
    manual_seed(seed)
    return Sequential(
        [Dense(64, 128, dtype=dtype), ReLU(), Dense(128, 10, dtype=dtype)]
    )


def digits_accuracy(model, dataset):
    """Fraction of `dataset` the model classifies correctly (no graph is
    built: we only evaluate)."""
    correct = 0
    with no_grad():
        for inputs, targets in DataLoader(dataset, batch_size=512):
            predictions = model(inputs).data.argmax(axis=1)
            correct += int((predictions == targets.data).sum())
    return correct / len(dataset)


# %%
def train_digits_classifier(
    optimizer_class,
    optimizer_settings,
    train_set,
    test_set,
    make_scheduler=None,
    num_epochs=15,
    batch_size=32,
    seed=0,
    verbose=True,
):
    """Train a fresh classifier with optimizer_class(parameters, **settings).

    The schedule is `make_scheduler(optimizer)`, by default StepLR(optimizer,
    step_size=5, gamma=0.5). Returns the history: the loss of every batch,
    and per epoch the mean loss, test accuracy and learning rate.
    """
    model = build_digits_classifier(seed)
    optimizer = optimizer_class(model.parameters(), **optimizer_settings)
    if make_scheduler is None:
        scheduler = StepLR(optimizer, step_size=5, gamma=0.5)
    else:
        scheduler = make_scheduler(optimizer)
    criterion = CrossEntropyLoss()
    dataloader = DataLoader(
        train_set, batch_size=batch_size, shuffle=True, seed=seed
    )
    history = dict(
        batch_loss=[], epoch_loss=[], test_accuracy=[], learning_rate=[]
    )
    for epoch in range(num_epochs):
        # The rate this epoch trains with: read it before scheduler.step()
        # sets the next epoch's rate.
        epoch_lr = scheduler.get_last_lr()[0]
        history["learning_rate"].append(epoch_lr)
        epoch_losses = []
        for batch_inputs, batch_targets in dataloader:
            # Forward pass
            predictions = model(batch_inputs)
            loss = criterion(predictions, batch_targets)
            if not np.isfinite(loss.data):
                raise FloatingPointError(
                    f"the loss became {float(loss.data)} in epoch {epoch}: "
                    "the learning rate is too large for this model; lower "
                    "it and train again"
                )
            # Optimization step
            optimizer.zero_grad()  # Clear gradients
            loss.backward()  # Compute gradients
            optimizer.step()  # Update parameters
            epoch_losses.append(float(loss.data))
        scheduler.step()  # Adjust learning rate
        history["batch_loss"].extend(epoch_losses)
        history["epoch_loss"].append(float(np.mean(epoch_losses)))
        history["test_accuracy"].append(digits_accuracy(model, test_set))
        if verbose:
            print(
                f"Epoch {epoch}, LR: {epoch_lr:g}, "
                f"loss {history['epoch_loss'][-1]:.4f}, "
                f"test accuracy {history['test_accuracy'][-1]:.1%}"
            )
    return history


# %%
if __name__ == "__main__":
    digits_train, digits_test = load_digits()
    # name: (optimizer class, its settings, the exercise it needs)
    digits_runs = {
        "SGD": (SGD, dict(learning_rate=0.1), "SGD.step"),
        "SGD + momentum": (
            SGD,
            dict(learning_rate=0.01, momentum=0.9),
            "SGD.step",
        ),
        "Adam": (Adam, dict(learning_rate=0.005), "Adam.step"),
    }
    digits_histories = {}
    for run_name, (optimizer_class, settings, exercise) in digits_runs.items():
        print(f"--- {run_name} {settings}")
        started = time.perf_counter()
        with after_exercise(exercise, "StepLR.get_lr"):
            digits_histories[run_name] = train_digits_classifier(
                optimizer_class, settings, digits_train, digits_test
            )
            print(f"    {time.perf_counter() - started:.1f} s")

# %% [markdown]
# The curves below show every batch's loss (pale) and each epoch's mean (dark), on a log scale, one panel
# per optimizer, and the test accuracy after each epoch. The dotted vertical lines mark the epochs where
# StepLR halves the learning rate.

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt

    if digits_histories:
        colors = {
            "SGD": "tab:blue",
            "SGD + momentum": "tab:orange",
            "Adam": "tab:green",
        }
        fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
        for ax, (run_name, history) in zip(axes, digits_histories.items()):
            batches_per_epoch = len(history["batch_loss"]) // len(
                history["epoch_loss"]
            )
            ax.plot(
                np.arange(len(history["batch_loss"])) / batches_per_epoch,
                history["batch_loss"],
                color=colors[run_name],
                alpha=0.25,
                lw=0.8,
            )
            ax.plot(
                np.arange(len(history["epoch_loss"])) + 0.5,
                history["epoch_loss"],
                "o-",
                color=colors[run_name],
                ms=3,
                label="epoch mean",
            )
            for drop in range(5, len(history["epoch_loss"]), 5):
                ax.axvline(drop, color="grey", ls=":", lw=1)
            ax.set_yscale("log")
            ax.set_ylim(3e-3, 4)
            ax.set_xlabel("epoch")
            ax.set_title(
                f"{run_name}: test accuracy {history['test_accuracy'][-1]:.1%}"
            )
        axes[0].set_ylabel("training loss (cross-entropy)")
        for run_name, history in digits_histories.items():
            axes[3].plot(
                np.arange(1, len(history["test_accuracy"]) + 1),
                history["test_accuracy"],
                "o-",
                ms=3,
                color=colors[run_name],
                label=run_name,
            )
        axes[3].set_ylim(0.85, 1.0)
        axes[3].set_xlabel("epoch")
        axes[3].set_title("test accuracy")
        axes[3].legend(loc="lower right")
        fig.tight_layout()
        plt.show()
        for run_name, history in digits_histories.items():
            print(
                f"{run_name:15s} final training loss "
                f"{history['epoch_loss'][-1]:.4f}   "
                f"test accuracy {history['test_accuracy'][-1]:.1%}"
            )

# %% [markdown]
# What the numbers say:
#
# - **Adam** is ahead after the first epoch and stays ahead. Every weight moves by about $\eta$ per step,
#   whatever the size of its gradient, and it needed no tuning beyond one learning rate.
# - **SGD and SGD + momentum** follow almost the same curve. That is the $\eta/(1-\mu)$ rule at work: both
#   take steps of about $0.1\,g$. Momentum's advantage is not a bigger step (plain SGD can take the same
#   one) but a better one on ill-conditioned problems, as the next part shows.
# - Each halving of the learning rate lowers the noise floor the loss can reach. Here the effect is small,
#   because the starting rates are modest; section 3.4 shows a case where it decides
#   everything.
#
# This is one small problem with a short budget. On large vision models, well-tuned SGD with momentum and a
# long schedule often ends at the best test accuracy; Adam (or AdamW) is the default for transformers. The
# next part gives you the tools to see *why* optimizers differ, rather than trusting a single race.

# %% [markdown]
# ## Exercise 5 — Use: 95% on a budget
#
# Now you choose. Train the same network to **at least 95% held-out accuracy** (342 of the 359 test
# images) within a fixed budget:
#
# | budget | value |
# | --- | --- |
# | epochs | 3 (45 mini-batches each: 135 optimizer steps) |
# | batch size | 32, shuffled with seed 0 |
# | initial weights | `build_digits_classifier(seed=0)` |
# | optimizer | one you built: `SGD` (with any momentum), `Adam` or `AdamW` |
# | schedule | one of yours, stepped after **every optimizer step** (not every epoch) |
#
# On two cores the whole run takes about a second. You do not write the loop: the three locked cells
# below are the rules, the loop the test runs and the hints its failures give; the test fixes the
# epochs, the batch size and the seed. You write
# `digits_training_plan(parameters, total_steps)`, which returns `(optimizer, scheduler)` for the
# model's parameters. `total_steps` is the number of times the loop will call `optimizer.step()` and
# then `scheduler.step()` (135 here), so you can size a schedule to end exactly when the budget does.
# The loop checks that your plan plays by the rules: your own optimizer over exactly the model's
# parameters, a schedule attached to it, and weights that change only in `optimizer.step()`.


# %% nbgrader={"grade": false, "grade_id": "digits-budget", "locked": true, "schema_version": 3, "solution": false, "task": false}
DIGITS_BUDGET = dict(num_epochs=3, batch_size=32, seed=0)


# %% nbgrader={"grade": false, "grade_id": "digits-budget-rules", "locked": true, "schema_version": 3, "solution": false, "task": false}
def check_training_plan(optimizer, scheduler, parameters, expected_weights):
    """The rules of the budget; `expected_weights` are the weights now."""
    built = ("SGD", "Adam", "AdamW")  # the optimizers you built in Part 1
    expect(
        isinstance(optimizer, Optimizer) and type(optimizer).__name__ in built,
        f"optimizer: expected one of {', '.join(built)}, "
        f"got {type(optimizer).__name__}",
    )
    expect(
        isinstance(scheduler, LRScheduler)
        and scheduler.optimizer is optimizer,
        f"scheduler: expected one of your schedulers built on the "
        f"optimizer you return, got {type(scheduler).__name__}",
    )
    trained = [p for group in optimizer.param_groups for p in group["params"]]
    expect(
        len(trained) == len(parameters)
        and all(any(p is q for q in trained) for p in parameters),
        f"optimizer parameters: expected the model's {len(parameters)} "
        f"parameters, got {len(trained)} others",
    )
    for p, weights in zip(parameters, expected_weights):
        expect(
            np.array_equal(p.data, weights),
            "weights: they may change only in optimizer.step(), and they "
            "changed in your plan or in scheduler.step()",
        )


# %% nbgrader={"grade": false, "grade_id": "digits-budget-loop", "locked": true, "schema_version": 3, "solution": false, "task": false}
def train_under_budget(
    make_plan, train_set, test_set, num_epochs, batch_size, seed
):
    """Train a fresh classifier with `make_plan(parameters, total_steps)`.

    Returns the held-out accuracy, the rate of every step, and the step
    at which the loss stopped being a number (None if it never did).
    """
    model = build_digits_classifier(seed)
    parameters = model.parameters()
    dataloader = DataLoader(
        train_set, batch_size=batch_size, shuffle=True, seed=seed
    )
    weights = [p.data.copy() for p in parameters]
    optimizer, scheduler = make_plan(parameters, num_epochs * len(dataloader))
    check_training_plan(optimizer, scheduler, parameters, weights)
    criterion = CrossEntropyLoss()
    rates = []
    for epoch in range(num_epochs):
        for inputs, targets in dataloader:
            loss = criterion(model(inputs), targets)
            if not np.isfinite(loss.data):
                return dict(accuracy=0.0, rates=rates, diverged_at=len(rates))
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            weights = [p.data.copy() for p in parameters]
            scheduler.step()
            check_training_plan(optimizer, scheduler, parameters, weights)
    accuracy = digits_accuracy(model, test_set)
    return dict(accuracy=accuracy, rates=rates, diverged_at=None)


# %% nbgrader={"grade": false, "grade_id": "digits-budget-hints", "locked": true, "schema_version": 3, "solution": false, "task": false}
def plan_hint(rates, accuracy):
    """What the rates of a run that missed the target say went wrong."""
    peak = max(rates)
    rises = sum(b > a for a, b in zip(rates[1:], rates[2:]))
    tiny = [s for s, rate in enumerate(rates) if rate < 0.01 * peak]
    if accuracy < 0.2:
        hint = (
            f"the network guesses (chance is 0.1): a peak rate of {peak:g} "
            "is too large for it; start lower"
        )
    elif peak == min(rates):
        hint = (
            f"your rate stays at {peak:g} for all {len(rates)} steps: a "
            "constant rate cannot both make fast progress and settle; "
            "decay it"
        )
    elif rises > 0.2 * len(rates):
        hint = (
            f"your rate goes back up {rises} times: a schedule sized in "
            "epochs but stepped every step cycles; size it in total_steps"
        )
    elif tiny and tiny[0] < len(rates) // 2:
        hint = (
            f"your rate is below 1% of its peak from step {tiny[0]} of "
            f"{len(rates)}: it decays too early (a schedule sized in "
            "epochs shrinks once per step here)"
        )
    elif rates[-1] > 0.2 * peak:
        hint = (
            f"your rate ends at {rates[-1]:g}, {rates[-1] / peak:.0%} of "
            "its peak: decay it to nearly zero by total_steps"
        )
    else:
        hint = "try a larger peak rate, or another of your optimizers"
    return f"\n  → {hint}"


# %% [markdown]
# Before you write yours, measure what a constant rate does. The cell below trains under the budget with
# `LambdaLR(optimizer, lambda step: 1.0)` (a schedule that never changes the rate), for SGD with
# momentum 0.9 and for Adam, at rates from small to large.


# %%
def constant_rate_plan(optimizer_class, **settings):
    """A plan with a fixed rate: the baseline a schedule has to beat."""

    def make_plan(parameters, total_steps):
        optimizer = optimizer_class(parameters, **settings)
        return optimizer, LambdaLR(optimizer, lambda step: 1.0)

    return make_plan


def accuracy_text(result, test_set):
    """'341 of 359 (94.99%)', or where the run diverged."""
    if result["diverged_at"] is not None:
        return f"diverged at step {result['diverged_at']}"
    correct = round(result["accuracy"] * len(test_set))
    return f"{correct} of {len(test_set)} ({result['accuracy']:.2%})"


# %%
if __name__ == "__main__":
    constant_runs = {
        f"SGD, momentum 0.9, lr {lr}": constant_rate_plan(
            SGD, learning_rate=lr, momentum=0.9
        )
        for lr in (0.05, 0.1, 0.2, 0.4)
    } | {
        f"Adam, lr {lr}": constant_rate_plan(Adam, learning_rate=lr)
        for lr in (0.003, 0.01, 0.03)
    }
    constant_results = {}
    started = time.perf_counter()
    with after_exercise("SGD.step", "Adam.step"):
        for label, plan in constant_runs.items():
            constant_results[label] = train_under_budget(
                plan, digits_train, digits_test, **DIGITS_BUDGET
            )
            print(
                f"{label:28s} constant rate: "
                f"{accuracy_text(constant_results[label], digits_test)}"
            )
        print(
            f"{len(constant_results)} runs in "
            f"{time.perf_counter() - started:.1f} s"
        )

# %% [markdown]
# None reaches 342: the best constant rates stop one image short, most fall 5 to 20 images short. The
# small rates are still improving when the budget runs out; the large ones make fast progress, then
# keep bouncing in the noise of the mini-batch gradients (and 0.4 with momentum, an effective step of
# $0.4/(1-0.9) = 4$, is close to blowing up). What the budget teaches is the reason schedules exist:
# **take large steps while the loss is high and small ones at the end**, so the weights settle near a
# minimum instead of jittering around it. With the same 135 steps, a rate that starts large and decays
# to zero gets what no constant gets: cosine annealing from 0.05 with Adam reaches 347 images (96.7%),
# a short warm-up and a cosine from 0.3 with momentum 345. Not every schedule clears the bar (a cosine
# from 0.2 with momentum stops at 340), so expect to try a few: that search is the exercise.
#
# One test image is 0.28%, so a single run's accuracy moves by an image or two when anything changes
# (the seed, the order of additions in a step). The lesson is in the margin, not in the last image:
# a good schedule clears 95% by several images, the best constant rate does not reach it.
#
# Your plan:
#
# - pick one of your optimizers and a starting rate at the high end of what trains (the table above
#   tells you where that is);
# - pick a schedule that decays it to (nearly) zero by step `total_steps`: cosine annealing, a linear
#   decay, one-cycle (which also warms up), or your own `LambdaLR`;
# - size the schedule in **steps**, not epochs: the loop calls `scheduler.step()` 135 times. A
#   `StepLR(step_size=1)` written for epochs would halve the rate 135 times; a
#   `CosineAnnealingLR(T_max=3)` would go up and down 22 times.


# %% nbgrader={"grade": false, "grade_id": "digits-training-plan", "locked": false, "schema_version": 3, "solution": true, "task": false}
def digits_training_plan(parameters, total_steps):
    """Your optimizer and schedule for the budget: (optimizer, scheduler).

    parameters: the model's parameters; total_steps: how many times the
    loop calls optimizer.step() and then scheduler.step().
    """
    ### BEGIN SOLUTION
    optimizer = SGD(parameters, learning_rate=0.3, momentum=0.9)
    warm_up = total_steps // 10
    scheduler = SequentialLR(
        optimizer,
        [
            LinearLR(optimizer, start_factor=0.1, total_iters=warm_up),
            CosineAnnealingLR(optimizer, T_max=total_steps - warm_up),
        ],
        milestones=[warm_up],
    )
    return optimizer, scheduler
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-digits-training-plan", "locked": true, "points": 8, "schema_version": 3, "solution": false, "task": false}
def test_unit_digits_training_plan():
    print("🔬 Unit Test: 95% on the digits within the budget...")
    budget = dict(num_epochs=3, batch_size=32, seed=0)  # fixed here
    train_set, test_set = load_digits()
    result = train_under_budget(
        digits_training_plan, train_set, test_set, **budget
    )
    rates = result["rates"]
    where = (
        f"after {budget['num_epochs']} epochs of batch {budget['batch_size']}"
    )
    expect(
        result["diverged_at"] is None,
        f"loss at step {result['diverged_at']}: expected a number, got "
        f"inf or nan → the rate there ({rates[-1]:g}) is too large; "
        "start lower or warm up",
    )
    print(f"   held-out accuracy {result['accuracy']:.2%}")
    expect(
        result["accuracy"] >= 0.95,
        f"held-out accuracy {where}: expected at least 0.95, got "
        f"{result['accuracy']:.4f} "
        f"({round(result['accuracy'] * len(test_set))} of {len(test_set)})"
        + plan_hint(rates, result["accuracy"]),
    )
    print("✅ At least 95% of the test digits within the budget")
    print("📈 Progress: Use ✓")


if __name__ == "__main__":
    test_unit_digits_training_plan()

# %% [markdown]
# Your plan against the best constant rate: the learning rate of every step, and where each run ends.

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt

    with after_exercise("digits_training_plan"):
        plan_result = train_under_budget(
            digits_training_plan, digits_train, digits_test, **DIGITS_BUDGET
        )
        print(f"your plan: {accuracy_text(plan_result, digits_test)}")
        fig, ax = plt.subplots(figsize=(9, 3))
        ax.plot(plan_result["rates"], label="your plan")
        if constant_results:
            best = max(
                constant_results,
                key=lambda k: constant_results[k]["accuracy"],
            )
            best_text = accuracy_text(constant_results[best], digits_test)
            print(f"best constant rate ({best}): {best_text}")
            ax.plot(
                constant_results[best]["rates"],
                "--",
                label=f"{best} (constant): {best_text}",
            )
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("learning rate")
        ax.set_title(
            f"your schedule: {plan_result['accuracy']:.1%} held-out accuracy"
        )
        ax.legend()
        fig.tight_layout()
        plt.show()

# %% [markdown]
# # Part 3 — Optimize: analysing optimizers
#
# A neural network's loss lives in thousands of dimensions, which we cannot draw. Two-dimensional test
# functions can be drawn, and they capture the shapes that make optimization hard:
#
# - **An ill-conditioned quadratic** $f(\theta) = \tfrac12\,\theta^\top A\,\theta$ where $A$ has
#   eigenvalues $\lambda_{\min} = 1$ and $\lambda_{\max} = \kappa$ (we rotate it by 30° so the valley is not
#   aligned with the axes). The *condition number* $\kappa = \lambda_{\max}/\lambda_{\min}$ measures how
#   stretched the valley is. Near any minimum, every smooth loss looks like this, so it is the function
#   for which we can *prove* convergence rates, and check them below.
# - **Rosenbrock** $f(x, y) = (1-x)^2 + 100\,(y - x^2)^2$: a curved, narrow, almost flat banana-shaped
#   valley with the minimum at $(1, 1)$. We start at the classic point $(-1.2, 1)$.
# - **Beale** $f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2$: minimum at
#   $(3, 0.5)$, flat plateaus next to cliffs, and gradients whose size changes by orders of magnitude
#   across the plane.
#
# Each function is written with ordinary arithmetic, so the same code evaluates a NumPy grid (for the
# contour plot) and a `Variable` (for the gradient). A trajectory is the training loop in miniature: the
# parameters are one `Variable` holding $(x, y)$; each step computes the loss with Variable operations,
# calls `backward()`, and lets *your* optimizer move the point.


# %%
def ill_conditioned_quadratic(x, y, kappa=20.0):
    """f = (u² + κ v²) / 2 in coordinates (u, v) rotated 30° from (x, y):
    eigenvalues 1 and κ, minimum 0."""
    cos, sin = np.cos(np.pi / 6), np.sin(np.pi / 6)
    u = x * cos + y * sin
    v = y * cos - x * sin
    return (u * u + v * v * kappa) * 0.5


def rosenbrock(x, y):
    """Rosenbrock's banana valley: minimum 0 at (1, 1)."""
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def beale(x, y):
    """Beale's function: minimum 0 at (3, 0.5)."""
    return (
        (1.5 - x + x * y) ** 2
        + (2.25 - x + x * y * y) ** 2
        + (2.625 - x + x * y * y * y) ** 2
    )


# %%
def landscape_catalogue():
    """The 2-D test functions: formula, starting point, minimum and the box
    (x range, y range) we draw."""
    return {
        "quadratic": dict(
            function=ill_conditioned_quadratic,
            start=(-4.5, -1.5),
            minimum=(0.0, 0.0),
            box=((-5.0, 5.0), (-5.0, 5.0)),
            title="ill-conditioned quadratic (κ = 20)",
        ),
        "rosenbrock": dict(
            function=rosenbrock,
            start=(-1.2, 1.0),
            minimum=(1.0, 1.0),
            box=((-2.0, 2.0), (-1.0, 3.0)),
            title="Rosenbrock",
        ),
        "beale": dict(
            function=beale,
            start=(1.0, 1.5),
            minimum=(3.0, 0.5),
            box=((-0.5, 4.0), (-1.5, 2.5)),
            title="Beale",
        ),
    }


# %%
def optimizer_path(landscape, start, make_optimizer, num_steps, escape=1e6):
    """Points visited by `make_optimizer([point])` minimising
    landscape(x, y) from `start`.

    Returns an array of shape (steps taken + 1, 2). A run that blows up
    (|coordinate| > escape, or not a number) stops early: its last point is
    where it escaped.
    """
    point = Variable(np.array(start, dtype=np.float64), requires_grad=True)
    optimizer = make_optimizer([point])
    path = [point.data.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            optimizer.zero_grad()
            loss = landscape(point[0], point[1])
            loss.backward()
            optimizer.step()
            path.append(point.data.copy())
            if not np.all(np.abs(point.data) < escape):
                break
    return np.array(path)


def gradient_descent_path(landscape, start, learning_rate, num_steps):
    """Like optimizer_path, with your first exercise:
    gradient_descent_step(point, learning_rate)."""
    point = Variable(np.array(start, dtype=np.float64), requires_grad=True)
    path = [point.data.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            point.grad = None
            landscape(point[0], point[1]).backward()
            gradient_descent_step(point, learning_rate)
            path.append(point.data.copy())
    return np.array(path)


# %%
def draw_landscape(ax, name, num_levels=18):
    """Log-spaced contour lines of one catalogue landscape on a matplotlib
    axis, with its start and minimum."""
    from matplotlib.colors import LogNorm

    spec = landscape_catalogue()[name]
    (x_low, x_high), (y_low, y_high) = spec["box"]
    grid_x, grid_y = np.meshgrid(
        np.linspace(x_low, x_high, 300), np.linspace(y_low, y_high, 300)
    )
    heights = (
        spec["function"](grid_x, grid_y) + 1e-3
    )  # + 1e-3: the log scale needs heights > 0
    levels = np.geomspace(heights.min() * 1.5, heights.max(), num_levels)
    ax.contour(
        grid_x,
        grid_y,
        heights,
        levels=levels,
        norm=LogNorm(),
        cmap="viridis",
        linewidths=0.7,
    )
    ax.plot(*spec["start"], "ko", ms=5)
    ax.plot(*spec["minimum"], "k*", ms=11)
    ax.set_xlim(x_low, x_high)
    ax.set_ylim(y_low, y_high)
    ax.set_title(spec["title"])


# %% [markdown]
# ## 3.1 Four optimizers on three landscapes
#
# Gradient descent (GD), heavy-ball momentum, Nesterov momentum and Adam start from the same point on each
# function. The top row shows where they go, the bottom row the loss $f(\theta_t) - f^\star$ on a log
# scale. Each optimizer gets a learning rate that suits it on that function (listed in the legend):
# a fair race compares optimizers at their own best settings, not at one shared number.
#
# What to look for:
#
# - On the **quadratic**, GD zig-zags across the valley: its step must stay below $2/\lambda_{\max}$ for the
#   steep direction, which makes it slow along the flat one. Momentum averages the zig-zag away and moves
#   along the valley floor. On a log scale both losses fall along straight lines (momentum's with
#   wiggles): *linear convergence*, whose slope we predict exactly in section 3.2. Adam wobbles: it divides each step by a slowly
#   forgetting average of past gradient sizes, so it neither follows the curvature like GD nor settles;
#   with a constant learning rate it hovers near the minimum instead of converging to it.
# - On **Rosenbrock**, GD crawls along the curved valley floor; momentum builds up speed along it.
# - On **Beale**, the gradient at the start (about 100) is a hundred times larger than in the valley that
#   leads to the minimum (about 1). Momentum
#   needs a ten times smaller learning rate than GD to survive the start (with $\mu = 0.9$ its steps are
#   up to $1/(1-\mu) = 10$ times larger); Adam divides by the gradient's size and is barely bothered.


# %%
def four_racers(lr_gd, lr_momentum, momentum, lr_adam):
    """The four racers on one landscape: (label, optimizer factory) pairs."""
    heavy = dict(learning_rate=lr_momentum, momentum=momentum)
    return [
        (f"GD, lr {lr_gd:g}", lambda p: SGD(p, learning_rate=lr_gd)),
        (
            f"momentum, lr {lr_momentum:g}, μ {momentum:g}",
            lambda p: SGD(p, **heavy),
        ),
        (
            f"Nesterov, lr {lr_momentum:g}, μ {momentum:g}",
            lambda p: SGD(p, **heavy, nesterov=True),
        ),
        (f"Adam, lr {lr_adam:g}", lambda p: Adam(p, learning_rate=lr_adam)),
    ]


def landscape_race_settings():
    """For each landscape: the number of steps and the racers."""
    return {
        "quadratic": (100, four_racers(0.09, 0.05, 0.8, 0.3)),
        "rosenbrock": (2000, four_racers(0.001, 0.001, 0.9, 0.02)),
        "beale": (1000, four_racers(0.01, 0.001, 0.9, 0.05)),
    }


# %%
if __name__ == "__main__":
    race_paths = {}
    with after_exercise("SGD.step", "Adam.step"):
        for landscape_name, (
            num_steps,
            racers,
        ) in landscape_race_settings().items():
            spec = landscape_catalogue()[landscape_name]
            for label, make_optimizer in racers:
                race_paths[landscape_name, label] = optimizer_path(
                    spec["function"], spec["start"], make_optimizer, num_steps
                )
    race_done = len(race_paths) == sum(
        len(racers) for _, racers in landscape_race_settings().values()
    )
    if race_done:
        for (landscape_name, label), path in race_paths.items():
            with np.errstate(over="ignore", invalid="ignore"):
                final_loss = landscape_catalogue()[landscape_name]["function"](
                    *path[-1]
                )
            status = (
                f"f = {final_loss:.2e}"
                if np.isfinite(final_loss) and len(path) > 1
                else "diverged"
            )
            print(
                f"{landscape_name:10s} {label:28s} "
                f"{len(path) - 1:5d} steps  {status}"
            )


# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt

    if race_done:
        fig, axes = plt.subplots(
            2, 3, figsize=(17, 10), gridspec_kw={"height_ratios": [1.2, 1]}
        )
        for column, (landscape_name, (num_steps, racers)) in enumerate(
            landscape_race_settings().items()
        ):
            spec = landscape_catalogue()[landscape_name]
            draw_landscape(axes[0, column], landscape_name)
            for (label, _), color in zip(
                racers, ["tab:blue", "tab:orange", "tab:red", "tab:green"]
            ):
                path = race_paths[landscape_name, label]
                axes[0, column].plot(
                    path[:, 0],
                    path[:, 1],
                    ".-",
                    color=color,
                    lw=1,
                    ms=2,
                    label=label,
                )
                with np.errstate(over="ignore", invalid="ignore"):
                    gaps = spec["function"](
                        path[:, 0], path[:, 1]
                    )  # f* = 0 for all three functions
                axes[1, column].semilogy(gaps, color=color, label=label)
            axes[0, column].legend(loc="lower right", fontsize=8)
            axes[1, column].set_xlabel("step")
            axes[1, column].set_ylim(1e-16, 1e4)
            axes[1, column].legend(fontsize=8)
        axes[1, 0].set_ylabel(r"$f(\theta_t) - f^\star$")
        fig.tight_layout()
        plt.show()


# %% [markdown]
# ## 3.2 Theory, checked by measurement
#
# In section 1.3 you met the two rates that explain most of optimization, computed there with a few lines of
# plain NumPy. Now we measure them with the code that trains networks: your `gradient_descent_step` and your
# `SGD`, moving a `Variable` whose gradient comes from autograd.
#
# On the quadratic $f(\theta) = \tfrac12\theta^\top A\theta$ the gradient is $A\theta$, so gradient descent is
# the linear map $\theta_{t+1} = (I - \alpha A)\,\theta_t$. Along the eigenvector with eigenvalue $\lambda_i$
# the error is multiplied by $1-\alpha\lambda_i$ every step, and the slowest direction sets the pace:
#
# $$\rho_{\mathrm{GD}}(\alpha) = \max\big(|1-\alpha\lambda_{\min}|,\; |1-\alpha\lambda_{\max}|\big),
#   \qquad \alpha^\star = \frac{2}{\lambda_{\min}+\lambda_{\max}}, \qquad
#   \rho^\star_{\mathrm{GD}} = \frac{\kappa-1}{\kappa+1}.$$
#
# **Heavy ball** is Polyak's $\theta_{t+1} = \theta_t - \alpha\nabla f(\theta_t) + \beta(\theta_t - \theta_{t-1})$,
# and that is exactly your `SGD(learning_rate=α, momentum=β)`: from $b_t = \beta b_{t-1} + g_t$ and
# $\theta_{t+1} = \theta_t - \alpha b_t$ we get $-\alpha b_t = -\alpha g_t + \beta(\theta_t - \theta_{t-1})$. At
# Polyak's optimal $\alpha^\star = 4/(\sqrt{\lambda_{\max}}+\sqrt{\lambda_{\min}})^2$ and
# $\beta^\star = \big(\frac{\sqrt\kappa-1}{\sqrt\kappa+1}\big)^2$ its rate is
# $\rho^\star_{\mathrm{HB}} = \frac{\sqrt\kappa-1}{\sqrt\kappa+1}$.
#
# **Nesterov** (`nesterov=True`) with the textbook settings $\alpha = 1/\lambda_{\max}$ and
# $\mu = \frac{\sqrt\kappa-1}{\sqrt\kappa+1}$ converges at $\rho_{\mathrm{NAG}} = 1 - 1/\sqrt\kappa$. It is a little
# slower than the optimal heavy ball on a quadratic, but its acceleration is guaranteed for every smooth,
# strongly convex function, while Polyak's settings can fail to converge on functions that are not
# quadratic.
#
# For $\kappa = 20$ the three rates are $0.905$, $0.635$ and $0.776$. To shrink the error a million times
# takes about $\ln 10^{-6}/\ln\rho$ steps: 138, 30 and 55. For $\kappa = 10^4$, common in deep networks,
# gradient descent needs about 69,000 steps and the heavy ball about 690.
#
# We measure a rate as the average shrink factor per step over the second half of a run,
# $\hat\rho = (e_T/e_{T/2})^{2/T}$ with $e_t = \lVert\theta_t - \theta^\star\rVert$. One honest detail: at these
# settings the momentum methods have a repeated eigenvalue, so their error behaves like $t\,\rho^t$ rather
# than $\rho^t$. Over our window that factor adds about 0.3% to the measured rate, and it is why they need
# a few more steps than $\ln 10^{-6}/\ln\rho$ to gain their first factor of a million.


# %%
def heavy_ball_settings(lambda_min, lambda_max):
    """Polyak's optimal (learning rate, momentum) for a quadratic with these
    extreme eigenvalues."""
    root_min, root_max = np.sqrt(lambda_min), np.sqrt(lambda_max)
    learning_rate = 4.0 / (root_max + root_min) ** 2
    momentum = ((root_max - root_min) / (root_max + root_min)) ** 2
    return learning_rate, momentum


def nesterov_settings(lambda_min, lambda_max):
    """The textbook Nesterov settings: learning rate 1/λ_max, momentum
    (√κ-1)/(√κ+1)."""
    root_kappa = np.sqrt(lambda_max / lambda_min)
    return 1.0 / lambda_max, (root_kappa - 1) / (root_kappa + 1)


def theoretical_rates(kappa):
    """Shrink factor per step at the best settings (λ_min = 1, λ_max = κ).

    GD and heavy ball come from your Exercise 6; Nesterov from its formula.
    """
    return {
        "GD": gd_rate(2.0 / (1.0 + kappa), 1.0, kappa),
        "heavy ball": heavy_ball_rate(1.0, kappa),
        "Nesterov": 1 - 1 / math.sqrt(kappa),
    }


def before_underflow(errors, tiny=1e-250):
    """The errors up to the first one below `tiny`: past it they underflow
    to zero, and a rate measured there means nothing."""
    errors = np.asarray(errors)
    if np.any(errors < tiny):
        errors = errors[: np.argmax(errors < tiny)]
    return errors


# %%
def quadratic_error_curves(kappa, num_steps):
    """‖θ_t − θ*‖ on the κ-quadratic: GD (your gradient_descent_step),
    heavy ball and Nesterov (your SGD)."""

    def landscape(x, y):
        return ill_conditioned_quadratic(x, y, kappa)

    start = landscape_catalogue()["quadratic"]["start"]
    hb_lr, hb_momentum = heavy_ball_settings(1.0, kappa)
    nag_lr, nag_momentum = nesterov_settings(1.0, kappa)
    paths = {
        "GD": gradient_descent_path(
            landscape, start, 2.0 / (1.0 + kappa), num_steps
        ),
        "heavy ball": optimizer_path(
            landscape,
            start,
            lambda params: SGD(
                params, learning_rate=hb_lr, momentum=hb_momentum
            ),
            num_steps,
        ),
        "Nesterov": optimizer_path(
            landscape,
            start,
            lambda params: SGD(
                params,
                learning_rate=nag_lr,
                momentum=nag_momentum,
                nesterov=True,
            ),
            num_steps,
        ),
    }
    return {
        name: np.linalg.norm(path, axis=1) for name, path in paths.items()
    }  # the minimum is (0, 0)


# %% [markdown]
# ### Exercise 6 — Optimize: measure a rate, predict it
#
# Write the two halves of the check you just read about:
#
# - `measured_rate(errors)`: `errors` holds $e_0, e_1, \dots, e_T$ (positive numbers, one per step, so
#   $T$ = `len(errors) - 1`). Return the average factor by which the error shrinks per step over the
#   second half of the trace: with $h$ = `len(errors) // 2`, the $\hat\rho$ for which
#   $e_T = e_h\,\hat\rho^{\,T-h}$.
# - `gd_rate(learning_rate, lambda_min, lambda_max)`: $\rho_{\mathrm{GD}}(\alpha)$ from the formula above,
#   for any $\alpha$ (also one that diverges: then the rate is above 1).
# - `heavy_ball_rate(lambda_min, lambda_max)`: the heavy ball's rate at Polyak's optimal settings.
#
# Pitfalls:
#
# - **The first steps lie.** Early on, every eigen-direction still contributes, and the fast ones die out
#   quickly: a rate measured from $e_0$ comes out too fast. Only the slowest direction is left late in
#   the run, which is why we measure over the second half.
# - **Steps, not entries.** From $e_h$ to $e_T$ there are $T - h$ steps.
# - **One step's ratio is not the rate.** With momentum the error oscillates: $e_{t+1}/e_t$ can be
#   above 1 on one step and far below on the next. The rate is a geometric average over many steps.
# - **The sign of $1 - \alpha\lambda$.** A step that overshoots ($\alpha\lambda > 1$) multiplies the error
#   by a negative factor; its size is what counts, so both directions need absolute values.
# - **$\sqrt\kappa$, not $\kappa$.** With $\kappa$ in the heavy ball's formula you get gradient descent's
#   best rate back, and momentum's whole point is lost. And $\beta^\star$ is the rate *squared*.
# - A loss gap $f(\theta_t) - f^\star$ is quadratic in the error, so it shrinks at $\rho^2$ per step: these
#   functions expect distances $\lVert\theta_t - \theta^\star\rVert$.


# %% nbgrader={"grade": false, "grade_id": "measured-rate", "locked": false, "schema_version": 3, "solution": true, "task": false}
def measured_rate(errors):
    """Average shrink factor per step over the second half of `errors`."""
    ### BEGIN SOLUTION
    errors = np.asarray(errors, dtype=np.float64)
    half, last = len(errors) // 2, len(errors) - 1
    return float((errors[last] / errors[half]) ** (1.0 / (last - half)))
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "gd-rate", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gd_rate(learning_rate, lambda_min, lambda_max):
    """ρ_GD(α): the slowest shrink factor over the eigen-directions."""
    ### BEGIN SOLUTION
    return max(
        abs(1.0 - learning_rate * lambda_min),
        abs(1.0 - learning_rate * lambda_max),
    )
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "heavy-ball-rate", "locked": false, "schema_version": 3, "solution": true, "task": false}
def heavy_ball_rate(lambda_min, lambda_max):
    """The heavy ball's rate at Polyak's optimal learning rate and momentum."""
    ### BEGIN SOLUTION
    root_kappa = math.sqrt(lambda_max / lambda_min)
    return (root_kappa - 1.0) / (root_kappa + 1.0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-measured-rate", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_measured_rate():
    print("🔬 Unit Test: measured_rate...")
    t = np.arange(41)  # e_0 ... e_40
    errors = 3.0 * 0.8**t
    expect_close(
        "rate of e_t = 3·0.8^t, t = 0..40",
        measured_rate(errors),
        0.8,
        rtol=1e-9,
        mistakes={
            "the root counts entries, not steps (1/(T − h + 1))": 0.8
            ** (20 / 21),
            "the ratio e_T/e_h is not turned into a per-step factor": 0.8**20,
        },
    )
    print("✅ A geometric trace gives its ratio")
    errors = 0.9**t + 5.0 * 0.3**t  # a slow direction and a fast one
    expect_close(
        "rate of e_t = 0.9^t + 5·0.3^t, t = 0..40",
        measured_rate(errors),
        0.9,
        rtol=1e-6,
        mistakes={
            "the rate is measured from the first steps, where the fast "
            "direction still counts": (errors[-1] / errors[0]) ** (1 / 40),
            "the step ratios are averaged over the whole trace": np.mean(
                errors[1:] / errors[:-1]
            ),
        },
    )
    print("✅ The fast transient at the start is left out")
    errors = 0.8**t * (2.0 + (-1.0) ** t)  # oscillates like momentum
    expect_close(
        "rate of e_t = 0.8^t·(2 + (−1)^t), t = 0..40",
        measured_rate(errors),
        0.8,
        rtol=1e-9,
        mistakes={
            "only the last step's ratio e_T/e_(T−1) is used": errors[-1]
            / errors[-2],
            "the step ratios are averaged (an arithmetic mean) instead of "
            "taking the root of e_T/e_h": np.mean(errors[21:] / errors[20:-1]),
        },
    )
    print("✅ An oscillating trace gives its average rate")
    ### BEGIN HIDDEN TESTS
    t = np.arange(30)  # odd number of steps: h = 15, T = 29
    errors = 2.0 * 0.6**t + 7.0 * 0.1**t
    expect_close(
        "rate of a 30-entry trace 2·0.6^t + 7·0.1^t",
        measured_rate(errors),
        0.6,
        rtol=1e-9,
    )
    ### END HIDDEN TESTS
    print("📈 Progress: measuring a rate ✓")


if __name__ == "__main__":
    test_unit_measured_rate()


# %% nbgrader={"grade": true, "grade_id": "test-predicted-rates", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_predicted_rates():
    print("🔬 Unit Test: gd_rate and heavy_ball_rate...")
    for alpha, low, high, expected in [
        (0.05, 1.0, 10.0, 0.95),  # too small: the flat direction is slow
        (2 / 11, 1.0, 10.0, 9 / 11),  # the best α: (κ − 1)/(κ + 1)
        (0.19, 1.0, 10.0, 0.9),  # the steep direction overshoots
        (0.25, 1.0, 10.0, 1.5),  # beyond 2/λ_max: diverges
    ]:
        expect_close(
            f"gd_rate(α={alpha:.4g}, λ_min={low:g}, λ_max={high:g})",
            gd_rate(alpha, low, high),
            expected,
            rtol=1e-12,
            mistakes={
                "the factors are not taken in absolute value (an "
                "overshoot multiplies the error by 1 − αλ < 0), so only "
                "the flattest direction counts": 1 - alpha * low,
                "only the steepest direction λ_max counts": abs(
                    1 - alpha * high
                ),
            },
        )
    print("✅ ρ_GD is the slowest |1 − αλ|")
    for low, high in [(1.0, 20.0), (4.0, 100.0), (3.0, 3.0)]:
        root = math.sqrt(high / low)
        rate = (root - 1) / (root + 1)
        expect_close(
            f"heavy_ball_rate(λ_min={low:g}, λ_max={high:g})",
            heavy_ball_rate(low, high),
            rate,
            rtol=1e-12,
            atol=1e-15,
            mistakes={
                "κ stands where √κ belongs (that is gradient descent's "
                "best rate)": (high / low - 1) / (high / low + 1),
                "the result is Polyak's momentum β* = ρ², not the rate": (
                    rate**2
                ),
                "the result is Nesterov's rate 1 − 1/√κ": 1 - 1 / root,
                "κ is λ_min/λ_max, upside down": (1 / root - 1)
                / (1 / root + 1),
            },
        )
    print("✅ The heavy ball's best rate is (√κ − 1)/(√κ + 1)")
    ### BEGIN HIDDEN TESTS
    rng = np.random.default_rng(9)
    for low, high in rng.uniform(0.1, 50.0, size=(5, 2)):
        low, high = min(low, high), max(low, high)
        kappa = high / low
        expect_close(
            f"gd_rate at α* = 2/(λ_min + λ_max), λ = {low:.4g}..{high:.4g}",
            gd_rate(2 / (low + high), low, high),
            (kappa - 1) / (kappa + 1),
            rtol=1e-12,
        )
    # the prediction against a heavy-ball run in NumPy on diag(1, 50)
    root = math.sqrt(50.0)
    alpha, beta = 4 / (1 + root) ** 2, ((root - 1) / (root + 1)) ** 2
    theta, previous, errors = np.ones(2), np.ones(2), []
    for _ in range(400):
        step = theta - alpha * np.array([1.0, 50.0]) * theta
        theta, previous = step + beta * (theta - previous), theta
        errors.append(np.linalg.norm(theta))
    late = (errors[-1] / errors[200]) ** (1 / 199)
    expect_close(
        "heavy_ball_rate(1, 50) against a heavy-ball run's late rate",
        heavy_ball_rate(1, 50),
        late,
        rtol=0.01,
    )
    ### END HIDDEN TESTS
    print("📈 Progress: predicting a rate ✓")


if __name__ == "__main__":
    test_unit_predicted_rates()


# %%
if __name__ == "__main__":
    kappas = [2, 5, 10, 20, 50, 100, 200]
    error_curves, rates = {}, {}
    with after_exercise(
        "gradient_descent_step", "SGD.step", "your Exercise 6 functions"
    ):
        theory = theoretical_rates(20)
        for kappa in kappas:
            curves = quadratic_error_curves(kappa, num_steps=400)
            rates[kappa] = {
                name: measured_rate(before_underflow(errors))
                for name, errors in curves.items()
            }
            error_curves[kappa] = curves

    if len(rates) == len(kappas):
        print("κ = 20 (λ_min = 1, λ_max = 20)")
        print(
            f"  {'method':11s} {'settings':26s} {'measured':>9s} "
            f"{'theory':>8s}   steps to shrink the error 10⁶×"
        )
        settings = {
            "GD": f"α = {2 / 21:.4f}",
            "heavy ball": "α = {:.4f}, β = {:.4f}".format(
                *heavy_ball_settings(1, 20)
            ),
            "Nesterov": "α = {:.4f}, μ = {:.4f}".format(
                *nesterov_settings(1, 20)
            ),
        }
        for name, errors in error_curves[20].items():
            steps_needed = int(np.argmax(errors < errors[0] * 1e-6))
            predicted = np.log(1e-6) / np.log(theory[name])
            print(
                f"  {name:11s} {settings[name]:26s} "
                f"{rates[20][name]:9.4f} {theory[name]:8.4f}   "
                f"{steps_needed:4d} measured, ln(10⁻⁶)/ln(ρ) = {predicted:.0f}"
            )

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt

    if len(rates) == len(kappas):
        method_colors = {
            "GD": "tab:blue",
            "heavy ball": "tab:orange",
            "Nesterov": "tab:red",
        }
        fig, (left, right) = plt.subplots(1, 2, figsize=(14, 4.5))
        shown = np.arange(150)
        for name, errors in error_curves[20].items():
            left.semilogy(
                shown,
                errors[shown],
                color=method_colors[name],
                lw=2,
                label=f"{name}, measured",
            )
            left.semilogy(
                shown, errors[0] * theory[name] ** shown, "k--", lw=0.8
            )
        left.plot([], [], "k--", lw=0.8, label=r"theory: $e_0\,\rho^t$")
        left.set_xlabel("step t")
        left.set_ylabel(r"$\|\theta_t - \theta^\star\|$")
        left.set_ylim(1e-25, 1e2)
        left.set_title("error on the quadratic with κ = 20, best settings")
        left.legend(fontsize=9)

        kappa_axis = np.geomspace(kappas[0], kappas[-1], 200)
        for name, color in method_colors.items():
            right.semilogx(
                kappa_axis,
                [theoretical_rates(k)[name] for k in kappa_axis],
                color=color,
                label=f"{name} theory",
            )
            right.plot(
                kappas,
                [rates[k][name] for k in kappas],
                "o",
                color=color,
                label=f"{name} measured",
            )
        right.set_xlabel("condition number κ")
        right.set_ylabel("error shrink factor per step (1 = no progress)")
        right.set_title("convergence rate against κ")
        right.legend(fontsize=8, ncol=2)
        fig.tight_layout()
        plt.show()

# %% [markdown]
# The measured points sit on the theory curves, for every κ. Two lessons reach far beyond quadratics:
#
# 1. **Conditioning, not size, makes a problem slow.** GD's rate depends only on $\kappa$; a stretched
#    valley costs $O(\kappa)$ steps per digit of accuracy; momentum, heavy ball or Nesterov, $O(\sqrt\kappa)$.
# 2. **The best settings depend on the curvature.** $\alpha^\star$ and $\beta^\star$ need $\lambda_{\min}$
#    and $\lambda_{\max}$, which we never know for a real network. This is why we tune learning rates, and
#    why methods that adapt their steps to the gradients they observe, like Adam, are popular.
#
# ## 3.3 The edge of stability: $\alpha\lambda_{\max} = 2$
#
# Section 1.1 showed the edge in one dimension. In two it has a twist: only the *steepest* direction
# decides. Along its eigenvector gradient descent multiplies the error by $1 - \alpha\lambda_{\max}$ each
# step, along the flat one by $1 - \alpha\lambda_{\min}$. Below we run your `gradient_descent_step` on the
# $\kappa = 20$ quadratic ($\lambda_{\max} = 20$) with $\alpha\lambda_{\max} = 1.9$, $2.0$ and $2.1$:
#
# - $1.9$: the factor is $-0.9$. The point jumps across the valley every step, each jump 10% shorter.
# - $2.0$: the factor is $-1$. It jumps back and forth forever at the same distance, while the flat
#   direction converges: the run ends bouncing between two points, neither converging nor blowing up.
# - $2.1$: the factor is $-1.1$. Each jump is 10% longer: the error grows like $1.1^t$ and the run
#   diverges, although along the flat direction it is still converging nicely.
#
# The learning rate therefore has a hard ceiling, $2/\lambda_{\max}$, set by the *sharpest* curvature.
# When a training loss suddenly explodes, the usual reason is that the step size crossed this edge
# somewhere; a smaller learning rate, or a warm-up that starts small, is the cure.

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt

    edge_kappa = 20.0
    edge_paths = {}
    with after_exercise("gradient_descent_step"):
        for alpha_lambda in (1.9, 2.0, 2.1):
            edge_paths[alpha_lambda] = gradient_descent_path(
                ill_conditioned_quadratic,
                landscape_catalogue()["quadratic"]["start"],
                alpha_lambda / edge_kappa,
                num_steps=40,
            )
    if edge_paths:
        fig, axes = plt.subplots(1, 4, figsize=(18, 4.2))
        colors = {1.9: "tab:green", 2.0: "tab:orange", 2.1: "tab:red"}
        for ax, (alpha_lambda, path) in zip(axes, edge_paths.items()):
            draw_landscape(ax, "quadratic", num_levels=12)
            ax.plot(
                path[:, 0],
                path[:, 1],
                ".-",
                color=colors[alpha_lambda],
                lw=1,
                ms=3,
            )
            ax.set_title(f"GD with αλ_max = {alpha_lambda}")
            errors = np.linalg.norm(path, axis=1)
            axes[3].semilogy(
                errors,
                ".-",
                color=colors[alpha_lambda],
                label=f"αλ_max = {alpha_lambda}",
            )
            print(
                f"αλ_max = {alpha_lambda}: distance to the minimum "
                f"{errors[0]:.2f} at the start, "
                f"{errors[-1]:.3g} after {len(path) - 1} steps"
            )
        axes[3].set_xlabel("step t")
        axes[3].set_ylabel(r"$\|\theta_t - \theta^\star\|$")
        axes[3].set_title("diverges exactly when αλ_max > 2")
        axes[3].legend()
        fig.tight_layout()
        plt.show()

# %% [markdown]
# ## 3.4 Learning-rate schedules in action
#
# The edge of stability explains what schedules are for. A large learning rate makes fast progress while
# the loss is high, but near a minimum it sits close to (or beyond) $2/\lambda_{\max}$ for the sharp
# directions, and with mini-batch noise the weights keep bouncing instead of settling. Lowering the rate
# later removes the bounce. A *warm-up* does the opposite at the start: a random network can have very
# sharp directions, so it begins small and grows.
#
# Section 1.6 drew the schedules' formulas. Here they train. We take SGD with momentum 0.9 and a
# deliberately aggressive base rate, $\eta_0 = 0.4$ (an effective step of $\eta_0/(1-\mu) = 4$), and train the
# digits network for 15 epochs under seven schedules, each stepped once per epoch:
#
# | schedule | settings |
# | --- | --- |
# | constant | `LambdaLR(opt, lambda epoch: 1.0)` |
# | step | `StepLR(opt, step_size=5, gamma=0.5)` |
# | multi-step | `MultiStepLR(opt, milestones=[6, 11], gamma=0.2)` |
# | exponential | `ExponentialLR(opt, gamma=0.8)` |
# | cosine | `CosineAnnealingLR(opt, T_max=15)` |
# | warm-up + cosine | `SequentialLR(opt, [LinearLR(opt, start_factor=0.1, total_iters=3), CosineAnnealingLR(opt, T_max=12)], milestones=[3])` |
# | one-cycle | `OneCycleLR(opt, max_lr=0.4, total_steps=15)` (it also cycles the momentum between 0.85 and 0.95) |
#
# The top panel shows the learning rate each schedule sets per epoch, the bottom panel the training loss.


# %%
def schedule_recipes(base_lr, num_epochs):
    """Name -> function(optimizer) that builds the schedule; every one runs
    for `num_epochs` epochs."""
    warm_up_epochs = 3
    return {
        "constant": lambda opt: LambdaLR(opt, lambda epoch: 1.0),
        "step": lambda opt: StepLR(opt, step_size=5, gamma=0.5),
        "multi-step": lambda opt: MultiStepLR(
            opt, milestones=[6, 11], gamma=0.2
        ),
        "exponential": lambda opt: ExponentialLR(opt, gamma=0.8),
        "cosine": lambda opt: CosineAnnealingLR(opt, T_max=num_epochs),
        "warm-up + cosine": lambda opt: SequentialLR(
            opt,
            [
                LinearLR(opt, start_factor=0.1, total_iters=warm_up_epochs),
                CosineAnnealingLR(opt, T_max=num_epochs - warm_up_epochs),
            ],
            milestones=[warm_up_epochs],
        ),
        "one-cycle": lambda opt: OneCycleLR(
            opt, max_lr=base_lr, total_steps=num_epochs
        ),
    }


# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt

    schedule_base_lr, schedule_epochs = 0.4, 15
    schedule_histories = {}
    started = time.perf_counter()
    with after_exercise("SGD.step", "StepLR.get_lr"):
        for schedule_name, make_scheduler in schedule_recipes(
            schedule_base_lr, schedule_epochs
        ).items():
            schedule_histories[schedule_name] = train_digits_classifier(
                SGD,
                dict(learning_rate=schedule_base_lr, momentum=0.9),
                digits_train,
                digits_test,
                make_scheduler=make_scheduler,
                num_epochs=schedule_epochs,
                verbose=False,
            )
        print(
            f"{len(schedule_histories)} training runs in "
            f"{time.perf_counter() - started:.1f} s"
        )

    if len(schedule_histories) == len(
        schedule_recipes(schedule_base_lr, schedule_epochs)
    ):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7.5), sharex=True)
        epochs = np.arange(schedule_epochs)
        for schedule_name, history in schedule_histories.items():
            (line,) = top.plot(
                epochs,
                history["learning_rate"],
                "o-",
                ms=3,
                label=schedule_name,
            )
            bottom.semilogy(
                epochs,
                history["epoch_loss"],
                "o-",
                ms=3,
                color=line.get_color(),
                label=f"{schedule_name}: test accuracy "
                f"{history['test_accuracy'][-1]:.1%}",
            )
            print(
                f"{schedule_name:17s} final training loss "
                f"{history['epoch_loss'][-1]:.4f}   "
                f"test accuracy {history['test_accuracy'][-1]:.1%}"
            )
        top.set_ylabel("learning rate in this epoch")
        top.set_title(
            f"SGD + momentum 0.9, base rate {schedule_base_lr}: the schedules"
        )
        top.legend(fontsize=8, ncol=2)
        bottom.set_xlabel("epoch")
        bottom.set_ylabel("mean training loss in this epoch")
        bottom.set_title("and what they do to training")
        bottom.legend(fontsize=8)
        fig.tight_layout()
        plt.show()

# %% [markdown]
# At a constant 0.4 the loss stalls an order of magnitude above the others: the steps are too large to
# settle. Every schedule that lowers the rate does better, and one-cycle, which starts at
# $0.4/25$, climbs to $0.4$ and then anneals to almost zero, ends lowest. The test accuracies differ much
# less than the training losses (one test image is 0.28%): on this small problem the schedule mostly decides
# how well the *training* loss converges, which on larger problems is what separates a good run from a
# failed one. Two practical rules follow. Pick the largest base rate that does not blow up early (warm-up
# raises that limit), and always decay it by the end.

# %% [markdown]
# ## 3.5 What an optimizer costs: memory
#
# An optimizer's memory is the state it keeps between steps, one array per parameter for each buffer:
#
# | optimizer | state per parameter | extra memory |
# | --- | --- | --- |
# | SGD | nothing | $0\times$ the parameters |
# | SGD + momentum | momentum buffer $b$ | $1\times$ |
# | Adam | first moment $m$, second moment $v$ | $2\times$ (AMSGrad: $3\times$) |
#
# Training also holds the gradients ($1\times$) and the activations. For a model with $N$ parameters in
# float32 that is $4N$ bytes of weights, $4N$ of gradients and $8N$ of Adam state: a 7-billion-parameter
# model needs 28 GB for its weights and another 56 GB for Adam, before a single activation is stored.
# That is why memory-lean optimizers (SGD with momentum, Adafactor, 8-bit Adam) exist.
#
# We measure it rather than believe it: build the digits network in float32, take one real training step
# with each optimizer, and add up the bytes of every array in `optimizer.state`.


# %%
def optimizer_state_bytes(optimizer):
    """Bytes of all the arrays an optimizer keeps between steps (momentum
    buffers, moment estimates)."""
    return sum(
        value.nbytes
        for state in optimizer.state.values()
        for value in state.values()
        if isinstance(value, np.ndarray)
    )


# %%
if __name__ == "__main__":
    memory_batch = next(iter(DataLoader(digits_train, batch_size=32)))
    float32_inputs = Tensor(memory_batch.inputs.data.astype(np.float32))
    memory_runs = {
        "SGD": (lambda params: SGD(params, learning_rate=0.1), "SGD.step"),
        "SGD + momentum": (
            lambda params: SGD(params, learning_rate=0.01, momentum=0.9),
            "SGD.step",
        ),
        "Adam": (
            lambda params: Adam(params, learning_rate=0.001),
            "Adam.step",
        ),
    }
    print(
        f"{'optimizer':15s} {'parameter bytes':>15s} {'state bytes':>12s} "
        f"{'state/parameters':>17s}   state arrays"
    )
    for run_name, (make_optimizer, exercise) in memory_runs.items():
        with after_exercise(exercise):
            float32_model = build_digits_classifier(dtype=np.float32)
            optimizer = make_optimizer(float32_model.parameters())
            loss = CrossEntropyLoss()(
                float32_model(float32_inputs), memory_batch.targets
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            parameter_bytes = sum(
                p.data.nbytes for p in float32_model.parameters()
            )
            state_bytes = optimizer_state_bytes(optimizer)
            buffers = sorted(
                {
                    f"{key} ({value.dtype})"
                    for state in optimizer.state.values()
                    for key, value in state.items()
                    if isinstance(value, np.ndarray)
                }
            )
            print(
                f"{run_name:15s} {parameter_bytes:15,d} {state_bytes:12,d} "
                f"{state_bytes / parameter_bytes:16.2f}×   "
                f"{', '.join(buffers) or '-'}"
            )
    print("\nThe same ratios for a 7-billion-parameter model in float32:")
    for run_name, copies in [("SGD", 0), ("SGD + momentum", 1), ("Adam", 2)]:
        print(
            f"  {run_name:15s} weights 28 GB + gradients 28 GB + "
            f"optimizer state {28 * copies:3d} GB "
            f"= {28 * (2 + copies):3d} GB"
        )

# %% [markdown]
# ## 3.6 Make it fast: the memory-traffic floor, in place, in blocks
#
# An optimizer step does very little arithmetic, about ten floating-point
# operations per parameter for Adam, but it must *read and write* every array
# it touches. Per float32 parameter (4 bytes per array):
#
# | optimizer | reads | writes | bytes per parameter |
# | --- | --- | --- | --- |
# | SGD | $\theta$, $g$ | $\theta$ | 12 |
# | SGD + momentum | $\theta$, $g$, $b$ | $\theta$, $b$ | 20 |
# | Adam | $\theta$, $g$, $m$, $v$ | $\theta$, $m$, $v$ | 28 |
#
# Ten operations per 28 bytes is far below what a processor computes while
# memory delivers those bytes, so for a model too large for the caches the step
# is **memory-bound**: its time is at least
#
# $$t_{\text{floor}} = \frac{\text{bytes per parameter} \times N}{\text{memory bandwidth}} .$$
#
# Your readable `step` is far above it. NumPy evaluates an expression one
# operator at a time, and each operator reads its inputs and writes a **new
# full-size array**: `beta1 * m + (1 - beta1) * g` makes two temporaries and
# three passes over memory, and a fresh temporary of 64 MB is memory the system
# must find and clear before NumPy can write it. Three habits remove almost all
# of that cost, without changing a single number:
#
# 1. **In place.** `m *= beta1` and `np.multiply(g, 1 - beta1, out=scratch)`
#    write into arrays that already exist.
# 2. **A small reusable scratch buffer** holds the intermediate results
#    (`scratch` below), allocated once.
# 3. **Blocks that stay in cache.** Work on 32K elements (128 KB of float32) at
#    a time: the block of $m$ read by one operation is still in the processor's
#    cache when the next one reads it, so memory sees roughly one read and one
#    write per array, as at the floor.
#
# **Why the numbers do not change, bit for bit.** IEEE 754 rounds every
# `+ − × ÷ √` to the nearest representable number, and NumPy's vectorised loops
# do the same. An operation on the same two numbers gives the same bits whether
# its result goes to a new array or an existing one, and an element never
# depends on its neighbours, so cutting the arrays into blocks changes nothing
# either. What *does* change the bits is the order: $(\alpha m)/d$ and $\alpha
# (m/d)$ round differently (by about one unit in the last place, an *ulp*). The
# fast updates below therefore perform exactly the readable step's operations
# in its order; done so, they give its numbers exactly.
#
# This is how the package works, as `torch.optim` chooses between its
# single-tensor, foreach and fused implementations: `SGD`, `Adam` and `AdamW`
# take a `fused` argument. `fused=None` (the default) takes the fast path for
# float32/float64 parameters of at least 65,536 elements
# (`FAST_PATH_MIN_SIZE`), where it pays; `fused=True` takes it for every
# parameter it can handle; `fused=False` never. The choice is made in one
# place, `Optimizer._each_parameter`: it hands such parameters to the class's
# fast update and yields the others to your readable loop. Options or arrays a
# fast update does not handle (AMSGrad, a non-contiguous or read-only array, an
# integer array) always take the readable step, even with `fused=True`.
#
# ### Worked example: SGD with momentum, in place, in blocks
#
# Here is the fast update of `SGD`, the one the package runs. Follow one block:
# every line is a line of the readable step, written into `d` (the block's
# direction) or `work` instead of a new array, and in the same order. The
# momentum buffer is the one full-size array it creates, because it *is* the
# state.


# %%
#| export
def blocks(size: int, block_size: int = BLOCK_SIZE) -> Iterator[slice]:
    """Slices that cut `size` elements into blocks of `block_size`."""
    for start in range(0, size, block_size):
        yield slice(start, min(start + block_size, size))


def sgd_fast_update(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    group: dict[str, Any],
    scratch: np.ndarray,
) -> None:
    """SGD.step for one parameter in place, in blocks: the same numbers.

    param, grad: arrays of one shape (param is updated, grad only read);
    state, group: as in SGD.step; scratch: a (2, k) array (or larger) of
    param's dtype, free to overwrite.
    """
    lr, mu = group["lr"], group["momentum"]
    tau, wd = group["dampening"], group["weight_decay"]
    first_step = mu != 0 and "momentum_buffer" not in state
    if first_step:  # state, so full size: filled below with a copy of g
        state["momentum_buffer"] = np.empty_like(param)
    flat_param, flat_grad = param.reshape(-1), grad.reshape(-1)  # views
    if mu != 0:
        flat_buffer = state["momentum_buffer"].reshape(-1)
    for block in blocks(flat_param.size, scratch.shape[1]):
        p, g = flat_param[block], flat_grad[block]
        d, work = scratch[0, : p.size], scratch[1, : p.size]
        if group["maximize"]:  # g ← −g, into d: never into the gradient
            g = np.negative(g, out=d)
        if wd != 0:  # g ← g + λθ
            g = np.add(g, np.multiply(p, wd, out=work), out=d)
        if mu != 0:
            b = flat_buffer[block]
            if first_step:  # b ← a copy of g
                b[...] = g
            else:  # b ← μb + (1 − τ)g
                b *= mu
                b += np.multiply(g, 1 - tau, out=work)
            if group["nesterov"]:  # g ← g + μb
                g = np.add(g, np.multiply(b, mu, out=work), out=d)
            else:
                g = b
        p -= np.multiply(g, lr, out=work)  # θ ← θ − lr·g


# %% [markdown]
# Count the traffic of one block: $\theta$, $g$ and $b$ come from memory once;
# everything else (`d`, `work`, the block of $b$ just written) is in cache.
# That is the 20 bytes per parameter of the table, plus a little. (The line
# for $(1-\tau)g$ multiplies even when τ = 0: multiplying by exactly 1 changes
# no bit, and it keeps the readable step's operations.)
#
# ### Exercise: Adam's update without full-size temporaries
#
# Write `adam_update_in_place`: one Adam update of $\theta$, $m$, $v$, **in
# place**, using only the two scratch arrays you are given for intermediate
# results. The formula is your `Adam.step`'s:
#
# $$m \leftarrow \beta_1 m + (1-\beta_1) g, \qquad
# v \leftarrow \beta_2 v + (1-\beta_2) g^2, \qquad
# \theta \leftarrow \theta -
# \frac{\alpha}{1-\beta_1^t}\cdot\frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} +
# \epsilon}.$$
#
# The package's `Adam` calls your function on every block of 32K elements of a
# large parameter (the provided `adam_fast_update` below does the blocking, the
# weight decay and the step count), so once it works, `Adam` runs *your* code
# at full speed. Rules and tools:
#
# - Every line writes into an existing array: `x *= c`, `x += y`,
#   `np.multiply(a, c, out=s)`, `np.sqrt(v, out=s)`, `np.divide(a, s, out=s)`.
#   An expression like `beta1 * exp_avg` allocates a new array the size of the
#   parameter: the memory test below measures the extra memory with
#   `tracemalloc` and allows an eighth of the parameter's size.
# - `grad` is read only (it may be the very array in `p.grad`); `step` is $t$,
#   already counted (1 at the first step). The scalars ($\alpha/(1-\beta_1^t)$,
#   $\sqrt{1-\beta_2^t}$) are plain Python floats: compute them once, they cost
#   nothing.
# - You may cut the arrays into blocks yourself; you do not have to.
#
# The test compares your numbers with the readable formula over several steps.
# Computed in the readable step's order they agree bit for bit; in another
# order (say $\alpha\,(m/d)$ instead of $(\alpha m)/d$) each quantity may
# differ by a few ulp, which the test allows ($32$ ulp of the quantity's
# scale), while any real mistake is off by far more.


# %% nbgrader={"grade": false, "grade_id": "adam-in-place", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def adam_update_in_place(
    param: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    scratch: np.ndarray,
) -> None:
    """One Adam update, in place, with no full-size temporary.

        m ← β1·m + (1 − β1)·g
        v ← β2·v + (1 − β2)·g²
        θ ← θ − α / (1 − β1^t) · m / (√v / √(1 − β2^t) + ε)

    param, exp_avg, exp_avg_sq: θ, m, v, arrays of one shape, updated in
    place; grad: g, read only; step: t (1 at the first step); lr, beta1,
    beta2, eps: α, β1, β2, ε; scratch: two arrays `scratch[0]`,
    `scratch[1]` of the same shape, free to overwrite.
    Gives the numbers of `Adam.step`.
    """
    ### BEGIN SOLUTION
    s, work = scratch[0], scratch[1]
    exp_avg *= beta1  # m ← β1·m + (1 − β1)·g
    exp_avg += np.multiply(grad, 1 - beta1, out=s)
    exp_avg_sq *= beta2  # v ← β2·v + (1 − β2)·g·g
    np.multiply(grad, 1 - beta2, out=s)
    exp_avg_sq += np.multiply(s, grad, out=s)
    np.sqrt(exp_avg_sq, out=s)  # d = √v / √(1 − β2^t) + ε
    s /= math.sqrt(1 - beta2**step)
    s += eps
    np.multiply(exp_avg, lr / (1 - beta1**step), out=work)  # α/(1 − β1^t)·m
    param -= np.divide(work, s, out=work)  # ... / d
    ### END SOLUTION


# %% [markdown]
# The package's `Adam` runs your function through this driver: it cuts a large
# parameter into blocks, applies AdamW's decay or the L2 term on each block
# first (as the readable step does), and counts the step. Until your function
# is written, a large parameter's step stops with a message that says so.


# %%
#| export
def adam_fast_update(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    group: dict[str, Any],
    scratch: np.ndarray,
) -> None:
    """Adam.step (and AdamW's) for one parameter, in blocks.

    Each block goes through adam_update_in_place; scratch: a (3, k) array of
    param's dtype, free to overwrite.
    """
    _check_written(adam_update_in_place)
    lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
    wd = group["weight_decay"]
    if not state:
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(param)
        state["exp_avg_sq"] = np.zeros_like(param)
    state["step"] += 1
    arrays = (param, grad, state["exp_avg"], state["exp_avg_sq"])
    flat = [array.reshape(-1) for array in arrays]  # views, no copies
    for block in blocks(param.size, scratch.shape[1]):
        p, g, m, v = (array[block] for array in flat)
        s = scratch[:, : p.size]
        if group["decoupled_weight_decay"]:  # AdamW: θ ← θ(1 − αλ)
            p *= 1 - lr * wd
        elif wd != 0:  # L2: g ← g + λθ, into the third row
            g = np.add(g, np.multiply(p, wd, out=s[2]), out=s[2])
        adam_update_in_place(
            p, g, m, v, state["step"], lr, beta1, beta2, eps, s[:2]
        )


def _check_written(update):
    """Stop before any array changes if the exercise is not written yet."""
    nothing = [np.zeros(0) for _ in range(4)]
    try:
        update(*nothing, 1, 1e-3, 0.9, 0.999, 1e-8, np.zeros((2, 0)))
    except NotImplementedError:
        raise NotImplementedError(
            f"Adam's fast path (parameters of {FAST_PATH_MIN_SIZE:,} elements "
            "or more) runs your adam_update_in_place of Part 3.6, which is "
            "not written yet: write it, or pass fused=False to Adam or AdamW "
            "to use the readable step"
        ) from None


# %%
from tinytorch.core.setup import expect, expect_close, expect_equal


def readable_adam_steps(theta, grads, lr, beta1, beta2, eps, mistake=None):
    """(θ, m, v) after each step of the readable formula, in theta's dtype.

    `mistake` names a known wrong formula, to recognise it in a test.
    """
    theta, m, v = theta.copy(), np.zeros_like(theta), np.zeros_like(theta)
    trajectory = []
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        shrink_m, shrink_v = 1 - beta1**t, math.sqrt(1 - beta2**t)
        if mistake in ("no bias correction", "v corrected only"):
            shrink_m = 1.0
        if mistake in ("no bias correction", "m corrected only"):
            shrink_v = 1.0
        if mistake == "eps before the correction":
            d = (np.sqrt(v) + eps) / shrink_v
        else:
            d = np.sqrt(v) / shrink_v + eps
        theta = theta - lr / shrink_m * m / d
        trajectory.append((theta, m, v))
    return trajectory


# %% nbgrader={"grade": true, "grade_id": "test-adam-in-place", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_adam_in_place():
    print("🔬 Unit Test: adam_update_in_place gives the readable numbers...")
    rng = np.random.default_rng(0)
    n, lr, beta1, beta2, eps = 64, 0.01, 0.8, 0.9, 1e-3
    theta = rng.standard_normal(n)
    # gradients of 1e-4 to 1: eps matters for some entries, not others
    grads = [
        rng.standard_normal(n) * 10 ** rng.uniform(-4, 0, n) for _ in range(5)
    ]
    expected = readable_adam_steps(theta, grads, lr, beta1, beta2, eps)
    wrong = {
        mistake: readable_adam_steps(
            theta, grads, lr, beta1, beta2, eps, mistake
        )
        for mistake in (
            "no bias correction",
            "m corrected only",
            "v corrected only",
            "eps before the correction",
        )
    }
    named = {
        "no bias correction": "bias correction is missing (m̂ = m, v̂ = v)",
        "m corrected only": "only m is bias-corrected (v̂ = v)",
        "v corrected only": "only v is bias-corrected (m̂ = m)",
        "eps before the correction": "eps is added before dividing by "
        "√(1 − β2^t): (√v + ε)/√(1 − β2^t)",
    }
    param, m, v = theta.copy(), np.zeros(n), np.zeros(n)
    scratch = np.full((2, n), np.nan)  # garbage: nothing may rely on it
    ulps = 32 * np.finfo(np.float64).eps  # a different order: a few ulp
    for t, g in enumerate(grads, start=1):
        g_before, m_before = g.copy(), m.copy()
        adam_update_in_place(param, g, m, v, t, lr, beta1, beta2, eps, scratch)
        expect_equal("the gradient g (read only)", g, g_before, step=t)
        exp_theta, exp_m, exp_v = expected[t - 1]
        for name, got, want in (("m", m, exp_m), ("v", v, exp_v)):
            expect_close(
                name,
                got,
                want,
                step=t,
                rtol=ulps,
                atol=ulps * np.abs(want).max(),
                mistakes={
                    f"{name} is rebound (exp_avg = ...) instead of updated in "
                    "place (*=, +=, out=)": m_before if name == "m" else 0 * v,
                },
            )
        expect_close(
            "θ",
            param,
            exp_theta,
            step=t,
            rtol=ulps,
            atol=ulps * np.abs(exp_theta).max(),
            mistakes={named[k]: wrong[k][t - 1][0] for k in wrong},
        )
    print(
        "✅ θ, m and v over 5 steps equal the readable formula (within 32 ulp)"
    )


if __name__ == "__main__":
    test_unit_adam_in_place()


# %% nbgrader={"grade": true, "grade_id": "test-adam-in-place-memory", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_adam_in_place_memory():
    print("🔬 Unit Test: adam_update_in_place needs no full-size temporary...")
    import tracemalloc

    rng = np.random.default_rng(1)
    n = 1 << 20  # float32: 4 MB per array
    theta = rng.standard_normal(n, dtype=np.float32)
    grads = [rng.standard_normal(n, dtype=np.float32) for _ in range(2)]
    expected = readable_adam_steps(theta, grads, 1e-3, 0.9, 0.999, 1e-8)
    param, m, v = theta.copy(), np.zeros_like(theta), np.zeros_like(theta)
    scratch = np.empty((2, n), np.float32)
    allowed = param.nbytes / 8
    for t, g in enumerate(grads, start=1):
        tracemalloc.start()
        try:
            adam_update_in_place(
                param, g, m, v, t, 1e-3, 0.9, 0.999, 1e-8, scratch
            )
            extra = tracemalloc.get_traced_memory()[1]  # the peak
        finally:
            tracemalloc.stop()
        expect(
            extra <= allowed,
            f"extra memory of adam_update_in_place at step {t}: expected "
            f"at most {allowed / 1e6:.2f} MB (an eighth of the parameter's "
            f"{param.nbytes / 1e6:.1f} MB), got {extra / 1e6:.2f} MB = "
            f"{extra / param.nbytes:.1f}× the parameter: that is "
            f"about {extra / param.nbytes:.0f} full-size temporaries at once. "
            "An expression like beta1 * exp_avg or np.sqrt(v) makes one; "
            "write into exp_avg, exp_avg_sq, param or scratch (*=, +=, out=).",
        )
        ulps = 32 * np.finfo(np.float32).eps
        expect_close(
            "θ (float32)",
            param,
            expected[t - 1][0],
            step=t,
            rtol=ulps,
            atol=ulps * np.abs(expected[t - 1][0]).max(),
        )
    print(f"✅ peak extra memory {extra / 1e3:.0f} KB for a 4 MB parameter")


if __name__ == "__main__":
    test_unit_adam_in_place_memory()


# %% [markdown]
# ### Against the floor
#
# Now time it. We measure this machine's bandwidth with a large NumPy copy (it
# reads and writes each byte once, so it moves $2\times$ the array's size),
# then time one step of the readable and the fast path of SGD with momentum and
# of Adam on one float32 parameter of 4 million elements (16 MB per array, far
# larger than a processor's caches), and report each time against its floor.
# Gradients are random numbers: we time the optimizer, not autograd.


# %%
def median_seconds(function, repeats=3):
    """Median wall time of `function()` after one warm-up call (which, for an
    optimizer, creates the state)."""
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def copy_bandwidth(num_floats, repeats=3):
    """Bytes per second of a large float32 copy: it reads every byte once and
    writes every byte once."""
    source = np.ones(num_floats, dtype=np.float32)
    target = np.empty_like(source)
    return (
        2
        * source.nbytes
        / median_seconds(lambda: np.copyto(target, source), repeats)
    )


def large_parameter(size, seed=0):
    """A float32 parameter with a random gradient (no autograd to time)."""
    noise = np.random.default_rng(seed)
    parameter = Variable(
        noise.standard_normal(size, dtype=np.float32), requires_grad=True
    )
    parameter.grad = Tensor(noise.standard_normal(size, dtype=np.float32))
    return parameter


# %%
if __name__ == "__main__":
    size = 1 << 22
    bandwidth = copy_bandwidth(size)
    print(
        f"{size:,} float32 parameters ({4 * size / 1e6:.0f} MB per array); "
        f"copy bandwidth of this machine: {bandwidth / 1e9:.1f} GB/s\n"
    )
    print(f"{'step':32s} {'ms':>7s} {'floor ms':>9s} {'× floor':>8s}")
    timing_runs = {  # name: (bytes per parameter, optimizer class, options)
        "SGD + momentum, readable": (
            20,
            SGD,
            {"momentum": 0.9, "fused": False},
        ),
        "SGD + momentum, fast path": (20, SGD, {"momentum": 0.9}),
        "Adam, readable": (28, Adam, {"fused": False}),
        "Adam, fast path (your function)": (28, Adam, {}),
    }
    with after_exercise("SGD.step", "Adam.step", "adam_update_in_place"):
        for run_name, (
            traffic,
            optimizer_class,
            options,
        ) in timing_runs.items():
            optimizer = optimizer_class(
                [large_parameter(size)], learning_rate=1e-3, **options
            )
            seconds = median_seconds(optimizer.step)
            floor = traffic * size / bandwidth
            print(
                f"{run_name:32s} {1e3 * seconds:7.1f} {1e3 * floor:9.1f} "
                f"{seconds / floor:8.2f}"
            )
            del optimizer  # give the memory back

# %% [markdown]
# How to read the table honestly:
#
# - **The floor is a floor.** It assumes one pass over memory per array, at the
#   speed of a plain copy. The readable Adam makes about a dozen full passes
#   and as many fresh temporaries; the fast path makes one pass over memory per
#   array and lands within a small factor of the floor. SGD with momentum gains
#   less, because its readable step has fewer temporaries to remove.
# - **The rest is NumPy's overhead.** Each block still runs about ten separate
#   NumPy operations, each with a fixed cost of a microsecond or so, and each
#   pass over the block goes through the cache rather than registers.
#   **Reaching the floor needs fusion**: one loop that loads $\theta, g, m, v$
#   once, does all the arithmetic in registers and stores $\theta, m, v$ once.
#   That is what compiled kernels do (PyTorch's `fused=True` Adam, or a few
#   lines of C or Numba). The formula is the same; only the traffic changes.
# - **Adam costs time, not just memory.** Even at the floor it moves $28/20 =
#   1.4$ times the bytes of SGD with momentum per step. For a network, the
#   optimizer step is usually small next to the forward and backward passes,
#   but for very large models it is not negligible.
#
# The repository's `benchmarks/optimizer_step.py` runs the same measurement at
# 16 million parameters outside the notebook and adds `torch.optim` (its
# default and its `fused=True` Adam) as references.

# %% [markdown]
# ## 3.7 Explore: your optimizers, live
#
# Time to build intuition by hand. The sliders below re-run *your* optimizer on the chosen landscape every
# time you release one, and redraw its path and its loss curve. Things to try:
#
# - On the quadratic, GD with the learning rate just below and just above $2/\lambda_{\max} = 0.1$.
# - Momentum 0.9 against 0.5 at the same learning rate on Rosenbrock: how many steps to reach $(1, 1)$?
#   Then switch on Nesterov.
# - Adam on Beale with learning rates from 0.001 to 0.5. Then set $\beta_1 = 0$ (no momentum: this is
#   RMSprop with bias correction) and $\beta_2 = 0.9$ (a short memory of gradient sizes).
#
# The sliders need a running Python kernel (Jupyter, Binder or Colab). On the static book page they do
# nothing; the explorer after this one works there too.


# %%
def explorer_controls():
    """The live explorer's widgets, by the name of the argument each sets."""
    import ipywidgets as widgets

    on_release = {"continuous_update": False}  # redraw once, when let go

    def fraction(name):  # a decay rate in [0, 0.99], 0.9 to start with
        return widgets.FloatSlider(
            0.9, min=0.0, max=0.99, step=0.01, description=name, **on_release
        )

    return {
        "landscape": widgets.Dropdown(
            options=list(landscape_catalogue()),
            value="rosenbrock",
            description="landscape",
        ),
        "optimizer": widgets.Dropdown(
            options=["SGD", "SGD + Nesterov", "Adam"],
            value="SGD",
            description="optimizer",
        ),
        "learning_rate": widgets.FloatLogSlider(
            1e-3,
            base=10,
            min=-4,
            max=0,
            step=0.05,
            description="lr",
            readout_format=".2g",
            **on_release,
        ),
        "momentum": fraction("momentum"),
        "beta1": fraction("beta1"),
        "beta2": widgets.SelectionSlider(
            options=[0.9, 0.99, 0.999, 0.9999],
            value=0.999,
            description="beta2",
            **on_release,
        ),
        "num_steps": widgets.IntSlider(
            500, min=10, max=2000, step=10, description="steps", **on_release
        ),
    }


# %%
def redraw_explorer(
    landscape, optimizer, learning_rate, momentum, beta1, beta2, num_steps
):
    """Run one optimizer on one landscape and plot its path and loss."""
    import matplotlib.pyplot as plt

    spec = landscape_catalogue()[landscape]
    if optimizer == "Adam":
        exercise = "Adam.step"
        label = f"Adam, lr {learning_rate:.2g}, β1 {beta1}, β2 {beta2}"

        def make_optimizer(params):
            return Adam(
                params,
                learning_rate=learning_rate,
                beta1=beta1,
                beta2=beta2,
            )
    else:
        nesterov = optimizer == "SGD + Nesterov"
        if nesterov and momentum == 0:
            print(
                "Nesterov momentum needs momentum > 0: move the "
                "momentum slider."
            )
            return
        exercise = "SGD.step"
        label = f"{optimizer}, lr {learning_rate:.2g}, momentum {momentum}"

        def make_optimizer(params):
            return SGD(
                params,
                learning_rate=learning_rate,
                momentum=momentum,
                nesterov=nesterov,
            )

    with after_exercise(exercise):
        path = optimizer_path(
            spec["function"], spec["start"], make_optimizer, num_steps
        )
        with np.errstate(over="ignore", invalid="ignore"):
            losses = spec["function"](path[:, 0], path[:, 1])
        fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
        draw_landscape(left, landscape)
        left.plot(path[:, 0], path[:, 1], ".-", color="tab:red", lw=1, ms=2)
        right.semilogy(losses, color="tab:red")
        right.set_xlabel("step")
        right.set_ylabel("f(x, y)")
        if len(path) - 1 < num_steps or not np.isfinite(losses[-1]):
            right.set_title(f"{label}: diverged at step {len(path) - 1}")
        else:
            right.set_title(
                f"{label}: f = {losses[-1]:.2e} after {num_steps} steps"
            )
        fig.tight_layout()
        plt.show()


# %%
def show_optimizer_explorer():
    """ipywidgets sliders that re-run the module's optimizers on a 2-D
    landscape and redraw the path."""
    import ipywidgets as widgets
    from IPython.display import display

    controls = explorer_controls()
    output = widgets.interactive_output(redraw_explorer, controls)
    display(
        widgets.VBox(
            [
                widgets.HBox(
                    [
                        controls["landscape"],
                        controls["optimizer"],
                        controls["num_steps"],
                    ]
                ),
                widgets.HBox(
                    [controls["learning_rate"], controls["momentum"]]
                ),
                widgets.HBox([controls["beta1"], controls["beta2"]]),
                output,
            ]
        )
    )


# %%
if __name__ == "__main__":
    try:
        show_optimizer_explorer()
    except ImportError:
        print(
            "The live explorer needs ipywidgets (pip install ipywidgets); "
            "the explorer below works without it."
        )

# %% [markdown]
# ## 3.8 Explore without a kernel
#
# The same experiment, precomputed. When this notebook is built into the course website, the cell below
# runs your optimizers over a grid of slider values: 6 learning rates × 5 momentum values for SGD, and
# 6 learning rates × 3 values of $\beta_1$ × 3 values of $\beta_2$ for Adam, on the quadratic and on
# Rosenbrock, and hands the trajectories to the website. The site's build (`tito book pages`) stores
# them in the page with a few lines of JavaScript that redraw the matching one when you move a slider.
# Nothing runs on a server: the page is a static file. In your notebook the cell prints one line; the
# explorer itself is on the module's page of the course website.
#
# Things to look for:
#
# - On the quadratic, SGD without momentum diverges for the last two learning rates
#   ($\alpha > 2/\lambda_{\max} = 0.1$). With momentum 0.9, 0.13 converges: the heavy ball's edge is
#   $2(1+\mu)/\lambda_{\max} = 0.19$, so only 0.2 diverges.
# - On Rosenbrock, momentum turns a crawl into progress: at learning rate 0.002, 300 steps of plain SGD
#   leave $f \approx 1.4$, with momentum 0.95 $f \approx 2\cdot 10^{-5}$. At 0.005 high momentum blows up.
# - On Rosenbrock, Adam at learning rate 0.03 with $\beta_1 = 0.9$: compare $\beta_2 = 0.999$ with
#   $\beta_2 = 0.9$. The long memory keeps dividing by the large gradients of the first steps, so the steps
#   stay tiny long after the gradient has shrunk; the short memory adapts and gets a thousand times lower.


# %%
def explorer_grids():
    """Slider values of the static explorer: per landscape, the steps and
    each optimizer's grid."""
    adam_betas = {"beta1": [0.0, 0.5, 0.9], "beta2": [0.9, 0.99, 0.999]}
    return {
        "quadratic": {
            "steps": 60,
            "sgd": {
                "lr": [0.01, 0.02, 0.05, 0.09, 0.13, 0.2],
                "momentum": [0.0, 0.4, 0.6, 0.8, 0.9],
            },
            "adam": {"lr": [0.01, 0.03, 0.1, 0.3, 0.6, 1.0], **adam_betas},
        },
        "rosenbrock": {
            "steps": 300,
            "sgd": {
                "lr": [0.0001, 0.0003, 0.001, 0.002, 0.003, 0.005],
                "momentum": [0.0, 0.5, 0.8, 0.9, 0.95],
            },
            "adam": {"lr": [0.001, 0.003, 0.01, 0.03, 0.1, 0.3], **adam_betas},
        },
    }


def explorer_runs(grids):
    """Run the module's SGD and Adam for every combination of slider values.

    Returns {(landscape, optimizer name, values): path}.
    """
    import itertools

    runs = {}
    for landscape_name, grid in grids.items():
        spec = landscape_catalogue()[landscape_name]
        for values in itertools.product(*grid["sgd"].values()):
            lr, momentum = values
            runs[landscape_name, "sgd", values] = optimizer_path(
                spec["function"],
                spec["start"],
                lambda params: SGD(
                    params, learning_rate=lr, momentum=momentum
                ),
                grid["steps"],
            )
        for values in itertools.product(*grid["adam"].values()):
            lr, beta1, beta2 = values
            runs[landscape_name, "adam", values] = optimizer_path(
                spec["function"],
                spec["start"],
                lambda params: Adam(
                    params, learning_rate=lr, beta1=beta1, beta2=beta2
                ),
                grid["steps"],
            )
    return runs


# %%
def explorer_data(grids, runs, resolution=120):
    """The runs, and what the page needs to draw them, as plain JSON."""
    landscapes = {}
    for name, grid in grids.items():
        spec = landscape_catalogue()[name]
        (x_low, x_high), (y_low, y_high) = spec["box"]
        grid_x, grid_y = np.meshgrid(
            np.linspace(x_low, x_high, resolution),
            np.linspace(y_low, y_high, resolution),
        )
        heights = spec["function"](grid_x, grid_y)
        entry = dict(
            title=spec["title"],
            box=spec["box"],
            start=spec["start"],
            minimum=spec["minimum"],
            steps=grid["steps"],
            heights=[[float(f"{h:.4g}") for h in row] for row in heights],
            grids={"sgd": grid["sgd"], "adam": grid["adam"]},
            runs={"sgd": [], "adam": []},
        )
        for (landscape, optimizer, _), path in runs.items():
            if landscape != name:
                continue
            with np.errstate(over="ignore", invalid="ignore"):
                final_loss = float(spec["function"](*path[-1]))
            # JSON has no inf or nan: a point that escaped is just far away
            far = np.nan_to_num(path, nan=1e6, posinf=1e6, neginf=-1e6)
            entry["runs"][optimizer].append(
                [np.round(far, 4).tolist(), f"{final_loss:.2e}"]
            )
        landscapes[name] = entry
    return {"landscapes": landscapes}


def show_static_explorer(grids, runs):
    """Hand the runs to the course website, which draws the explorer.

    In a notebook this shows one line; `tito book pages` turns the output
    into the interactive page (tito/book_explorer.py).
    """
    from IPython.display import display

    display(
        {
            "application/vnd.tinytorch.optimizer-explorer+json": (
                explorer_data(grids, runs)
            ),
            "text/plain": f"{len(runs)} trajectories for the explorer of "
            "the course website (interactive there, no kernel needed)",
        },
        raw=True,
    )


# %%
if __name__ == "__main__":
    started = time.perf_counter()
    explorer_paths = {}
    with after_exercise("SGD.step", "Adam.step"):
        explorer_paths = explorer_runs(explorer_grids())
    if explorer_paths:
        print(
            f"{len(explorer_paths)} trajectories in "
            f"{time.perf_counter() - started:.1f} s"
        )
        show_static_explorer(explorer_grids(), explorer_paths)

# %% [markdown]
# ## 3.9 What to take away: choosing an optimizer
#
# | | SGD + momentum | Adam / AdamW |
# | --- | --- | --- |
# | memory | 1 extra copy of the parameters (0 without momentum) | 2 extra copies |
# | time per step | 20 bytes per parameter at the floor | 28 bytes per parameter |
# | tuning | learning rate *and* schedule matter a lot; scale the rate with the batch | a default ($10^{-3}$, $\beta = (0.9, 0.999)$) often works |
# | gradients of very different sizes | one rate for all: the largest gradients set it | each parameter normalised by its own $\sqrt{\hat v}$ |
# | small, noisy batches | noise passes straight into the step | averaging in $m$ and normalising by $\sqrt{\hat v}$ tame it |
# | final performance | often the best test accuracy on vision models with long schedules | the default for transformers, language models, and quick results |
#
# And from the measurements in this part:
#
# 1. **Conditioning decides speed.** Gradient descent needs $O(\kappa)$ steps per digit of accuracy,
#    momentum $O(\sqrt\kappa)$, and you measured both rates to three digits with your own code.
# 2. **The learning rate has a ceiling**, $2/\lambda_{\max}$ for gradient descent (higher with momentum).
#    Schedules let you run near it early and settle below it late; a warm-up keeps the first, most fragile
#    steps below it.
# 3. **Adaptive methods buy robustness, not magic.** Adam shrugged off Beale's hundredfold gradient
#    changes and trained the digits network fastest, but on the quadratic it hovered around the minimum
#    while momentum got six orders of magnitude closer.
# 4. **The cost is memory, twice.** Adam keeps two extra copies of the parameters, and an optimizer step is
#    memory-bound: its floor is bytes moved divided by bandwidth, and NumPy's one-operator-at-a-time
#    evaluation puts a plain implementation several times above it.
#
# In practice: start with AdamW and a warm-up + cosine schedule to get a working model quickly; when memory
# is tight, or when you can afford a long tuned run on a vision model, try SGD with momentum 0.9 and a decaying
# schedule. Whatever you choose, change one thing at a time and look at the loss curve.

# %% [markdown]
# ## Key concepts
#
# **Real-world applications.**
#
# - *Large language models:* GPT and BERT are trained with Adam (today mostly AdamW) with warm-up and decay
#   schedules; Adam's per-parameter step sizes cope with gradients whose scales differ by orders of magnitude.
# - *Computer vision:* ResNets and Vision Transformers are often trained with SGD with momentum and a
#   step or cosine schedule, which tends to give the best final accuracy.
# - *Recommendation systems:* online learning systems update continuously with adaptive optimizers
#   (Adagrad was designed for their sparse features).
# - *Reinforcement learning:* policy-gradient methods depend on careful optimizer choice and learning-rate
#   tuning, because their gradient estimates are very noisy.
#
# **Mathematical foundations.**
#
# - Gradient descent: $\theta_{t+1} = \theta_t - \alpha\nabla L(\theta_t)$, where $\alpha$ is the learning rate.
# - Momentum: $v_{t+1} = \beta v_t + \nabla L(\theta_t)$, $\theta_{t+1} = \theta_t - \alpha v_{t+1}$.
# - Adam: momentum plus adaptive learning rates from first and second moment estimates, bias-corrected.
# - Learning-rate schedules: decay balances exploration early with exploitation late.
#
# **Optimization theory.**
#
# - *Convex optimization:* for a convex loss every local minimum is global, and gradient descent with a small
#   enough step finds it; Part 3 measured the rates, $(\kappa-1)/(\kappa+1)$ and $(\sqrt\kappa-1)/(\sqrt\kappa+1)$.
# - *Non-convex optimization:* a network's loss has saddles, plateaus and many minima (Rosenbrock's curved
#   valley and Beale's flat plateaus are small 2-D pictures of that).
# - *Convergence analysis:* when and why an algorithm reaches a good solution: the condition number $\kappa$
#   sets the speed, the largest curvature sets the stability edge $\alpha\lambda_{\max} < 2$.
# - *Hyperparameter sensitivity:* the learning rate is often the single most important hyperparameter.
#
# ## Performance characteristics
#
# | optimizer | state memory | strengths |
# | --- | --- | --- |
# | SGD | none (0× the parameters) | memory efficient; works well with large batches; often the best final performance |
# | SGD + momentum | 1× | faster through ravines; the vision default |
# | Adam | 2× (3× with AMSGrad) | fast initial convergence; works with small batches and badly scaled gradients |
#
# - **Learning-rate schedules** are often crucial for the best final performance (Part 3.4).
# - **Algorithm selection** depends on the problem: the data, the model and the memory and compute you have.
#
# ## Ready to build?
#
# You have implemented the algorithms that train modern AI: from the networks that recognise your voice to
# the language models that write code, they all depend on the few lines of arithmetic you wrote here. Having
# built momentum and adaptive learning rates yourself, you can now tell *why* a training run works, or why
# it does not. Next: module 10 wraps these optimizers into a complete training loop.

# %% [markdown]
# ## Summary
#
# - **Gradient descent** steps against the gradient, $\theta \leftarrow \theta - \alpha\nabla L$. On a curvature $\lambda$ it is
#   stable only for $\alpha < 2/\lambda$, so the sharpest direction limits the learning rate and the flattest one
#   sets the speed: about $\kappa$ steps per digit of accuracy for condition number $\kappa$.
# - **Momentum** accumulates a velocity $v \leftarrow \beta v + \nabla L$; PyTorch's momentum buffer is the same $v$. At
#   its best it needs about $\sqrt\kappa$ steps instead of $\kappa$ (rate $0.635$ against $0.905$ for $\kappa = 20$).
#   **Nesterov** steps along $g + \mu b$, a look-ahead.
# - **Adaptive methods** divide each parameter's step by the root of its recent squared gradients
#   (Adagrad, RMSprop). **Adam** combines that with momentum and removes the zero-start bias:
#   $\mathbb{E}[m_t] = (1-\beta_1^t)\,\mathbb{E}[g]$, so $\hat m_t = m_t/(1-\beta_1^t)$. Its first steps move each
#   parameter by about $\alpha$, whatever the gradient's scale. AMSGrad keeps $\hat v$ from shrinking.
# - **Weight decay** is L2 regularisation for SGD; for Adam, **AdamW** decouples it, $\theta \leftarrow \theta(1-\alpha\lambda)$.
# - **Schedules** set $\alpha$ per epoch from a closed form; the loop calls `optimizer.step()` and then
#   `scheduler.step()`.
# - **Memory:** SGD keeps no state, momentum one array per parameter, Adam two (three with AMSGrad);
#   `state_dict()` saves it, and a resumed run is identical to an uninterrupted one.
