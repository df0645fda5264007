"""Tests of tinytorch.core.autograd: every operation's gradient against central
finite differences.

Each gradient check computes the forward pass twice: with the package (whose
backward pass is under test) and with a NumPy function written here. The
package's value must equal NumPy's, and the package's gradient of sum(weights *
f(inputs)) must equal central differences of the NumPy function. Values are
float64 and kept away from kinks (relu at 0) and poles (1/x, log x at 0).
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinytorch.core.autograd import (
    Variable,
    as_variable,
    no_grad,
    topological_order,
    unbroadcast,
)
from tinytorch.core.tensor import Tensor

FAST = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
H = 1e-6


# --- the reference: central differences, written here ------------------------


def central_differences(f, arrays, h=H):
    """d f(*arrays) / d arrays[k][i] for every k and i, by (f(.. x + h ..) -
    f(.. x - h ..)) / 2h."""
    grads = []
    for k, array in enumerate(arrays):
        grad = np.zeros_like(array)
        for i in np.ndindex(array.shape):
            plus = [a.copy() for a in arrays]
            minus = [a.copy() for a in arrays]
            plus[k][i] += h
            minus[k][i] -= h
            grad[i] = (f(*plus) - f(*minus)) / (2 * h)
        grads.append(grad)
    return grads


def check_gradients(
    package_fn, numpy_fn, *arrays, seed=0, rtol=1e-5, atol=1e-6
):
    """Value equals NumPy's; the gradient of sum(weights * value) equals
    central differences."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    leaves = [Variable(a, requires_grad=True) for a in arrays]
    out = package_fn(*leaves)
    expected = numpy_fn(*arrays)
    assert isinstance(out, Variable) and out.requires_grad
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)

    rng = np.random.default_rng(
        seed
    )  # weights unlike each other, so a gradient summed wrongly shows
    weights = rng.uniform(0.5, 1.5, size=np.shape(expected)) * rng.choice(
        [-1.0, 1.0], size=np.shape(expected)
    )
    out.backward(weights)
    numeric = central_differences(
        lambda *xs: float(np.sum(weights * numpy_fn(*xs))), arrays
    )
    for k, (leaf, array, expected_grad) in enumerate(
        zip(leaves, arrays, numeric)
    ):
        assert leaf.grad is not None, f"input {k} got no gradient"
        assert isinstance(leaf.grad, Tensor) and isinstance(
            leaf.grad.data, np.ndarray
        )
        assert leaf.grad.shape == array.shape, (
            f"input {k}: grad shape {leaf.grad.shape} != {array.shape}"
        )
        assert leaf.grad.data.dtype == np.float64
        np.testing.assert_allclose(
            leaf.grad.data,
            expected_grad,
            rtol=rtol,
            atol=atol,
            err_msg=f"gradient of input {k}",
        )


# --- strategies --------------------------------------------------------------


def floats(low, high):
    return st.floats(
        low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False
    )


ANY = floats(-2.0, 2.0)
POSITIVE = floats(0.5, 2.0)
AWAY_FROM_ZERO = st.one_of(floats(-2.0, -0.5), floats(0.5, 2.0))
AWAY_FROM_KINK = st.one_of(floats(-2.0, -0.05), floats(0.05, 2.0))
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
TWO_BROADCASTING_SHAPES = hnp.mutually_broadcastable_shapes(
    num_shapes=2, min_dims=0, max_dims=3, max_side=3
)


def arrays(shape, elements=ANY):
    return hnp.arrays(np.float64, shape, elements=elements)


# --- arithmetic, with broadcasting -------------------------------------------

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, ANY, ANY),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, ANY, ANY),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, ANY, ANY),
    "div": (lambda a, b: a / b, lambda a, b: a / b, ANY, AWAY_FROM_ZERO),
    "pow": (lambda a, b: a**b, lambda a, b: a**b, POSITIVE, ANY),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@FAST
@given(data=st.data())
def test_binary_operation_gradients_with_broadcasting(name, data):
    package_fn, numpy_fn, left, right = BINARY[name]
    shape_a, shape_b = data.draw(TWO_BROADCASTING_SHAPES).input_shapes
    a = data.draw(arrays(shape_a, left))
    b = data.draw(arrays(shape_b, right))
    check_gradients(package_fn, numpy_fn, a, b)


