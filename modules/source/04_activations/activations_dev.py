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
# # Module 04: Activations
#
# A stack of linear layers is still one linear map: $W_2(W_1x) = (W_2W_1)x$. However many you stack, the
# network can only draw straight lines. An **activation function** applied between layers bends the map, and
# that bend is what lets a network fit curves, corners and class boundaries.
#
# In this module you build the activations the rest of the course uses:
#
# | activation | formula | used for |
# | --- | --- | --- |
# | `ReLU` | $\max(0, x)$ | hidden layers (the default) |
# | `LeakyReLU` | $\max(0, x) + a\min(0, x)$ | hidden layers, when ReLU units "die" |
# | `GELU` | $x\,\Phi(x)$ | hidden layers of transformers |
# | `Sigmoid` | $1/(1+e^{-x})$ | a probability from one number |
# | `Tanh` | $\tanh x$ | a centred output in $(-1, 1)$ |
# | `Softmax` | $e^{x_i}/\sum_j e^{x_j}$ | a probability distribution over classes |
#
# Each one is built from the operations of `Variable` (Module 03), so autograd differentiates it for you.
# You never write a derivative by hand here; you will *look* at them, because an activation's derivative
# decides how well gradients travel through a deep network.

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
# tito module start activations     # your edition: exercises are stubs
# ```
#
# Then write the exercises, in order, in
# `modules/source/04_activations/activations_dev.py` (or in its paired
# notebook, `activations_dev.ipynb`, in Jupyter); the test cell after each
# exercise checks it. Export your code into `tinytorch` and test it:
#
# ```bash
# tito export --module activations && tito test --module activations
# tito module status                # where you are in every module
# ```
#
# `tito module reset activations` brings the reference solution back (it keeps
# your files as `.bak-<time>` copies).

# %%
#| bootstrap
# Makes `tinytorch` importable. Locally and on Binder it is installed already;
# the student notebooks that open on Colab install it here first.
import tinytorch

# %%
#| default_exp core.activations
#| export
import numpy as np

from tinytorch.core.autograd import Variable, as_variable

# %% [markdown]
# ## An activation is a layer without parameters
#
# Later you will chain layers: `Sequential([Dense(2, 16), ReLU(), Dense(16, 1)])`. To sit in that chain an
# activation behaves like a layer: you call it (`act(x)`), its work happens in `forward`, and it reports its
# trainable parameters, of which it has none. The small base class below gives every activation those three
# things. It also accepts NumPy arrays and tensors, turning them into `Variable`s first.


# %%
#| export
class Activation:
    """A function with no parameters that is used like a layer: `act(x)`
    returns `act.forward(x)`.

    Subclasses write `forward(self, x)` for a `Variable` x, using Variable
    operations only, so autograd differentiates them.
    """

    def __call__(self, x):
        return self.forward(as_variable(x))

    def parameters(self):
        """Activations have nothing to train."""
        return []

    def __repr__(self):
        return f"{type(self).__name__}()"


# %% [markdown]
# ## ReLU
#
# The rectified linear unit keeps positive inputs and zeroes the rest:
#
# $$\mathrm{ReLU}(x) = \max(0, x), \qquad \mathrm{ReLU}'(x) = \begin{cases} 1 & x > 0 \\ 0 & x < 0 \end{cases}$$
#
# At $x = 0$ the derivative is not defined; like every framework we use $0$ there. ReLU is cheap, and for
# positive inputs its derivative is exactly $1$, so gradients pass through active units without shrinking.
# Its weakness: a unit whose input is negative for every example gets zero gradient and never recovers
# (a "dead" unit).


# %%
#| export
class ReLU(Activation):
    """max(0, x), elementwise."""

    def forward(self, x):
        return x.relu()


