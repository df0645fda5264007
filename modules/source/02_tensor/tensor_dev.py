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
# # Module 02: Tensor
#
# ⭐⭐ | ⏱️ 1–2 hours | Prerequisites: Module 01 (setup), some NumPy | Next: Module 03 (autograd)
#
# Every number a neural network touches lives in a **tensor**: the input images, the weights, the
# predictions, the gradients. This module builds TinyTorch's `Tensor`, a small, readable class around a
# NumPy array, and teaches the four ideas you will use in every later module.
#
# By the end of this module you will be able to:
#
# - say what a tensor's **shape**, **rank** and **dtype** are, and why they matter;
# - predict the shape of `a + b` with NumPy's **broadcasting** rules, and implement those rules yourself;
# - tell **elementwise** multiplication from **matrix** multiplication, and check a matrix product's shapes;
# - **reduce** a tensor along an axis (sum, mean), with and without `keepdims`.
#
# You write three exercises: `broadcast_shape`, `matmul` and `mean`. Each is followed by a test cell.

# %% [markdown]
# ## Getting started
#
# Work in the browser (the launch buttons at the top of the course page open
# the student notebook on Binder or Colab) or locally. Locally, from the
# repository root:
#
# ```bash
# source bin/activate-tinytorch.sh  # activate the environment
# tito test --module setup          # check what this builds on
# tito module start tensor          # your edition: exercises are stubs
# ```
#
# Then write the exercises, in order, in
# `modules/source/02_tensor/tensor_dev.py` (or in its paired notebook,
# `tensor_dev.ipynb`, in Jupyter); the test cell after each exercise
# checks it. Export your code into `tinytorch` and test it:
#
# ```bash
# tito export --module tensor && tito test --module tensor
# tito module status                # where you are in every module
# ```
#
# `tito module reset tensor` brings the reference solution back (it keeps
# your files as `.bak-<time>` copies).

# %%
#| bootstrap
# Makes `tinytorch` importable. Locally and on Binder it is installed already;
# the student notebooks that open on Colab install it here first.
import tinytorch

# %%
#| default_exp core.tensor
#| export
import numpy as np

# %%
from tinytorch.core.setup import after_exercise

# %% [markdown]
# ## 1. What a tensor is
#
# A tensor is a grid of numbers with any number of axes. The number of axes is the tensor's **rank**
# (NumPy calls it `ndim`); how long each axis is, is its **shape**.
#
# | rank | name | example | shape |
# | --- | --- | --- | --- |
# | 0 | scalar | a loss value | `()` |
# | 1 | vector | the bias of a layer with 10 outputs | `(10,)` |
# | 2 | matrix | the weights of a layer from 784 inputs to 128 outputs | `(784, 128)` |
# | 3 | batch of matrices | 32 sentences of 20 words, 64 numbers per word | `(32, 20, 64)` |
# | 4 | batch of images | 32 RGB images of 28×28 pixels | `(32, 3, 28, 28)` |
#
# By convention the **first axis is the batch**: one entry per example. A layer that works on one example
# of shape `(784,)` works on a batch of shape `(32, 784)` without a loop, as you will see below.
#
# Our `Tensor` keeps its numbers in a NumPy array, `tensor.data`, and lets NumPy do the arithmetic. Why
# wrap NumPy at all? Because the next module turns `Tensor` into `Variable`, a tensor that also records how
# it was computed, so that gradients can flow back through every operation. A class of our own is the
# place to hook that in.
#
# Two design choices to notice in the class below:
#
# - **`Tensor(data)` copies `data`.** Changing the list or array you built a tensor from later does not
#   change the tensor. Every operation returns a *new* tensor, too; nothing changes a tensor in place.
# - **Operations accept tensors, NumPy arrays and plain numbers** on either side: `2 * t`, `t + array`.