NUMBER_ON_EITHER_SIDE = {
    "x + 2.5": (lambda x: x + 2.5, lambda x: x + 2.5),
    "2.5 + x": (lambda x: 2.5 + x, lambda x: 2.5 + x),
    "x - 1.5": (lambda x: x - 1.5, lambda x: x - 1.5),
    "1.5 - x": (lambda x: 1.5 - x, lambda x: 1.5 - x),
    "x * 3": (lambda x: x * 3, lambda x: x * 3),
    "-3 * x": (lambda x: -3 * x, lambda x: -3 * x),
    "x / 4": (lambda x: x / 4, lambda x: x / 4),
    "2 / x": (lambda x: 2 / x, lambda x: 2 / x),
    "-x": (lambda x: -x, lambda x: -x),
}


@pytest.mark.parametrize("name", sorted(NUMBER_ON_EITHER_SIDE))
@settings(max_examples=15, deadline=None)
@given(x=arrays(SHAPES, AWAY_FROM_ZERO))
def test_operations_with_a_number_on_either_side(name, x):
    package_fn, numpy_fn = NUMBER_ON_EITHER_SIDE[name]
    check_gradients(package_fn, numpy_fn, x)


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1, -1.5, 1.7, 0])
@settings(max_examples=15, deadline=None)
@given(x=arrays(SHAPES, POSITIVE))
def test_pow_with_a_number_exponent(exponent, x):
    check_gradients(lambda v: v**exponent, lambda v: v**exponent, x)


@FAST
@given(x=arrays(SHAPES, ANY))
def test_number_to_the_power_of_a_variable(x):
    check_gradients(lambda v: 2.0**v, lambda v: 2.0**v, x)


def test_pow_exponent_gradient_is_a_to_the_p_times_log_a():
    a = Variable([0.5, 2.0, 3.0], requires_grad=True)
    p = Variable(1.5, requires_grad=True)
    (a**p).sum().backward()
    np.testing.assert_allclose(
        a.grad.data, 1.5 * np.array([0.5, 2.0, 3.0]) ** 0.5
    )
    np.testing.assert_allclose(
        p.grad.data, sum(v**1.5 * np.log(v) for v in (0.5, 2.0, 3.0))
    )
    assert p.grad.shape == ()


# --- matrix products ---------------------------------------------------------

MATMUL_SHAPES = [
    ((2, 3), (3, 4)),  # matrix @ matrix
    ((3,), (3, 4)),  # vector @ matrix
    ((2, 3), (3,)),  # matrix @ vector
    ((3,), (3,)),  # vector @ vector: a scalar
    ((2, 2, 3), (2, 3, 4)),  # batched
    ((2, 2, 3), (3, 4)),  # batch @ one matrix (broadcast)
    ((3, 4), (2, 4, 2)),  # one matrix @ batch (broadcast)
    ((3,), (2, 3, 4)),  # vector @ batch
    ((2, 2, 3), (3,)),  # batch @ vector
    ((2, 1, 2, 3), (3, 3, 2)),  # batch axes that broadcast both ways
]


@pytest.mark.parametrize("shape_a,shape_b", MATMUL_SHAPES)
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_matmul_gradients(shape_a, shape_b, seed):
    rng = np.random.default_rng(seed)
    check_gradients(
        lambda a, b: a @ b,
        np.matmul,
        rng.normal(size=shape_a),
        rng.normal(size=shape_b),
        seed=seed,
    )


def test_matmul_with_a_constant_on_either_side():
    W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    x = np.array([[1.0, -1.0, 2.0]])
    check_gradients(lambda v: v @ W, lambda v: v @ W, x)
    check_gradients(lambda v: x @ v, lambda v: x @ v, W)
    check_gradients(
        lambda v: np.asarray(x) @ v, lambda v: x @ v, W
    )  # an ndarray on the left: __rmatmul__


def test_matmul_of_a_variable_with_itself():
    check_gradients(
        lambda a: a @ a, lambda a: a @ a, np.array([[1.0, 2.0], [-3.0, 0.5]])
    )


# --- indexing ----------------------------------------------------------------