# %% [markdown]
# ## Sigmoid and Tanh
#
# The logistic sigmoid squashes any number into $(0, 1)$, so it can stand for a probability:
#
# $$\sigma(x) = \frac{1}{1 + e^{-x}}, \qquad \sigma'(x) = \sigma(x)\,\bigl(1 - \sigma(x)\bigr) \le \tfrac14 .$$
#
# Its cousin $\tanh x = 2\sigma(2x) - 1$ is centred at zero, with $\tanh'(x) = 1 - \tanh^2 x \le 1$.
# Both *saturate*: for $|x| \gtrsim 5$ the curve is flat and the derivative is almost $0$. A gradient that
# passes through many saturated units is multiplied by many small numbers and vanishes. That is the main
# reason hidden layers today use ReLU-like functions.
#
# One practical detail: for $x = -1000$, `np.exp(1000)` overflows to `inf` and NumPy warns. The result
# $1/(1+\infty) = 0$ is still right, and the backward pass uses $\sigma(1-\sigma)$, which is finite, so we
# silence that one harmless warning.


# %%
#| export
class Sigmoid(Activation):
    """1 / (1 + exp(-x)), elementwise: a number in (0, 1)."""

    def forward(self, x):
        with np.errstate(
            over="ignore"
        ):  # exp(-x) = inf for x << 0 gives the right answer, 0
            return x.sigmoid()


class Tanh(Activation):
    """tanh(x), elementwise: a number in (-1, 1)."""

    def forward(self, x):
        return x.tanh()


# %% nbgrader={"grade": false, "grade_id": "test-relu-sigmoid-tanh", "locked": true, "schema_version": 3, "solution": false, "task": false}
def test_unit_relu_sigmoid_tanh():
    print("🔬 Unit Test: ReLU, Sigmoid, Tanh...")
    x = Variable([-1000.0, -1.0, 0.0, 2.0], requires_grad=True)
    assert np.array_equal(ReLU()(x).data, [0.0, 0.0, 0.0, 2.0])
    s = Sigmoid()(x)
    assert np.allclose(
        s.data, [0.0, 1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-2.0))]
    )
    assert np.allclose(
        Tanh()(x).data, [-1.0, np.tanh(-1.0), 0.0, np.tanh(2.0)]
    )
    print("✅ values, and no overflow for x = -1000")
    s.sum().backward()
    assert np.allclose(x.grad.data, s.data * (1 - s.data))
    print("✅ autograd gives σ' = σ(1 − σ)")
    assert ReLU().parameters() == [] and repr(Tanh()) == "Tanh()"
    assert isinstance(ReLU()(np.array([1.0, -1.0])), Variable)
    print("✅ callable on NumPy arrays, no parameters")


if __name__ == "__main__":
    test_unit_relu_sigmoid_tanh()


# %% [markdown]
# ## Exercise 1: LeakyReLU (1 point)
#
# LeakyReLU keeps a small slope $a$ (typically $0.01$) for negative inputs, so no unit is ever completely dead:
#
# $$\mathrm{LeakyReLU}(x) = \max(0, x) + a \min(0, x) = \mathrm{ReLU}(x) - a\,\mathrm{ReLU}(-x).$$
#
# Write `forward` using the right-hand form: only `Variable` operations (`relu`, unary minus, `*`, `-`), so
# autograd finds the derivative, $1$ for $x>0$ and $a$ for $x<0$, by itself.


# %% nbgrader={"grade": false, "grade_id": "leaky-relu", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class LeakyReLU(Activation):
    """max(0, x) + negative_slope * min(0, x), elementwise."""

    def __init__(self, negative_slope=0.01):
        if not isinstance(
            negative_slope, (int, float, np.integer, np.floating)
        ) or isinstance(negative_slope, bool):
            raise TypeError(
                f"negative_slope must be a number >= 0, got {negative_slope!r}"
            )
        if not negative_slope >= 0:
            raise ValueError(
                f"negative_slope must be a number >= 0, got {negative_slope!r}"
            )
        self.negative_slope = negative_slope

    def forward(self, x):
        ### BEGIN SOLUTION
        return x.relu() - (-x).relu() * self.negative_slope
        ### END SOLUTION

    def __repr__(self):
        return f"LeakyReLU(negative_slope={self.negative_slope})"


