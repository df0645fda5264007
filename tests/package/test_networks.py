"""tinytorch.core.networks: Sequential and MLP against NumPy forward/backward
passes written here."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.core.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.autograd import Variable, no_grad
from tinytorch.core.layers import Dense, Module
from tinytorch.core.losses import CrossEntropyLoss, MSELoss
from tinytorch.core.networks import MLP, Sequential, mlp_layers
from tinytorch.core.tensor import Tensor


def ids(params):
    return [id(p) for p in params]


# --- the container -----------------------------------------------------------
def test_brief_example_exactly_as_written():
    model = Sequential([Dense(784, 128), ReLU(), Dense(128, 10)])
    params = model.parameters()
    assert ids(params) == ids(
        [model[0].weight, model[0].bias, model[2].weight, model[2].bias]
    )
    assert [p.shape for p in params] == [(784, 128), (128,), (128, 10), (10,)]
    assert sum(p.size for p in params) == 784 * 128 + 128 + 128 * 10 + 10
    assert model(np.zeros((5, 784))).shape == (5, 10)


def test_constructor_forms_and_container_protocol():
    a, b, c = Dense(2, 3, rng=0), Tanh(), Dense(3, 1, rng=1)
    for model in (
        Sequential([a, b, c]),
        Sequential((a, b, c)),
        Sequential(a, b, c),
    ):
        assert len(model) == 3
        assert model[0] is a and model[1] is b and model[-1] is c
        assert list(model) == [a, b, c]
        head = model[:2]
        assert isinstance(head, Sequential) and len(head) == 2 and head[0] is a
        assert ids(head.parameters()) == [
            id(a.weight),
            id(a.bias),
        ]  # a slice shares the layers
    assert isinstance(Sequential([a, b, c]), Module)


def test_repr_lists_layers():
    model = Sequential(
        [Dense(4, 8), ReLU(), Dense(8, 2, bias=False), Softmax()]
    )
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Dense(in_features=4, out_features=8, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Dense(in_features=8, out_features=2, bias=False)\n"
        "  (3): Softmax(axis=-1)\n"
        ")"
    )
    assert repr(Sequential()) == "Sequential()"


def test_empty_sequential_is_identity():
    assert len(Sequential()) == 0 and Sequential().parameters() == []
    x = Variable([1.0, 2.0])
    assert Sequential([])(x) is x


def test_parameters_nested_shared_and_plain_functions():
    shared = Dense(3, 3, rng=0)
    inner = Sequential([Dense(3, 3, rng=1), ReLU()])
    model = Sequential(
        [shared, inner, lambda v: v * 2, shared, LeakyReLU(0.1)]
    )
    expected = [shared.weight, shared.bias, inner[0].weight, inner[0].bias]
    assert ids(model.parameters()) == ids(
        expected
    )  # layer order; the shared layer once
    out = model(np.ones((2, 3)))
    w1, b1, w2, b2 = (p.data for p in expected)
    h = np.ones((2, 3)) @ w1 + b1
    h = np.maximum(h @ w2 + b2, 0) * 2
    h = h @ w1 + b1
    np.testing.assert_allclose(
        out.data, np.where(h > 0, h, 0.1 * h), rtol=1e-12
    )


def test_non_callable_layer_is_refused():
    with pytest.raises(TypeError, match="layers.*item 1"):
        Sequential([Dense(2, 2), "relu"])
    with pytest.raises(TypeError, match="layers"):
        Sequential(Dense(2, 2), 3)
    with pytest.raises(TypeError, match=r"class ReLU: write ReLU\(...\)"):
        Sequential([Dense(2, 2), ReLU])


# --- forward and backward against NumPy --------------------------------------
@given(
    st.lists(st.integers(1, 6), min_size=2, max_size=5),
    st.integers(1, 4),
    st.integers(0, 2**16),
)
@settings(max_examples=30, deadline=None)
def test_forward_matches_numpy(sizes, batch, seed):
    model = MLP(sizes, rng=seed)
    x = np.random.default_rng(seed).standard_normal((batch, sizes[0]))
    h = x
    dense = model.layers[::2]
    for position, layer in enumerate(dense):
        h = h @ layer.weight.data + layer.bias.data
        if position < len(dense) - 1:
            h = np.maximum(h, 0)
    np.testing.assert_allclose(model(x).data, h, rtol=1e-12, atol=1e-12)
    assert len(model.parameters()) == 2 * (len(sizes) - 1)


def test_backprop_matches_numpy_two_layer_net():
    """Gradients of CrossEntropy(Dense-ReLU-Dense) against backpropagation
    written out in NumPy."""
    rng = np.random.default_rng(0)
    model = Sequential([Dense(4, 6, rng=rng), ReLU(), Dense(6, 3, rng=rng)])
    model[0].bias.data = rng.standard_normal(6) * 0.1
    x, labels = rng.standard_normal((8, 4)), rng.integers(0, 3, size=8)
    CrossEntropyLoss()(model(x), labels).backward()

    w1, b1, w2, b2 = (p.data for p in model.parameters())
    pre = x @ w1 + b1
    hidden = np.maximum(pre, 0)
    logits = hidden @ w2 + b2
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    d_logits = (p - np.eye(3)[labels]) / 8
    d_hidden = d_logits @ w2.T
    d_pre = d_hidden * (pre > 0)
    expected = [
        x.T @ d_pre,
        d_pre.sum(axis=0),
        hidden.T @ d_logits,
        d_logits.sum(axis=0),
    ]
    for param, grad in zip(model.parameters(), expected):
        np.testing.assert_allclose(
            param.grad.data, grad, rtol=1e-10, atol=1e-14
        )


def test_gradient_finite_differences_through_a_deep_tanh_net():
    rng = np.random.default_rng(1)
    model = MLP([3, 5, 5, 2], activation=Tanh, rng=rng)
    x, target = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    x_var = Variable(x, requires_grad=True)
    MSELoss()(model(x_var), target).backward()

    def loss():
        with no_grad():
            return float(MSELoss()(model(x), target).data)

    eps = 1e-6
    for array, grad in [(x, x_var.grad.data)] + [
        (p.data, p.grad.data) for p in model.parameters()
    ]:
        for index in [
            tuple(rng.integers(0, n) for n in array.shape) for _ in range(3)
        ]:
            saved = array[index]
            array[index] = saved + eps
            up = loss()
            array[index] = saved - eps
            down = loss()
            array[index] = saved
            assert abs(grad[index] - (up - down) / (2 * eps)) < 1e-7 * max(
                1.0, abs(grad[index])
            )


@pytest.mark.parametrize(
    "make_input",
    [np.array, Tensor, Variable, lambda x: x.tolist()],
    ids=["numpy", "tensor", "variable", "list"],
)
def test_inputs_of_every_kind(make_input):
    model = MLP([2, 3, 1], rng=0)
    x = np.array([[0.5, -1.0]])
    np.testing.assert_allclose(
        model(make_input(x)).data, model(Variable(x)).data
    )


def test_zero_grad_and_no_grad():
    model = MLP([2, 4, 2], rng=0)
    MSELoss()(model(np.ones((3, 2))), np.zeros((3, 2))).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    with no_grad():
        assert model(np.ones((1, 2))).requires_grad is False


# --- MLP ---------------------------------------------------------------------
def test_mlp_structure_and_init():
    model = MLP([5, 7, 4, 2], rng=0)
    assert [type(layer).__name__ for layer in model] == [
        "Dense",
        "ReLU",
        "Dense",
        "ReLU",
        "Dense",
    ]
    assert [(d.in_features, d.out_features) for d in model.layers[::2]] == [
        (5, 7),
        (7, 4),
        (4, 2),
    ]
    assert model[1] is not model[3]  # a fresh activation per hidden layer
    assert np.abs(model[0].weight.data).max() <= np.sqrt(
        6 / 5
    )  # He: bound sqrt(6 / fan_in)
    assert np.abs(model[0].weight.data).max() > np.sqrt(
        6 / 12
    )  # (not Xavier's sqrt(6 / 12))
    big_tanh = MLP([400, 400, 1], activation=Tanh, rng=0)
    assert isinstance(big_tanh[1], Tanh)
    assert (
        abs(big_tanh[0].weight.data.var() - 2 / 800) < 0.02 * 2 / 800
    )  # Xavier for tanh
    assert isinstance(MLP([2, 2, 2], activation=Sigmoid)[1], Sigmoid)
    shared = LeakyReLU(0.2)
    leaky = MLP([2, 3, 3, 1], activation=shared)
    assert leaky[1] is shared and leaky[3] is shared
    assert isinstance(leaky, Sequential) and len(MLP([3, 1])) == 1


def test_mlp_reproducible_and_layers_differ():
    a, b = MLP([4, 4, 4, 4], rng=3), MLP([4, 4, 4, 4], rng=3)
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.data, pb.data)
    assert not np.array_equal(a[0].weight.data, a[2].weight.data)


def test_mlp_layers_helper():
    layers = mlp_layers([3, 2, 1], Tanh, "xavier", np.random.default_rng(0))
    assert [type(layer).__name__ for layer in layers] == [
        "Dense",
        "Tanh",
        "Dense",
    ]


@pytest.mark.parametrize("sizes", [[3], [], [3, 0, 1], [2, 2.5, 1], [2, True]])
def test_mlp_bad_sizes(sizes):
    with pytest.raises(ValueError, match="sizes"):
        MLP(sizes)


# --- learning ----------------------------------------------------------------
def test_gradient_descent_learns_xor():
    """XOR is not linearly separable; a 2-8-2 ReLU net learns it with plain
    gradient descent."""
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    model = MLP([2, 8, 2], rng=0)
    loss_fn = CrossEntropyLoss()
    losses = []
    for _ in range(500):
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        for p in model.parameters():
            p.data = p.data - 0.5 * p.grad.data
        losses.append(float(loss.data))
    assert losses[0] > 0.5 and losses[-1] < 0.05
    with no_grad():
        assert np.array_equal(model(x).data.argmax(axis=1), y)


def test_one_step_matches_numpy_gradient_descent():
    """Two steps of GD on an MLP equal the same steps computed with NumPy
    backprop."""
    rng = np.random.default_rng(4)
    model = MLP([3, 4, 1], rng=rng)
    x, target = rng.standard_normal((6, 3)), rng.standard_normal((6, 1))
    w1, b1, w2, b2 = (p.data.copy() for p in model.parameters())
    lr = 0.1
    for _ in range(2):
        model.zero_grad()
        MSELoss()(model(x), target).backward()
        for p in model.parameters():
            p.data = p.data - lr * p.grad.data
        pre = x @ w1 + b1
        hidden = np.maximum(pre, 0)
        d_out = 2 * (hidden @ w2 + b2 - target) / target.size
        d_pre = (d_out @ w2.T) * (pre > 0)
        w1, b1, w2, b2 = (
            w1 - lr * x.T @ d_pre,
            b1 - lr * d_pre.sum(0),
            w2 - lr * hidden.T @ d_out,
            b2 - lr * d_out.sum(0),
        )
    for p, expected in zip(model.parameters(), (w1, b1, w2, b2)):
        np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-14)