# %%
#| export
class Tensor:
    """An n-dimensional array of numbers: a thin, readable wrapper around a
    NumPy array.

    `Tensor(data, dtype=None)` copies `data` (a number, a nested list, a NumPy
    array or a Tensor) into a new NumPy array, `.data`. Arithmetic returns new
    tensors and follows NumPy's rules, broadcasting included.
    """

    # Tell NumPy to leave `array + tensor` to us (Tensor.__radd__) instead of
    # looping over the array.
    __array_ufunc__ = None

    def __init__(self, data, dtype=None):
        self.data = np.array(_data(data), dtype=dtype)  # np.array copies

    # --- what a tensor is ----------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    def numpy(self):
        """The NumPy array itself (not a copy)."""
        return self.data

    def item(self):
        """The single number in a one-element tensor, as a Python number."""
        return self.data.item()

    def __len__(self):
        return len(self.data)

    def __array__(self, dtype=None, copy=None):
        """`np.asarray(tensor)` gives the data, so NumPy and matplotlib
        functions accept tensors."""
        array = (
            self.data if dtype is None else self.data.astype(dtype, copy=False)
        )
        return array.copy() if copy else array

    def __repr__(self):
        prefix = f"{type(self).__name__}("
        numbers = np.array2string(
            self.data, precision=4, separator=", ", prefix=prefix
        )
        return f"{prefix}{numbers})"

    # --- elementwise arithmetic: every operation makes a new tensor ----------
    def __add__(self, other):
        return Tensor(self.data + _data(other))

    def __radd__(self, other):
        return Tensor(_data(other) + self.data)

    def __sub__(self, other):
        return Tensor(self.data - _data(other))

    def __rsub__(self, other):
        return Tensor(_data(other) - self.data)

    def __mul__(self, other):
        return Tensor(self.data * _data(other))

    def __rmul__(self, other):
        return Tensor(_data(other) * self.data)

    def __truediv__(self, other):
        return Tensor(self.data / _data(other))

    def __rtruediv__(self, other):
        return Tensor(_data(other) / self.data)

    def __pow__(self, exponent):
        return Tensor(self.data ** _data(exponent))

    def __rpow__(self, base):
        return Tensor(_data(base) ** self.data)

    def __neg__(self):
        return Tensor(-self.data)

    # --- matrix product (you write `matmul` below) ---------------------------
    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    # --- indexing, reductions and shape --------------------------------------
    def __getitem__(self, index):
        return Tensor(self.data[_index(index)])

    def sum(self, axis=None, keepdims=False):
        return Tensor(self.data.sum(axis=axis, keepdims=keepdims))

    def mean(self, axis=None, keepdims=False):
        return mean(
            self, axis=axis, keepdims=keepdims
        )  # you write `mean` below

    def reshape(self, *shape):
        return Tensor(self.data.reshape(*shape))

    def transpose(self, *axes):
        return Tensor(self.data.transpose(*axes))

    @property
    def T(self):
        """The tensor with its axes reversed (for a matrix: rows become
        columns)."""
        return self.transpose()

    # --- elementwise functions -----------------------------------------------
    def exp(self):
        return Tensor(np.exp(self.data))

    def log(self):
        return Tensor(np.log(self.data))


def _data(value):
    """The NumPy array behind a tensor, or the value itself (a number, a list
    or an array)."""
    return value.data if isinstance(value, Tensor) else value


def _index(index):
    """An index with any tensors in it replaced by their arrays
    (`t[Tensor([0, 2])]` works like NumPy)."""
    if isinstance(index, tuple):
        return tuple(_data(part) for part in index)
    return _data(index)


# %% [markdown]
# ### Shapes, ranks and sizes
#
# Run the cell below and check each line against the table above. `size` is the number of entries: the
# product of the shape.

# %%
if __name__ == "__main__":
    loss = Tensor(0.25)
    bias = Tensor([0.0, 0.1, 0.2])
    weights = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    images = Tensor(np.zeros((32, 3, 28, 28)))
    for name, t in [
        ("loss", loss),
        ("bias", bias),
        ("weights", weights),
        ("images", images),
    ]:
        print(
            f"{name:>8}: shape={str(t.shape):<16} ndim={t.ndim}  "
            f"size={t.size:<6} dtype={t.dtype}"
        )
    print("weights =", weights)
    print("one row:", weights[0], " one entry:", weights[1, 2].item())

# %% [markdown]
# ### Data types
#
# Every entry of a tensor has the same **dtype**. The ones you will meet:
#
# | dtype | bytes per entry | digits of precision | used for |
# | --- | --- | --- | --- |
# | `float64` | 8 | about 16 | NumPy's default; this course's tests, where exactness matters |
# | `float32` | 4 | about 7 | weights and activations in real training: half the memory, faster |
# | `int64` | 8 | exact | class labels, indices, counts |
# | `bool` | 1 | — | masks |
#
# Python floats become `float64` and Python ints `int64`, unless you pass `dtype=`. When two dtypes meet in
# one operation NumPy picks one that can hold both: `int64 + float64` is `float64`. A plain Python number
# adapts to the tensor, so scaling a `float32` tensor by `0.5` keeps it `float32`.
#
# Memory is `size × bytes per entry`: a `(784, 128)` weight matrix is 100,352 numbers, 0.4 MB in `float32`.

# %%
if __name__ == "__main__":
    labels = Tensor([3, 1, 4])
    weights32 = Tensor(np.ones((784, 128)), dtype=np.float32)
    print(
        "labels:",
        labels.dtype,
        "| labels / 2:",
        (labels / 2).dtype,
        "| labels + 0.5:",
        (labels + 0.5).dtype,
    )
    print(
        "weights32:",
        weights32.dtype,
        "| weights32 * 0.5:",
        (weights32 * 0.5).dtype,
    )
    print(
        f"weights32 uses {weights32.data.nbytes / 1e6:.2f} MB; in float64 it "
        "would use "
        f"{weights32.size * 8 / 1e6:.2f} MB"
    )
    print(
        "0.1 in float32 is really",
        f"{Tensor(0.1, dtype=np.float32).item():.12f}",
    )

