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
# # Module 06: Losses
#
# Training needs one number that says how wrong the model is: the **loss**. Gradient descent then moves
# every parameter a little in the direction that lowers it. The loss is the only thing the optimizer
# sees, so it must measure what you care about, and its gradient must stay informative even when the model
# is badly wrong.
#
# You build the two losses almost every network uses:
#
# - `MSELoss`, the mean squared error, for regression (predict a number);
# - `CrossEntropyLoss`, for classification (predict one of $C$ classes), computed straight from logits in a
#   way that never overflows.
#
# Both take a prediction and a target and return a 0-d `Variable`, so `loss.backward()` fills the gradients.

# %% [markdown]
# ## Getting started
#
# Work in the browser (the launch buttons at the top of the course page open
# the student notebook on Binder or Colab) or locally. Locally, from the
# repository root:
#
# ```bash
# source bin/activate-tinytorch.sh  # activate the environment
# tito test --module tensor         # check what this builds on
# tito test --module autograd
# tito module start losses          # your edition: exercises are stubs
# ```
#
# Then write the exercises, in order, in
# `modules/source/06_losses/losses_dev.py` (or in its paired notebook,
# `losses_dev.ipynb`, in Jupyter); the test cell after each exercise
# checks it. Export your code into `tinytorch` and test it:
#
# ```bash
# tito export --module losses && tito test --module losses
# tito module status                # where you are in every module
# ```
#
# `tito module reset losses` brings the reference solution back (it keeps
# your files as `.bak-<time>` copies).

# %%
#| bootstrap
# Makes `tinytorch` importable. Locally and on Binder it is installed already;
# the student notebooks that open on Colab install it here first.
import tinytorch

# %%
#| default_exp core.losses
#| export
import numpy as np

from tinytorch.core.autograd import Variable, as_variable
from tinytorch.core.layers import Module
from tinytorch.core.tensor import Tensor

# %% [markdown]
# ## Mean squared error
#
# For predictions $\hat y$ and targets $y$ with $n$ elements in all,
#
# $$\mathrm{MSE}(\hat y, y) = \frac1n \sum_{k=1}^{n} (\hat y_k - y_k)^2, \qquad \frac{\partial\,\mathrm{MSE}}{\partial \hat y_k} = \frac2n(\hat y_k - y_k).$$
#
# Squaring makes every error count positively and punishes large errors more than small ones. Dividing by
# $n$ (the *mean*) keeps the loss, and the gradient, on the same scale whatever the batch size, so a
# learning rate that works for 32 examples also works for 64.
#
# One trap deserves a check. A model with one output returns shape `(N, 1)`; targets are often stored as
# `(N,)`. NumPy broadcasting turns `(N, 1) - (N,)` into an `(N, N)` matrix of every prediction minus every
# target, and the loss is silently wrong. So the loss insists on equal shapes.

# %% [markdown]
# ## Exercise 1: `MSELoss.forward` (2 points)
#
# The shapes are checked for you. Return the mean of the squared differences as a `Variable` (use
# `Variable` operations, so `backward()` works).


