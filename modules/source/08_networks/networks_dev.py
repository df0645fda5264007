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
# # Module 08: Networks
#
# You have layers (Module 05), activations (Module 04) and losses (Module 06). A **network** chains them:
# the output of each layer is the input of the next. Most networks in this course are such chains, so one
# container covers them:
#
# ```python
# model = Sequential([Dense(784, 128), ReLU(), Dense(128, 10)])
# logits = model(images)              # (N, 784) -> (N, 10)
# model.parameters()                  # [W1, b1, W2, b2], ready for an optimizer
# ```
#
# In this module you build `Sequential`, a helper `MLP` that writes such chains for you, and then train a
# real network from scratch with a gradient-descent loop you write yourself: on a two-dimensional spiral that
# no straight line can separate.

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
# tito module start networks        # your edition: exercises are stubs
# ```
#
# Then write the exercises, in order, in
# `modules/source/08_networks/networks_dev.py` (or in its paired notebook,
# `networks_dev.ipynb`, in Jupyter); the test cell after each exercise
# checks it. Export your code into `tinytorch` and test it:
#
# ```bash
# tito export --module networks && tito test --module networks
# tito module status                # where you are in every module
# ```
#
# `tito module reset networks` brings the reference solution back (it keeps
# your files as `.bak-<time>` copies).

# %%
#| bootstrap
# Makes `tinytorch` importable. Locally and on Binder it is installed already;
# the student notebooks that open on Colab install it here first.
import tinytorch

# %%
#| default_exp core.networks
#| export
import numpy as np

from tinytorch.core.activations import ReLU, Sigmoid, Tanh
from tinytorch.core.layers import Dense, Module, as_generator

# %% [markdown]
# ## A network is a composition of functions
#
# A multi-layer perceptron with two hidden layers computes
#
# $$f(x) = W_3^\top\,\phi\bigl(W_2^\top\,\phi(W_1^\top x + b_1) + b_2\bigr) + b_3 = (f_5 \circ f_4 \circ f_3 \circ f_2 \circ f_1)(x),$$
#
# five functions applied one after the other: Dense, $\phi$, Dense, $\phi$, Dense. `Sequential` stores them
# in a list and applies them in order. Because it is a `Module` that keeps its layers in an attribute,
# `Module.parameters()` already finds their parameters, layer by layer, in the order of the list. An
# activation contributes nothing (its `parameters()` is empty), so the list for the model above is
# $[W_1, b_1, W_2, b_2]$.
#
# Backpropagation needs nothing new either: each layer's output is a `Variable` that remembers how it was
# made, so `loss.backward()` runs the chain rule back through the whole composition,
#
# $$\frac{\partial \mathcal{L}}{\partial x} = J_{f_1}^\top J_{f_2}^\top \cdots J_{f_5}^\top\, \frac{\partial \mathcal{L}}{\partial f} .$$

# %% [markdown]
# ## Exercise 1: `Sequential.forward` (2 points)
#
# Write `forward`: pass `x` through every layer in `self.layers`, in order, and return the result. The
# constructor (given) accepts a list, `Sequential([a, b, c])`, or the layers as arguments, `Sequential(a, b, c)`,
# and checks that each one can be called.


# %% nbgrader={"grade": false, "grade_id": "sequential-forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Sequential(Module):
    """Layers applied one after another: Sequential([Dense(4, 8), ReLU(),
    Dense(8, 2)])(x)."""

    def __init__(self, *layers):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = layers[0]
        for position, layer in enumerate(layers):
            if isinstance(layer, type):
                raise TypeError(
                    f"layers must be layer objects; item {position} is the "
                    f"class {layer.__name__}: "
                    f"write {layer.__name__}(...) to make one"
                )
            if not callable(layer):
                raise TypeError(
                    f"layers must be callables such as Dense(...) or ReLU(); "
                    f"item {position} is {type(layer).__name__}"
                )
        self.layers = list(layers)

    def forward(self, x):
        ### BEGIN SOLUTION
        for layer in self.layers:
            x = layer(x)
        return x
        ### END SOLUTION

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, index):
        """model[0] is the first layer; model[:2] is a Sequential of the first
        two (sharing their parameters)."""
        if isinstance(index, slice):
            return Sequential(self.layers[index])
        return self.layers[index]

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self):
        lines = [
            f"  ({position}): {layer!r}"
            for position, layer in enumerate(self.layers)
        ]
        return (
            "\n".join([f"{type(self).__name__}(", *lines, ")"])
            if lines
            else f"{type(self).__name__}()"
        )