# %% nbgrader={"grade": true, "grade_id": "test-leaky-relu", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
def test_unit_leaky_relu():
    print("🔬 Unit Test: LeakyReLU...")
    x = Variable([-2.0, -0.5, 0.5, 3.0], requires_grad=True)
    y = LeakyReLU(0.1)(x)
    assert np.allclose(y.data, [-0.2, -0.05, 0.5, 3.0]), (
        f"LeakyReLU(0.1) values wrong: {y.data}"
    )
    print("✅ values: x for x > 0, 0.1·x for x < 0")
    y.sum().backward()
    assert np.allclose(x.grad.data, [0.1, 0.1, 1.0, 1.0]), (
        f"gradient wrong: {x.grad.data}"
    )
    print("✅ autograd finds the derivative: 1 or the slope")
    ### BEGIN HIDDEN TESTS
    assert np.allclose(
        LeakyReLU()(np.array([-100.0])).data, [-1.0]
    )  # default slope 0.01, NumPy input
    assert np.array_equal(
        LeakyReLU(0.0)(np.array([-3.0, 2.0])).data, [0.0, 2.0]
    )
    ### END HIDDEN TESTS
    print("📈 Progress: LeakyReLU ✓")


if __name__ == "__main__":
    test_unit_leaky_relu()

# %% [markdown]
# ## Exercise 2: GELU (2 points)
#
# The Gaussian error linear unit weights its input by the probability that a standard normal variable is
# below it: $\mathrm{GELU}(x) = x\,\Phi(x)$. It is a smooth ReLU: almost $0$ for very negative $x$, almost
# $x$ for large $x$, with a small dip in between. BERT and GPT use it, in this tanh approximation:
#
# $$\mathrm{GELU}(x) \approx \tfrac12\, x \left(1 + \tanh\!\Bigl(\sqrt{2/\pi}\,\bigl(x + 0.044715\,x^3\bigr)\Bigr)\right).$$
#
# Write `forward` with Variable operations (`*`, `+`, `**`, `tanh`). The constant $\sqrt{2/\pi}$ is
# `np.sqrt(2 / np.pi)`.


# %% nbgrader={"grade": false, "grade_id": "gelu", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class GELU(Activation):
    """x * Phi(x), elementwise, in the tanh approximation used by BERT and
    GPT-2."""

    def forward(self, x):
        ### BEGIN SOLUTION
        inner = (x + x**3 * 0.044715) * np.sqrt(2 / np.pi)
        return x * 0.5 * (inner.tanh() + 1)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-gelu", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_gelu():
    print("🔬 Unit Test: GELU...")
    x = Variable([-3.0, -1.0, 0.0, 1.0, 3.0], requires_grad=True)
    y = GELU()(x)
    expected = [
        -0.003637392,
        -0.158808009,
        0.0,
        0.841191991,
        2.996362608,
    ]  # the formula, evaluated
    assert np.allclose(y.data, expected, atol=1e-8), (
        f"GELU values wrong: {y.data}"
    )
    print("✅ values match the tanh approximation")
    y.sum().backward()
    assert np.isclose(x.grad.data[2], 0.5), "GELU'(0) should be 1/2"
    assert np.isclose(x.grad.data[3], 1.082964550, atol=1e-8), (
        f"GELU'(1) wrong: {x.grad.data[3]}"
    )
    print("✅ autograd derivative: GELU'(0) = 1/2, GELU'(1) ≈ 1.083")
    ### BEGIN HIDDEN TESTS
    big = GELU()(np.array([-30.0, 30.0])).data
    assert np.allclose(big, [0.0, 30.0]), (
        "GELU should be ~0 far left and ~x far right"
    )
    ### END HIDDEN TESTS
    print("📈 Progress: GELU ✓")


if __name__ == "__main__":
    test_unit_gelu()