# %% nbgrader={"grade": false, "grade_id": "mse-loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class MSELoss(Module):
    """Mean squared error over all elements: mean((prediction - target) ** 2),
    a 0-d Variable."""

    def forward(self, prediction, target):
        prediction, target = as_variable(prediction), as_variable(target)
        if prediction.shape != target.shape:
            raise ValueError(
                f"target must have the prediction's shape {prediction.shape}, "
                f"got {target.shape} "
                "(reshape one of them: broadcasting would compare every pair)"
            )
        ### BEGIN SOLUTION
        error = prediction - target
        return (error * error).mean()
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-mse-loss", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_mse_loss():
    print("🔬 Unit Test: MSELoss...")
    prediction = Variable([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    target = np.array([[1.0, 0.0], [0.0, 4.0]])
    loss = MSELoss()(prediction, target)
    assert isinstance(loss, Variable) and loss.shape == (), (
        "the loss is a 0-d Variable"
    )
    assert np.isclose(loss.data, (0 + 4 + 9 + 0) / 4), (
        f"expected 13/4, got {loss.data}"
    )
    print("✅ value: mean of squared errors = 3.25")
    loss.backward()
    assert np.allclose(prediction.grad.data, [[0.0, 1.0], [1.5, 0.0]]), (
        f"gradient 2(ŷ−y)/n wrong: {prediction.grad.data}"
    )
    print("✅ gradient 2(ŷ − y)/n")
    ### BEGIN HIDDEN TESTS
    assert np.isclose(MSELoss()(np.array([3.0]), np.array([1.0])).data, 4.0)
    try:
        MSELoss()(np.zeros((4, 1)), np.zeros(4))
    except ValueError as error:
        assert "target" in str(error)
    else:
        raise AssertionError("shapes (4, 1) and (4,) must raise ValueError")
    ### END HIDDEN TESTS
    print("📈 Progress: MSELoss ✓")


if __name__ == "__main__":
    test_unit_mse_loss()

# %% [markdown]
# ## Cross-entropy: the loss for classification
#
# A classifier outputs one *logit* $z_c$ per class; softmax (Module 04) turns them into probabilities
# $p_c = e^{z_c} / \sum_j e^{z_j}$. If the true class is $y$, a good model gives $p_y$ close to $1$. The
# cross-entropy loss is the negative log of that probability, averaged over a batch of $N$ examples:
#
# $$\mathcal{L} = -\frac1N \sum_{n=1}^{N} \log p_{n, y_n} .$$
#
# It is $0$ for a certain, correct prediction and grows without bound as $p_y \to 0$. It is also the
# negative log-likelihood of the labels, so minimising it is maximum-likelihood estimation.
#
# **Working in log space.** Computing $p$ first and then $\log p$ fails twice: $e^{z}$ overflows for large
# logits, and a tiny $p_y$ rounds to $0$, whose log is $-\infty$. Take the log of the softmax analytically
# instead:
#
# $$\log p_c = z_c - \log \sum_j e^{z_j} = z_c - \Bigl(m + \log \sum_j e^{z_j - m}\Bigr), \qquad m = \max_j z_j .$$
#
# The bracket is the **log-sum-exp** with the maximum shifted out, exact for any $m$. With $m$ the maximum,
# each $e^{z_j - m} \le 1$ (no overflow) and the sum is $\ge 1$ (its log is finite). A logit of $1000$ is
# fine, and a hopeless prediction costs a large but finite loss such as $2000$, not `inf` or `nan`.
#
# **The gradient** is beautifully simple. Differentiating $-\log p_y = \log\sum_j e^{z_j} - z_y$,
#
# $$\frac{\partial(-\log p_y)}{\partial z_c} = p_c - [c = y] ,$$
#
# the predicted probabilities minus the one-hot label. It never saturates: a confident wrong answer gets a
# gradient of size about $1$, exactly when learning is most needed. (The figure at the end compares this
# with MSE on a sigmoid.)

# %% [markdown]
# ## Exercise 2: a stable `log_softmax` (3 points)
#
# Write `log_softmax(logits, axis)`: $z - m - \log\sum_j e^{z_j - m}$ along `axis`.
#
# 1. `shift = logits.data.max(axis=axis, keepdims=True)`: a NumPy constant.
# 2. `shifted = logits - shift`, a `Variable`.
# 3. Return `shifted` minus the log of the sum (along `axis`, `keepdims=True`) of `shifted.exp()`.


# %% nbgrader={"grade": false, "grade_id": "log-softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def log_softmax(logits, axis=-1):
    """log(softmax(logits)) along `axis`, computed without overflow (the max is
    shifted out)."""
    logits = as_variable(logits)
    ### BEGIN SOLUTION
    shift = logits.data.max(
        axis=axis, keepdims=True
    )  # exact for any constant: use the max
    shifted = logits - shift
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-log-softmax", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_unit_log_softmax():
    print("🔬 Unit Test: log_softmax...")
    z = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 5.0]])
    expected = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    out = log_softmax(Variable(z))
    assert isinstance(out, Variable) and out.shape == (2, 3)
    assert np.allclose(out.data, expected), (
        f"log_softmax values wrong: {out.data}"
    )
    print("✅ matches z − log Σ exp(z)")
    extreme = log_softmax(np.array([[1000.0, 0.0, -1000.0]])).data
    assert np.all(np.isfinite(extreme)), (
        "overflow: shift by the max before exponentiating"
    )
    assert np.allclose(extreme, [[0.0, -1000.0, -2000.0]])
    print("✅ logits of ±1000 stay finite")
    x = Variable([[0.2, -0.4, 1.0]], requires_grad=True)
    log_softmax(x)[0, 2].backward()  # d log p_2 / d z = onehot(2) - p
    p = np.exp(x.data) / np.exp(x.data).sum()
    assert np.allclose(x.grad.data, np.eye(3)[2] - p), (
        f"gradient wrong: {x.grad.data}"
    )
    print("✅ gradient of log p_y is onehot(y) − p")
    ### BEGIN HIDDEN TESTS
    cols = log_softmax(np.array([[0.0, 3.0], [0.0, -3.0]]), axis=0).data
    assert np.allclose(np.exp(cols).sum(axis=0), 1.0) and np.allclose(
        cols[:, 0], np.log(0.5)
    )
    ### END HIDDEN TESTS
    print("📈 Progress: log_softmax ✓")