# %% nbgrader={"grade": true, "grade_id": "test-sequential-forward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_sequential_forward():
    print("🔬 Unit Test: Sequential.forward...")
    first, second = Dense(3, 4, rng=0), Dense(4, 2, rng=1)
    model = Sequential([first, ReLU(), second])
    x = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 1.0]])
    expected = (
        np.maximum(x @ first.weight.data + first.bias.data, 0)
        @ second.weight.data
        + second.bias.data
    )
    out = model(x)
    assert out.shape == (2, 2) and np.allclose(out.data, expected), (
        f"expected Dense→ReLU→Dense, got {out.data}"
    )
    print("✅ layers run in order: Dense → ReLU → Dense")
    out.sum().backward()
    assert first.weight.grad is not None and second.bias.grad is not None
    print("✅ gradients reach every layer")
    ### BEGIN HIDDEN TESTS
    doubled = Sequential(lambda v: v * 2, lambda v: v + 1)(np.array([3.0]))
    assert np.allclose(np.asarray(getattr(doubled, "data", doubled)), [7.0]), (
        "apply layers first to last"
    )
    ### END HIDDEN TESTS
    print("📈 Progress: Sequential ✓")


if __name__ == "__main__":
    test_unit_sequential_forward()


# %% nbgrader={"grade": false, "grade_id": "test-sequential-container", "locked": true, "schema_version": 3, "solution": false, "task": false}
def test_unit_sequential_container():
    print("🔬 Unit Test: Sequential as a container...")
    model = Sequential([Dense(784, 128), ReLU(), Dense(128, 10)])
    shapes = [p.shape for p in model.parameters()]
    assert shapes == [(784, 128), (128,), (128, 10), (10,)], (
        f"parameters in layer order, got {shapes}"
    )
    assert sum(p.size for p in model.parameters()) == 101_770
    print("✅ parameters(): [W1, b1, W2, b2], 101,770 numbers")
    assert (
        len(model) == 3
        and isinstance(model[1], ReLU)
        and model[0].out_features == 128
    )
    assert len(model[:2]) == 2 and model[:2][0] is model[0]
    print("✅ len(), indexing and slicing")
    assert "(1): ReLU()" in repr(model)
    print(model)


if __name__ == "__main__":
    test_unit_sequential_container()

# %% [markdown]
# ## `MLP`: the common case in one line
#
# Writing `Dense, ReLU, Dense, ReLU, Dense` by hand is repetitive. `MLP([2, 32, 32, 3])` builds a
# multi-layer perceptron from its widths: one `Dense` between each pair of neighbouring sizes, an activation
# after every `Dense` except the last. The last layer stays linear: it produces logits for
# `CrossEntropyLoss` (or raw numbers for `MSELoss`), whose range an activation would restrict.
#
# The initialisation follows Module 05: He for ReLU-like activations, Xavier for `Tanh` and `Sigmoid`.
# One generator draws all the layers, so `MLP(sizes, rng=0)` is reproducible and its layers still differ.

# %% [markdown]
# ## Exercise 2: the layers of an MLP (2 points)
#
# Write `mlp_layers(sizes, make_activation, init, rng)`. It returns the list
# `[Dense(sizes[0], sizes[1], ...), make_activation(), Dense(sizes[1], sizes[2], ...), ..., Dense(sizes[-2], sizes[-1], ...)]`,
# passing `rng=rng, init=init` to every `Dense`, with no activation after the last one.
# `zip(sizes[:-1], sizes[1:])` gives the pairs of neighbouring widths.


