"""tinytorch.core.activations against NumPy formulas written here, finite
differences and properties."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinytorch.core.activations import (
    GELU,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from tinytorch.core.autograd import Variable
from tinytorch.core.tensor import Tensor


# --- independent references --------------------------------------------------
def ref_relu(x):
    return np.where(x > 0, x, 0.0)


def ref_leaky_relu(x, slope):
    return np.where(x > 0, x, slope * x)


def ref_sigmoid(x):
    # two branches so neither exponent overflows
    return np.where(
        x >= 0,
        1 / (1 + np.exp(-np.abs(x))),
        np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))),
    )


def ref_gelu(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def ref_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def numerical_grad(f, x, weights, eps=1e-6):
    """Central differences of sum(f(x) * weights) with respect to every entry
    of x (float64)."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += eps
        minus[index] -= eps
        grad[index] = (
            np.sum(f(plus) * weights) - np.sum(f(minus) * weights)
        ) / (2 * eps)
    return grad


def autograd_grad(activation, x, weights):
    v = Variable(x, requires_grad=True)
    (activation(v) * Variable(weights)).sum().backward()
    return v.grad.data


ELEMENTWISE = [
    (ReLU(), ref_relu),
    (LeakyReLU(0.2), lambda x: ref_leaky_relu(x, 0.2)),
    (Sigmoid(), ref_sigmoid),
    (Tanh(), np.tanh),
    (GELU(), ref_gelu),
]
IDS = ["relu", "leaky_relu", "sigmoid", "tanh", "gelu"]


# --- values ------------------------------------------------------------------
@pytest.mark.parametrize("activation, reference", ELEMENTWISE, ids=IDS)
def test_values_match_reference_formula(activation, reference):
    x = np.linspace(-6, 6, 97).reshape(97, 1) * np.array([1.0, 0.5, 2.0])
    out = activation(Variable(x))
    assert isinstance(out, Variable) and out.shape == x.shape
    np.testing.assert_allclose(out.data, reference(x), rtol=1e-12, atol=1e-14)


def test_hand_computed_values():
    assert np.array_equal(
        ReLU()(np.array([-1.0, 0.0, 2.5])).data, [0.0, 0.0, 2.5]
    )
    assert np.allclose(
        Sigmoid()(np.array([0.0, np.log(3.0)])).data, [0.5, 0.75]
    )  # 1/(1+1/3) = 3/4
    assert np.allclose(
        Tanh()(np.array([np.log(2.0)])).data, [(4 - 1) / (4 + 1)]
    )  # (e^2x-1)/(e^2x+1)
    assert np.allclose(LeakyReLU()(np.array([-5.0, 5.0])).data, [-0.05, 5.0])
    assert np.allclose(GELU()(np.array([0.0])).data, [0.0])
    assert np.allclose(
        Softmax()(np.array([np.log(1.0), np.log(3.0)])).data, [0.25, 0.75]
    )


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
        elements=st.floats(-50, 50),
    )
)
@settings(max_examples=40, deadline=None)
def test_elementwise_properties(x):
    relu, sigmoid, tanh = ReLU()(x).data, Sigmoid()(x).data, Tanh()(x).data
    np.testing.assert_array_equal(relu, np.maximum(x, 0))
    assert np.all((sigmoid >= 0) & (sigmoid <= 1))
    np.testing.assert_allclose(
        sigmoid + Sigmoid()(-x).data, 1.0, atol=1e-12
    )  # sigma(x) + sigma(-x) = 1
    np.testing.assert_allclose(
        tanh, 2 * ref_sigmoid(2 * x) - 1, atol=1e-12
    )  # tanh x = 2 sigma(2x) - 1
    np.testing.assert_allclose(GELU()(x).data, ref_gelu(x), atol=1e-12)


# --- gradients ---------------------------------------------------------------
@pytest.mark.parametrize("activation, reference", ELEMENTWISE, ids=IDS)
def test_gradient_matches_finite_differences(activation, reference):
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, size=(4, 5))
    x[np.abs(x) < 1e-2] = 0.5  # keep away from ReLU's kink at 0
    weights = rng.standard_normal(x.shape)
    np.testing.assert_allclose(
        autograd_grad(activation, x, weights),
        numerical_grad(reference, x, weights),
        rtol=1e-6,
        atol=1e-8,
    )