if __name__ == "__main__":
    test_unit_log_softmax()

# %% [markdown]
# ## Labels are integers
#
# The target of `CrossEntropyLoss` is one integer class index per example, shape `(N,)`, each in
# $0, \dots, C-1$. Floats (such as one-hot vectors) are refused with a clear message rather than guessed at:
# a float label `2.7` has no meaning, and a wrong shape usually means the arguments were swapped.
# `as_labels` does those checks; `CrossEntropyLoss` calls it before any arithmetic.


# %%
#| export
def as_labels(target, num_examples, num_classes):
    """`target` as a NumPy integer array of shape (num_examples,) with values
    in [0, num_classes)."""
    labels = np.asarray(target.data if isinstance(target, Tensor) else target)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            "target must hold integer class indices (shape (N,)), got dtype "
            f"{labels.dtype}; "
            "for one-hot targets pass target.argmax(axis=1)"
        )
    if labels.shape != (num_examples,):
        raise ValueError(
            f"target must have shape ({num_examples},): one class index per "
            "row of the logits, "
            f"got shape {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"target values must be class indices in [0, {num_classes - 1}], "
            f"got values from {labels.min()} to {labels.max()}"
        )
    return labels


# %% [markdown]
# ## Exercise 3: `CrossEntropyLoss.forward` (2 points)
#
# The logits and labels are checked for you. Compute `log_softmax` of the logits (shape `(N, C)`), pick out
# each row's entry at its label with one index, `log_probs[np.arange(N), labels]`, and return the negative
# mean.


# %% nbgrader={"grade": false, "grade_id": "cross-entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class CrossEntropyLoss(Module):
    """Softmax cross-entropy from logits (N, C) and integer labels (N,),
    averaged over the batch (0-d Variable)."""

    def forward(self, logits, target):
        logits = as_variable(logits)
        if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[1] == 0:
            raise ValueError(
                "logits must have shape (N, C) with N, C >= 1, got shape "
                f"{logits.shape}"
            )
        num_examples, num_classes = logits.shape
        labels = as_labels(target, num_examples, num_classes)
        ### BEGIN SOLUTION
        log_probs = log_softmax(logits, axis=1)
        return -log_probs[np.arange(num_examples), labels].mean()
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-cross-entropy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_cross_entropy():
    print("🔬 Unit Test: CrossEntropyLoss...")
    logits = Variable([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]], requires_grad=True)
    labels = np.array([0, 2])
    loss = CrossEntropyLoss()(logits, labels)
    assert isinstance(loss, Variable) and loss.shape == (), (
        "the loss is a 0-d Variable"
    )
    first = -2.0 + np.log(np.exp(2.0) + 1 + np.exp(-1.0))
    assert np.isclose(loss.data, (first + np.log(3)) / 2), (
        f"loss value wrong: {loss.data}"
    )
    print("✅ mean of −log p_y over the batch")
    loss.backward()
    p = np.exp(logits.data) / np.exp(logits.data).sum(axis=1, keepdims=True)
    assert np.allclose(logits.grad.data, (p - np.eye(3)[labels]) / 2), (
        "gradient should be (p − onehot)/N"
    )
    print("✅ gradient (softmax − onehot) / N")
    huge = CrossEntropyLoss()(np.array([[1000.0, -1000.0]]), np.array([1]))
    assert np.isclose(huge.data, 2000.0), (
        f"expected 2000 for a hopeless prediction, got {huge.data}"
    )
    print("✅ logits of ±1000 give a finite loss")
    ### BEGIN HIDDEN TESTS
    assert np.isclose(
        CrossEntropyLoss()(np.array([[1000.0, -1000.0]]), np.array([0])).data,
        0.0,
    )
    assert np.isclose(
        CrossEntropyLoss()(np.zeros((5, 4)), np.arange(5) % 4).data, np.log(4)
    )
    ### END HIDDEN TESTS
    print("📈 Progress: CrossEntropyLoss ✓")


