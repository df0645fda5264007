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
# DRAFT (to be expanded): `Variable`, a tensor that remembers how it was made and runs the chain rule backwards.

# %%
#| default_exp core.autograd
#| export
import contextlib

import numpy as np

from tinytorch.core.tensor import Tensor

# %%
#| export
_grad_enabled = True


@contextlib.contextmanager
def no_grad():
    """Inside `with no_grad():` operations build no graph (evaluation, or updating weights by hand)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def unbroadcast(grad, shape):
    """Sum a gradient back to `shape`: undo NumPy broadcasting, which copied the input along some axes."""
    while grad.ndim > len(shape):           # axes broadcasting added in front
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):     # axes of size 1 that broadcasting stretched
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


# %% nbgrader={"grade": false, "grade_id": "variable-class", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Variable(Tensor):
    """A tensor in a computation graph.

    Each result of an operation keeps its `parents` and a `backward` function that maps the gradient of
    the final output with respect to this result to one gradient per parent (the chain rule, one step).
    `loss.backward()` walks the graph from the loss back to the leaves and adds each leaf's gradient into
    its `.grad`, a `Tensor` of the leaf's shape.
    """

    def __init__(self, data, requires_grad=False, dtype=None):
        super().__init__(data, dtype=dtype)
        if requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            self.data = self.data.astype(np.float64)   # gradients need real numbers
        self.requires_grad = requires_grad
        self.grad = None
        self._parents = ()
        self._backward = None

    @classmethod
    def _result(cls, data, parents, backward):
        """The output of an operation: part of the graph when any input needs a gradient."""
        out = cls.__new__(cls)
        out.data = np.asarray(data)
        out.grad = None
        out.requires_grad = _grad_enabled and any(p.requires_grad for p in parents)
        out._parents = parents if out.requires_grad else ()
        out._backward = backward if out.requires_grad else None
        return out

    def __repr__(self):
        flag = ", requires_grad=True" if self.requires_grad else ""
        return f"Variable({np.array2string(self.data, precision=4, separator=', ')}{flag})"

    # --- arithmetic -------------------------------------------------------------------------------
    def __add__(self, other):
        other = as_variable(other)
        return Variable._result(self.data + other.data, (self, other), lambda g: (g, g))

    def __sub__(self, other):
        other = as_variable(other)
        return Variable._result(self.data - other.data, (self, other), lambda g: (g, -g))

    def __mul__(self, other):
        other = as_variable(other)
        return Variable._result(self.data * other.data, (self, other),
                                lambda g: (g * other.data, g * self.data))

    def __truediv__(self, other):
        other = as_variable(other)
        return Variable._result(self.data / other.data, (self, other),
                                lambda g: (g / other.data, -g * self.data / other.data ** 2))

    def __pow__(self, exponent):
        ### BEGIN SOLUTION
        exponent = as_variable(exponent)
        out = self.data ** exponent.data

        def backward(g):
            d_base = g * exponent.data * self.data ** (exponent.data - 1)
            if not exponent.requires_grad:
                return d_base, None
            with np.errstate(divide="ignore", invalid="ignore"):
                return d_base, g * out * np.log(self.data)
        ### END SOLUTION
        return Variable._result(out, (self, exponent), backward)

    def __neg__(self):
        return Variable._result(-self.data, (self,), lambda g: (-g,))

    def __radd__(self, other):
        return as_variable(other) + self

    def __rsub__(self, other):
        return as_variable(other) - self

    def __rmul__(self, other):
        return as_variable(other) * self

    def __rtruediv__(self, other):
        return as_variable(other) / self

    def __rpow__(self, other):
        return as_variable(other) ** self

    def __matmul__(self, other):
        other = as_variable(other)
        a, b = self.data, other.data

        def backward(g):
            # treat vectors as 1-row / 1-column matrices, then undo that on the way out
            a2 = a[None, :] if a.ndim == 1 else a
            b2 = b[:, None] if b.ndim == 1 else b
            g2 = np.reshape(g, np.matmul(a2, b2).shape)
            ga = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
            gb = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
            return ga, gb
        return Variable._result(a @ b, (self, other), backward)

    def __rmatmul__(self, other):
        return as_variable(other) @ self

    def __getitem__(self, index):
        index = index.data if isinstance(index, Tensor) else index

        def backward(g):
            grad = np.zeros_like(self.data, dtype=np.result_type(g, self.data))
            np.add.at(grad, index, g)     # repeated indices add up
            return (grad,)
        return Variable._result(self.data[index], (self,), backward)

    # --- reductions and shape -----------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        def backward(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            return (np.broadcast_to(g, self.shape),)
        return Variable._result(self.data.sum(axis=axis, keepdims=keepdims), (self,), backward)

    def mean(self, axis=None, keepdims=False):
        total = self.sum(axis=axis, keepdims=keepdims)
        return total / (self.data.size / total.data.size)

    def reshape(self, *shape):
        return Variable._result(self.data.reshape(*shape), (self,), lambda g: (np.reshape(g, self.shape),))

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        order = axes or tuple(reversed(range(self.ndim)))
        return Variable._result(self.data.transpose(order), (self,),
                                lambda g: (np.transpose(g, np.argsort(order)),))

    # --- elementwise functions ----------------------------------------------------------------------
    def exp(self):
        out = np.exp(self.data)
        return Variable._result(out, (self,), lambda g: (g * out,))

    def log(self):
        return Variable._result(np.log(self.data), (self,), lambda g: (g / self.data,))

    def relu(self):
        return Variable._result(np.maximum(self.data, 0), (self,), lambda g: (g * (self.data > 0),))

    def sigmoid(self):
        out = 1.0 / (1.0 + np.exp(-self.data))
        return Variable._result(out, (self,), lambda g: (g * out * (1.0 - out),))

    def tanh(self):
        out = np.tanh(self.data)
        return Variable._result(out, (self,), lambda g: (g * (1.0 - out ** 2),))

    # --- the backward pass --------------------------------------------------------------------------
    def backward(self, grad=None):
        """Add d(self)/d(leaf) into `.grad` of every leaf that requires a gradient."""
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"backward() without a gradient needs a single number; this output has shape "
                                 f"{self.shape}: call .sum() first or pass grad= of that shape")
            grad = np.ones_like(self.data, dtype=float)
        grads = {id(self): np.asarray(grad.data if isinstance(grad, Tensor) else grad)}
        for node in reversed(topological_order(self)):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if not node._parents:                       # a leaf: accumulate
                node.grad = Tensor(g if node.grad is None else node.grad.data + g)
                continue
            for parent, parent_grad in zip(node._parents, node._backward(g)):
                if parent.requires_grad and parent_grad is not None:
                    parent_grad = unbroadcast(np.asarray(parent_grad), parent.shape)
                    grads[id(parent)] = grads[id(parent)] + parent_grad if id(parent) in grads else parent_grad

    def zero_grad(self):
        self.grad = None

    def detach(self):
        """The same numbers, cut from the graph."""
        return Variable(self.data)


def as_variable(value):
    """Numbers, arrays and tensors become constant Variables; Variables pass through."""
    return value if isinstance(value, Variable) else Variable(value.data if isinstance(value, Tensor) else value)


def topological_order(root):
    """Every node that `root` depends on, each after all of its parents (iterative: deep graphs are fine)."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        stack.extend((parent, False) for parent in node._parents if id(parent) not in visited)
    return order


# %% [markdown]
# ## Tests

# %% nbgrader={"grade": true, "grade_id": "test-autograd", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_variable_square():
    """d(x²)/dx = 2x."""
    x = Variable(10.0, requires_grad=True)
    loss = x ** 2
    loss.backward()
    assert x.grad.data == 20.0
    print("✅ d(x²)/dx = 2x")


if __name__ == "__main__":
    test_unit_variable_square()