def test_closed_form_derivatives():
    x = np.array([-2.0, -0.3, 0.4, 1.7])
    s = ref_sigmoid(x)
    np.testing.assert_allclose(
        autograd_grad(Sigmoid(), x, np.ones(4)), s * (1 - s), rtol=1e-12
    )
    np.testing.assert_allclose(
        autograd_grad(Tanh(), x, np.ones(4)), 1 - np.tanh(x) ** 2, rtol=1e-12
    )
    np.testing.assert_array_equal(
        autograd_grad(ReLU(), x, np.ones(4)), [0.0, 0.0, 1.0, 1.0]
    )
    np.testing.assert_allclose(
        autograd_grad(LeakyReLU(0.3), x, np.ones(4)), [0.3, 0.3, 1.0, 1.0]
    )


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_gradient_matches_finite_differences(axis):
    rng = np.random.default_rng(7)
    x = rng.normal(0, 2, size=(3, 4))
    weights = rng.standard_normal(x.shape)
    np.testing.assert_allclose(
        autograd_grad(Softmax(axis=axis), x, weights),
        numerical_grad(lambda z: ref_softmax(z, axis), x, weights),
        rtol=1e-6,
        atol=1e-9,
    )


def test_softmax_jacobian_closed_form():
    z = np.array([0.3, -1.2, 2.0, 0.0])
    p = ref_softmax(z)
    jacobian = np.diag(p) - np.outer(
        p, p
    )  # d p_i / d z_j = p_i (delta_ij - p_j)
    for i in range(4):
        v = Variable(z, requires_grad=True)
        Softmax()(v)[i].backward()
        np.testing.assert_allclose(v.grad.data, jacobian[i], atol=1e-14)


# --- softmax -----------------------------------------------------------------
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
        elements=st.floats(-1e4, 1e4),
    ),
    st.floats(-1e3, 1e3),
)
@settings(max_examples=40, deadline=None)
def test_softmax_properties(x, shift):
    p = Softmax()(x).data
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(p, ref_softmax(x), atol=1e-12)
    np.testing.assert_allclose(
        Softmax()(x + shift).data, p, atol=1e-9
    )  # invariant to adding a constant


def test_softmax_extreme_logits_no_overflow():
    with warnings.catch_warnings():
        warnings.simplefilter(
            "error"
        )  # no overflow / invalid-value warnings either
        p = Softmax()(
            np.array([[1000.0, 999.0, -1000.0], [-1e6, -1e6, -1e6]])
        ).data
    e = np.exp(-1.0)
    np.testing.assert_allclose(
        p[0], [1 / (1 + e), e / (1 + e), 0.0], rtol=1e-12
    )
    np.testing.assert_allclose(p[1], 1 / 3, rtol=1e-12)


def test_softmax_axis():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(Softmax(axis=0)(x).data, ref_softmax(x, axis=0))
    np.testing.assert_allclose(Softmax(axis=1)(x).data, Softmax()(x).data)
    assert repr(Softmax(axis=0)) == "Softmax(axis=0)"


def test_sigmoid_is_silent_and_correct_at_extremes():
    x = Variable([-1000.0, 1000.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = Sigmoid()(x)
        y.sum().backward()
    np.testing.assert_array_equal(y.data, [0.0, 1.0])
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


# --- the layer interface -----------------------------------------------------
@pytest.mark.parametrize(
    "activation",
    [ReLU(), LeakyReLU(), Sigmoid(), Tanh(), GELU(), Softmax()],
    ids=IDS + ["softmax"],
)
def test_layer_interface(activation):
    assert activation.parameters() == []
    x = np.array([[0.5, -1.0, 2.0]])
    for given_input in (x, x.tolist(), Tensor(x), Variable(x)):
        out = activation(given_input)
        assert isinstance(out, Variable)
        np.testing.assert_allclose(
            out.data, activation.forward(Variable(x)).data
        )
    assert repr(activation).startswith(type(activation).__name__ + "(")


@pytest.mark.parametrize(
    "activation",
    [ReLU(), Sigmoid(), Tanh(), Softmax()],
    ids=["relu", "sigmoid", "tanh", "softmax"],
)
def test_float32_stays_float32(activation):
    assert activation(np.ones((2, 3), dtype=np.float32)).dtype == np.float32


def test_no_grad_input_gives_no_graph():
    out = ReLU()(np.array([1.0, -1.0]))
    assert out.requires_grad is False


def test_bad_arguments():
    with pytest.raises(ValueError, match="negative_slope"):
        LeakyReLU(-0.1)
    with pytest.raises(ValueError, match="negative_slope"):
        LeakyReLU(float("nan"))
    with pytest.raises(TypeError, match="negative_slope"):
        LeakyReLU("0.1")
    with pytest.raises(TypeError, match="axis"):
        Softmax(axis=1.5)