if __name__ == "__main__":
    test_unit_cross_entropy()


# %% nbgrader={"grade": false, "grade_id": "test-cross-entropy-errors", "locked": true, "schema_version": 3, "solution": false, "task": false}
def test_unit_cross_entropy_errors():
    print("🔬 Unit Test: CrossEntropyLoss refuses bad targets...")
    logits = np.zeros((3, 4))
    bad_targets = {
        "one-hot floats": np.eye(4)[[0, 1, 2]],
        "float labels": np.array([0.0, 1.0, 2.0]),
        "wrong length": np.array([0, 1]),
        "label out of range": np.array([0, 1, 4]),
        "negative label": np.array([0, -1, 2]),
    }
    for case, target in bad_targets.items():
        try:
            CrossEntropyLoss()(logits, target)
        except ValueError as error:
            assert "target" in str(error), (
                f"{case}: the message should name `target`"
            )
        else:
            raise AssertionError(f"{case} should raise ValueError")
    print(
        "✅ float, one-hot, wrong-shape and out-of-range targets raise "
        "ValueError naming `target`"
    )


if __name__ == "__main__":
    test_unit_cross_entropy_errors()

# %% [markdown]
# ## Why classification uses cross-entropy, not MSE
#
# Take one example of class $1$ in a two-class problem, with logit $z$ for class 1 and $0$ for class 0, so
# $p = \sigma(z)$. Compare two losses as functions of $z$:
#
# - MSE on the probability, $(\sigma(z) - 1)^2$, with gradient $2(\sigma(z)-1)\,\sigma(z)(1-\sigma(z))$;
# - cross-entropy, $-\log\sigma(z)$, with gradient $\sigma(z) - 1$.
#
# When the model is confidently wrong ($z \ll 0$), the MSE gradient carries the factor $\sigma'(z) \approx 0$:
# the worse the mistake, the less it learns. Cross-entropy's gradient tends to $-1$. The figure computes both
# with your losses and autograd (the batch of 201 values of $z$ is one call; each loss is a mean, so we
# multiply the gradient by $N$ to get the per-example derivative).

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt
    from tinytorch.core.activations import Sigmoid
    from tinytorch.core.setup import after_exercise

    z_values = np.linspace(-8, 8, 201)
    n = len(z_values)
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(10, 3.8))
    with after_exercise("MSELoss.forward"):
        z = Variable(z_values, requires_grad=True)
        mse = MSELoss()(Sigmoid()(z), np.ones(n))
        mse.backward()
        per_example = (Sigmoid()(z_values).data - 1) ** 2
        ax_loss.plot(z_values, per_example, label="MSE on σ(z)")
        ax_grad.plot(z_values, n * z.grad.data, label="MSE on σ(z)")
    with after_exercise("log_softmax", "CrossEntropyLoss.forward"):
        logits = Variable(
            np.stack([np.zeros(n), z_values], axis=1), requires_grad=True
        )
        cross_entropy = CrossEntropyLoss()(logits, np.ones(n, dtype=int))
        cross_entropy.backward()
        per_example = -log_softmax(logits.data)[:, 1].data
        ax_loss.plot(z_values, per_example, label="cross-entropy")
        ax_grad.plot(
            z_values, n * logits.grad.data[:, 1], label="cross-entropy"
        )
    ax_loss.set_title("loss for a class-1 example")
    ax_grad.set_title("gradient with respect to the logit $z$")
    for ax in (ax_loss, ax_grad):
        ax.set_xlabel("logit $z$ of the true class")
        ax.axhline(0, color="grey", lw=0.5)
        ax.legend()
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## What you built
#
# - `MSELoss()(prediction, target)`: the mean squared error, with a shape check that catches the
#   `(N, 1)` versus `(N,)` broadcasting bug.
# - `log_softmax`: log-probabilities via log-sum-exp, finite for any logits.
# - `CrossEntropyLoss()(logits, labels)`: from logits `(N, C)` and integer labels `(N,)`, averaged over the
#   batch, with gradient $(p - \text{onehot})/N$.
#
# Export and test: `tito export --module losses && tito test --module losses`.