# %% [markdown]
# ### Copies
#
# `Tensor(array)` copies the array, so the tensor does not change when the array does. (`.data` and
# `.numpy()` give you the tensor's own array: change that, and you change the tensor.)

# %%
if __name__ == "__main__":
    source = np.array([1.0, 2.0, 3.0])
    t = Tensor(source)
    source[0] = 100.0
    print("source:", source, "| tensor:", t)
    u = t + 0  # a new tensor
    u.data[1] = -1.0
    print("t:", t, "| u:", u)

# %% [markdown]
# ## 2. Elementwise operations and broadcasting
#
# `+`, `-`, `*`, `/` and `**` work **elementwise**: entry $(i, j)$ of the result comes from entry $(i, j)$ of
# each input. For tensors of the same shape that is all there is to it.
#
# Tensors of *different* shapes can still be combined when they **broadcast**. Adding a bias of shape `(3,)`
# to a batch of shape `(4, 3)` adds the same bias to each of the 4 rows, without copying it 4 times. The rule
# NumPy uses (and TinyTorch with it):
#
# 1. **Line the shapes up on the right.** If one shape is shorter, pad it on the left with 1s.
# 2. **Compare the sizes axis by axis.** Two sizes fit when they are equal or when one of them is 1.
# 3. **The result takes the larger size** on each axis. An input with size 1 on an axis is repeated along it.
#
# If any axis has two different sizes, neither of them 1, the shapes do not broadcast and NumPy raises an
# error. In symbols, for padded shapes $a$ and $b$:
#
# $$\text{out}_k = \begin{cases} a_k & \text{if } b_k = 1 \\ b_k & \text{if } a_k = 1 \text{ or } a_k = b_k \\
# \text{error} & \text{otherwise.} \end{cases}$$
#
# | `a.shape` | `b.shape` | padded `b` | `(a + b).shape` |
# | --- | --- | --- | --- |
# | `(4, 3)` | `(3,)` | `(1, 3)` | `(4, 3)` |
# | `(3, 1)` | `(1, 4)` | `(1, 4)` | `(3, 4)` |
# | `(2, 3, 4)` | `(3, 1)` | `(1, 3, 1)` | `(2, 3, 4)` |
# | `(5,)` | `()` | `(1,)` | `(5,)` |
# | `(4, 3)` | `(4,)` | `(1, 4)` | error: 3 and 4 |
#
# The last line is a classic bug: a per-*example* value of shape `(4,)` does not line up with the rows of a
# `(4, 3)` batch. It needs shape `(4, 1)`, and then it broadcasts across the columns.
#
# The figure draws two cases. Solid cells are the numbers an input really has; dashed grey cells are the
# copies broadcasting makes (NumPy never stores them).

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    def draw_grid(
        ax, values, left, top, real_shape=None, title="", color="tab:blue"
    ):
        """Draw a 2-D array as a grid of cells; cells outside `real_shape` are
        broadcast copies (dashed)."""
        values = np.atleast_2d(values)
        real_rows, real_cols = real_shape or values.shape
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                copy = i >= real_rows or j >= real_cols
                ax.add_patch(
                    Rectangle(
                        (left + j, top - i - 1),
                        1,
                        1,
                        facecolor="white" if copy else color,
                        alpha=1.0 if copy else 0.25,
                        edgecolor="grey" if copy else "black",
                        linestyle="--" if copy else "-",
                        linewidth=1,
                    )
                )
                ax.text(
                    left + j + 0.5,
                    top - i - 0.5,
                    f"{values[i, j]:g}",
                    ha="center",
                    va="center",
                    fontsize=10,
                    color="grey" if copy else "black",
                )
        ax.text(
            left + values.shape[1] / 2,
            top + 0.35,
            title,
            ha="center",
            va="bottom",
            fontsize=10,
        )

    def draw_broadcast(ax, a, b):
        """a, b and a + b, each operand drawn at the result's shape."""
        out = a + b
        rows, cols = np.atleast_2d(out).shape
        left = 0
        for k, (array, name) in enumerate(
            [(a, "a"), (b, "b"), (out, "a + b")]
        ):
            real = np.atleast_2d(array).shape if array.ndim >= 1 else (1, 1)
            stretched = np.broadcast_to(np.atleast_2d(array), (rows, cols))
            draw_grid(
                ax,
                stretched,
                left,
                rows,
                real,
                f"{name}: shape {array.shape}",
                color="tab:green" if k == 2 else "tab:blue",
            )
            left += cols
            if k < 2:
                ax.text(
                    left + 0.6,
                    rows / 2,
                    "+" if k == 0 else "=",
                    fontsize=18,
                    ha="center",
                    va="center",
                )
                left += 1.2
        ax.set_xlim(-0.3, left + 0.3)
        ax.set_ylim(-0.3, rows + 1.1)
        ax.set_aspect("equal")
        ax.axis("off")

    fig, axes = plt.subplots(2, 1, figsize=(9, 6.5))
    draw_broadcast(
        axes[0],
        np.array([[0.0], [10.0], [20.0]]),
        np.array([[1.0, 2.0, 3.0, 4.0]]),
    )
    axes[0].set_title(
        "(3, 1) + (1, 4) → (3, 4): a column and a row make a table",
        fontsize=11,
    )
    draw_broadcast(
        axes[1], np.arange(12.0).reshape(4, 3), np.array([0.5, -1.0, 2.0])
    )
    axes[1].set_title(
        "(4, 3) + (3,) → (4, 3): the same bias added to every row of a batch",
        fontsize=11,
    )
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ### Exercise 1: the broadcasting rule (3 points)
#
# Write `broadcast_shape(shape_a, shape_b)`. It takes two shapes (tuples of ints) and returns the shape of
# `a + b` as a tuple, following the three steps above. When the shapes do not broadcast it raises a
# `ValueError` whose message names both shapes.
#
# Do not call NumPy's `np.broadcast_shapes`: the test compares your function against it.
#
# *Hint:* pad the shorter shape with `(1,) * n` on the left, then walk both padded shapes with `zip`.


