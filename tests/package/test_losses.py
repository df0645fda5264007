"""tinytorch.core.losses against direct float64 formulas, finite differences,
torch and bad inputs."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinytorch.core.autograd import Variable
from tinytorch.core.losses import CrossEntropyLoss, MSELoss, log_softmax
from tinytorch.core.tensor import Tensor


def reference_cross_entropy(logits, labels):
    """-mean_n log softmax(z_n)[y_n], one row at a time with math.fsum
    (float64, max shifted out)."""
    total = []
    for row, label in zip(np.asarray(logits, dtype=np.float64), labels):
        m = max(row)
        log_sum_exp = m + math.log(math.fsum(math.exp(v - m) for v in row))
        total.append(log_sum_exp - row[label])
    return math.fsum(total) / len(total)


def numerical_grad(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + eps
        up = f(x)
        x[index] = saved - eps
        down = f(x)
        x[index] = saved
        grad[index] = (up - down) / (2 * eps)
    return grad


# --- MSE ---------------------------------------------------------------------
def test_mse_hand_computed():
    loss = MSELoss()(np.array([1.0, 2.0, 4.0]), np.array([0.0, 2.0, 1.0]))
    assert isinstance(loss, Variable) and loss.shape == ()
    assert loss.data == pytest.approx((1 + 0 + 9) / 3, rel=1e-15)


@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
        elements=st.floats(-100, 100),
    ),
    st.integers(0, 2**16),
)
@settings(max_examples=40, deadline=None)
def test_mse_matches_numpy_and_gradient(prediction, seed):
    target = np.random.default_rng(seed).uniform(-100, 100, prediction.shape)
    p = Variable(prediction, requires_grad=True)
    loss = MSELoss()(p, target)
    assert loss.shape == ()
    np.testing.assert_allclose(
        loss.data, np.mean((prediction - target) ** 2), rtol=1e-12
    )
    loss.backward()
    np.testing.assert_allclose(
        p.grad.data,
        2 * (prediction - target) / prediction.size,
        rtol=1e-12,
        atol=1e-15,
    )


def test_mse_gradient_finite_differences_both_arguments():
    rng = np.random.default_rng(0)
    prediction, target = (
        rng.standard_normal((3, 4)),
        rng.standard_normal((3, 4)),
    )
    p, t = (
        Variable(prediction, requires_grad=True),
        Variable(target, requires_grad=True),
    )
    MSELoss()(p, t).backward()
    np.testing.assert_allclose(
        p.grad.data,
        numerical_grad(lambda x: np.mean((x - target) ** 2), prediction),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        t.grad.data,
        numerical_grad(lambda x: np.mean((prediction - x) ** 2), target),
        rtol=1e-6,
    )


def test_mse_accepts_tensors_and_refuses_broadcasting():
    assert MSELoss()(Tensor([1.0, 3.0]), [1.0, 1.0]).data == pytest.approx(2.0)
    with pytest.raises(ValueError, match="target"):
        MSELoss()(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="target"):
        MSELoss()(np.zeros(3), np.zeros(4))
    assert MSELoss().parameters() == []


# --- log_softmax -------------------------------------------------------------
@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 4), st.integers(1, 6)),
        elements=st.floats(-1e4, 1e4),
    )
)
@settings(max_examples=40, deadline=None)
def test_log_softmax_properties(z):
    out = log_softmax(z).data
    assert np.all(np.isfinite(out)) and np.all(out <= 1e-12)
    np.testing.assert_allclose(np.exp(out).sum(axis=-1), 1.0, rtol=1e-12)
    expected = np.array(
        [
            [
                v
                - (
                    max(row)
                    + math.log(math.fsum(math.exp(u - max(row)) for u in row))
                )
                for v in row
            ]
            for row in z
        ]
    )
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-9)


def test_log_softmax_gradient_finite_differences():
    rng = np.random.default_rng(4)
    z = rng.normal(0, 3, size=(3, 5))
    weights = rng.standard_normal(z.shape)
    v = Variable(z, requires_grad=True)
    (log_softmax(v) * Variable(weights)).sum().backward()

    def f(x):
        m = x.max(axis=1, keepdims=True)
        return np.sum(
            (x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True)))
            * weights
        )

    np.testing.assert_allclose(
        v.grad.data, numerical_grad(f, z), rtol=1e-6, atol=1e-8
    )


# --- cross-entropy -----------------------------------------------------------
def test_cross_entropy_hand_computed():
    # uniform logits: -log(1/C)
    assert CrossEntropyLoss()(
        np.zeros((4, 10)), np.array([0, 3, 9, 5])
    ).data == pytest.approx(math.log(10))
    # two classes with logits (0, z): -log sigmoid(z) for label 1
    z = 1.3
    loss = CrossEntropyLoss()(np.array([[0.0, z]]), np.array([1]))
    assert loss.data == pytest.approx(math.log(1 + math.exp(-z)), rel=1e-14)


@given(
    st.integers(1, 6),
    st.integers(1, 7),
    st.sampled_from([1.0, 10.0, 1e3, 1e5]),
    st.integers(0, 2**16),
)
@settings(max_examples=50, deadline=None)
def test_cross_entropy_matches_direct_formula(batch, classes, scale, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((batch, classes)) * scale
    labels = rng.integers(0, classes, size=batch)
    loss = CrossEntropyLoss()(logits, labels)
    assert isinstance(loss, Variable) and loss.shape == ()
    assert np.isfinite(loss.data)
    assert loss.data == pytest.approx(
        reference_cross_entropy(logits, labels), rel=1e-12, abs=1e-12
    )


def test_cross_entropy_extreme_logits():
    logits = np.array(
        [
            [1000.0, 0.0, -1000.0],
            [1000.0, 1000.0, 1000.0],
            [-1e4, 1e4, 0.0],
            [1e300, -1e300, 0.0],
        ]
    )
    labels = np.array([2, 1, 0, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        per_row = [
            CrossEntropyLoss()(logits[i : i + 1], labels[i : i + 1]).data
            for i in range(4)
        ]
    np.testing.assert_allclose(
        per_row, [2000.0, math.log(3), 2e4, 0.0], rtol=1e-12
    )


def test_cross_entropy_gradient_closed_form_and_finite_differences():
    rng = np.random.default_rng(8)
    z = rng.normal(0, 2, size=(5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    v = Variable(z, requires_grad=True)
    CrossEntropyLoss()(v, labels).backward()
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(
        v.grad.data, (p - np.eye(4)[labels]) / 5, rtol=1e-12, atol=1e-15
    )
    np.testing.assert_allclose(
        v.grad.data,
        numerical_grad(lambda x: reference_cross_entropy(x, labels), z),
        rtol=1e-6,
        atol=1e-9,
    )


def test_cross_entropy_gradient_at_extreme_logits_is_finite():
    v = Variable([[1000.0, -1000.0]], requires_grad=True)
    CrossEntropyLoss()(v, np.array([1])).backward()
    np.testing.assert_allclose(v.grad.data, [[1.0, -1.0]])  # p - onehot


def test_cross_entropy_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 50, size=(8, 6))
    labels = rng.integers(0, 6, size=8)
    t = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(t, torch.tensor(labels))
    expected.backward()
    v = Variable(logits, requires_grad=True)
    loss = CrossEntropyLoss()(v, labels)
    loss.backward()
    assert loss.data == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(
        v.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-15
    )


@pytest.mark.parametrize(
    "make_labels",
    [
        np.array,
        lambda y: np.array(y, dtype=np.int32),
        lambda y: np.array(y, dtype=np.uint8),
        list,
        Tensor,
        Variable,
    ],
    ids=["int64", "int32", "uint8", "list", "tensor", "variable"],
)
def test_cross_entropy_label_containers(make_labels):
    logits = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    loss = CrossEntropyLoss()(Tensor(logits), make_labels([1, 2]))
    assert loss.data == pytest.approx(
        reference_cross_entropy(logits, [1, 2]), rel=1e-14
    )


@pytest.mark.parametrize(
    "target, message",
    [
        (np.eye(3)[[0, 1]], "integer"),  # one-hot floats
        (np.array([0.0, 1.0]), "integer"),  # float labels
        (np.array([True, False]), "integer"),  # booleans are not class indices
        (np.array([[0], [1]]), r"shape \(2,\)"),  # (N, 1)
        (np.array([0, 1, 2]), r"shape \(2,\)"),  # too many
        (np.array([0, 3]), r"\[0, 2\]"),  # out of range
        (np.array([-1, 0]), r"\[0, 2\]"),  # negative
        (np.int64(1), r"shape \(2,\)"),  # a scalar
    ],
)
def test_cross_entropy_bad_target(target, message):
    with pytest.raises(ValueError, match="target") as info:
        CrossEntropyLoss()(np.zeros((2, 3)), target)
    assert info.match(message)


@pytest.mark.parametrize(
    "logits",
    [np.zeros(3), np.zeros((2, 3, 4)), np.zeros((0, 3)), np.zeros((2, 0))],
    ids=["1d", "3d", "empty-batch", "no-classes"],
)
def test_cross_entropy_bad_logits(logits):
    with pytest.raises(ValueError, match="logits"):
        CrossEntropyLoss()(logits, np.zeros(2, dtype=int))
