"""A two-layer network from the package's parts learns scikit-learn's digits.

The training loop is plain gradient descent written here (no optimizer class),
and the trained network's logits are checked against a forward pass written
here in NumPy, so the test measures the parts themselves.
"""

import numpy as np
import pytest

from tinytorch.core.activations import ReLU
from tinytorch.core.autograd import no_grad
from tinytorch.core.dataloader import DataLoader, load_digits
from tinytorch.core.layers import Dense
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.networks import Sequential

LEARNING_RATE = 0.1
EPOCHS = 25


def numpy_logits(parameters, inputs):
    """The forward pass of Dense(64, 32) -> ReLU -> Dense(32, 10), by hand."""
    w1, b1, w2, b2 = (p.data for p in parameters)
    return np.maximum(inputs @ w1 + b1, 0.0) @ w2 + b2


def numpy_cross_entropy(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(labels)), labels].mean()


@pytest.fixture(scope="module")
def trained():
    train, test = load_digits(test_fraction=0.2, seed=0)
    model = Sequential([Dense(64, 32, rng=0), ReLU(), Dense(32, 10, rng=1)])
    parameters = model.parameters()
    loss_fn = CrossEntropyLoss()
    loader = DataLoader(train, batch_size=32, shuffle=True, seed=0)
    epoch_losses = []
    for _ in range(EPOCHS):
        losses = []
        for inputs, targets in loader:
            loss = loss_fn(model(inputs), targets)
            for parameter in parameters:
                parameter.grad = None
            loss.backward()
            for parameter in parameters:  # θ ← θ − η ∇L
                parameter.data = (
                    parameter.data - LEARNING_RATE * parameter.grad.data
                )
            losses.append(float(loss.data))
        epoch_losses.append(np.mean(losses))
    return model, train, test, epoch_losses


def test_network_has_the_two_layers_parameters(trained):
    model = trained[0]
    shapes = [p.data.shape for p in model.parameters()]
    assert shapes == [(64, 32), (32,), (32, 10), (10,)]


def test_two_layer_network_reaches_90_percent_on_digits(trained):
    model, train, test, epoch_losses = trained
    inputs, labels = test.arrays
    with no_grad():
        logits = model(inputs).data
    accuracy = np.mean(logits.argmax(axis=1) == labels)
    assert accuracy >= 0.90, f"test accuracy {accuracy:.3f}"
    # the training loss fell: the last epochs are far below the first
    assert epoch_losses[-1] < 0.25 * epoch_losses[0], epoch_losses
    # chance level on 10 balanced classes is ln(10) = 2.30; the first epoch
    # already improves on it
    assert epoch_losses[0] < np.log(10)


def test_trained_network_matches_a_numpy_forward_pass(trained):
    model, train, test, _ = trained
    inputs, labels = test.arrays
    with no_grad():
        logits = model(inputs).data
        loss = float(CrossEntropyLoss()(model(inputs), labels).data)
    expected = numpy_logits(model.parameters(), inputs)
    np.testing.assert_allclose(logits, expected, rtol=1e-12, atol=1e-12)
    assert abs(loss - numpy_cross_entropy(expected, labels)) < 1e-12


def test_one_gradient_step_matches_finite_differences():
    """The gradient the loop uses, checked on a few weights by central
    differences."""
    train, _ = load_digits()
    inputs, labels = (array[:40] for array in train.arrays)
    model = Sequential([Dense(64, 8, rng=3), ReLU(), Dense(8, 10, rng=4)])
    loss = CrossEntropyLoss()(model(inputs), labels)
    loss.backward()
    parameters = model.parameters()
    rng = np.random.default_rng(0)
    h = 1e-6
    for parameter in parameters:
        for _ in range(4):
            index = tuple(rng.integers(0, n) for n in parameter.data.shape)
            original = parameter.data[index]
            parameter.data[index] = original + h
            plus = numpy_cross_entropy(
                numpy_logits(parameters, inputs), labels
            )
            parameter.data[index] = original - h
            minus = numpy_cross_entropy(
                numpy_logits(parameters, inputs), labels
            )
            parameter.data[index] = original
            numeric = (plus - minus) / (2 * h)
            assert abs(parameter.grad.data[index] - numeric) < 1e-6 * max(
                1.0, abs(numeric)
            ), (index, numeric)