# %% nbgrader={"grade": false, "grade_id": "broadcast-shape", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def broadcast_shape(shape_a, shape_b):
    """The shape of `a + b` for arrays of shapes `shape_a` and `shape_b`
    (NumPy's broadcasting rule).

    broadcast_shape((4, 3), (3,))    -> (4, 3)
    broadcast_shape((3, 1), (1, 4))  -> (3, 4)
    broadcast_shape((4, 3), (4,))    -> ValueError
    """
    ### BEGIN SOLUTION
    ndim = max(len(shape_a), len(shape_b))
    padded_a = (1,) * (ndim - len(shape_a)) + tuple(shape_a)
    padded_b = (1,) * (ndim - len(shape_b)) + tuple(shape_b)
    result = []
    for size_a, size_b in zip(padded_a, padded_b):
        if size_a != size_b and 1 not in (size_a, size_b):
            raise ValueError(
                f"shapes {tuple(shape_a)} and {tuple(shape_b)} do not "
                "broadcast: "
                f"sizes {size_a} and {size_b} on the same axis (they must be "
                "equal, or one must be 1)"
            )
        result.append(size_a if size_b == 1 else size_b)
    return tuple(result)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-broadcast-shape", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_unit_broadcast_shape():
    print("🔬 Unit Test: broadcast_shape...")
    assert broadcast_shape((4, 3), (3,)) == (4, 3), (
        "a bias (3,) broadcasts over a batch (4, 3)"
    )
    assert broadcast_shape((3, 1), (1, 4)) == (3, 4), (
        "a column and a row make a table"
    )
    assert broadcast_shape((2, 3, 4), (3, 1)) == (2, 3, 4)
    assert broadcast_shape((5,), ()) == (5,), (
        "a scalar broadcasts with anything"
    )
    print("✅ Shapes line up on the right and size-1 axes stretch")
    try:
        broadcast_shape((4, 3), (4,))
    except ValueError as error:
        assert "(4, 3)" in str(error) and "(4,)" in str(error), (
            f"name both shapes in the message: {error}"
        )
    else:
        raise AssertionError(
            "(4, 3) and (4,) do not broadcast: expected a ValueError"
        )
    print("✅ Mismatched sizes raise a ValueError naming both shapes")
    ### BEGIN HIDDEN TESTS
    assert isinstance(broadcast_shape([2, 1], [3]), tuple), (
        "return a tuple, also for lists"
    )
    assert broadcast_shape([2, 1], [3]) == (2, 3)
    rng = np.random.default_rng(2)
    for _ in range(200):
        shape_a = tuple(
            int(s) for s in rng.integers(0, 4, size=rng.integers(0, 5))
        )
        shape_b = tuple(
            int(s) for s in rng.integers(0, 4, size=rng.integers(0, 5))
        )
        try:
            expected = np.broadcast_shapes(shape_a, shape_b)
        except ValueError:
            try:
                broadcast_shape(shape_a, shape_b)
            except ValueError:
                continue
            raise AssertionError(
                f"{shape_a} and {shape_b} do not broadcast: expected a "
                "ValueError"
            ) from None
        assert broadcast_shape(shape_a, shape_b) == expected, (
            shape_a,
            shape_b,
        )
    assert broadcast_shape((), ()) == ()
    assert broadcast_shape((0, 1), (1, 3)) == (0, 3), (
        "size 0 and size 1 give size 0"
    )
    ### END HIDDEN TESTS
    print("📈 Progress: broadcast_shape ✓")


if __name__ == "__main__":
    test_unit_broadcast_shape()

