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
# DRAFT (to be expanded): the NumPy-backed `Tensor` every later module builds on.

# %%
#| default_exp core.tensor
#| export
import numpy as np


# %% nbgrader={"grade": false, "grade_id": "tensor-class", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Tensor:
    """An n-dimensional array of numbers: a thin, readable wrapper around a NumPy array.

    `.data` is the NumPy array itself. Arithmetic returns new tensors; NumPy does the work, including
    broadcasting (shapes (3, 1) and (4,) combine to (3, 4)).
    """

    def __init__(self, data, dtype=None):
        ### BEGIN SOLUTION
        self.data = np.array(data.data if isinstance(data, Tensor) else data, dtype=dtype)
        ### END SOLUTION

    # --- what a tensor is -------------------------------------------------------------------------
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
        return self.data

    def item(self):
        return self.data.item()

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        return f"{type(self).__name__}({np.array2string(self.data, precision=4, separator=', ')})"

    # --- arithmetic: every operation makes a new tensor ---------------------------------------------
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

    def __neg__(self):
        return Tensor(-self.data)

    def __matmul__(self, other):
        return Tensor(self.data @ _data(other))

    def __getitem__(self, index):
        return Tensor(self.data[index])

    # --- reductions and shape -----------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return Tensor(self.data.sum(axis=axis, keepdims=keepdims))

    def mean(self, axis=None, keepdims=False):
        return Tensor(self.data.mean(axis=axis, keepdims=keepdims))

    def reshape(self, *shape):
        return Tensor(self.data.reshape(*shape))

    def transpose(self, *axes):
        return Tensor(self.data.transpose(*axes))

    @property
    def T(self):
        return self.transpose()

    # --- elementwise functions ----------------------------------------------------------------------
    def exp(self):
        return Tensor(np.exp(self.data))

    def log(self):
        return Tensor(np.log(self.data))


def _data(value):
    """The NumPy array behind a tensor, or the value itself (a number or an array)."""
    return value.data if isinstance(value, Tensor) else value


# %% [markdown]
# ## Tests

# %% nbgrader={"grade": true, "grade_id": "test-tensor", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_tensor_arithmetic():
    """Arithmetic matches NumPy, including broadcasting."""
    a = Tensor([[1.0, 2.0], [3.0, 4.0]])
    b = Tensor([10.0, 20.0])
    assert np.array_equal((a + b).data, [[11.0, 22.0], [13.0, 24.0]])
    assert np.array_equal((a @ a).data, [[7.0, 10.0], [15.0, 22.0]])
    print("✅ Tensor arithmetic and broadcasting")


if __name__ == "__main__":
    test_unit_tensor_arithmetic()
