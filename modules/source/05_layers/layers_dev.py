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
# # Module 05: Layers
#
# A neural network is a function with many adjustable numbers, its *parameters*. A **layer** is one
# building block of that function: it owns some parameters and says how to compute its output from its
# input. In this module you build
#
# - `Module`, the base class of everything with parameters: it finds them for the optimizer, clears their
#   gradients, and makes the object callable;
# - `Dense`, the fully connected layer $y = xW + b$;
# - a sound **initialisation** of $W$, derived from a variance argument, so that a signal neither dies nor
#   explodes as it travels through twenty layers.

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
# tito module start layers          # your edition: exercises are stubs
# ```
#
# Then write the exercises, in order, in
# `modules/source/05_layers/layers_dev.py` (or in its paired notebook,
# `layers_dev.ipynb`, in Jupyter); the test cell after each exercise
# checks it. Export your code into `tinytorch` and test it:
#
# ```bash
# tito export --module layers && tito test --module layers
# tito module status                # where you are in every module
# ```
#
# `tito module reset layers` brings the reference solution back (it keeps
# your files as `.bak-<time>` copies).

# %%
#| bootstrap
# Makes `tinytorch` importable. Locally and on Binder it is installed already;
# the student notebooks that open on Colab install it here first.
import tinytorch

# %%
#| default_exp core.layers
#| export
import numpy as np

from tinytorch.core.autograd import Variable, as_variable

# %% [markdown]
# ## Modules: objects that own parameters
#
# An optimizer (Module 09) needs one thing from a model: the list of its trainable parameters. Writing that
# list by hand, `[layer1.weight, layer1.bias, layer2.weight, ...]`, is error-prone: forget one and it
# silently never trains. So every layer and every model derives from `Module`, whose `parameters()` *finds*
# them. It looks through the object's attributes, in the order they were assigned:
#
# - a `Variable` with `requires_grad=True` is a parameter;
# - any object with its own `parameters()` method (another `Module`, or an activation from Module 04)
#   contributes its parameters, so the search is recursive (a class stored as an attribute, such as
#   `ReLU` itself, is not an object with parameters: skip it);
# - a `list`, `tuple` or `dict` is searched item by item (a model often keeps its layers in a list).
#
# Each parameter is reported **once**, even when two layers share it (tied weights): an optimizer that saw
# it twice would update it twice.
#
# `Module` also makes the object callable, `layer(x)` runs `layer.forward(x)`, and gives `zero_grad()`,
# which clears the gradients that `backward()` accumulated.

# %% [markdown]
# ## Exercise 1: `Module.parameters` (3 points)
#
# Write `parameters()`. A helper `collect(value)` that appends what it finds and calls itself on the items of
# containers keeps it short. Keep a set of `id(...)`s of the parameters already found, so each one is added
# once. Go through `vars(self).values()`: the attributes in assignment order.


# %% nbgrader={"grade": false, "grade_id": "module-parameters", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Module:
    """Base class of layers and models: finds their parameters, clears
    gradients, `module(x)` -> forward(x)."""

    def forward(self, *inputs):
        raise NotImplementedError(
            f"{type(self).__name__} must define forward()"
        )

    def __call__(self, *inputs, **kwargs):
        return self.forward(*inputs, **kwargs)

    def parameters(self):
        """Every Variable with requires_grad in this module's attributes
        (recursively), in order, each once."""
        ### BEGIN SOLUTION
        found, seen = [], set()

        def collect(value):
            if isinstance(value, Variable):
                if value.requires_grad and id(value) not in seen:
                    seen.add(id(value))
                    found.append(value)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    collect(item)
            elif isinstance(value, dict):
                for item in value.values():
                    collect(item)
            elif not isinstance(value, type) and callable(
                getattr(value, "parameters", None)
            ):
                # a sub-Module or an activation (an instance, not a class such
                # as ReLU)
                for parameter in value.parameters():
                    collect(parameter)

        for value in vars(self).values():
            collect(value)
        return found
        ### END SOLUTION

    def zero_grad(self, set_to_none=True):
        """Clear the gradients that backward() accumulated (set them to None,
        or to zeros)."""
        for parameter in self.parameters():
            if set_to_none or parameter.grad is None:
                parameter.grad = None
            else:
                parameter.grad.data = np.zeros_like(parameter.grad.data)

    def __repr__(self):
        return f"{type(self).__name__}()"


