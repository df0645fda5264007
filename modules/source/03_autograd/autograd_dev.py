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
# # Module 03: Autograd
#
# ⭐⭐⭐ | ⏱️ 1.5–2 hours | Prerequisites: Module 02 (tensor), derivatives from school | Next: Module 04 (activations)
#
# Training a network means nudging every weight a little in the direction that lowers the loss. That
# direction is the **gradient**: the derivative of the loss with respect to each weight. A network has
# thousands or millions of weights, so nobody writes those derivatives by hand. **Automatic differentiation**
# (autograd) computes all of them, exactly, in one backward sweep through the computation.
#
# This module builds `Variable`: a `Tensor` that remembers how it was computed. When you call
# `loss.backward()`, it runs the chain rule from the loss back to every weight:
#
# ```python
# x = Variable(10.0, requires_grad=True)
# loss = x ** 2
# loss.backward()
# x.grad          # Tensor(20.): d(x²)/dx = 2x at x = 10
# ```
#
# By the end of this module you will be able to:
#
# - check any derivative numerically with **central differences**, and know how accurate that check is;
# - apply the **chain rule** on a **computation graph**, and explain why gradients of a node's uses add up;
# - run **reverse mode** autodiff: visit the graph in **topological order**, iteratively, so deep graphs work;
# - send gradients back through **broadcasting** (`unbroadcast`), **accumulate** them, and switch the graph
#   off with **`no_grad()`**.
#
# You write three exercises: `topological_order`, the backward rules of `*` and `**`, and `unbroadcast`.

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
# tito module start autograd        # your edition: exercises are stubs
# ```
#
# Then write the exercises, in order, in
# `modules/source/03_autograd/autograd_dev.py` (or in its paired notebook,
# `autograd_dev.ipynb`, in Jupyter); the test cell after each exercise
# checks it. Export your code into `tinytorch` and test it:
#
# ```bash
# tito export --module autograd && tito test --module autograd
# tito module status                # where you are in every module
# ```
#
# `tito module reset autograd` brings the reference solution back (it keeps
# your files as `.bak-<time>` copies).

# %%
#| bootstrap
# Makes `tinytorch` importable. Locally and on Binder it is installed already;
# the student notebooks that open on Colab install it here first.
import tinytorch

# %%
#| default_exp core.autograd
#| export
import contextlib

import numpy as np

from tinytorch.core.tensor import Tensor

# %%
from tinytorch.core.setup import after_exercise

# %% [markdown]
# ## 1. Derivatives, and how to check them
#
# The derivative of a function $f$ at $x$ is the slope of $f$ there:
#
# $$f'(x) = \lim_{h \to 0} \frac{f(x + h) - f(x)}{h}.$$
#
# A computer cannot take the limit, but it can pick a small $h$. Taylor's theorem says how good that is. The
# **forward difference** is off by a term proportional to $h$; the **central difference**, which steps to
# both sides, cancels that term and is off by only $h^2$:
#
# $$\frac{f(x + h) - f(x)}{h} = f'(x) + \frac{h}{2} f''(x) + O(h^2), \qquad
# \frac{f(x + h) - f(x - h)}{2h} = f'(x) + \frac{h^2}{6} f'''(x) + O(h^4).$$
#
# So smaller $h$ is better? Only up to a point. Every float carries a relative rounding error of about
# $\varepsilon \approx 10^{-16}$ (in `float64`), and dividing by a tiny $h$ blows it up: the rounding part of
# the error is about $\varepsilon |f(x)| / h$. The two errors balance near $h \approx 10^{-8}$ for the forward
# difference, which is then good to about 8 digits, and near $h \approx 10^{-6}$ to $10^{-5}$ for the central
# one, good to about 10 digits or better. The figure measures this for $f = \sin$ at $x = 1$.
#
# Finite differences need two evaluations of $f$ *per input number*: far too slow to train with, but simple
# enough to trust. That makes them the perfect **check** for autograd, and this module uses them everywhere.

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt

    x0, exact = 1.0, np.cos(1.0)
    steps = np.logspace(-13, -1, 61)
    forward_error = np.abs((np.sin(x0 + steps) - np.sin(x0)) / steps - exact)
    central_error = np.abs(
        (np.sin(x0 + steps) - np.sin(x0 - steps)) / (2 * steps) - exact
    )

    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.loglog(
        steps,
        np.maximum(forward_error, 1e-17),
        "o-",
        ms=3,
        label="forward difference",
    )
    ax.loglog(
        steps,
        np.maximum(central_error, 1e-17),
        "s-",
        ms=3,
        label="central difference",
    )
    ax.loglog(
        steps,
        steps / 2 * np.sin(x0),
        "k:",
        lw=1,
        label=r"$\frac{h}{2}|f''|$ (truncation)",
    )
    ax.loglog(
        steps,
        steps**2 / 6 * np.cos(x0),
        "k--",
        lw=1,
        label=r"$\frac{h^2}{6}|f'''|$ (truncation)",
    )
    ax.set_ylim(1e-13, 1)
    ax.set_xlabel("step $h$")
    ax.set_ylabel("error in $f'(1)$ for $f = \\sin$")
    ax.set_title("Too large a step: truncation. Too small: rounding.")
    ax.legend(fontsize=9)
    plt.show()

# %% [markdown]
# Here is the check we will use, written out so you can read every line. It works for a function of a whole
# array that returns one number: it nudges one entry at a time.