# %% nbgrader={"grade": false, "grade_id": "mlp-layers", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def mlp_layers(sizes, make_activation, init, rng):
    """[Dense, activation, Dense, activation, ..., Dense] for the widths in
    `sizes`."""
    ### BEGIN SOLUTION
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [
            Dense(fan_in, fan_out, rng=rng, init=init),
            make_activation(),
        ]
    return layers[:-1]  # the output layer stays linear
    ### END SOLUTION


class MLP(Sequential):
    """A multi-layer perceptron: MLP([2, 32, 32, 3]) = Dense(2, 32), ReLU,
    Dense(32, 32), ReLU, Dense(32, 3).

    `activation` is an activation class (called once per hidden layer) or an
    instance (shared). `init` is "he" or "xavier"; by default Xavier for
    Tanh/Sigmoid and He otherwise. `rng`: None, a seed or a Generator.
    """

    def __init__(self, sizes, activation=ReLU, rng=None, init=None):
        sizes = list(sizes)
        if len(sizes) < 2 or not all(
            isinstance(n, (int, np.integer))
            and not isinstance(n, bool)
            and n >= 1
            for n in sizes
        ):
            raise ValueError(
                "sizes must list at least two positive ints (input and "
                f"output widths), got {sizes!r}"
            )
        make_activation = (
            activation
            if isinstance(activation, type)
            else (lambda: activation)
        )
        if init is None:
            smooth = activation in (Tanh, Sigmoid) or isinstance(
                activation, (Tanh, Sigmoid)
            )
            init = "xavier" if smooth else "he"
        super().__init__(
            mlp_layers(sizes, make_activation, init, as_generator(rng))
        )
        self.sizes = sizes


# %% nbgrader={"grade": true, "grade_id": "test-mlp-layers", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_mlp_layers():
    print("🔬 Unit Test: mlp_layers and MLP...")
    layers = mlp_layers([2, 5, 4, 3], ReLU, "he", np.random.default_rng(0))
    kinds = [type(layer).__name__ for layer in layers]
    assert kinds == ["Dense", "ReLU", "Dense", "ReLU", "Dense"], f"got {kinds}"
    assert [(d.in_features, d.out_features) for d in layers[::2]] == [
        (2, 5),
        (5, 4),
        (4, 3),
    ]
    print(
        "✅ Dense between neighbouring widths, activation between, linear "
        "output"
    )
    model = MLP([2, 5, 4, 3], rng=0)
    assert len(model.parameters()) == 6 and model(np.zeros((7, 2))).shape == (
        7,
        3,
    )
    print("✅ MLP([2, 5, 4, 3]) maps (7, 2) to (7, 3) with 6 parameter arrays")
    ### BEGIN HIDDEN TESTS
    single = mlp_layers([3, 1], Tanh, "xavier", np.random.default_rng(1))
    assert (
        len(single) == 1
        and single[0].in_features == 3
        and single[0].out_features == 1
    )
    assert np.array_equal(
        MLP([2, 3, 1], rng=5)[0].weight.data,
        MLP([2, 3, 1], rng=5)[0].weight.data,
    )
    assert isinstance(MLP([2, 3, 1], activation=Tanh)[1], Tanh)
    ### END HIDDEN TESTS
    print("📈 Progress: MLP ✓")


if __name__ == "__main__":
    test_unit_mlp_layers()

# %% [markdown]
# ## A problem no straight line can solve
#
# Three interleaved spiral arms in the plane, one class per arm. Each point is $(r\sin t, r\cos t)$ with the
# radius $r$ growing from $0$ to $1$ along the arm and the angle $t$ turning by four radians, plus a little
# noise. A linear classifier (a single `Dense(2, 3)`) can only cut the plane into three wedges; the arms wind
# through all of them.


# %%
def make_spiral(points_per_class=100, classes=3, noise=0.2, seed=0):
    """(inputs, labels): `classes` spiral arms in 2-D, points_per_class points
    each."""
    rng = np.random.default_rng(seed)
    inputs, labels = [], []
    for label in range(classes):
        radius = np.linspace(0.0, 1.0, points_per_class)
        angle = np.linspace(
            4.0 * label, 4.0 * (label + 1), points_per_class
        ) + noise * rng.standard_normal(points_per_class)
        inputs.append(
            np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
        )
        labels.append(np.full(points_per_class, label))
    return np.concatenate(inputs), np.concatenate(labels)