# %% [markdown]
# Now try your function on the shapes of a real layer: a batch of 32 inputs times weights, plus a bias.

# %%
if __name__ == "__main__":
    with after_exercise("broadcast_shape"):
        for shape_a, shape_b in [
            ((32, 128), (128,)),
            ((32, 128), (32, 1)),
            ((32, 128), (32,)),
        ]:
            try:
                print(
                    f"{str(shape_a):>10} + {str(shape_b):<7} -> "
                    f"{broadcast_shape(shape_a, shape_b)}"
                )
            except ValueError as error:
                print(
                    f"{str(shape_a):>10} + {str(shape_b):<7} -> ValueError: "
                    f"{error}"
                )

# %% [markdown]
# ## 3. Elementwise multiplication versus matrix multiplication
#
# `a * b` multiplies entry by entry. The **matrix product** `a @ b` is a different operation: each entry of
# the result is a dot product of a *row* of $A$ with a *column* of $B$,
#
# $$C_{ij} = \sum_{k=1}^{K} A_{ik}\, B_{kj}, \qquad A \in \mathbb{R}^{N \times K},\; B \in \mathbb{R}^{K \times M},
# \; C \in \mathbb{R}^{N \times M}.$$
#
# So the **inner sizes must match** (the $K$ columns of $A$ and the $K$ rows of $B$), and the result has the
# outer sizes, $N \times M$. Computing it takes $N \cdot K \cdot M$ multiply-adds. It is the workhorse of deep
# learning: a dense layer maps a batch `x` of shape `(N, K)` to `x @ W + b`, with `W` of shape `(K, M)`.
#
# NumPy's `@` (which we follow) also handles two more cases:
#
# - **Vectors.** A vector on the left acts as one row, a vector on the right as one column, and that axis is
#   dropped from the result: `(K,) @ (K, M)` is `(M,)`, `(N, K) @ (K,)` is `(N,)`, and `(K,) @ (K,)` is the
#   dot product, a scalar `()`.
# - **Batches.** With more than two axes, the last two are the matrices and the leading axes are a batch
#   that broadcasts: `(B, N, K) @ (K, M)` is `(B, N, M)`.
#
# The cell below computes a product straight from the definition, with broadcasting and a sum: the axes are
# arranged so that $A_{ik}$ and $B_{kj}$ meet at position $(i, k, j)$, then the sum runs over $k$.

# %%
if __name__ == "__main__":
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    B = np.array([[10.0, 20.0], [30.0, 40.0]])
    print("elementwise A * B =\n", A * B)
    print("matrix      A @ B =\n", A @ B)
    products = (
        A[:, :, None] * B[None, :, :]
    )  # shape (N, K, M): A[i, k] * B[k, j]
    print("from the definition =\n", products.sum(axis=1))
    print("row 0 of A · column 1 of B =", A[0] @ B[:, 1], "= C[0, 1]")

# %% [markdown]
# ### Exercise 2: a matrix product that checks its shapes (3 points)
#
# Shape mismatches are the most common bug in deep-learning code, and NumPy's own message
# (`matmul: Input operand 1 has a mismatch in its core dimension 0...`) does not say much to a beginner.
# Write `matmul(a, b)`, which `Tensor.__matmul__` calls for `a @ b`:
#
# 1. Turn both inputs into NumPy arrays (`np.asarray(_data(x))` works for tensors, arrays, lists).
# 2. If either is a scalar (0 dimensions), raise a `ValueError`: a matrix product needs at least a vector
#    (multiply by a number with `*`).
# 3. Find the inner sizes: the last axis of `a`; the second-to-last axis of `b`, or its only axis when `b`
#    is a vector. If they differ, raise a `ValueError` naming both shapes.
# 4. Return the product as a new `Tensor`. Once the shapes are checked, `np.matmul` may do the arithmetic.