# %%
def central_difference(f, x, h=1e-6):
    """The gradient of a number-valued function `f` at the array `x`, by
    central differences.

    Entry i of the result is (f(x + h·e_i) - f(x - h·e_i)) / 2h, where e_i is 1
    at entry i and 0 elsewhere.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


# %%
if __name__ == "__main__":
    # f(x) = x0² + 3·x0·x1 has gradient (2·x0 + 3·x1, 3·x0)
    point = np.array([1.0, 2.0])
    print(
        "central differences:",
        central_difference(lambda v: v[0] ** 2 + 3 * v[0] * v[1], point),
    )
    print("by hand:            ", np.array([2 * 1.0 + 3 * 2.0, 3 * 1.0]))

# %% [markdown]
# ## 2. The chain rule and computation graphs
#
# A network is built from simple operations, one feeding the next. Take one neuron with a squared error:
#
# $$z = w x + b, \qquad y = \tanh(z), \qquad L = (y - t)^2.$$
#
# The **chain rule** says how a change in $w$ reaches $L$: through $z$, then $y$. Multiply the local
# derivatives along the way:
#
# $$\frac{\partial L}{\partial w} = \frac{\partial L}{\partial y}\,\frac{\partial y}{\partial z}\,
# \frac{\partial z}{\partial w} = 2(y - t)\cdot\bigl(1 - \tanh^2 z\bigr)\cdot x.$$
#
# Draw every operation as a node with arrows from its inputs and you get a **computation graph**. Each node
# only needs to know its *own* local derivatives: $\partial z/\partial w = x$ for the multiplication,
# $1 - \tanh^2 z$ for tanh. The chain rule glues them together.
#
# One more rule. When a value is used **more than once**, its changes reach $L$ along several paths, and the
# contributions **add up**. Writing $\bar v = \partial L / \partial v$ (the *gradient of the loss at node
# $v$*):
#
# $$\bar v = \sum_{c\ \text{uses}\ v} \bar c\, \frac{\partial c}{\partial v}.$$
#
# For example, with $c = v \cdot v$ the two uses give $\bar v = \bar c\,v + \bar c\,v = 2v\,\bar c$, as it should.

# %% [markdown]
# ## 3. Reverse mode: one backward sweep
#
# The formula for $\bar v$ gives an algorithm, **reverse mode** automatic differentiation (backpropagation):
#
# 1. **Forward pass.** Compute the loss, and let every result remember its inputs (its *parents*) and how to
#    send a gradient back to them.
# 2. **Backward pass.** Start with $\bar L = \partial L / \partial L = 1$. Visit the nodes from the loss back
#    towards the inputs. At each node $c$, send $\bar c\, \partial c / \partial p$ to each parent $p$, where it
#    is added to whatever $p$ received before.
#
# A node may only send once its own $\bar c$ is complete, that is, once every node that uses it has sent.
# So the nodes must be visited in the reverse of a **topological order**: an order in which every node comes
# *after all of its parents*. For our neuron, one such order is $w, x, wx, b, z, y, t, y - t, L$.
#
# One backward pass costs about as much as the forward pass (each node does a little local work), and it gives
# the gradient with respect to *every* input at once: that is why training networks with millions of weights
# works at all.
#
# ### Exercise 1: topological order (3 points)
#
# The usual way to find a topological order is a depth-first search: before you write down a node, write
# down all of its parents. As a recursive function:
#
# ```python
# def visit(node):
#     if node not in visited:
#         visited.add(node)
#         for parent in node._parents:
#             visit(parent)
#         order.append(node)          # after all of its parents
# ```
#
# That is correct, but Python allows only about 1,000 nested calls: a graph 20,000 operations deep (a long
# loop, a recurrent network) raises `RecursionError`. Write it **without recursion**, with your own stack.
# One way: push pairs `(node, parents_done)`. Popping `(node, False)` for a node you have not visited yet,
# mark it visited, push `(node, True)` and then `(parent, False)` for each parent. Popping `(node, True)`
# means all of its parents are in the order already, so append the node.
#
# `topological_order(root)` returns a list of every node `root` depends on, `root` included (it comes last),
# each exactly once. A node is any object with a tuple `_parents`. Keep track of visited nodes with
# `id(node)`: a number that is unique to each object while it exists.


# %% nbgrader={"grade": false, "grade_id": "topological-order", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def topological_order(root):
    """Every node that `root` depends on, `root` included, each once and each
    after all of its parents.

    A node is anything with a tuple `_parents`, such as a Variable. Iterative,
    so graphs of any depth work.
    """
    ### BEGIN SOLUTION
    order, visited = [], set()
    stack = [(root, False)]  # (node, are its parents in `order` already?)
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append(
            (node, True)
        )  # come back to this node once its parents are done
        stack.extend(
            (parent, False)
            for parent in node._parents
            if id(parent) not in visited
        )
    return order
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-topological-order", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_unit_topological_order():
    print("🔬 Unit Test: topological_order...")

    class Node:  # all that topological_order may look at: a tuple of parents
        def __init__(self, *parents):
            self._parents = parents

    def check(order, root):
        position = {id(node): k for k, node in enumerate(order)}
        assert len(position) == len(order), (
            "each node must appear exactly once"
        )
        assert order[-1] is root, (
            "the root depends on everything else, so it comes last"
        )
        for node in order:
            for parent in node._parents:
                assert id(parent) in position, (
                    "every node the root depends on must be in the order"
                )
                assert position[id(parent)] < position[id(node)], (
                    "a node must come after its parents"
                )

    w, x, b = Node(), Node(), Node()
    wx = Node(w, x)
    z = Node(wx, b)
    out = Node(z, Node(z, wx))  # z and wx are each used twice
    order = topological_order(out)
    check(order, out)
    assert len(order) == 7, f"expected 7 nodes, got {len(order)}"
    print("✅ Every node once, each after its parents")
    chain = Node()
    for _ in range(20_000):
        chain = Node(chain)
    check(topological_order(chain), chain)
    print("✅ A chain of 20,000 nodes: no RecursionError")
    ### BEGIN HIDDEN TESTS
    single = Node()
    assert topological_order(single) == [single], (
        "a leaf alone is its own order"
    )
    twice = Node(single, single)
    assert len(topological_order(twice)) == 2, (
        "a parent used twice by one node still appears once"
    )
    rng = np.random.default_rng(5)
    nodes = [Node() for _ in range(5)]
    for _ in range(300):
        picks = rng.integers(0, len(nodes), size=rng.integers(1, 4))
        nodes.append(Node(*(nodes[k] for k in picks)))
    root = nodes[-1]
    reachable, todo = {id(root)}, [root]
    while todo:
        for parent in todo.pop()._parents:
            if id(parent) not in reachable:
                reachable.add(id(parent))
                todo.append(parent)
    order = topological_order(root)
    check(order, root)
    assert {id(node) for node in order} == reachable, (
        "exactly the nodes the root depends on"
    )
    ### END HIDDEN TESTS
    print("📈 Progress: topological_order ✓")


if __name__ == "__main__":
    test_unit_topological_order()

# %% [markdown]
# ## 4. `Variable`: a tensor that remembers
#
# A `Variable` is a `Tensor` with three more attributes:
#
# - `requires_grad`: whether we want $\partial L / \partial$ this. True for weights, False for data.
# - `_parents`: the Variables it was computed from (empty for a *leaf*, a Variable you created yourself).
# - `_backward`: a function that receives $g = \bar{\text{out}}$, the gradient of the loss with respect to
#   this result, and returns one gradient per parent: $g \cdot \partial\,\text{out} / \partial\,\text{parent}$.
#
# Each operation computes its value with NumPy and hands `Variable._result` the value, the parents and a
# `backward` function. The result joins the graph only when some parent requires a gradient, so
# computations on plain data cost nothing extra. Numbers, arrays and tensors mixed into an operation
# become constant Variables.
#
# The backward rules are the derivatives you know, applied entry by entry and multiplied by $g$:
#
# | operation | backward: gradient to each input, given $g$ |
# | --- | --- |
# | $a + b$ | $g$, $\; g$ |
# | $a - b$ | $g$, $\; -g$ |
# | $a \cdot b$ | $g\,b$, $\; g\,a$ |
# | $a / b$ | $g / b$, $\; -g\,a / b^2$ |
# | $a^p$ | $g\,p\,a^{p-1}$, $\; g\,a^p \ln a$ |
# | $-a$ | $-g$ |
# | $A B$ (matrix product) | $G B^\top$, $\; A^\top G$ |
# | `a[index]` | $g$ placed at the picked entries, 0 elsewhere (an entry picked twice gets both) |
# | `a.sum(axis)` | $g$ copied back along the summed axes |
# | `reshape`, `transpose` | $g$ reshaped or transposed back |
# | $e^a$, $\ln a$ | $g\,e^a$, $\; g / a$ |
# | $\max(a, 0)$, $\sigma(a)$, $\tanh a$ | $g\,[a > 0]$, $\; g\,\sigma(1 - \sigma)$, $\; g\,(1 - \tanh^2 a)$ |
#
# Each `backward` may return its gradients in the *result's* shape: when the forward pass broadcast an input,
# `backward()` sums the gradient back down to that input's shape (section 5).
#
# ### Exercise 2: the backward rules of `*` and `**` (5 points)
#
# In the class below, two backward rules are left for you. Each is one or two lines.
#
# - In `__mul__`, `backward(g)` returns the pair (gradient for `self`, gradient for `other`). Use
#   `self.data` and `other.data`.
# - In `__pow__`, `backward(g)` returns (gradient for the base `self`, gradient for the `exponent`). The
#   exponent is usually a fixed number (`x ** 2`); then return `None` as its gradient. Only when
#   `exponent.requires_grad` compute $g\, a^p \ln a$ (`out` already holds $a^p$). Wrap that in
#   `with np.errstate(divide="ignore", invalid="ignore"):` so that a base $\le 0$ gives `inf`/`nan`
#   quietly instead of a warning, as in PyTorch.
#
# Read the other operations first: `__truediv__` is a good model.

# %% nbgrader={"grade": false, "grade_id": "variable-class", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
# False inside `with no_grad():` (section 7): operations then record no graph
_grad_enabled = True


class Variable(Tensor):
    """A tensor that remembers how it was computed, so that gradients can flow
    back through it.

    `Variable(data, requires_grad=True)` makes a leaf you want gradients for (a
    weight); without `requires_grad` it is a constant (data). Every operation
    returns a new Variable that keeps its inputs (`_parents`) and a function
    (`_backward`) from the gradient of the result to one gradient per input.
    `loss.backward()` runs these from the loss back to the leaves and adds each
    leaf's gradient into its `.grad`: a Tensor of the leaf's shape and dtype.
    """

    def __init__(self, data, requires_grad=False, dtype=None):
        super().__init__(data, dtype=dtype)
        if requires_grad and not np.issubdtype(self.data.dtype, np.inexact):
            self.data = self.data.astype(
                np.float64
            )  # gradients need real numbers: [1, 2] -> [1.0, 2.0]
        self.requires_grad = requires_grad
        self.grad = None  # a Tensor, once backward() has reached this Variable
        # the Variables this one was computed from (none for a leaf)
        self._parents = ()
        self._backward = (
            None  # gradient of this result -> one gradient per parent
        )

    @staticmethod
    def _result(data, parents, backward):
        """The output of an operation. It joins the graph only when some parent
        needs a gradient."""
        out = Variable.__new__(Variable)
        out.data = np.asarray(data)
        out.grad = None
        out.requires_grad = _grad_enabled and any(
            parent.requires_grad for parent in parents
        )
        out._parents = parents if out.requires_grad else ()
        out._backward = backward if out.requires_grad else None
        return out

    def _lift(self, other):
        """`other` as a Variable: itself if it is one, else a constant.

        A plain number takes the dtype NumPy would give it next to our data, so
        `w * 0.5` stays float32 for a float32 `w`, as in NumPy.
        """
        if isinstance(other, Variable):
            return other
        if isinstance(other, (int, float, complex, np.generic)):
            return Variable(other, dtype=np.result_type(self.data, other))
        return as_variable(other)

    def __repr__(self):
        flag = ", requires_grad=True" if self.requires_grad else ""
        numbers = np.array2string(
            self.data, precision=4, separator=", ", prefix="Variable("
        )
        return f"Variable({numbers}{flag})"

    # --- arithmetic ----------------------------------------------------------
    # backward(g) receives g = dL/d(result) and returns, per input,
    # dL/d(input) = g * d(result)/d(input).

    def __add__(self, other):  # d(a + b)/da = 1,  d(a + b)/db = 1
        other = self._lift(other)
        return Variable._result(
            self.data + other.data, (self, other), lambda g: (g, g)
        )

    def __sub__(self, other):  # d(a - b)/da = 1,  d(a - b)/db = -1
        other = self._lift(other)
        return Variable._result(
            self.data - other.data, (self, other), lambda g: (g, -g)
        )

    def __mul__(self, other):  # d(a * b)/da = b,  d(a * b)/db = a
        other = self._lift(other)

        def backward(g):
            ### BEGIN SOLUTION
            return g * other.data, g * self.data
            ### END SOLUTION

        return Variable._result(
            self.data * other.data, (self, other), backward
        )

    def __truediv__(self, other):  # d(a / b)/da = 1/b,  d(a / b)/db = -a/b²
        other = self._lift(other)
        return Variable._result(
            self.data / other.data,
            (self, other),
            lambda g: (g / other.data, -g * self.data / other.data**2),
        )

    def __pow__(
        self, exponent
    ):  # d(a^p)/da = p·a^(p-1),  d(a^p)/dp = a^p·ln(a)
        exponent = self._lift(exponent)
        out = self.data**exponent.data

        def backward(g):
            ### BEGIN SOLUTION
            grad_base = g * exponent.data * self.data ** (exponent.data - 1)
            if not exponent.requires_grad:
                return grad_base, None  # a fixed exponent, as in x ** 2
            with np.errstate(
                divide="ignore", invalid="ignore"
            ):  # ln(a) for a <= 0: -inf or nan
                grad_exponent = g * out * np.log(self.data)
            return grad_base, grad_exponent
            ### END SOLUTION

        return Variable._result(out, (self, exponent), backward)

    def __neg__(self):  # d(-a)/da = -1
        return Variable._result(-self.data, (self,), lambda g: (-g,))

    # a number on the left (2 * x, 1 - x, 2 ** x): make it a Variable and use
    # the operations above
    def __radd__(self, other):
        return self._lift(other) + self

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rmul__(self, other):
        return self._lift(other) * self

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def __rpow__(self, other):
        return self._lift(other) ** self

    # --- matrix product ------------------------------------------------------
    def __matmul__(self, other):  # C = A @ B:  dL/dA = G @ Bᵀ,  dL/dB = Aᵀ @ G
        other = self._lift(other)
        a, b = self.data, other.data

        def backward(g):
            # NumPy reads a vector as a one-row matrix on the left, a
            # one-column matrix on the right: so do we
            A = a[None, :] if a.ndim == 1 else a
            B = b[:, None] if b.ndim == 1 else b
            G = g[..., None] if b.ndim == 1 else g
            G = G[..., None, :] if a.ndim == 1 else G
            grad_a = G @ np.swapaxes(B, -1, -2)
            grad_b = np.swapaxes(A, -1, -2) @ G
            # drop that extra axis again; batch axes that were broadcast are
            # summed by backward()
            return (
                grad_a[..., 0, :] if a.ndim == 1 else grad_a,
                grad_b[..., 0] if b.ndim == 1 else grad_b,
            )

        return Variable._result(a @ b, (self, other), backward)

    def __rmatmul__(self, other):
        return self._lift(other) @ self

    # --- indexing, reductions and shape --------------------------------------
    def __getitem__(
        self, index
    ):  # picked entries get the gradient, the others 0
        index = _array_index(index)

        def backward(g):
            grad = np.zeros(self.shape, dtype=np.result_type(g, self.data))
            np.add.at(
                grad, index, g
            )  # an entry picked twice (x[[0, 0]]) gets both gradients
            return (grad,)

        return Variable._result(self.data[index], (self,), backward)

    def sum(
        self, axis=None, keepdims=False
    ):  # each entry counts once in its sum: copy g back to it
        def backward(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(
                    g, axis
                )  # put the summed axes back with size 1...
            return (
                np.broadcast_to(g, self.shape),
            )  # ...and stretch them to the input's shape

        return Variable._result(
            self.data.sum(axis=axis, keepdims=keepdims), (self,), backward
        )

    def mean(
        self, axis=None, keepdims=False
    ):  # a sum divided by a count: autograd differentiates both
        total = self.sum(axis=axis, keepdims=keepdims)
        return total / (self.size / total.size)

    def reshape(
        self, *shape
    ):  # the same numbers in a new shape: reshape g back
        return Variable._result(
            self.data.reshape(*shape),
            (self,),
            lambda g: (np.reshape(g, self.shape),),
        )

    def transpose(
        self, *axes
    ):  # reorder the axes: put g's axes back where they came from
        if len(axes) == 1 and isinstance(axes[0], (tuple, list, type(None))):
            axes = tuple(
                axes[0] or ()
            )  # transpose((1, 0)) and transpose(None) as NumPy allows
        order = (
            tuple(axis % self.ndim for axis in axes)
            if axes
            else tuple(reversed(range(self.ndim)))
        )
        return Variable._result(
            self.data.transpose(order),
            (self,),
            lambda g: (np.transpose(g, np.argsort(order)),),
        )

    # --- elementwise functions -----------------------------------------------
    def exp(self):  # d(e^a)/da = e^a
        out = np.exp(self.data)
        return Variable._result(out, (self,), lambda g: (g * out,))

    def log(self):  # d(ln a)/da = 1/a
        return Variable._result(
            np.log(self.data), (self,), lambda g: (g / self.data,)
        )

    def relu(self):  # d max(a, 0)/da = 1 where a > 0, else 0
        return Variable._result(
            np.maximum(self.data, 0), (self,), lambda g: (g * (self.data > 0),)
        )

    def sigmoid(self):  # dσ(a)/da = σ(a)·(1 - σ(a))
        with np.errstate(
            over="ignore"
        ):  # e^(-a) overflows to inf for a < -709; σ is then 0, correctly
            out = 1.0 / (1.0 + np.exp(-self.data))
        return Variable._result(
            out, (self,), lambda g: (g * out * (1.0 - out),)
        )

    def tanh(self):  # d tanh(a)/da = 1 - tanh²(a)
        out = np.tanh(self.data)
        return Variable._result(out, (self,), lambda g: (g * (1.0 - out**2),))

    # --- the backward pass ---------------------------------------------------
    def backward(self, grad=None):
        """Add d(self)/d(leaf) into the `.grad` of every leaf that requires a
        gradient.

        `grad` is d(loss)/d(self), with self's shape; leave it out when self is
        a single number (a loss).
        """
        grads = {
            id(self): self._initial_grad(grad)
        }  # dL/d(node) for the nodes reached so far
        for node in reversed(
            topological_order(self)
        ):  # every node before its parents
            g = grads.pop(id(node), None)
            if g is None:
                continue  # a constant: nothing to pass on
            if not node._parents:
                node._accumulate(g)  # a leaf: keep its gradient
                continue
            for parent, parent_grad in zip(node._parents, node._backward(g)):
                if parent_grad is None or not parent.requires_grad:
                    continue
                parent_grad = np.asarray(parent_grad)
                if (
                    parent_grad.shape != parent.shape
                ):  # the forward pass broadcast this parent
                    parent_grad = unbroadcast(parent_grad, parent.shape)
                if id(parent) in grads:
                    grads[id(parent)] = (
                        grads[id(parent)] + parent_grad
                    )  # a node used twice: add up
                else:
                    grads[id(parent)] = parent_grad

    def _initial_grad(self, grad):
        """dL/d(self) to start the backward pass: 1 for a single number, else
        the `grad` passed in."""
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this Variable does not depend on any Variable "
                "with requires_grad=True "
                "(or it was computed inside no_grad()), so it has no gradient "
                "to compute"
            )
        if grad is None:
            if self.size != 1:
                raise ValueError(
                    "backward() without `grad` needs a single number, but "
                    "this Variable has shape "
                    f"{self.shape}: reduce it first (loss.sum() or "
                    "loss.mean()) or pass "
                    f"grad= with shape {self.shape}"
                )
            return np.ones_like(self.data)
        grad = np.asarray(
            grad.data if isinstance(grad, Tensor) else grad, dtype=self.dtype
        )
        if grad.shape != self.shape:
            raise ValueError(
                f"backward(grad=...): grad has shape {grad.shape}, but this "
                "Variable has shape "
                f"{self.shape}; they must be equal"
            )
        return grad

    def _accumulate(self, grad):
        """Add `grad` into `.grad`, in this Variable's own dtype (float32
        weights get float32 gradients)."""
        dtype = self.dtype if np.issubdtype(self.dtype, np.inexact) else None
        total = grad if self.grad is None else self.grad.data + grad
        self.grad = Tensor(total, dtype=dtype)

    def zero_grad(self):
        """Forget the accumulated gradient (the next backward() starts from
        nothing)."""
        self.grad = None

    def detach(self):
        """A new constant Variable with a copy of the same numbers, cut off
        from the graph."""
        return Variable(self.data)


def as_variable(value):
    """Numbers, lists, arrays and Tensors become constant Variables; a Variable
    passes through unchanged."""
    return value if isinstance(value, Variable) else Variable(value)


def _array_index(index):
    """An index with any tensors in it replaced by their arrays
    (`x[Tensor([0, 2])]` works like NumPy)."""
    if isinstance(index, tuple):
        return tuple(
            part.data if isinstance(part, Tensor) else part for part in index
        )
    return index.data if isinstance(index, Tensor) else index


# %% [markdown]
# The tests call an operation's `_backward` directly with a made-up $g$, so they check your rule on its own.
# Then they compare it with central differences: for the gradient of $\sum g \cdot (a \cdot b)$ with respect
# to $a$, the finite-difference function is `lambda v: np.sum(g * v * b)`.


# %% nbgrader={"grade": true, "grade_id": "test-mul-backward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_mul_backward():
    print("🔬 Unit Test: backward of a * b...")
    a = Variable([1.0, -2.0, 3.0], requires_grad=True)
    b = Variable([4.0, 5.0, -6.0], requires_grad=True)
    out = a * b
    assert np.array_equal(out.data, [4.0, -10.0, -18.0])
    g = np.array(
        [1.0, 10.0, 100.0]
    )  # dL/d(out), as backward() would pass it in
    grad_a, grad_b = out._backward(g)
    assert np.allclose(grad_a, [4.0, 50.0, -600.0]), (
        f"gradient for a should be g * b, got {grad_a}"
    )
    assert np.allclose(grad_b, [1.0, -20.0, 300.0]), (
        f"gradient for b should be g * a, got {grad_b}"
    )
    print("✅ d(a·b)/da = b and d(a·b)/db = a, times the incoming gradient")
    numeric_a = central_difference(lambda v: np.sum(g * v * b.data), a.data)
    numeric_b = central_difference(lambda v: np.sum(g * a.data * v), b.data)
    assert np.allclose(grad_a, numeric_a, atol=1e-6) and np.allclose(
        grad_b, numeric_b, atol=1e-6
    )
    print("✅ Agrees with central differences")
    ### BEGIN HIDDEN TESTS
    rng = np.random.default_rng(6)
    x = Variable(rng.normal(size=(2, 3)), requires_grad=True)
    y = Variable(rng.normal(size=(2, 3)), requires_grad=True)
    g = rng.normal(size=(2, 3))
    grad_x, grad_y = (x * y)._backward(g)
    assert np.allclose(grad_x, g * y.data) and np.allclose(grad_y, g * x.data)
    grad_x, _ = (x * 2.5)._backward(g)
    assert np.allclose(grad_x, 2.5 * g), (
        "a number factor: the gradient is that number times g"
    )
    _, grad_x = (3.0 * x)._backward(g)
    assert np.allclose(grad_x, 3.0 * g), "3 * x is a Variable times x"
    square = x * x
    grad_1, grad_2 = square._backward(g)
    assert np.allclose(grad_1 + grad_2, 2 * x.data * g), (
        "x * x: the two uses add up to 2x"
    )
    ### END HIDDEN TESTS
    print("📈 Progress: backward of * ✓")


if __name__ == "__main__":
    test_unit_mul_backward()


# %% nbgrader={"grade": true, "grade_id": "test-pow-backward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_unit_pow_backward():
    print("🔬 Unit Test: backward of a ** p...")
    x = Variable([0.5, 1.0, 2.0], requires_grad=True)
    out = x**3
    assert np.allclose(out.data, [0.125, 1.0, 8.0])
    g = np.array([1.0, 2.0, 3.0])
    grad_x = out._backward(g)[0]
    assert np.allclose(grad_x, g * 3 * x.data**2), (
        f"d(x³)/dx = 3x², times g; got {grad_x}"
    )
    assert np.allclose(
        grad_x,
        central_difference(lambda v: np.sum(g * v**3), x.data),
        atol=1e-6,
    )
    print("✅ d(x³)/dx = 3x², and it agrees with central differences")
    p = Variable(1.5, requires_grad=True)
    grad_x, grad_p = (x**p)._backward(np.ones(3))
    assert np.allclose(grad_x, 1.5 * x.data**0.5), "d(x^p)/dx = p·x^(p-1)"
    assert grad_p is not None, (
        "the exponent requires a gradient here: return it"
    )
    assert np.isclose(np.sum(grad_p), np.sum(x.data**1.5 * np.log(x.data))), (
        "d(x^p)/dp = x^p·ln x"
    )
    print(
        "✅ d(x^p)/dp = x^p·ln x when the exponent is a Variable that requires "
        "a gradient"
    )
    ### BEGIN HIDDEN TESTS
    rng = np.random.default_rng(7)
    base = Variable(rng.uniform(0.5, 2.0, size=(2, 3)), requires_grad=True)
    g = rng.normal(size=(2, 3))
    for exponent in [2, 0.5, -1.0, -2.5, 1]:
        grad_base = (base**exponent)._backward(g)[0]
        numeric = central_difference(
            lambda v: np.sum(g * v**exponent), base.data
        )
        assert np.allclose(grad_base, numeric, atol=1e-5), exponent
    exponent = Variable(rng.uniform(-1.0, 2.0, size=(3,)), requires_grad=True)
    grad_base, grad_exponent = (base**exponent)._backward(g)
    numeric = central_difference(
        lambda v: np.sum(g * base.data**v), exponent.data
    )
    assert np.allclose(np.sum(grad_exponent, axis=0), numeric, atol=1e-5), (
        "exponent gradient, broadcast"
    )
    assert np.allclose(
        grad_base,
        central_difference(lambda v: np.sum(g * v**exponent.data), base.data),
        atol=1e-5,
    )
    grad_two, grad_x = (2.0**x)._backward(np.ones(3))
    assert np.allclose(grad_x, 2.0**x.data * np.log(2.0)), (
        "d(2^x)/dx = 2^x·ln 2"
    )
    ### END HIDDEN TESTS
    print("📈 Progress: backward of ** ✓")


if __name__ == "__main__":
    test_unit_pow_backward()

# %% [markdown]
# ### Your first backward passes
#
# With topological order and the backward rules in place, `backward()` works. It is the algorithm of
# section 3: it starts with $\bar L = 1$, visits the nodes in reverse topological order, calls each node's
# `_backward`, adds what each parent receives, and stores the totals of the leaves in `.grad`.

# %%
if __name__ == "__main__":
    with after_exercise("topological_order", "the backward of **"):
        x = Variable(10.0, requires_grad=True)
        loss = x**2
        loss.backward()
        print(
            f"x = {x.data:.4f}, loss = x² = {loss.data:.4f}, d(loss)/dx = "
            f"{x.grad.data:.4f}  (2x = 20)"
        )

        x = Variable([2.0, -3.0], requires_grad=True)
        loss = (x[0] ** 2 + x[1] ** 2).sum()
        loss.backward()
        print(
            f"loss = {loss.data:.1f}, gradient = {x.grad.data}  (2x = [4, -6])"
        )

# %% [markdown]
# ### Autograd against finite differences
#
# Here is the derivative of $f(x) = x\,\sigma(x)$ (the "SiLU" activation, used in modern networks), by
# autograd and by central differences. All 121 points go through the graph at once: the points do not
# interact, so the gradient of $\sum_i f(x_i)$ with respect to $x_i$ is just $f'(x_i)$.
#
# By hand: $f'(x) = \sigma(x) + x\,\sigma(x)\,(1 - \sigma(x))$.

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt

    with after_exercise("topological_order", "the backward of *"):
        grid = np.linspace(-6.0, 6.0, 121)
        x = Variable(grid, requires_grad=True)
        y = x * x.sigmoid()
        y.sum().backward()
        autograd_slope = x.grad.data

        def silu(v):
            return v / (1.0 + np.exp(-v))

        h = 1e-6  # the points are independent: step them all at once
        numeric_slope = (silu(grid + h) - silu(grid - h)) / (2 * h)

        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
        left.plot(grid, y.data, label=r"$f(x) = x\,\sigma(x)$")
        left.plot(grid, autograd_slope, label="$f'(x)$ by autograd")
        left.plot(
            grid[::6],
            numeric_slope[::6],
            "o",
            ms=5,
            mfc="none",
            label="$f'(x)$ by central differences",
        )
        left.axhline(0, color="grey", lw=0.5)
        left.set_xlabel("$x$")
        left.legend()
        left.set_title("The same slope, two ways")
        right.semilogy(grid, np.abs(autograd_slope - numeric_slope) + 1e-17)
        right.set_xlabel("$x$")
        right.set_ylabel("|autograd − central difference|")
        right.set_title(
            "Largest difference: "
            f"{np.abs(autograd_slope - numeric_slope).max():.0e}"
        )
        plt.tight_layout()
        plt.show()

# %% [markdown]
# ### The graph of a neuron
#
# Now the neuron of section 2, $L = (\tanh(w x + b) - t)^2$, with $w = 0.5$, $x = 2$, $b = -0.3$ and target
# $t = 0.8$. The figure draws the real graph that the forward pass recorded: each box shows the node's value
# (black) and, for the nodes on a path to a weight, the gradient $\bar v = \partial L / \partial v$ that the
# backward pass computes there (red). Constants (grey) get no gradient.
#
# Check one arrow by hand: $\bar z = \bar y \cdot (1 - y^2)$, and $\bar w = \overline{wx} \cdot x$.

# %%
if __name__ == "__main__":
    from matplotlib.patches import FancyBboxPatch

    def operation_name(node):
        """`Variable.__mul__.<locals>.backward` -> "×": the operation that made
        a node, for the drawing."""
        name = node._backward.__qualname__.split(".")[1].strip("_")
        return {
            "mul": "×",
            "add": "+",
            "sub": "−",
            "pow": "**",
            "truediv": "/",
        }.get(name, name)

    def backward_keeping_every_gradient(loss):
        """The backward pass of section 3, written out, keeping dL/dv of every
        node (backward() keeps only the leaves')."""
        grads = {id(loss): np.ones_like(loss.data)}
        for node in reversed(topological_order(loss)):
            if node._parents and id(node) in grads:
                for parent, grad in zip(
                    node._parents, node._backward(grads[id(node)])
                ):
                    if grad is not None and parent.requires_grad:
                        grads[id(parent)] = grads.get(id(parent), 0.0) + grad
        return grads

    with after_exercise("topological_order", "the backward of * and **"):
        w = Variable(0.5, requires_grad=True)
        x = Variable(2.0)
        b = Variable(-0.3, requires_grad=True)
        t = Variable(0.8)
        z = w * x + b
        y = z.tanh()
        loss = (y - t) ** 2
        names = {
            id(w): "w",
            id(x): "x",
            id(b): "b",
            id(t): "t",
            id(z): "z",
            id(y): "y",
            id(loss): "L",
        }
        grads = backward_keeping_every_gradient(loss)

        # place each operation one column right of its deepest input, each leaf
        # just left of its user
        nodes = topological_order(loss)
        column = {}
        for node in nodes:
            column[id(node)] = 1 + max(
                (column[id(p)] for p in node._parents), default=-1
            )
        for node in nodes:
            for parent in node._parents:
                if not parent._parents:
                    column[id(parent)] = column[id(node)] - 1
        position, leaves_in_column = {}, {}
        for node in nodes:
            if node._parents:
                position[id(node)] = (2.3 * column[id(node)], 0.0)
            else:
                k = leaves_in_column.get(column[id(node)], 0)
                leaves_in_column[column[id(node)]] = k + 1
                position[id(node)] = (
                    2.3 * column[id(node)],
                    1.25 if k % 2 == 0 else -1.25,
                )

        fig, ax = plt.subplots(figsize=(12, 3.8))
        for node in nodes:
            for parent in node._parents:
                (px, py), (cx, cy) = position[id(parent)], position[id(node)]
                ax.annotate(
                    "",
                    xy=(cx - 0.85, cy),
                    xytext=(px + 0.85, py),  # right edge -> left edge
                    arrowprops=dict(
                        arrowstyle="-|>", color="grey", shrinkA=0, shrinkB=0
                    ),
                )
        for node in nodes:
            cx, cy = position[id(node)]
            label = names.get(id(node)) or (
                operation_name(node)
                if node._parents
                else f"{node.data.item():g}"
            )
            if node._parents and id(node) in names:
                label = f"{names[id(node)]} = {operation_name(node)}"
            colour = "tab:blue" if node.requires_grad else "lightgrey"
            ax.add_patch(
                FancyBboxPatch(
                    (cx - 0.8, cy - 0.42),
                    1.6,
                    0.84,
                    boxstyle="round,pad=0.05",
                    facecolor=colour,
                    alpha=0.2,
                    edgecolor=colour,
                )
            )
            ax.text(
                cx,
                cy + 0.17,
                label,
                ha="center",
                va="center",
                fontsize=11,
                fontweight="bold",
            )
            ax.text(
                cx,
                cy - 0.05,
                f"{node.data.item():.4f}",
                ha="center",
                va="center",
                fontsize=9,
            )
            if id(node) in grads:
                ax.text(
                    cx,
                    cy - 0.27,
                    f"∂L/∂· = {float(grads[id(node)]):.4f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="tab:red",
                )
        xs = [p[0] for p in position.values()]
        ax.set_xlim(min(xs) - 1, max(xs) + 1)
        ax.set_ylim(-1.9, 1.9)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(
            "A neuron's computation graph: values forward (black), gradients "
            "backward (red)"
        )
        plt.show()

        loss.backward()
        by_hand = 2 * (y.data - t.data) * (1 - y.data**2) * x.data
        print(
            f"w.grad = {w.grad.data:.6f}; by the chain rule 2(y - t)(1 - y²)x "
            f"= {by_hand:.6f}"
        )

# %% [markdown]
# ## 5. Broadcasting in reverse
#
# In the forward pass NumPy broadcasts: a bias $b$ of shape `(3,)` added to a batch of shape `(4, 3)` is used
# once per row. By the rule of section 2 (gradients of a value's uses add up), its gradient is the **sum**
# of the gradients of those four uses:
#
# $$y_{ij} = x_{ij} + b_j \quad\Longrightarrow\quad \frac{\partial L}{\partial b_j} = \sum_{i=1}^{4}
# \frac{\partial L}{\partial y_{ij}}.$$
#
# In general, broadcasting did two things to an input, and the backward pass undoes both by summing:
#
# 1. It **added axes in front** (shape `(3,)` became `(1, 3)`, then `(4, 3)`). Sum over those leading axes
#    until the gradient has as many axes as the input.
# 2. It **stretched axes of size 1** (a `(4, 1)` input used across 3 columns). Sum over each such axis,
#    with `keepdims=True` so that it stays, with size 1.
#
# The operations' backward rules return gradients in the result's shape; `backward()` calls `unbroadcast`
# whenever that differs from the input's shape. (That makes `unbroadcast` the one place that needs to
# know about broadcasting: `*`, `+`, `/`, `**` and `@` all rely on it.)
#
# ### Exercise 3: unbroadcast (3 points)
#
# Write `unbroadcast(grad, shape)`: `grad` is a NumPy array whose shape is what broadcasting made from
# `shape`; return it summed down to exactly `shape`, following the two steps above.
#
# *Hint:* `grad.sum(axis=0)` removes the first axis; `grad.sum(axis=k, keepdims=True)` sums axis `k` and keeps
# it with size 1.


# %% nbgrader={"grade": false, "grade_id": "unbroadcast", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def unbroadcast(grad, shape):
    """Sum `grad` down to `shape`: the gradient of an input that broadcasting
    copied to `grad`'s shape.

    g of shape (4, 3) to (3,):    g.sum(axis=0)                  shape (3,)
    g of shape (4, 3) to (4, 1):  g.sum(axis=1, keepdims=True)   shape (4, 1)
    """
    ### BEGIN SOLUTION
    grad = np.asarray(grad)
    while grad.ndim > len(shape):  # axes that broadcasting added in front
        grad = grad.sum(axis=0)
    for axis, size in enumerate(
        shape
    ):  # axes of size 1 that broadcasting stretched
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-unbroadcast", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_unit_unbroadcast():
    print("🔬 Unit Test: unbroadcast...")
    g = np.arange(12.0).reshape(4, 3)
    assert np.array_equal(unbroadcast(g, (4, 3)), g), (
        "same shape: nothing to sum"
    )
    assert np.array_equal(unbroadcast(g, (3,)), [18.0, 22.0, 26.0]), (
        "a bias (3,) sums over the rows"
    )
    print("✅ Leading axes are summed away")
    result = unbroadcast(g, (4, 1))
    assert result.shape == (4, 1), (
        f"expected shape (4, 1), got {np.shape(result)}"
    )
    assert np.array_equal(result, [[3.0], [12.0], [21.0], [30.0]])
    print("✅ Stretched size-1 axes are summed and kept")
    ### BEGIN HIDDEN TESTS
    assert (
        np.shape(unbroadcast(g, ())) == ()
        and float(unbroadcast(g, ())) == 66.0
    ), "to a scalar: the total"
    assert np.array_equal(unbroadcast(g, (1, 3)), [[18.0, 22.0, 26.0]])
    assert np.array_equal(unbroadcast(g, (1, 1)), [[66.0]])
    cube = np.arange(24.0).reshape(2, 3, 4)
    assert np.array_equal(
        unbroadcast(cube, (3, 1)), cube.sum(axis=(0, 2))[:, None]
    )
    assert np.array_equal(
        unbroadcast(cube, (1, 3, 1)), cube.sum(axis=(0, 2), keepdims=True)
    )
    assert np.array_equal(
        unbroadcast(cube, (2, 1, 4)), cube.sum(axis=1, keepdims=True)
    )
    rng = np.random.default_rng(8)
    for _ in range(50):
        out_shape = tuple(
            int(s) for s in rng.integers(1, 4, size=rng.integers(1, 5))
        )
        drop = int(rng.integers(0, len(out_shape) + 1))
        shape = tuple(1 if rng.random() < 0.4 else s for s in out_shape[drop:])
        copies = np.prod(out_shape) // max(np.prod(shape), 1)
        result = unbroadcast(np.ones(out_shape), shape)
        assert np.shape(result) == shape, (out_shape, shape, np.shape(result))
        assert np.allclose(result, copies), (
            "each entry sums the gradients of all of its copies"
        )
    ### END HIDDEN TESTS
    print("📈 Progress: unbroadcast ✓")


if __name__ == "__main__":
    test_unit_unbroadcast()

# %% [markdown]
# The bias of a dense layer, in the graph: four examples, three outputs. Every example uses the same bias, so
# each bias entry collects the gradient of its column, four times.

# %%
if __name__ == "__main__":
    with after_exercise(
        "topological_order", "the backward of *", "unbroadcast"
    ):
        batch = Variable(np.arange(12.0).reshape(4, 3))
        bias = Variable([0.1, 0.2, 0.3], requires_grad=True)
        scale = Variable(
            [[1.0], [2.0], [3.0], [4.0]], requires_grad=True
        )  # one factor per example
        out = (batch + bias) * scale
        out.sum().backward()
        print("out.shape:", out.shape)
        print(
            "bias.grad: ",
            bias.grad.data,
            " = column sums of d(out)/d(bias) = 1+2+3+4 each",
        )
        print(
            "scale.grad:",
            scale.grad.data.ravel(),
            " = row sums of batch + bias; shape",
            scale.grad.shape,
        )

# %% [markdown]
# ## 6. Gradients accumulate
#
# `backward()` **adds** into `.grad`; it never overwrites. That is deliberate: it is the same rule (uses of a
# value add up) applied across backward passes. It lets you split a big batch into pieces, call
# `backward()` on each and get the gradient of the whole. The flip side: before the next training step you
# must clear the old gradient with `zero_grad()` (optimizers do this for all parameters at once), or steps
# add up gradients from earlier batches.
#
# The same rule handles a value used twice within one graph, like `h` below (a *diamond*: two paths from
# `x` to `y`). Its gradient collects both paths before it is passed on, because of the topological order.

# %%
if __name__ == "__main__":
    with after_exercise("topological_order", "the backward of *"):
        x = Variable(3.0, requires_grad=True)
        for step in range(2):
            (x * x).backward()
            print(
                f"after backward #{step + 1}: x.grad = {x.grad.data}  (2x = 6 "
                "each time, added up)"
            )
        x.zero_grad()
        print("after zero_grad():", x.grad)

        h = x * 2.0  # h is used twice below
        y = h * h + h  # dy/dh = 2h + 1 = 13, dh/dx = 2
        y.backward()
        print(
            f"diamond: dy/dx = {x.grad.data} = (2h + 1)·2 = "
            f"{(2 * 6.0 + 1) * 2}"
        )

# %% [markdown]
# ## 7. Switching the graph off: `no_grad`
#
# Recording the graph costs memory: every intermediate result stays alive until the graph goes away. When
# you only need values (evaluating a model on test data, or changing weights by hand), switch recording off:
#
# ```python
# with no_grad():
#     # no graph: results have requires_grad=False and no parents
#     predictions = model(test_inputs)
# ```
#
# `no_grad` is a *context manager*: it sets a module-level flag that `Variable._result` reads, and restores
# it on the way out, even when an error occurs inside. It also works as a decorator, `@no_grad()`.


# %%
#| export
@contextlib.contextmanager
def no_grad():
    """Inside `with no_grad():` operations record no graph (for evaluation, or
    changing weights by hand)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


# %%
if __name__ == "__main__":
    w = Variable([1.0, 2.0], requires_grad=True)
    with no_grad():
        y = (w + 1.0).exp()
    print(
        "inside no_grad:  requires_grad =",
        y.requires_grad,
        "| parents:",
        y._parents,
    )
    y = (w + 1.0).exp()
    print(
        "outside no_grad: requires_grad =",
        y.requires_grad,
        "| parents:",
        len(y._parents),
    )

# %% [markdown]
# ## 8. Deep graphs
#
# Because `topological_order` uses its own stack, the depth of a graph is limited only by memory. A loop of
# 20,000 steps, $y \leftarrow 0.9999\,y + 0.0001$, builds 40,000 operations in a chain. Its derivative has a
# closed form: each step multiplies it by $0.9999$, so $dy/dx = 0.9999^{20000} \approx e^{-2}$.

# %%
if __name__ == "__main__":
    import sys

    with after_exercise("topological_order", "the backward of *"):
        x = Variable(1.0, requires_grad=True)
        y = x
        for _ in range(20_000):
            y = y * 0.9999 + 0.0001
        y.backward()
        print(
            f"Python's recursion limit: {sys.getrecursionlimit()}; graph "
            "depth: 40,000 operations"
        )
        print(
            f"dy/dx by autograd: {x.grad.data:.12f}, closed form 0.9999^20000 "
            f"= {0.9999**20000:.12f}"
        )

# %% [markdown]
# ## Checks on the whole engine
#
# These run with the module's tests (`tito test --module autograd`) and need all three exercises.


# %% nbgrader={"grade": false, "grade_id": "test-backward-engine", "locked": true, "schema_version": 3, "solution": false, "task": false}
def test_unit_backward_engine():
    print("🔬 Unit Test: the backward pass...")
    x = Variable(10.0, requires_grad=True)
    (x**2).backward()
    assert f"{x.data:.4f}" == "10.0000" and x.grad.data == 20.0
    x = Variable([2.0, -3.0], requires_grad=True)
    loss = (x[0] ** 2 + x[1] ** 2).sum()
    loss.backward()
    assert loss.data == 13.0 and np.array_equal(x.grad.data, [4.0, -6.0])
    print("✅ d(x²)/dx = 2x, through indexing too")
    a = Variable([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    bias = Variable([0.5, -0.5], requires_grad=True)
    ((a @ a + bias).tanh() * 2.0).mean().backward()
    numeric = central_difference(
        lambda v: np.mean(np.tanh(v @ v + bias.data) * 2.0), a.data
    )
    assert np.allclose(
        a.grad.data, numeric, atol=1e-7
    ) and bias.grad.shape == (2,)
    print("✅ A composite expression agrees with central differences")
    w = Variable(np.ones(3, dtype=np.float32), requires_grad=True)
    (w * 0.5).sum().backward()
    (w * 0.5).sum().backward()
    assert w.grad.data.dtype == np.float32 and np.array_equal(
        w.grad.data, [1.0, 1.0, 1.0]
    )
    print("✅ Gradients accumulate, in the leaf's dtype")
    with no_grad():
        assert not (w * 2.0).requires_grad
    try:
        Variable([1.0, 2.0], requires_grad=True).exp().backward()
    except ValueError:
        pass
    else:
        raise AssertionError(
            "backward() on a non-scalar without grad= must raise ValueError"
        )
    print("✅ no_grad records nothing; a non-scalar backward() needs grad=")


if __name__ == "__main__":
    test_unit_backward_engine()

# %% [markdown]
# ## Summary
#
# - **Central differences** check any derivative to about 10 digits with $h \approx 10^{-6}$: slow, simple,
#   trustworthy.
# - The **chain rule** multiplies local derivatives along a path; a value used several times **adds up** the
#   gradients of its uses.
# - **Reverse mode** visits the graph in reverse **topological order** (which you computed without recursion)
#   and gets the gradient with respect to every input in one sweep.
# - Each operation's **backward rule** is its derivative times the incoming gradient; you wrote those of `*`
#   and `**`.
# - **Broadcasting** copies an input in the forward pass, so the backward pass **sums** its gradient back down
#   (`unbroadcast`). Gradients **accumulate** across `backward()` calls until `zero_grad()`; `no_grad()` stops
#   recording.
#
# Export your work and run the tests from a terminal:
#
# ```bash
# tito export --module autograd && tito test --module autograd
# ```
#
# **Next: Module 04 (activations)** builds ReLU, sigmoid and friends as layers on top of `Variable`, and
# everything after it (layers, losses, optimizers, training) gets its gradients from the engine you just built.