INDICES = [
    1,
    -1,
    (2, 1),
    slice(1, 3),
    (slice(None), 0),
    (Ellipsis, 2),
    [0, 0, 2],  # repeated: gradients add up
    (np.array([0, 3, 0]), np.array([1, 1, 1])),  # fancy, repeated pair (0, 1)
    np.array(
        [
            [True, False, True],
            [False, False, False],
            [True, True, True],
            [False, True, False],
        ]
    ),
    (slice(None), [2, 2, 0]),
    (None, 1),
]


@pytest.mark.parametrize("index", INDICES, ids=[repr(i)[:40] for i in INDICES])
@settings(max_examples=10, deadline=None)
@given(x=arrays((4, 3), ANY))
def test_getitem_gradients(index, x):
    check_gradients(lambda v: v[index], lambda v: v[index], x)


def test_getitem_with_repeated_index_counts_each_use():
    x = Variable([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 1.0])


def test_getitem_with_a_tensor_index():
    x = Variable([1.0, 2.0, 3.0], requires_grad=True)
    x[Tensor([2, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 2.0])


# --- reductions and shape ----------------------------------------------------


@st.composite
def array_and_axis(draw):
    shape = draw(
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
    )
    ndim = len(shape)
    axis = draw(
        st.one_of(
            st.none(),
            st.integers(-ndim, ndim - 1),
            st.lists(
                st.integers(0, ndim - 1),
                min_size=1,
                max_size=ndim,
                unique=True,
            ).map(tuple),
        )
    )
    return draw(arrays(shape, ANY)), axis, draw(st.booleans())


@FAST
@given(case=array_and_axis())
def test_sum_gradients(case):
    x, axis, keepdims = case
    check_gradients(
        lambda v: v.sum(axis=axis, keepdims=keepdims),
        lambda v: np.sum(v, axis=axis, keepdims=keepdims),
        x,
    )


@FAST
@given(case=array_and_axis())
def test_mean_gradients(case):
    x, axis, keepdims = case
    check_gradients(
        lambda v: v.mean(axis=axis, keepdims=keepdims),
        lambda v: np.mean(v, axis=axis, keepdims=keepdims),
        x,
    )


def test_sum_of_a_scalar_and_negative_axes():
    check_gradients(lambda v: v.sum(), np.sum, np.array(3.0))
    check_gradients(
        lambda v: v.sum(axis=(-1, 0)),
        lambda v: v.sum(axis=(-1, 0)),
        np.arange(24.0).reshape(2, 3, 4),
    )


@FAST
@given(
    x=arrays(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), ANY),
    data=st.data(),
)
def test_reshape_gradients(x, data):
    target = data.draw(
        st.sampled_from(
            [(-1,), (x.size, 1), (1, x.size), tuple(reversed(x.shape))]
        )
    )
    check_gradients(
        lambda v: v.reshape(*target), lambda v: v.reshape(target), x
    )
    check_gradients(
        lambda v: v.reshape(target), lambda v: v.reshape(target), x
    )


@FAST
@given(
    x=arrays(hnp.array_shapes(min_dims=1, max_dims=4, max_side=3), ANY),
    data=st.data(),
)
def test_transpose_gradients(x, data):
    order = tuple(data.draw(st.permutations(range(x.ndim))))
    negative = tuple(
        axis - x.ndim if k % 2 else axis for k, axis in enumerate(order)
    )  # some axes negative
    check_gradients(
        lambda v: v.transpose(*order), lambda v: v.transpose(order), x
    )
    check_gradients(
        lambda v: v.transpose(negative), lambda v: v.transpose(order), x
    )
    check_gradients(lambda v: v.transpose(), lambda v: v.transpose(), x)
    check_gradients(lambda v: v.T, lambda v: v.T, x)


# --- elementwise functions ---------------------------------------------------


def np_sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