# %% nbgrader={"grade": false, "grade_id": "matmul", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def matmul(a, b):
    """The matrix product `a @ b` of two tensors (or arrays), with NumPy's
    rules for vectors and batches.

    Raises ValueError, naming both shapes, when an input is a scalar or the
    inner sizes differ.
    """
    ### BEGIN SOLUTION
    a, b = np.asarray(_data(a)), np.asarray(_data(b))
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            "matmul needs tensors with at least one axis, got shapes "
            f"{a.shape} and {b.shape} "
            "(to multiply by a number, use *)"
        )
    inner_a = a.shape[-1]  # columns of a
    inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]  # rows of b
    if inner_a != inner_b:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} do not fit: "
            f"a has {inner_a} columns but b has {inner_b} rows"
        )
    return Tensor(np.matmul(a, b))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-matmul", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_unit_matmul():
    print("🔬 Unit Test: matmul...")
    a = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = Tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    product = matmul(a, b)
    assert isinstance(product, Tensor), "return a Tensor"
    assert product.shape == (2, 2)
    assert np.array_equal(product.data, [[4.0, 5.0], [10.0, 11.0]]), (
        product.data
    )
    assert np.array_equal((a @ b).data, product.data), (
        "the @ operator calls matmul"
    )
    print("✅ (2, 3) @ (3, 2) -> (2, 2) with the right numbers")
    try:
        matmul(a, a)
    except ValueError as error:
        assert "(2, 3)" in str(error), (
            f"name both shapes in the message: {error}"
        )
    else:
        raise AssertionError(
            "(2, 3) @ (2, 3) does not fit: expected a ValueError"
        )
    print("✅ Mismatched inner sizes raise a ValueError naming the shapes")
    ### BEGIN HIDDEN TESTS
    rng = np.random.default_rng(3)
    for shape_a, shape_b in [
        ((4,), (4, 2)),
        ((3, 4), (4,)),
        ((4,), (4,)),
        ((5, 3, 4), (4, 2)),
        ((5, 3, 4), (5, 4, 2)),
        ((4,), (5, 4, 2)),
        ((1, 3), (3, 1)),
    ]:
        x, y = rng.normal(size=shape_a), rng.normal(size=shape_b)
        result = matmul(Tensor(x), y)
        assert isinstance(result, Tensor)
        assert result.shape == np.matmul(x, y).shape, (
            shape_a,
            shape_b,
            result.shape,
        )
        assert np.allclose(result.data, np.matmul(x, y))
    for shape_a, shape_b in [
        ((3,), (4,)),
        ((2, 3), (2,)),
        ((3,), (2, 3)),
        ((5, 2, 3), (2, 3)),
    ]:
        try:
            matmul(np.ones(shape_a), Tensor(np.ones(shape_b)))
        except ValueError as error:
            assert str(shape_a) in str(error) and str(shape_b) in str(error), (
                str(error)
            )
        else:
            raise AssertionError(
                f"{shape_a} @ {shape_b} should raise ValueError"
            )
    for scalar_case in [(Tensor(2.0), Tensor([1.0])), (Tensor([1.0]), 3.0)]:
        try:
            matmul(*scalar_case)
        except ValueError:
            pass
        else:
            raise AssertionError("a scalar operand should raise ValueError")
    ### END HIDDEN TESTS
    print("📈 Progress: matmul ✓")


if __name__ == "__main__":
    test_unit_matmul()

# %% [markdown]
# With `matmul` and broadcasting together you have the forward pass of a dense layer. Four examples with 3
# features each go in; 2 numbers per example come out.

# %%
if __name__ == "__main__":
    with after_exercise("matmul"):
        x = Tensor(
            np.arange(12.0).reshape(4, 3) / 10
        )  # a batch: 4 examples, 3 features
        W = Tensor(
            [[1.0, -1.0], [0.5, 0.0], [0.0, 2.0]]
        )  # 3 inputs -> 2 outputs
        b = Tensor([0.1, -0.1])
        y = x @ W + b  # (4, 3) @ (3, 2) + (2,) -> (4, 2)
        print("y.shape =", y.shape)
        print(y)
        try:
            x @ W.T
        except ValueError as error:
            print("x @ W.T ->", error)

# %% [markdown]
# ## 4. Reductions along axes
#
# A **reduction** combines many numbers into fewer: a sum, a mean, a maximum. Without an `axis` it reduces
# everything to one number. With `axis=k` it reduces *along* axis $k$ only, and that axis disappears from the
# shape. For a matrix $X$ of shape $(N, M)$:
#
# $$\texttt{X.sum(axis=0)}_j = \sum_{i=1}^{N} X_{ij} \;\; \text{shape } (M,), \qquad
# \texttt{X.sum(axis=1)}_i = \sum_{j=1}^{M} X_{ij} \;\; \text{shape } (N,).$$
#
# A way to remember it: **the axis you name is the one that goes away.** For a batch of shape
# `(batch, features)`, `axis=0` averages over the examples (one number per feature), `axis=1` over the
# features (one number per example). `axis` can also be a tuple of axes, or negative (`-1` is the last axis).
#
# `keepdims=True` keeps the reduced axis with size 1: `(N, M)` becomes `(N, 1)` instead of `(N,)`. That is
# what you want when the result goes straight back into an operation with the original tensor, because
# `(N, M)` and `(N, 1)` broadcast the right way, while `(N, M)` and `(N,)` do not (or, worse, when $N = M$
# they broadcast the *wrong* way without an error).

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt

    X = np.array(
        [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]]
    )

    fig, ax = plt.subplots(figsize=(7, 4))
    draw_grid(ax, X, 0, 3, title="X: shape (3, 4)")
    draw_grid(
        ax, X.sum(axis=0, keepdims=True), 0, -0.8, color="tab:orange", title=""
    )
    ax.text(
        2,
        -2.25,
        "X.sum(axis=0): shape (4,)",
        ha="center",
        va="top",
        fontsize=10,
    )
    draw_grid(
        ax,
        X.sum(axis=1, keepdims=True),
        5.2,
        3,
        color="tab:purple",
        title="X.sum(axis=1)",
    )
    ax.text(6.4, 1.5, "shape (3,)", ha="left", va="center", fontsize=10)
    for j in range(4):
        ax.annotate(
            "",
            xy=(j + 0.5, -0.75),
            xytext=(j + 0.5, 0.0),
            arrowprops=dict(arrowstyle="->", color="tab:orange"),
        )
    for i in range(3):
        ax.annotate(
            "",
            xy=(5.15, 2.5 - i),
            xytext=(4.0, 2.5 - i),
            arrowprops=dict(arrowstyle="->", color="tab:purple"),
        )
    ax.set_xlim(-0.3, 8.5)
    ax.set_ylim(-2.8, 4.0)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(
        "Reductions: the axis you name goes away\n"
        "axis=0 sums down the columns, axis=1 along the rows",
        fontsize=11,
    )
    plt.show()

