"""tinytorch.core.layers: Module.parameters, Dense against NumPy, finite
differences and init statistics."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.core.activations import ReLU, Tanh
from tinytorch.core.autograd import Variable
from tinytorch.core.layers import (
    Dense,
    Module,
    he_uniform,
    manual_seed,
    xavier_uniform,
)
from tinytorch.core.tensor import Tensor


def numerical_grad(f, x, eps=1e-6):
    """Central differences of the scalar f() with respect to every entry of the
    array x (changed in place)."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + eps
        up = f()
        x[index] = saved - eps
        down = f()
        x[index] = saved
        grad[index] = (up - down) / (2 * eps)
    return grad


# --- Module.parameters -------------------------------------------------------
class Pair(Module):
    def __init__(self):
        self.a = Variable([1.0], requires_grad=True)
        self.frozen = Variable([2.0])  # requires_grad=False: not a parameter
        self.b = Variable([[3.0]], requires_grad=True)


def ids(params):
    return [id(p) for p in params]


def test_parameters_in_attribute_order_skipping_constants():
    pair = Pair()
    assert ids(pair.parameters()) == [id(pair.a), id(pair.b)]


def test_parameters_recurse_and_deduplicate():
    class Model(Module):
        def __init__(self):
            self.encoder = Pair()
            self.stack = [Pair(), ReLU(), (Pair(), {"inner": Pair()})]
            self.tied = self.encoder.a  # shared: reported once
            self.again = self.stack[0]  # the same sub-module twice
            self.name = "not a parameter"
            self.nothing = None
            self.activation_class = (
                ReLU  # a class, not an object with parameters
            )

    model = Model()
    inner = model.stack[2][1]["inner"]
    expected = [
        model.encoder.a,
        model.encoder.b,
        model.stack[0].a,
        model.stack[0].b,
        model.stack[2][0].a,
        model.stack[2][0].b,
        inner.a,
        inner.b,
    ]
    assert ids(model.parameters()) == ids(expected)


def test_parameters_use_submodule_override():
    class Custom(Module):
        def __init__(self):
            self.hidden = Variable([1.0], requires_grad=True)

        def parameters(self):
            return []

    class Outer(Module):
        def __init__(self):
            self.custom = Custom()
            self.w = Variable([1.0], requires_grad=True)

    outer = Outer()
    assert ids(outer.parameters()) == [id(outer.w)]


def test_call_runs_forward_and_base_forward_is_abstract():
    class Double(Module):
        def forward(self, x):
            return x * 2

    assert Double()(Variable([1.5])).data.tolist() == [3.0]
    with pytest.raises(NotImplementedError, match="forward"):
        Module()(Variable([1.0]))
    assert repr(Double()) == "Double()"


def test_zero_grad():
    layer = Dense(3, 2, rng=0)
    layer(np.ones((4, 3))).sum().backward()
    assert layer.weight.grad is not None
    layer.zero_grad(set_to_none=False)
    assert np.array_equal(layer.weight.grad.data, np.zeros((3, 2)))
    assert np.array_equal(layer.bias.grad.data, np.zeros(2))
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None


# --- Dense forward and backward ----------------------------------------------
def test_dense_hand_computed():
    layer = Dense(2, 3, rng=0)
    layer.weight.data = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]])
    layer.bias.data = np.array([0.5, -0.5, 0.0])
    out = layer(np.array([[1.0, 1.0], [2.0, -1.0]]))
    np.testing.assert_array_equal(
        out.data, [[3.5, 0.5, -0.5], [0.5, -1.5, -2.5]]
    )


@given(
    batch=st.integers(1, 5),
    fan_in=st.integers(1, 6),
    fan_out=st.integers(1, 6),
    use_bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=30, deadline=None)
def test_dense_matches_numpy_and_shapes(
    batch, fan_in, fan_out, use_bias, seed
):
    layer = Dense(fan_in, fan_out, bias=use_bias, rng=seed)
    x = np.random.default_rng(seed + 1).standard_normal((batch, fan_in))
    out = layer(x)
    expected = x @ layer.weight.data + (layer.bias.data if use_bias else 0.0)
    assert out.shape == (batch, fan_out)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    assert len(layer.parameters()) == (2 if use_bias else 1)
    assert layer.weight.shape == (fan_in, fan_out)
    if use_bias:
        assert layer.bias.shape == (fan_out,)
    else:
        assert layer.bias is None