# %% nbgrader={"grade": true, "grade_id": "test-module-parameters", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_unit_module_parameters():
    print("🔬 Unit Test: Module.parameters...")

    class Affine(Module):
        def __init__(self):
            self.scale = Variable([2.0], requires_grad=True)
            self.offset = Variable([0.5], requires_grad=True)
            self.constant = Variable([9.0])  # no gradient: not a parameter

    class Model(Module):
        def __init__(self):
            self.first = Affine()
            self.blocks = [Affine(), (Affine(),)]
            self.tied = self.first.scale  # the same Variable again

    one = Affine()
    assert [id(p) for p in one.parameters()] == [
        id(one.scale),
        id(one.offset),
    ], "expected [scale, offset]"
    print(
        "✅ finds Variables with requires_grad, in attribute order, skips "
        "constants"
    )
    model = Model()
    ids = [id(p) for p in model.parameters()]
    expected = [
        model.first.scale,
        model.first.offset,
        model.blocks[0].scale,
        model.blocks[0].offset,
        model.blocks[1][0].scale,
        model.blocks[1][0].offset,
    ]
    assert ids == [id(p) for p in expected], (
        "expected 6 parameters: sub-modules, then lists and tuples, in order"
    )
    print(
        "✅ recurses into sub-modules, lists and tuples; a shared parameter "
        "appears once"
    )

    ### BEGIN HIDDEN TESTS
    class WithDict(Module):
        def __init__(self):
            self.parts = {"a": Affine(), "b": None}
            self.note = "text"

    holder = WithDict()
    assert [id(p) for p in holder.parameters()] == [
        id(holder.parts["a"].scale),
        id(holder.parts["a"].offset),
    ]
    assert Module().parameters() == []
    ### END HIDDEN TESTS
    print("📈 Progress: Module.parameters ✓")


if __name__ == "__main__":
    test_unit_module_parameters()

# %% [markdown]
# ## The dense layer
#
# A dense (fully connected) layer maps $n_\text{in}$ input features to $n_\text{out}$ output features. For a
# batch of $N$ examples stacked as rows of $X \in \mathbb{R}^{N \times n_\text{in}}$,
#
# $$Y = XW + b, \qquad W \in \mathbb{R}^{n_\text{in} \times n_\text{out}},\quad b \in \mathbb{R}^{n_\text{out}},\quad Y \in \mathbb{R}^{N \times n_\text{out}} .$$
#
# Every output is a weighted sum of every input, $y_j = \sum_i x_i W_{ij} + b_j$: that is what "fully
# connected" means. The bias $b$ is added to every row (NumPy broadcasting), and autograd's `unbroadcast`
# sums its gradient over the batch. The layer has $n_\text{in} n_\text{out} + n_\text{out}$ parameters:
# `Dense(784, 128)` has $100{,}480$.
#
# We store $W$ with shape `(in, out)` so the forward pass reads like the formula, `x @ W + b`. (PyTorch
# stores the transpose and computes `x @ W.T + b`; the maths is the same.)

# %% [markdown]
# ## How to initialise $W$
#
# Training starts from the initial weights, and a bad start can make it impossible. Take a stack of dense
# layers with ReLU between them and look at one pre-activation $y_j = \sum_{i=1}^{n} x_i W_{ij}$ with
# $n = n_\text{in}$. Assume the weights are independent, with mean $0$ and variance $\mathrm{Var}(W)$, and
# independent of the inputs. Then
#
# $$\mathrm{Var}(y_j) = n\,\mathrm{Var}(W)\,\mathbb{E}[x_i^2] .$$
#
# The inputs are ReLU outputs of the previous layer's pre-activations $y'$, which are symmetric around $0$:
# half the time ReLU keeps $y'$, half the time it outputs $0$, so $\mathbb{E}[x_i^2] = \tfrac12\mathrm{Var}(y')$.
# Layer to layer,
#
# $$\mathrm{Var}(y) = \tfrac12\, n\,\mathrm{Var}(W)\;\mathrm{Var}(y') .$$
#
# Through $L$ layers the factor $\tfrac12 n \mathrm{Var}(W)$ is raised to the power $L$. Unless it is $1$
# the signal shrinks or grows *exponentially* with depth, and so do the gradients on the way back.
# Setting it to $1$ gives **He (Kaiming) initialisation** (He et al., 2015):
#
# $$\mathrm{Var}(W) = \frac{2}{n_\text{in}} .$$
#
# A uniform distribution on $[-a, a]$ has variance $a^2/3$, so $W \sim \mathcal{U}(-a, a)$ with
# $a = \sqrt{6/n_\text{in}}$. That is our default, because ReLU is the default activation.
#
# **Xavier (Glorot) initialisation** (Glorot and Bengio, 2010) was derived for activations that are linear
# near zero, such as tanh, where there is no factor $\tfrac12$. Asking for the same variance forwards
# ($n_\text{in}\mathrm{Var}(W) = 1$) and backwards ($n_\text{out}\mathrm{Var}(W) = 1$) and compromising gives
# $\mathrm{Var}(W) = 2/(n_\text{in} + n_\text{out})$, i.e. $a = \sqrt{6/(n_\text{in}+n_\text{out})}$. Use it
# with tanh or sigmoid: `Dense(..., init="xavier")`. In a ReLU network of equal widths it halves the variance
# at every layer.
#
# The bias starts at $0$: it adds no variance, and the random $W$ already makes the units differ.