# %%
if __name__ == "__main__":
    X = Tensor(X)
    print("X.sum()                     =", X.sum(), " shape", X.sum().shape)
    print(
        "X.sum(axis=0)               =",
        X.sum(axis=0),
        " shape",
        X.sum(axis=0).shape,
    )
    print(
        "X.sum(axis=1)               =",
        X.sum(axis=1),
        " shape",
        X.sum(axis=1).shape,
    )
    print(
        "X.sum(axis=1, keepdims=True) shape",
        X.sum(axis=1, keepdims=True).shape,
    )
    # each row divided by its own total: (3, 4) / (3, 1) broadcasts across the
    # columns
    shares = X / X.sum(axis=1, keepdims=True)
    print("row shares sum to", shares.sum(axis=1))

# %% [markdown]
# ### Exercise 3: the mean along axes (2 points)
#
# The mean is a sum divided by a count: how many numbers went into each sum. Write `mean(x, axis=None,
# keepdims=False)`, which `Tensor.mean` calls, **without** `np.mean`:
#
# 1. Take the NumPy array of `x` (`np.asarray(_data(x))`) and sum it with the same `axis` and `keepdims`.
# 2. Each entry of that sum adds up the same number of entries of `x`: `x.size / total.size`.
#    (Check: a `(3, 4)` array summed over `axis=0` has 4 sums of 3 numbers each; $12 / 4 = 3$.)
# 3. Return the sum divided by that count, as a new `Tensor`.
#
# This handles `axis=None`, a single axis, a negative axis and a tuple of axes alike. Integer tensors get a
# float mean, as in NumPy.


# %% nbgrader={"grade": false, "grade_id": "mean", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def mean(x, axis=None, keepdims=False):
    """The average of the entries of `x` along `axis` (None: all entries; an
    int or a tuple of ints)."""
    ### BEGIN SOLUTION
    data = np.asarray(_data(x))
    total = data.sum(axis=axis, keepdims=keepdims)
    count = data.size // max(
        np.size(total), 1
    )  # how many entries went into each sum
    return Tensor(total / count)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-mean", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_mean():
    print("🔬 Unit Test: mean...")
    x = Tensor(
        [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]]
    )
    assert isinstance(mean(x), Tensor), "return a Tensor"
    assert mean(x).item() == 6.5
    assert np.array_equal(mean(x, axis=0).data, [5.0, 6.0, 7.0, 8.0])
    assert np.array_equal(mean(x, axis=1).data, [2.5, 6.5, 10.5])
    print("✅ Means over everything, down the columns and along the rows")
    assert mean(x, axis=1, keepdims=True).shape == (3, 1)
    assert np.array_equal(x.mean(axis=0).data, [5.0, 6.0, 7.0, 8.0]), (
        "Tensor.mean calls mean"
    )
    print("✅ keepdims keeps the reduced axis with size 1")
    ### BEGIN HIDDEN TESTS
    rng = np.random.default_rng(4)
    cube = rng.normal(size=(2, 3, 4))
    for axis in [None, 0, 1, 2, -1, -2, (0, 2), (1, -1), (0, 1, 2)]:
        for keepdims in (False, True):
            result = mean(Tensor(cube), axis=axis, keepdims=keepdims)
            expected = cube.mean(axis=axis, keepdims=keepdims)
            assert result.shape == np.shape(expected), (
                axis,
                keepdims,
                result.shape,
            )
            assert np.allclose(result.data, expected), (axis, keepdims)
    ints = Tensor([1, 2])
    assert mean(ints).item() == 1.5 and np.issubdtype(
        mean(ints).dtype, np.floating
    )
    assert np.allclose(mean(cube.tolist(), axis=1).data, cube.mean(axis=1)), (
        "accept nested lists too"
    )
    ### END HIDDEN TESTS
    print("📈 Progress: mean ✓")


if __name__ == "__main__":
    test_unit_mean()