@pytest.mark.parametrize("input_shape", [(4, 3), (3,), (2, 5, 3)])
def test_dense_gradients_match_finite_differences(input_shape):
    rng = np.random.default_rng(11)
    layer = Dense(3, 4, rng=rng)
    layer.bias.data = rng.standard_normal(4)
    x = rng.standard_normal(input_shape)
    weights = rng.standard_normal(
        input_shape[:-1] + (4,)
    )  # a random linear read-out of the output

    def loss():
        return float(
            np.sum((x @ layer.weight.data + layer.bias.data) ** 2 * weights)
        )

    x_var = Variable(x, requires_grad=True)
    ((layer(x_var) ** 2) * Variable(weights)).sum().backward()
    np.testing.assert_allclose(
        x_var.grad.data, numerical_grad(loss, x), rtol=1e-6, atol=1e-8
    )
    np.testing.assert_allclose(
        layer.weight.grad.data,
        numerical_grad(loss, layer.weight.data),
        rtol=1e-6,
        atol=1e-8,
    )
    np.testing.assert_allclose(
        layer.bias.grad.data,
        numerical_grad(loss, layer.bias.data),
        rtol=1e-6,
        atol=1e-8,
    )


def test_dense_gradients_closed_form():
    rng = np.random.default_rng(5)
    layer = Dense(3, 2, rng=rng)
    x = rng.standard_normal((6, 3))
    upstream = rng.standard_normal((6, 2))
    (layer(x) * Variable(upstream)).sum().backward()
    np.testing.assert_allclose(
        layer.weight.grad.data, x.T @ upstream, rtol=1e-12
    )
    np.testing.assert_allclose(
        layer.bias.grad.data, upstream.sum(axis=0), rtol=1e-12
    )


@pytest.mark.parametrize(
    "make_input",
    [np.array, lambda x: x.tolist(), Tensor, Variable],
    ids=["numpy", "list", "tensor", "variable"],
)
def test_dense_accepts_inputs(make_input):
    layer = Dense(3, 2, rng=0)
    x = np.array([[1.0, 2.0, 3.0]])
    out = layer(make_input(x))
    assert isinstance(out, Variable)
    np.testing.assert_allclose(out.data, x @ layer.weight.data)


def test_dense_integer_input_and_float32():
    layer = Dense(2, 2, rng=0)
    np.testing.assert_allclose(
        layer(np.array([[1, 2]])).data,
        np.array([[1.0, 2.0]]) @ layer.weight.data,
    )
    small = Dense(4, 3, dtype=np.float32, rng=0)
    assert small.weight.dtype == np.float32 and small.bias.dtype == np.float32
    assert small(np.ones((2, 4), dtype=np.float32)).dtype == np.float32


# --- initialisation ----------------------------------------------------------
def test_he_init_statistics_on_a_big_layer():
    layer = Dense(1000, 1000, rng=123)
    w = layer.weight.data
    bound = np.sqrt(6 / 1000)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound
    # a million draws: the sample variance of U(-a, a) is within 1% of a^2/3 =
    # 2/fan_in
    assert abs(w.var() - 2 / 1000) < 0.01 * 2 / 1000
    assert abs(w.mean()) < 1e-4
    np.testing.assert_array_equal(layer.bias.data, np.zeros(1000))
    # uniform: a quarter of the mass in each quarter of [-a, a]
    counts, _ = np.histogram(w, bins=4, range=(-bound, bound))
    np.testing.assert_allclose(counts / w.size, 0.25, atol=0.003)


def test_he_init_uses_fan_in_only():
    w = he_uniform(200, 3000, np.random.default_rng(0))
    assert w.shape == (200, 3000)
    assert abs(w.var() - 2 / 200) < 0.01 * 2 / 200


def test_xavier_init_statistics():
    layer = Dense(600, 400, rng=9, init="xavier")
    assert abs(layer.weight.data.var() - 2 / 1000) < 0.01 * 2 / 1000
    assert np.abs(layer.weight.data).max() <= np.sqrt(6 / 1000)
    w = xavier_uniform(30, 50, np.random.default_rng(0))
    assert w.shape == (30, 50)