ELEMENTWISE = {
    "exp": (lambda v: v.exp(), np.exp, ANY),
    "log": (lambda v: v.log(), np.log, POSITIVE),
    "relu": (lambda v: v.relu(), lambda v: np.maximum(v, 0.0), AWAY_FROM_KINK),
    "sigmoid": (lambda v: v.sigmoid(), np_sigmoid, floats(-4.0, 4.0)),
    "tanh": (lambda v: v.tanh(), np.tanh, ANY),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@FAST
@given(data=st.data())
def test_elementwise_function_gradients(name, data):
    package_fn, numpy_fn, elements = ELEMENTWISE[name]
    x = data.draw(arrays(SHAPES, elements))
    check_gradients(package_fn, numpy_fn, x)


def test_derivatives_of_elementwise_functions_in_closed_form():
    x = np.array([-1.5, -0.2, 0.3, 2.0])
    for method, derivative in [
        ("exp", np.exp(x)),
        ("relu", (x > 0).astype(float)),
        ("sigmoid", np_sigmoid(x) * (1 - np_sigmoid(x))),
        ("tanh", 1 - np.tanh(x) ** 2),
    ]:
        v = Variable(x, requires_grad=True)
        getattr(v, method)().sum().backward()
        np.testing.assert_allclose(
            v.grad.data, derivative, rtol=1e-12, err_msg=method
        )
    v = Variable([0.5, 4.0], requires_grad=True)
    v.log().sum().backward()
    np.testing.assert_allclose(v.grad.data, [2.0, 0.25])


def test_relu_gradient_at_zero_is_zero_like_pytorch():
    x = Variable([-1.0, 0.0, 1.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 1.0])


def test_sigmoid_of_large_negative_numbers_is_quiet_and_exact():
    x = Variable([-1000.0, 0.0, 1000.0], requires_grad=True)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        y = x.sigmoid()
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.25, 0.0])


# --- composite expressions ---------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_small_network_with_a_loss(seed):
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(4, 3))
    targets = rng.normal(size=(4, 2))

    def package_loss(W1, b1, W2):
        hidden = (as_variable(inputs) @ W1 + b1).tanh()
        return ((hidden @ W2 - targets) ** 2).mean()

    def numpy_loss(W1, b1, W2):
        hidden = np.tanh(inputs @ W1 + b1)
        return np.mean((hidden @ W2 - targets) ** 2)

    check_gradients(
        package_loss,
        numpy_loss,
        rng.normal(size=(3, 5)),
        rng.normal(size=(5,)),
        rng.normal(size=(5, 2)),
        seed=seed,
    )


def test_softmax_cross_entropy_style_expression():
    logits = np.array([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]])
    onehot = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])

    def package_fn(z):
        shifted = z - Variable(z.data.max(axis=1, keepdims=True))
        log_probs = shifted - shifted.exp().sum(axis=1, keepdims=True).log()
        return -(log_probs * onehot).sum(axis=1).mean()

    def numpy_fn(z):
        shifted = z - z.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(
            np.exp(shifted).sum(axis=1, keepdims=True)
        )
        return -np.mean(np.sum(log_probs * onehot, axis=1))

    check_gradients(package_fn, numpy_fn, logits)


# --- unbroadcast and topological_order on their own --------------------------


def reference_unbroadcast(grad, shape):
    """Add every entry of grad to the entry of `shape` that broadcasting copied
    it from (by brute force)."""
    result = np.zeros(shape)
    offset = grad.ndim - len(shape)
    for index in np.ndindex(grad.shape):
        source = tuple(
            0 if size == 1 else i for i, size in zip(index[offset:], shape)
        )
        result[source] += grad[index]
    return result


@FAST
@given(shapes=TWO_BROADCASTING_SHAPES, seed=st.integers(0, 2**32 - 1))
def test_unbroadcast_sums_each_copy_back_to_its_source(shapes, seed):
    grad = np.random.default_rng(seed).normal(size=shapes.result_shape)
    for shape in shapes.input_shapes:
        result = unbroadcast(grad, shape)
        assert np.shape(result) == shape
        np.testing.assert_allclose(
            result, reference_unbroadcast(grad, shape), rtol=1e-12, atol=1e-12
        )


def test_unbroadcast_examples():
    g = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(unbroadcast(g, (3,)), [18.0, 22.0, 26.0])
    np.testing.assert_array_equal(
        unbroadcast(g, (4, 1)), [[3.0], [12.0], [21.0], [30.0]]
    )
    assert float(unbroadcast(g, ())) == 66.0
    np.testing.assert_array_equal(unbroadcast(g, (4, 3)), g)


class Node:
    def __init__(self, *parents):
        self._parents = parents