if __name__ == "__main__":
    import matplotlib.pyplot as plt

    spiral_inputs, spiral_labels = make_spiral()
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.scatter(
        spiral_inputs[:, 0],
        spiral_inputs[:, 1],
        c=spiral_labels,
        cmap="brg",
        s=12,
    )
    ax.set_aspect("equal")
    ax.set_title("Three spiral arms, 300 points")
    plt.show()

# %% [markdown]
# ## Training by gradient descent
#
# Training minimises the average loss over the data set by moving every parameter $\theta$ against its
# gradient:
#
# $$\theta \leftarrow \theta - \eta\, \frac{\partial \mathcal{L}}{\partial \theta} .$$
#
# One step has four parts:
#
# 1. **Clear** the old gradients (`backward()` *adds* into `.grad`): `model.zero_grad()`.
# 2. **Forward**: `loss = loss_fn(model(inputs), targets)`.
# 3. **Backward**: `loss.backward()` fills `p.grad` for every parameter `p`.
# 4. **Update**: `p.data = p.data - learning_rate * p.grad.data` for every parameter. This changes the
#    NumPy arrays directly, outside the graph.
#
# Module 09 wraps step 4 into optimizer classes (and makes it much better); here you write it plainly.

# %% [markdown]
# ## Exercise 3: one training step (3 points)
#
# Write `train_step(model, loss_fn, inputs, targets, learning_rate)`: the four parts above. Return the loss
# as a Python `float` (`float(loss.data)`), the value *before* the update.


# %% nbgrader={"grade": false, "grade_id": "train-step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_step(model, loss_fn, inputs, targets, learning_rate):
    """One step of full-batch gradient descent on `model`; returns the loss
    before the update."""
    ### BEGIN SOLUTION
    model.zero_grad()
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    for parameter in model.parameters():
        parameter.data = parameter.data - learning_rate * parameter.grad.data
    return float(loss.data)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-train-step", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_unit_train_step():
    print("🔬 Unit Test: train_step...")
    from tinytorch.core.losses import MSELoss

    model = Sequential([Dense(1, 1, rng=0)])
    model[0].weight.data = np.array([[0.0]])
    x, y = np.array([[1.0], [2.0]]), np.array([[2.0], [4.0]])  # y = 2x
    # loss(w, b) = mean((w x + b - y)^2); at w = b = 0: dL/dw = -2 mean(x y) =
    # -10, dL/db = -2 mean(y) = -6
    loss = train_step(model, MSELoss(), x, y, learning_rate=0.1)
    assert isinstance(loss, float) and np.isclose(loss, 10.0), (
        f"loss before the update should be 10, got {loss}"
    )
    assert np.allclose(model[0].weight.data, [[1.0]]) and np.allclose(
        model[0].bias.data, [0.6]
    ), (
        "after one step expected w = 1.0, b = 0.6; got "
        f"{model[0].weight.data}, {model[0].bias.data}"
    )
    print("✅ one step: θ ← θ − η ∇L, loss reported before the update")
    second = train_step(model, MSELoss(), x, y, learning_rate=0.1)
    # at w = 1, b = 0.6: errors (-0.4, -1.4): loss = (0.16 + 1.96) / 2
    assert np.isclose(second, 1.06), (
        "second loss should be 1.06 (gradients cleared between steps), got "
        f"{second}"
    )
    print("✅ gradients are cleared between steps")
    ### BEGIN HIDDEN TESTS
    for _ in range(300):
        last = train_step(model, MSELoss(), x, y, learning_rate=0.1)
    assert last < 1e-4 and np.allclose(
        model[0].weight.data, [[2.0]], atol=0.05
    )
    ### END HIDDEN TESTS
    print("📈 Progress: train_step ✓")


if __name__ == "__main__":
    test_unit_train_step()