# %% [markdown]
# ## Softmax: from scores to probabilities
#
# A classifier's last layer produces one score (a *logit*) per class. Softmax turns a vector of logits
# $z \in \mathbb{R}^C$ into probabilities that are positive and sum to one:
#
# $$\mathrm{softmax}(z)_i = \frac{e^{z_i}}{\sum_{j=1}^{C} e^{z_j}} .$$
#
# Its derivative couples all outputs: with $p = \mathrm{softmax}(z)$,
# $\dfrac{\partial p_i}{\partial z_j} = p_i(\delta_{ij} - p_j)$. Autograd will take care of that.
#
# **The overflow problem.** `np.exp(1000.0)` is `inf` in floating point, and `inf / inf` is `nan`. Logits of
# a few hundred are not unusual in an untrained or badly scaled network, so the formula as written breaks.
#
# **The fix** is an identity. For any constant $c$,
#
# $$\frac{e^{z_i - c}}{\sum_j e^{z_j - c}} = \frac{e^{-c}\,e^{z_i}}{e^{-c}\sum_j e^{z_j}} = \mathrm{softmax}(z)_i .$$
#
# Choose $c = \max_j z_j$. Then every exponent is $\le 0$, so nothing overflows, and the largest term is
# $e^0 = 1$, so the sum is at least $1$ and we never divide by zero. Because the identity holds for *every*
# $c$, we can treat $c$ as a constant during backpropagation: the gradient is exactly that of the softmax.

# %%
if __name__ == "__main__":
    logits = np.array([1000.0, 999.0, 0.0])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(logits) / np.exp(logits).sum()
    shifted = np.exp(logits - logits.max())
    print("naive softmax:  ", naive)
    print("shifted softmax:", shifted / shifted.sum())

# %% [markdown]
# ## Exercise 3: a numerically stable Softmax (3 points)
#
# Write `Softmax.forward`. It normalises along `self.axis` (the last axis by default, so a batch of logits
# of shape `(N, C)` gives one distribution per row).
#
# 1. Take the maximum along `self.axis` of the *NumPy data*, `x.data.max(axis=..., keepdims=True)`: a
#    constant, not part of the graph.
# 2. Subtract it from `x` and exponentiate (`Variable` operations).
# 3. Divide by the sum along the same axis, with `keepdims=True` so the shapes broadcast.


# %% nbgrader={"grade": false, "grade_id": "softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Softmax(Activation):
    """exp(x) / sum(exp(x)) along `axis`: each slice along that axis becomes a
    probability distribution."""

    def __init__(self, axis=-1):
        if not isinstance(axis, (int, np.integer)):
            raise TypeError(f"axis must be an int, got {axis!r}")
        self.axis = int(axis)

    def forward(self, x):
        ### BEGIN SOLUTION
        shift = x.data.max(
            axis=self.axis, keepdims=True
        )  # softmax(x - c) = softmax(x) for any constant c
        exps = (x - shift).exp()
        return exps / exps.sum(axis=self.axis, keepdims=True)
        ### END SOLUTION

    def __repr__(self):
        return f"Softmax(axis={self.axis})"


# %% nbgrader={"grade": true, "grade_id": "test-softmax", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_unit_softmax():
    print("🔬 Unit Test: Softmax...")
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    p = Softmax()(z).data
    e = np.exp([1.0, 2.0, 3.0])
    assert np.allclose(p[0], e / e.sum()) and np.allclose(p[1], 1 / 3), (
        f"softmax values wrong: {p}"
    )
    assert np.allclose(p.sum(axis=-1), 1.0)
    print("✅ each row is a probability distribution")
    huge = Softmax()(np.array([1000.0, 999.0, 0.0])).data
    assert np.all(np.isfinite(huge)), (
        "softmax of large logits overflowed: subtract the max first"
    )
    assert np.allclose(
        huge, [1 / (1 + np.exp(-1)), np.exp(-1) / (1 + np.exp(-1)), 0.0]
    )
    print("✅ logits of 1000 give finite, correct probabilities")
    x = Variable([[0.5, -1.0, 2.0]], requires_grad=True)
    probs = Softmax()(x)
    (
        probs * Variable([[1.0, 0.0, 0.0]])
    ).sum().backward()  # d p_0 / d z_j = p_0 (delta_0j - p_j)
    p0 = probs.data[0]
    assert np.allclose(x.grad.data[0], p0[0] * (np.eye(3)[0] - p0)), (
        f"gradient wrong: {x.grad.data}"
    )
    print("✅ gradient p_i (δ_ij − p_j)")
    ### BEGIN HIDDEN TESTS
    columns = Softmax(axis=0)(np.array([[1.0, 5.0], [1.0, -5.0]])).data
    assert np.allclose(columns.sum(axis=0), 1.0) and np.allclose(
        columns[:, 0], 0.5
    ), "axis=0 ignored"
    assert np.allclose(Softmax()(np.array([-1000.0, -1000.0])).data, 0.5)
    ### END HIDDEN TESTS
    print("📈 Progress: Softmax ✓")