@settings(max_examples=30, deadline=None)
@given(
    picks=st.lists(
        st.lists(st.integers(0, 10**6), min_size=1, max_size=3),
        min_size=1,
        max_size=60,
    )
)
def test_topological_order_of_random_graphs(picks):
    nodes = [Node(), Node(), Node()]
    for parents in picks:
        nodes.append(Node(*(nodes[p % len(nodes)] for p in parents)))
    root = nodes[-1]
    # every ancestor of the root: grow the set until no parent is new
    reachable = {id(root): root}
    while True:
        parents = {
            id(p): p for node in reachable.values() for p in node._parents
        }
        if parents.keys() <= reachable.keys():
            break
        reachable.update(parents)
    order = topological_order(root)
    position = {id(node): k for k, node in enumerate(order)}
    assert len(position) == len(order) == len(reachable)
    assert position.keys() == reachable.keys()
    assert order[-1] is root
    for node in order:
        for parent in node._parents:
            assert position[id(parent)] < position[id(node)]


# --- the backward pass as a whole --------------------------------------------


def test_the_two_examples_of_the_module_page():
    x = Variable(10.0, requires_grad=True)
    loss = x**2
    loss.backward()
    assert f"{x.data:.4f}" == "10.0000"
    assert isinstance(x.grad, Tensor) and isinstance(x.grad.data, np.ndarray)
    assert x.grad.data == 20.0 and x.grad.shape == ()

    x = Variable([2.0, -3.0], requires_grad=True)
    loss = (x[0] ** 2 + x[1] ** 2).sum()
    assert loss.data == 13.0
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, -6.0])


def test_gradients_accumulate_over_two_backward_calls():
    x = Variable([1.0, -2.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, -4.0])
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [5.0, -1.0])
    loss = (x**3).sum()
    loss.backward()
    loss.backward()  # the same graph twice
    np.testing.assert_array_equal(x.grad.data, [5.0 + 6.0, -1.0 + 24.0])
    x.zero_grad()
    assert x.grad is None


def test_a_chain_of_20000_operations_has_no_recursion_error():
    x = Variable(1.0, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.data, 1.0001**20_000, rtol=1e-9)
    np.testing.assert_allclose(y.data, 1.0001**20_000, rtol=1e-9)


def test_diamond_graph_adds_both_paths():
    # h is used on two paths to y: y = h * h + h with h = 2x, so dy/dx = (2h +
    # 1) * 2
    x = Variable(1.5, requires_grad=True)
    h = x * 2.0
    y = h * h + h
    y.backward()
    assert x.grad.data == (2 * 3.0 + 1) * 2
    # a wider diamond: four paths from x through shared intermediates
    x = Variable(0.7, requires_grad=True)
    a = x.exp()
    b = a * x
    out = (a + b) * (a - b)  # = a² - b² = e^(2x) (1 - x²)
    out.backward()
    expected = 2 * np.exp(1.4) * (1 - 0.49) + np.exp(1.4) * (-2 * 0.7)
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12)


def test_no_grad_builds_no_graph():
    w = Variable([1.0, 2.0], requires_grad=True)
    with no_grad():
        y = (w * 2.0 + 1.0).exp().sum()
        assert not y.requires_grad and y._parents == () and y._backward is None
        with no_grad():
            pass
        z = w @ w  # still off after a nested block ends
        assert not z.requires_grad
    assert (w * 2.0).requires_grad, "recording comes back after the block"
    with pytest.raises(RuntimeError):
        y.backward()
    with pytest.raises(KeyError), no_grad():
        raise KeyError("boom")
    assert (w * 2.0).requires_grad, (
        "recording comes back after an error inside the block"
    )
    assert w.grad is None

    @no_grad()
    def evaluate(v):
        return v * 3.0

    assert not evaluate(w).requires_grad


def test_constants_build_no_graph():
    a = Variable([1.0, 2.0])
    out = (a * 2.0).exp()
    assert not out.requires_grad and out._parents == ()
    with pytest.raises(RuntimeError):
        out.sum().backward()