# %% [markdown]
# A common use: **centring** a batch, so that every feature has mean 0. `x.mean(axis=0, keepdims=True)` has
# shape `(1, features)` and broadcasts over the rows.

# %%
if __name__ == "__main__":
    with after_exercise("mean"):
        batch = Tensor([[1.0, 200.0], [3.0, 400.0], [5.0, 600.0]])
        centred = batch - batch.mean(axis=0, keepdims=True)
        print("feature means:", batch.mean(axis=0))
        print("centred batch:\n", centred)
        print("new feature means:", centred.mean(axis=0))

# %% [markdown]
# ## 5. Changing shape, and elementwise functions
#
# `reshape` reads the entries in order (the last axis fastest) and refills them into a new shape with the
# same size; one size may be `-1`, meaning "whatever is left". `transpose` reorders the axes; `.T` reverses
# them, turning rows into columns. `exp` and `log` apply $e^x$ and $\ln x$ to every entry: you will meet them
# again in softmax and cross-entropy.

# %%
if __name__ == "__main__":
    t = Tensor(np.arange(6.0))
    print("reshape(2, 3):\n", t.reshape(2, 3))
    print("reshape(3, -1).shape:", t.reshape(3, -1).shape)
    print(".T of (2, 3) has shape", t.reshape(2, 3).T.shape)
    print(
        "transpose of (2, 3, 4) with axes (2, 0, 1):",
        Tensor(np.zeros((2, 3, 4))).transpose(2, 0, 1).shape,
    )
    print(
        "exp:",
        Tensor([0.0, 1.0]).exp(),
        " log(exp(x)) gives x back:",
        Tensor([0.0, 1.0]).exp().log(),
    )

# %% [markdown]
# ## Checks on the rest of the class
#
# These run with the module's tests (`tito test --module tensor`); they test the code that was given.


# %% nbgrader={"grade": false, "grade_id": "test-tensor-basics", "locked": true, "schema_version": 3, "solution": false, "task": false}
def test_unit_tensor_basics():
    print("🔬 Unit Test: Tensor basics...")
    source = np.array([[1.0, 2.0], [3.0, 4.0]])
    a = Tensor(source)
    source[0, 0] = 99.0
    assert a.data[0, 0] == 1.0, "Tensor(array) copies the array"
    assert (a.shape, a.ndim, a.size, len(a)) == ((2, 2), 2, 4, 2)
    assert (
        Tensor([1, 2]).dtype == np.int64
        and Tensor([1, 2], dtype=np.float32).dtype == np.float32
    )
    print("✅ Construction copies; shape, ndim, size, len and dtype")
    b = Tensor([10.0, 20.0])
    assert np.array_equal((a + b).data, [[11.0, 22.0], [13.0, 24.0]])
    assert np.array_equal((2 - a).data, [[1.0, 0.0], [-1.0, -2.0]])
    assert np.array_equal((a * b).data, [[10.0, 40.0], [30.0, 80.0]])
    assert np.array_equal((1 / a).data, 1 / np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert np.array_equal((a**2).data, [[1.0, 4.0], [9.0, 16.0]])
    assert np.array_equal((-a).data, [[-1.0, -2.0], [-3.0, -4.0]])
    assert isinstance(np.ones(2) + b, Tensor), "array + tensor is a tensor"
    print(
        "✅ Elementwise arithmetic and broadcasting, with numbers and arrays "
        "on either side"
    )
    assert a[1, 0].item() == 3.0 and np.array_equal(a[:, 1].data, [2.0, 4.0])
    assert a.sum().item() == 10.0 and np.array_equal(
        a.sum(axis=0).data, [4.0, 6.0]
    )
    assert a.reshape(4).shape == (4,) and np.array_equal(
        a.T.data, [[1.0, 3.0], [2.0, 4.0]]
    )
    assert np.allclose(a.exp().log().data, a.data)
    print("✅ Indexing, sum, reshape, transpose, exp and log")


if __name__ == "__main__":
    test_unit_tensor_basics()

# %% [markdown]
# ## Summary
#
# - A tensor is a grid of numbers with a **shape** (the size of each axis), a **rank** (the number of axes)
#   and a **dtype**. TinyTorch's `Tensor` copies its input into a NumPy array, `.data`.
# - Elementwise operations **broadcast**: shapes line up on the right, and a size-1 axis stretches. You
#   wrote the rule as `broadcast_shape`.
# - `a @ b` is the **matrix product**: inner sizes must match. You wrote `matmul` with a clear error.
# - **Reductions** remove the axes you name; `keepdims=True` keeps them with size 1, so the result
#   broadcasts back. You wrote `mean` as a sum divided by a count.
#
# Export your work and run the tests from a terminal:
#
# ```bash
# tito export --module tensor && tito test --module tensor
# ```
#
# **Next: Module 03 (autograd).** A network learns by following gradients. The next module makes tensors
# remember how they were computed, and then runs the chain rule backwards through every operation you used
# here: broadcasting and reductions included.