if __name__ == "__main__":
    test_unit_softmax()

# %% [markdown]
# ## Every activation, and the derivative autograd finds for it
#
# The figure evaluates each activation on a grid and asks autograd for the derivative: one `backward()` of
# the sum gives $\partial\,\mathrm{sum}(f(x))/\partial x_k = f'(x_k)$ at every grid point at once.
# Look at the right panel: ReLU, LeakyReLU and GELU pass a derivative near $1$ for all positive inputs;
# sigmoid never passes more than $\tfrac14$, and both sigmoid and tanh are flat far from zero.

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt
    from tinytorch.core.setup import after_exercise

    grid = np.linspace(-4, 4, 401)
    fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(10, 3.8))
    for activation in [ReLU(), LeakyReLU(0.1), GELU(), Sigmoid(), Tanh()]:
        with after_exercise(f"{type(activation).__name__}.forward"):
            x = Variable(grid, requires_grad=True)
            y = activation(x)
            y.sum().backward()
            ax_f.plot(grid, y.data, label=repr(activation))
            ax_d.plot(grid, x.grad.data, label=repr(activation))
    ax_f.set_title("activation $f(x)$")
    ax_d.set_title("derivative $f'(x)$, from autograd")
    for ax in (ax_f, ax_d):
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_xlabel("$x$")
    ax_f.set_ylim(-1.5, 4)
    ax_d.legend(fontsize=8)
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## Why saturation matters: a gradient through many layers
#
# Backpropagation multiplies one activation derivative per layer. If each factor is at most $\tfrac14$
# (sigmoid), ten layers scale the gradient by at most $4^{-10} \approx 10^{-6}$. The cell below pushes a
# gradient back through a chain $x \mapsto f(f(\dots f(x)))$ of depth 1 to 20, starting at $x = 0.5$, and
# prints $|\partial\,\mathrm{out}/\partial x|$. (Module 05 adds the weights that make a real network; the
# right initialisation keeps ReLU's signal alive there too.)

# %%
if __name__ == "__main__":
    for activation in (Sigmoid(), Tanh(), ReLU()):
        sizes = []
        for depth in (1, 5, 10, 20):
            x = Variable(0.5, requires_grad=True)
            out = x
            for _ in range(depth):
                out = activation(out)
            out.backward()
            sizes.append(f"depth {depth:>2}: {abs(x.grad.data):.2e}")
        print(f"{repr(activation):<10}", " | ".join(sizes))

# %% [markdown]
# ## Softmax temperature
#
# Dividing the logits by a *temperature* $T$ before the softmax changes how peaked the distribution is:
# small $T$ approaches a one-hot vector at the largest logit (an "argmax"), large $T$ approaches the uniform
# distribution. Language models sample with a temperature; distillation trains a small model on a teacher's
# softened outputs.

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt
    from tinytorch.core.setup import after_exercise

    logits = np.array([2.0, 1.0, 0.5, -1.0])
    temperatures = [0.25, 1.0, 4.0]
    with after_exercise("Softmax.forward"):
        fig, axes = plt.subplots(
            1, len(temperatures), figsize=(10, 2.8), sharey=True
        )
        for ax, temperature in zip(axes, temperatures):
            probs = Softmax()(logits / temperature).data
            ax.bar(range(len(logits)), probs, color="tab:blue")
            ax.set_title(f"T = {temperature}")
            ax.set_xlabel("class")
        axes[0].set_ylabel("probability")
        plt.tight_layout()
        plt.show()

# %% [markdown]
# ## What you built
#
# - `ReLU`, `LeakyReLU`, `GELU`, `Sigmoid`, `Tanh` and `Softmax`, each a callable object with `forward` and
#   an empty `parameters()`, so it fits between the layers of Module 05.
# - Every derivative came from autograd; you only wrote the forward formulas.
# - A numerically stable softmax: subtract the maximum, an exact identity, and nothing overflows.
#
# Export and test: `tito export --module activations && tito test --module activations`.