# %% [markdown]
# ## Exercise 2: He initialisation (2 points)
#
# Write `he_uniform(fan_in, fan_out, rng)`: an array of shape `(fan_in, fan_out)` drawn from
# $\mathcal{U}(-a, a)$ with $a = \sqrt{6/\text{fan\_in}}$, using the NumPy generator `rng`
# (`rng.uniform(low, high, size=...)`). `xavier_uniform` below shows the pattern.


# %% nbgrader={"grade": false, "grade_id": "he-uniform", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def he_uniform(fan_in, fan_out, rng):
    """Weights for a ReLU layer: U(-a, a) with a = sqrt(6 / fan_in), so Var(W)
    = 2 / fan_in."""
    ### BEGIN SOLUTION
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))
    ### END SOLUTION


def xavier_uniform(fan_in, fan_out, rng):
    """Weights for a tanh/sigmoid layer: U(-a, a) with a = sqrt(6 / (fan_in +
    fan_out))."""
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


# %% nbgrader={"grade": true, "grade_id": "test-he-uniform", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_he_uniform():
    print("🔬 Unit Test: he_uniform...")
    weights = he_uniform(500, 400, np.random.default_rng(0))
    assert weights.shape == (500, 400), (
        f"shape should be (fan_in, fan_out), got {weights.shape}"
    )
    print("✅ shape (fan_in, fan_out)")
    bound = np.sqrt(6 / 500)
    assert (
        np.abs(weights).max() <= bound and np.abs(weights).max() > 0.99 * bound
    ), "values should fill [-a, a]"
    assert abs(weights.var() - 2 / 500) < 0.03 * (2 / 500), (
        f"variance {weights.var():.5f}, expected 2/fan_in = 0.004"
    )
    assert abs(weights.mean()) < 0.002
    print(
        "✅ uniform on [-√(6/fan_in), √(6/fan_in)]: mean 0, variance 2/fan_in"
    )
    ### BEGIN HIDDEN TESTS
    again = he_uniform(500, 400, np.random.default_rng(0))
    assert np.array_equal(weights, again), (
        "use the generator you are given (reproducibility)"
    )
    assert he_uniform(3, 7, np.random.default_rng(1)).shape == (3, 7)
    ### END HIDDEN TESTS
    print("📈 Progress: he_uniform ✓")


if __name__ == "__main__":
    test_unit_he_uniform()

# %% [markdown]
# ## Random numbers you can reproduce
#
# Two runs of the same notebook should give the same numbers. Every `Dense` draws its weights from a NumPy
# `Generator`: the one you pass as `rng` (a `Generator`, or an `int` seed for a fresh one), or else the
# module's default generator. `manual_seed(seed)` resets that default, like `torch.manual_seed`:
#
# ```python
# manual_seed(0); a = Dense(3, 2)
# manual_seed(0); b = Dense(3, 2)  # a.weight, b.weight: the same numbers
# ```

# %%
#| export
_default_rng = np.random.default_rng()

_INITIALISERS = {"he": he_uniform, "xavier": xavier_uniform}


def manual_seed(seed):
    """Reset the generator that layers use when no `rng` is given, so runs are
    reproducible."""
    global _default_rng
    _default_rng = np.random.default_rng(seed)


def as_generator(rng):
    """None -> the default generator; an int -> a new generator seeded with it;
    a Generator -> itself."""
    if rng is None:
        return _default_rng
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(rng)
    raise TypeError(
        "rng must be None, an int seed or a numpy.random.Generator, got "
        f"{type(rng).__name__}"
    )