# %% [markdown]
# ## Train a network on the spiral
#
# `MLP([2, 64, 64, 3])` has $2\cdot64 + 64 + 64\cdot64 + 64 + 64\cdot3 + 3 = 4{,}547$ parameters. We train
# it with full-batch gradient descent on the cross-entropy loss for 2,000 steps at learning rate $\eta = 0.3$,
# found by trying a few values (at $0.5$ the loss starts to jump up and down late in training; at $0.05$ it
# ends almost three times higher). As a baseline, a linear model `Sequential([Dense(2, 3)])` gets the same treatment.


# %%
def accuracy(model, inputs, labels):
    """The fraction of examples whose largest logit is the true class."""
    from tinytorch.core.autograd import no_grad

    with no_grad():
        return float(np.mean(model(inputs).data.argmax(axis=1) == labels))


if __name__ == "__main__":
    from tinytorch.core.losses import CrossEntropyLoss
    from tinytorch.core.setup import after_exercise

    spiral_inputs, spiral_labels = make_spiral()
    models, histories = {}, {}
    with after_exercise("Sequential.forward", "mlp_layers", "train_step"):
        models = {
            "linear": Sequential([Dense(2, 3, rng=0)]),
            "MLP [2, 64, 64, 3]": MLP([2, 64, 64, 3], rng=0),
        }
        for name, model in models.items():
            histories[name] = [
                train_step(
                    model,
                    CrossEntropyLoss(),
                    spiral_inputs,
                    spiral_labels,
                    learning_rate=0.3,
                )
                for _ in range(2000)
            ]
            print(
                f"{name:<20} loss {histories[name][-1]:.3f}   accuracy "
                f"{accuracy(model, spiral_inputs, spiral_labels):.1%}"
            )

# %% [markdown]
# ## What the network learned
#
# The left panel shows the loss over training. The right panels colour every point of the plane by the
# class the model predicts there: its **decision regions**. The linear model can only draw three wedges;
# the MLP bends its boundaries to follow the arms.

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt
    from tinytorch.core.autograd import no_grad

    if histories and len(histories) == len(models):
        grid_x, grid_y = np.meshgrid(
            np.linspace(-1.2, 1.2, 200), np.linspace(-1.2, 1.2, 200)
        )
        grid = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)
        fig, axes = plt.subplots(1, 3, figsize=(13, 4))
        for name, history in histories.items():
            axes[0].semilogy(history, label=name)
        axes[0].set_xlabel("gradient-descent step")
        axes[0].set_ylabel("cross-entropy loss")
        axes[0].legend()
        for ax, (name, model) in zip(axes[1:], models.items()):
            with no_grad():
                regions = model(grid).data.argmax(axis=1).reshape(grid_x.shape)
            ax.contourf(
                grid_x,
                grid_y,
                regions,
                levels=[-0.5, 0.5, 1.5, 2.5],
                cmap="brg",
                alpha=0.25,
            )
            ax.scatter(
                spiral_inputs[:, 0],
                spiral_inputs[:, 1],
                c=spiral_labels,
                cmap="brg",
                s=10,
            )
            ax.set_title(
                f"{name}: {accuracy(model, spiral_inputs, spiral_labels):.0%} "
                "correct"
            )
            ax.set_aspect("equal")
        plt.tight_layout()
        plt.show()
    else:
        print(
            "⏳ The figure needs the trained models: finish the exercises "
            "above, then run the training cell."
        )

# %% [markdown]
# ## What you built
#
# - `Sequential([...])`: a chain of layers that is itself a `Module`, with `len`, indexing and a readable
#   `repr`; `parameters()` lists every layer's parameters in order.
# - `MLP(sizes, activation=ReLU)`: the standard fully connected network in one line.
# - A training loop from first principles: clear, forward, backward, update.
#
# Plain gradient descent needed thousands of steps and a hand-picked learning rate. Module 09 builds the
# optimizers (momentum, Adam, schedules) that make training faster and far less fussy.
#
# Export and test: `tito export --module networks && tito test --module networks`.