def test_backward_on_a_non_scalar_without_grad_raises_value_error():
    x = Variable([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(ValueError, match="shape"):
        (x * 2.0).backward()
    with pytest.raises(ValueError, match="shape"):
        (x * 2.0).backward(np.ones(2))
    (x * 2.0).backward(np.array([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad.data, [2.0, 0.0, -2.0])
    y = Variable([[5.0]], requires_grad=True)
    (y * 3.0).backward()  # one entry: fine without grad
    assert y.grad.data.tolist() == [[3.0]]


def test_grads_have_the_leaf_dtype_and_shape():
    w = Variable(
        np.array([[0.5, -1.0, 2.0]], dtype=np.float32), requires_grad=True
    )  # (1, 3)
    x = Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)  # float64
    hidden = w * x + 0.5
    assert hidden.dtype == np.float64
    loss = (hidden.tanh() * 2.0).sum()
    loss.backward()
    assert w.grad.data.dtype == np.float32 and w.grad.shape == (1, 3)
    assert x.grad.data.dtype == np.float64 and x.grad.shape == (2, 3)
    expected = (
        2.0
        * (1 - np.tanh(w.data.astype(np.float64) * x.data + 0.5) ** 2)
        * x.data
    ).sum(axis=0, keepdims=True)
    np.testing.assert_allclose(w.grad.data, expected, rtol=1e-6)
    loss.backward()  # accumulating keeps the dtype
    assert w.grad.data.dtype == np.float32
    np.testing.assert_allclose(w.grad.data, 2 * expected, rtol=1e-6)


def test_float32_stays_float32_with_python_numbers():
    w = Variable(np.ones((2, 2), dtype=np.float32), requires_grad=True)
    for out in [
        w * 0.5,
        0.5 * w,
        w + 1,
        1 - w,
        w / 3.0,
        2.0 / w,
        w**2,
        2.0**w,
        (w * 0.5).mean(),
        w.exp(),
        w.sigmoid(),
        w.tanh(),
        w.relu(),
        w @ w,
    ]:
        assert out.dtype == np.float32, out
    (w * 0.5 + w**2).sum().backward()
    assert w.grad.data.dtype == np.float32
    np.testing.assert_allclose(w.grad.data, np.full((2, 2), 2.5))


def test_requires_grad_makes_integer_data_float():
    x = Variable([1, 2, 3], requires_grad=True)
    assert x.dtype == np.float64
    assert Variable([1, 2, 3]).dtype == np.int64
    assert (
        Variable([1, 2], requires_grad=True, dtype=np.float32).dtype
        == np.float32
    )


def test_numpy_arrays_and_tensors_mix_into_the_graph():
    x = Variable([1.0, 2.0], requires_grad=True)
    mask = np.array([1.0, 0.0])
    out = mask * x + Tensor([10.0, 20.0]) - np.array([1.0, 1.0]) / x
    assert isinstance(out, Variable) and out.requires_grad
    np.testing.assert_allclose(out.data, [10.0, 19.5])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0 + 1.0, 0.0 + 0.25])


def test_detach_and_as_variable():
    x = Variable([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    d = y.detach()
    assert isinstance(d, Variable) and not d.requires_grad and d._parents == ()
    np.testing.assert_array_equal(d.data, [2.0, 4.0])
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])  # d is a constant
    assert as_variable(x) is x
    for value in [3.0, [1.0, 2.0], np.ones(2), Tensor([1.0])]:
        v = as_variable(value)
        assert isinstance(v, Variable) and not v.requires_grad


def test_a_leaf_backward_and_a_leaf_used_as_its_own_output():
    x = Variable(3.0, requires_grad=True)
    x.backward()
    assert x.grad.data == 1.0


def test_variable_is_a_tensor_and_keeps_the_tensor_api():
    x = Variable([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert isinstance(x, Tensor)
    assert (
        x.shape == (2, 2)
        and x.ndim == 2
        and x.size == 4
        and len(x) == 2
        and x.dtype == np.float64
    )
    assert x[1, 1].item() == 4.0 and x.numpy() is x.data
    assert "requires_grad=True" in repr(x)
    for out in [
        x + 1,
        x - 1,
        x * 2,
        x / 2,
        x**2,
        -x,
        x @ x,
        x[0],
        x.sum(),
        x.mean(),
        x.reshape(4),
        x.transpose(),
        x.T,
        x.exp(),
        x.log(),
        x.relu(),
        x.sigmoid(),
        x.tanh(),
    ]:
        assert isinstance(out, Variable) and out.requires_grad