def _positive_int(value, name):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)


# %% [markdown]
# ## Exercise 3: `Dense.forward` (2 points)
#
# The constructor below creates `self.weight` of shape `(in_features, out_features)` and `self.bias` of
# shape `(out_features,)` (or `None` when `bias=False`), both `Variable`s with `requires_grad=True`.
# It also turns the input into a `Variable` and checks its last dimension for you.
#
# Write the rest of `forward`: $Y = XW + b$, adding the bias only when there is one.


# %% nbgrader={"grade": false, "grade_id": "dense-forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Dense(Module):
    """Fully connected layer: y = x @ weight + bias, weight of shape
    (in_features, out_features).

    `rng` (None, an int seed or a numpy Generator) draws the initial weights;
    `init` is "he" (for ReLU networks, the default) or "xavier" (for
    tanh/sigmoid). The bias starts at zero.
    """

    def __init__(
        self,
        in_features,
        out_features,
        bias=True,
        dtype=np.float64,
        rng=None,
        init="he",
    ):
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise ValueError(
                "dtype must be a floating-point type such as np.float64, got "
                f"{dtype!r}"
            )
        if init not in _INITIALISERS:
            raise ValueError(
                f"init must be one of {sorted(_INITIALISERS)}, got {init!r}"
            )
        weights = _INITIALISERS[init](
            self.in_features, self.out_features, as_generator(rng)
        )
        self.weight = Variable(weights, requires_grad=True, dtype=dtype)
        self.bias = (
            Variable(
                np.zeros(self.out_features), requires_grad=True, dtype=dtype
            )
            if bias
            else None
        )

    def forward(self, x):
        x = as_variable(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Dense({self.in_features}, {self.out_features}) needs inputs "
                "whose last dimension "
                f"is {self.in_features}; got shape {x.shape}"
            )
        ### BEGIN SOLUTION
        out = x @ self.weight
        if self.bias is not None:
            out = out + self.bias
        return out
        ### END SOLUTION

    def __repr__(self):
        return (
            f"Dense(in_features={self.in_features}, "
            f"out_features={self.out_features}, "
            f"bias={self.bias is not None})"
        )


# %% nbgrader={"grade": true, "grade_id": "test-dense-forward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_dense_forward():
    print("🔬 Unit Test: Dense.forward...")
    layer = Dense(3, 2, rng=0, init="xavier")  # the weights are replaced below
    layer.weight.data = np.array([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0]])
    layer.bias.data = np.array([0.1, -0.2])
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    y = layer(x)
    assert isinstance(y, Variable) and y.shape == (2, 2), (
        "a batch of 2 gives a (2, 2) Variable"
    )
    assert np.allclose(y.data, [[2.1, 5.8], [0.1, -0.2]]), (
        f"x @ W + b wrong: {y.data}"
    )
    print("✅ y = x @ W + b, for a batch")
    y.sum().backward()
    assert np.allclose(
        layer.weight.grad.data, [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]
    )
    assert np.allclose(layer.bias.grad.data, [2.0, 2.0]), (
        "the bias gradient sums over the batch"
    )
    print("✅ gradients reach weight and bias")
    ### BEGIN HIDDEN TESTS
    no_bias = Dense(3, 2, bias=False, rng=0, init="xavier")
    no_bias.weight.data = layer.weight.data.copy()
    assert np.allclose(no_bias(x).data, [[2.0, 6.0], [0.0, 0.0]])
    assert np.allclose(layer(np.array([1.0, 2.0, 3.0])).data, [2.1, 5.8]), (
        "a single example of shape (3,)"
    )
    ### END HIDDEN TESTS
    print("📈 Progress: Dense.forward ✓")


if __name__ == "__main__":
    test_unit_dense_forward()


# %% nbgrader={"grade": true, "grade_id": "test-dense-layer", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
def test_unit_dense_layer():
    print("🔬 Unit Test: a Dense layer as a Module...")
    manual_seed(0)
    first = Dense(784, 128)
    manual_seed(0)
    second = Dense(784, 128)
    assert first.weight.shape == (784, 128) and first.bias.shape == (128,)
    assert np.array_equal(first.weight.data, second.weight.data), (
        "manual_seed makes layers reproducible"
    )
    assert np.array_equal(first.bias.data, np.zeros(128))
    print(
        "✅ shapes (in, out) and (out,); reproducible with manual_seed; zero "
        "bias"
    )
    params = first.parameters()
    assert (
        len(params) == 2
        and params[0] is first.weight
        and params[1] is first.bias
    )
    assert sum(p.size for p in params) == 784 * 128 + 128
    print("✅ parameters() = [weight, bias]: 100,480 numbers")
    first(np.ones((1, 784))).sum().backward()
    first.zero_grad()
    assert first.weight.grad is None and first.bias.grad is None
    print("✅ zero_grad() clears the gradients")
    print("📈 Progress: Dense ✓")