def test_he_keeps_relu_signal_scale_through_depth():
    """Var(y) = n Var(W) E[x^2]: with He init the mean square of
    pre-activations stays ~2 (inputs N(0,1))."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 512))
    signal, second_moments = x, []
    for _ in range(12):
        pre = Dense(512, 512, rng=rng)(signal)
        second_moments.append(np.mean(pre.data**2))
        signal = ReLU()(pre)
    assert 1.3 < second_moments[0] < 2.7  # n * (2/n) * E[x^2] = 2
    assert 0.5 < second_moments[-1] < 8  # no exponential growth or decay
    xavier = x
    for _ in range(12):
        xavier = ReLU()(Dense(512, 512, rng=rng, init="xavier")(xavier))
    assert (
        np.mean(xavier.data**2) < 2.0**-8
    )  # Xavier halves the signal at each ReLU layer


def test_rng_reproducibility():
    assert np.array_equal(
        Dense(5, 4, rng=7).weight.data, Dense(5, 4, rng=7).weight.data
    )
    assert not np.array_equal(
        Dense(5, 4, rng=7).weight.data, Dense(5, 4, rng=8).weight.data
    )
    generator = np.random.default_rng(3)
    first, second = Dense(5, 4, rng=generator), Dense(5, 4, rng=generator)
    assert not np.array_equal(
        first.weight.data, second.weight.data
    )  # the generator moves on
    manual_seed(42)
    a = [Dense(5, 4).weight.data for _ in range(2)]
    manual_seed(42)
    b = [Dense(5, 4).weight.data for _ in range(2)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], a[1])
    # the default generator draws what a fresh generator seeded alike draws
    expected = he_uniform(5, 4, np.random.default_rng(42))
    manual_seed(42)
    np.testing.assert_array_equal(Dense(5, 4).weight.data, expected)


def test_dense_parameters_and_repr():
    layer = Dense(784, 128)
    params = layer.parameters()
    assert ids(params) == [id(layer.weight), id(layer.bias)]
    assert all(p.requires_grad for p in params)
    assert sum(p.size for p in params) == 100_480
    assert repr(layer) == "Dense(in_features=784, out_features=128, bias=True)"
    assert (
        repr(Dense(2, 1, bias=False))
        == "Dense(in_features=2, out_features=1, bias=False)"
    )


# --- bad input ---------------------------------------------------------------
@pytest.mark.parametrize(
    "args, kwargs, error, name",
    [
        ((0, 3), {}, ValueError, "in_features"),
        ((3, -1), {}, ValueError, "out_features"),
        ((2.5, 3), {}, TypeError, "in_features"),
        ((True, 3), {}, TypeError, "in_features"),
        ((3, 2), {"dtype": np.int64}, ValueError, "dtype"),
        ((3, 2), {"init": "normal"}, ValueError, "init"),
        ((3, 2), {"rng": "seed"}, TypeError, "rng"),
        ((3, 2), {"rng": 1.5}, TypeError, "rng"),
    ],
)
def test_dense_constructor_errors(args, kwargs, error, name):
    with pytest.raises(error, match=name):
        Dense(*args, **kwargs)


def test_dense_wrong_input_width():
    layer = Dense(3, 2, rng=0)
    with pytest.raises(ValueError, match="last dimension is 3"):
        layer(np.ones((4, 5)))
    with pytest.raises(ValueError, match="last dimension"):
        layer(np.float64(1.0))


def test_tanh_net_trains_a_step():
    """A Dense-Tanh-Dense net: one gradient step with a small rate lowers a
    squared loss."""
    rng = np.random.default_rng(2)
    first, second = (
        Dense(2, 8, rng=rng, init="xavier"),
        Dense(8, 1, rng=rng, init="xavier"),
    )
    x, y = rng.standard_normal((16, 2)), rng.standard_normal((16, 1))

    def loss():
        error = second(Tanh()(first(x))) - Variable(y)
        return (error * error).mean()

    before = loss()
    before.backward()
    for p in first.parameters() + second.parameters():
        p.data = p.data - 0.05 * p.grad.data
    assert loss().data < before.data
