"""Tests of tinytorch.core.tensor: every operation against NumPy computed in
the test, copy semantics, dtypes, and broadcasting (hypothesis generates the
shapes)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinytorch.core.tensor import Tensor, broadcast_shape, matmul, mean

FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def floats(low, high):
    return st.floats(
        low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False
    )


ANY = floats(-10.0, 10.0)
POSITIVE = floats(0.1, 10.0)
NONZERO = st.one_of(floats(-10.0, -0.1), floats(0.1, 10.0))
SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)
BROADCASTING = hnp.mutually_broadcastable_shapes(
    num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=4
)


def assert_tensor_equals(result, expected):
    assert isinstance(result, Tensor)
    assert isinstance(result.data, np.ndarray)
    assert result.shape == np.shape(expected)
    assert result.dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(result.data, expected)


# --- construction and copies -------------------------------------------------


def test_construction_from_numbers_lists_arrays_and_tensors():
    assert_tensor_equals(Tensor(3.5), np.float64(3.5))
    assert_tensor_equals(Tensor(7), np.int64(7))
    assert_tensor_equals(Tensor([[1, 2], [3, 4]]), np.array([[1, 2], [3, 4]]))
    assert_tensor_equals(Tensor(np.arange(3.0)), np.arange(3.0))
    assert_tensor_equals(Tensor(Tensor([1.0, 2.0])), np.array([1.0, 2.0]))
    assert_tensor_equals(
        Tensor([1, 2], dtype=np.float32),
        np.array([1.0, 2.0], dtype=np.float32),
    )
    assert_tensor_equals(
        Tensor(Tensor([1.5, 2.5]), dtype=np.float32),
        np.array([1.5, 2.5], dtype=np.float32),
    )
    assert_tensor_equals(
        Tensor([Tensor([1.0, 2.0]), Tensor([3.0, 4.0])]),
        np.array([[1.0, 2.0], [3.0, 4.0]]),
    )


def test_properties():
    t = Tensor(np.zeros((2, 3, 4), dtype=np.float32))
    assert (t.shape, t.ndim, t.size, t.dtype, len(t)) == (
        (2, 3, 4),
        3,
        24,
        np.float32,
        2,
    )
    assert t.numpy() is t.data
    assert Tensor(2.5).item() == 2.5 and isinstance(Tensor(2.5).item(), float)
    assert Tensor([[7]]).item() == 7
    assert f"{Tensor(10.0).data:.4f}" == "10.0000"
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert (
        repr(Tensor([[1.0, 2.0], [3.0, 4.0]]))
        == "Tensor([[1., 2.],\n        [3., 4.]])"
    )


def test_constructor_copies_its_input():
    source = np.array([1.0, 2.0, 3.0])
    t = Tensor(source)
    source[0] = 100.0
    assert t.data[0] == 1.0
    u = Tensor(t)
    t.data[1] = -5.0
    assert u.data[1] == 2.0
    nested = [[1.0, 2.0]]
    v = Tensor(nested)
    nested[0][0] = 9.0
    assert v.data[0, 0] == 1.0


def test_operations_return_new_tensors_that_share_nothing():
    a = Tensor([[1.0, 2.0], [3.0, 4.0]])
    before = a.data.copy()
    results = [
        a + 0,
        a - 0,
        a * 1,
        a / 1,
        a**1,
        -a,
        a @ np.eye(2),
        a[0],
        a[:, :],
        a.sum(axis=0),
        a.mean(axis=0),
        a.reshape(4),
        a.transpose(),
        a.T,
        a.exp(),
        a.log(),
    ]
    for result in results:
        assert isinstance(result, Tensor) and result is not a
        assert not np.shares_memory(result.data, a.data)
        result.data[...] = 0.0
    np.testing.assert_array_equal(a.data, before)


# --- elementwise arithmetic, with broadcasting -------------------------------

BINARY = {
    "+": (lambda a, b: a + b, ANY, ANY),
    "-": (lambda a, b: a - b, ANY, ANY),
    "*": (lambda a, b: a * b, ANY, ANY),
    "/": (lambda a, b: a / b, ANY, NONZERO),
    "**": (lambda a, b: a**b, POSITIVE, floats(-3.0, 3.0)),
}


@pytest.mark.parametrize("op", sorted(BINARY))
@FAST
@given(data=st.data())
def test_binary_operations_broadcast_like_numpy(op, data):
    fn, left, right = BINARY[op]
    shape_a, shape_b = data.draw(BROADCASTING).input_shapes
    a = data.draw(hnp.arrays(np.float64, shape_a, elements=left))
    b = data.draw(hnp.arrays(np.float64, shape_b, elements=right))
    expected = fn(a, b)
    assert_tensor_equals(
        fn(Tensor(a), Tensor(b)), expected
    )  # tensor with tensor
    assert_tensor_equals(fn(Tensor(a), b), expected)  # tensor with array
    assert_tensor_equals(
        fn(a, Tensor(b)), expected
    )  # array with tensor (reflected)


@pytest.mark.parametrize("op", sorted(BINARY))
@FAST
@given(data=st.data())
def test_binary_operations_with_a_python_number(op, data):
    fn, left, right = BINARY[op]
    a = data.draw(hnp.arrays(np.float64, data.draw(SHAPES), elements=left))
    number = data.draw(right)
    assert_tensor_equals(fn(Tensor(a), number), fn(a, number))
    if op != "**":
        b = data.draw(
            hnp.arrays(np.float64, data.draw(SHAPES), elements=right)
        )
        number = data.draw(left)
        assert_tensor_equals(fn(number, Tensor(b)), fn(number, b))


def test_number_to_the_power_of_a_tensor_and_negation():
    assert_tensor_equals(
        2.0 ** Tensor([0.0, 1.0, 3.0]), np.array([1.0, 2.0, 8.0])
    )
    assert_tensor_equals(-Tensor([1.0, -2.0]), np.array([-1.0, 2.0]))


def test_broadcasting_errors_come_from_numpy_as_value_error():
    with pytest.raises(ValueError):
        Tensor(np.ones((4, 3))) + Tensor(np.ones(4))


def test_dtypes_follow_numpy():
    ints = Tensor([1, 2, 3])
    f32 = Tensor([1.0, 2.0], dtype=np.float32)
    assert (ints + 1).dtype == np.int64
    assert (ints / 2).dtype == np.float64
    assert (ints + 0.5).dtype == np.float64
    assert (f32 * 0.5).dtype == np.float32, (
        "a Python number adapts to the tensor"
    )
    assert (0.5 * f32).dtype == np.float32
    assert (f32 + Tensor([1.0, 1.0])).dtype == np.float64, (
        "float32 with float64 tensors is float64"
    )
    assert f32.exp().dtype == np.float32


def test_numpy_functions_accept_tensors():
    t = Tensor([1.0, 2.0])
    assert isinstance(np.ones(2) * t, Tensor)
    np.testing.assert_array_equal(np.asarray(t), [1.0, 2.0])
    assert np.allclose(t, [1.0, 2.0])
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    copy = np.array(t, copy=True)
    copy[0] = 9.0
    assert t.data[0] == 1.0


# --- broadcast_shape ---------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(shapes=BROADCASTING)
def test_broadcast_shape_matches_numpy(shapes):
    shape_a, shape_b = shapes.input_shapes
    assert (
        broadcast_shape(shape_a, shape_b)
        == shapes.result_shape
        == np.broadcast_shapes(shape_a, shape_b)
    )


@settings(max_examples=150, deadline=None)
@given(shape_a=SHAPES, shape_b=SHAPES)
def test_broadcast_shape_raises_exactly_when_numpy_does(shape_a, shape_b):
    try:
        expected = np.broadcast_shapes(shape_a, shape_b)
    except ValueError:
        with pytest.raises(ValueError) as error:
            broadcast_shape(shape_a, shape_b)
        assert str(shape_a) in str(error.value) and str(shape_b) in str(
            error.value
        )
    else:
        assert broadcast_shape(shape_a, shape_b) == expected


def test_broadcast_shape_examples():
    assert broadcast_shape((4, 3), (3,)) == (4, 3)
    assert broadcast_shape((3, 1), (1, 4)) == (3, 4)
    assert broadcast_shape((2, 3, 4), (3, 1)) == (2, 3, 4)
    assert broadcast_shape((5,), ()) == (5,)
    assert broadcast_shape([2, 1], [3]) == (2, 3)
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4,\)"):
        broadcast_shape((4, 3), (4,))


# --- matmul ------------------------------------------------------------------

MATMUL_SHAPES = [
    ((2, 3), (3, 4)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((3,), (3,)),
    ((2, 2, 3), (2, 3, 4)),
    ((2, 2, 3), (3, 4)),
    ((3,), (5, 3, 2)),
    ((2, 1, 2, 3), (3, 3, 2)),
    ((1, 1), (1, 1)),
]


@pytest.mark.parametrize("shape_a,shape_b", MATMUL_SHAPES)
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_matmul_matches_numpy(shape_a, shape_b, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=shape_a), rng.normal(size=shape_b)
    # the reference: each entry as a sum of products, written out
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    expected = (a2[..., :, :, None] * b2[..., None, :, :]).sum(axis=-2)
    if a.ndim == 1:
        expected = expected[..., 0, :]
    if b.ndim == 1:
        expected = expected[..., 0]
    for result in [
        Tensor(a) @ Tensor(b),
        Tensor(a) @ b,
        a @ Tensor(b),
        matmul(a, b),
        matmul(Tensor(a), b),
    ]:
        assert isinstance(result, Tensor) and result.shape == expected.shape
        np.testing.assert_allclose(
            result.data, expected, rtol=1e-12, atol=1e-12
        )


@pytest.mark.parametrize(
    "shape_a,shape_b",
    [
        ((2, 3), (2, 3)),
        ((3,), (4,)),
        ((2, 3), (2,)),
        ((3,), (2, 3)),
        ((5, 2, 3), (2, 3)),
        ((), (3,)),
        ((3,), ()),
    ],
)
def test_matmul_shape_errors_name_both_shapes(shape_a, shape_b):
    with pytest.raises(ValueError) as error:
        Tensor(np.ones(shape_a)) @ Tensor(np.ones(shape_b))
    assert str(shape_a) in str(error.value) and str(shape_b) in str(
        error.value
    )


def test_matmul_by_hand():
    a = Tensor([[1.0, 2.0], [3.0, 4.0]])
    b = Tensor([[5.0, 6.0], [7.0, 8.0]])
    assert_tensor_equals(a @ b, np.array([[19.0, 22.0], [43.0, 50.0]]))
    assert_tensor_equals(
        Tensor([1.0, 2.0]) @ Tensor([3.0, 4.0]), np.float64(11.0)
    )


# --- indexing, reductions, shape ---------------------------------------------


@pytest.mark.parametrize(
    "index",
    [
        0,
        -1,
        (1, 2),
        slice(1, None),
        (slice(None), 1),
        [0, 0, 2],
        (np.array([0, 2]), np.array([1, 0])),
        (Ellipsis, 0),
        (None, 1),
    ],
)
def test_getitem_matches_numpy(index):
    x = np.arange(12.0).reshape(3, 4)
    assert_tensor_equals(Tensor(x)[index], x[index])


def test_getitem_with_tensor_indices_and_boolean_masks():
    x = np.arange(12.0).reshape(3, 4)
    assert_tensor_equals(Tensor(x)[Tensor([2, 0])], x[[2, 0]])
    assert_tensor_equals(Tensor(x)[Tensor([1]), Tensor([3])], x[[1], [3]])
    assert_tensor_equals(Tensor(x)[x > 5], x[x > 5])


@st.composite
def array_and_axis(draw):
    shape = draw(
        hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4)
    )
    ndim = len(shape)
    axis = draw(
        st.one_of(
            st.none(),
            st.integers(-ndim, ndim - 1),
            st.lists(st.integers(0, ndim - 1), max_size=ndim, unique=True).map(
                tuple
            ),
        )
    )
    return (
        draw(hnp.arrays(np.float64, shape, elements=ANY)),
        axis,
        draw(st.booleans()),
    )


@FAST
@given(case=array_and_axis())
def test_sum_and_mean_match_numpy(case):
    x, axis, keepdims = case
    total = Tensor(x).sum(axis=axis, keepdims=keepdims)
    assert total.shape == np.sum(x, axis=axis, keepdims=keepdims).shape
    np.testing.assert_allclose(
        total.data,
        np.sum(x, axis=axis, keepdims=keepdims),
        rtol=1e-12,
        atol=1e-12,
    )
    # the mean, from its definition: the sum divided by how many entries each
    # sum adds up
    axes = (
        range(x.ndim)
        if axis is None
        else (axis,)
        if isinstance(axis, int)
        else axis
    )
    count = int(np.prod([x.shape[a] for a in axes]))
    expected = np.sum(x, axis=axis, keepdims=keepdims) / count
    for average in [
        Tensor(x).mean(axis=axis, keepdims=keepdims),
        mean(x, axis=axis, keepdims=keepdims),
    ]:
        assert isinstance(average, Tensor) and average.shape == expected.shape
        np.testing.assert_allclose(
            average.data, expected, rtol=1e-12, atol=1e-12
        )


def test_reductions_by_hand():
    x = Tensor([[1, 2, 3], [4, 5, 6]])
    assert_tensor_equals(x.sum(), np.int64(21))
    assert_tensor_equals(x.sum(axis=0), np.array([5, 7, 9]))
    assert_tensor_equals(x.sum(axis=1, keepdims=True), np.array([[6], [15]]))
    assert_tensor_equals(x.mean(), np.float64(3.5))
    assert_tensor_equals(x.mean(axis=-1), np.array([2.0, 5.0]))
    assert x.mean(axis=0, keepdims=True).shape == (1, 3)
    f32 = Tensor([1.0, 2.0], dtype=np.float32)
    assert f32.mean().dtype == np.float32


@FAST
@given(
    x=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=4, max_side=4),
        elements=ANY,
    ),
    data=st.data(),
)
def test_reshape_and_transpose_match_numpy(x, data):
    assert_tensor_equals(Tensor(x).reshape(-1), x.reshape(-1))
    assert_tensor_equals(Tensor(x).reshape(x.size, 1), x.reshape(x.size, 1))
    assert_tensor_equals(
        Tensor(x).reshape(tuple(reversed(x.shape))),
        x.reshape(tuple(reversed(x.shape))),
    )
    order = tuple(data.draw(st.permutations(range(x.ndim))))
    assert_tensor_equals(Tensor(x).transpose(*order), x.transpose(order))
    assert_tensor_equals(Tensor(x).transpose(order), x.transpose(order))
    assert_tensor_equals(Tensor(x).transpose(), x.T)
    assert_tensor_equals(Tensor(x).T, x.T)


@FAST
@given(x=hnp.arrays(np.float64, SHAPES, elements=POSITIVE))
def test_exp_and_log_match_numpy(x):
    assert_tensor_equals(Tensor(x).exp(), np.exp(x))
    assert_tensor_equals(Tensor(x).log(), np.log(x))


def test_exp_and_log_known_values():
    np.testing.assert_allclose(Tensor([0.0, 1.0]).exp().data, [1.0, np.e])
    np.testing.assert_allclose(Tensor([1.0, np.e**2]).log().data, [0.0, 2.0])