if __name__ == "__main__":
    test_unit_dense_layer()

# %% [markdown]
# ## Measuring the variance argument
#
# Theory said the signal's variance is multiplied by $\tfrac12 n\mathrm{Var}(W)$ per ReLU layer. The figure
# sends a batch of random inputs through 20 `Dense` + `ReLU` layers of width 256 and plots the mean square of
# the pre-activations at every layer, for four initialisations:
#
# - **He**: factor $1$, the signal keeps its scale;
# - **Xavier**: factor $\tfrac12$ here, so it halves at every layer ($2^{-20} \approx 10^{-6}$);
# - $\mathcal{N}(0, 0.01^2)$, a common "small random" choice: factor $\tfrac12 \cdot 256 \cdot 10^{-4}$, gone;
# - $\mathcal{N}(0, 1)$: factor $128$, it explodes.

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt
    from tinytorch.core.activations import ReLU
    from tinytorch.core.setup import after_exercise

    width, depth = 256, 20
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((512, width))
    choices = {
        "He: Var(W) = 2/n": lambda layer: None,
        "Xavier: Var(W) = 2/(n_in + n_out)": lambda layer: setattr(
            layer.weight, "data", xavier_uniform(width, width, rng)
        ),
        "N(0, 0.01²)": lambda layer: setattr(
            layer.weight, "data", rng.normal(0, 0.01, (width, width))
        ),
        "N(0, 1)": lambda layer: setattr(
            layer.weight, "data", rng.normal(0, 1.0, (width, width))
        ),
    }
    with after_exercise("he_uniform", "Dense.forward"):
        fig, ax = plt.subplots(figsize=(6.5, 4))
        for label, reinitialise in choices.items():
            signal, second_moments = inputs, []
            for _ in range(depth):
                layer = Dense(width, width, rng=rng)
                reinitialise(layer)
                pre_activation = layer(signal)
                second_moments.append(np.mean(pre_activation.data**2))
                signal = ReLU()(pre_activation)
            ax.semilogy(
                range(1, depth + 1),
                second_moments,
                marker="o",
                ms=3,
                label=label,
            )
        ax.set_xlabel("layer")
        ax.set_ylabel("mean square of pre-activations")
        ax.set_title("Signal through 20 ReLU layers of width 256")
        ax.legend(fontsize=8)
        plt.tight_layout()
        plt.show()

# %% [markdown]
# Only He initialisation keeps the signal at the scale it started with (about $2$ for standard-normal
# inputs: $n \cdot \tfrac{2}{n} \cdot 1$). The same factor governs the gradients flowing back, so it also
# decides whether the first layers of a deep network learn at all.

# %% [markdown]
# ## A tiny network by hand
#
# Layers and activations compose by calling one on the output of the other. A model that holds layers is a
# `Module` too, and `parameters()` finds everything inside it. Module 08 packages this pattern as
# `Sequential`.

# %%
if __name__ == "__main__":
    from tinytorch.core.activations import ReLU
    from tinytorch.core.setup import after_exercise

    class TwoLayerNet(Module):
        def __init__(self):
            self.hidden = Dense(4, 8, rng=0)
            self.activation = ReLU()
            self.output = Dense(8, 3, rng=1)

        def forward(self, x):
            return self.output(self.activation(self.hidden(x)))

    with after_exercise("Module.parameters", "Dense.forward"):
        net = TwoLayerNet()
        print(net(np.ones((2, 4))))
        print(
            [p.shape for p in net.parameters()],
            "->",
            sum(p.size for p in net.parameters()),
            "parameters",
        )

# %% [markdown]
# ## What you built
#
# - `Module`: `parameters()` finds every trainable `Variable` (recursively, in order, once), `zero_grad()`,
#   and `module(x)` calls `forward`.
# - `Dense(in_features, out_features, bias=True, dtype=np.float64, rng=None, init="he")`: $Y = XW + b$.
# - He initialisation from a variance argument, and a measurement that shows why it matters.
#
# Export and test: `tito export --module layers && tito test --module layers`.
