"""The claims of module 09's Use and Optimize parts, checked against the
package.

The 2-D test functions are the module's own (`landscape_catalogue()` in
optimizers_dev.py), so a change there reaches these tests. Every expectation is
computed here, independently of the module: hand-derived gradients (and finite
differences), reference trajectories written in plain NumPy, the closed form of
gradient descent on a quadratic, and the byte count of the optimizer state of a
float32 model trained through autograd.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.core.activations import ReLU
from tinytorch.core.autograd import Variable, no_grad
from tinytorch.core.dataloader import DataLoader, load_digits
from tinytorch.core.layers import Dense, manual_seed
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.networks import Sequential
from tinytorch.core.optimizers import SGD, Adam, StepLR, gradient_descent_step

optimizers_dev = pytest.importorskip("optimizers_dev")
CATALOGUE = optimizers_dev.landscape_catalogue()
quadratic = CATALOGUE["quadratic"]["function"]
rosenbrock = CATALOGUE["rosenbrock"]["function"]
beale = CATALOGUE["beale"]["function"]
ANGLE = np.pi / 6  # the page: the quadratic's axes are rotated by 30 degrees


def quadratic_matrix(kappa=20.0):
    """A = R diag(1, κ) Rᵀ, R the rotation by ANGLE: f = θᵀAθ/2, ∇f = Aθ."""
    rotation = np.array(
        [[np.cos(ANGLE), -np.sin(ANGLE)], [np.sin(ANGLE), np.cos(ANGLE)]]
    )
    return rotation @ np.diag([1.0, kappa]) @ rotation.T


def quadratic_gradient(x, y, kappa=20.0):
    return quadratic_matrix(kappa) @ np.array([x, y])


def rosenbrock_gradient(x, y):
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def beale_gradient(x, y):
    t1, t2, t3 = 1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3
    return np.array(
        [
            2 * t1 * (y - 1) + 2 * t2 * (y**2 - 1) + 2 * t3 * (y**3 - 1),
            2 * t1 * x + 2 * t2 * 2 * x * y + 2 * t3 * 3 * x * y**2,
        ]
    )


LANDSCAPES = {
    "quadratic": (quadratic, quadratic_gradient, (-5.0, 5.0)),
    "rosenbrock": (rosenbrock, rosenbrock_gradient, (-2.0, 2.0)),
    "beale": (beale, beale_gradient, (-2.0, 2.0)),
}


def autograd_gradient(function, point):
    p = Variable(np.array(point, dtype=np.float64), requires_grad=True)
    function(p[0], p[1]).backward()
    return p.grad.data


def finite_difference_gradient(function, point, h=1e-6):
    x, y = point
    return np.array(
        [
            (function(x + h, y) - function(x - h, y)) / (2 * h),
            (function(x, y + h) - function(x, y - h)) / (2 * h),
        ]
    )


@pytest.mark.parametrize("name", LANDSCAPES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_autograd_gradient_of_the_test_functions(name, data):
    function, gradient, (low, high) = LANDSCAPES[name]
    point = (data.draw(st.floats(low, high)), data.draw(st.floats(low, high)))
    got = autograd_gradient(function, point)
    expected = gradient(*point)
    scale = max(1.0, np.abs(expected).max())
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-12 * scale), (
        point,
        got,
        expected,
    )
    assert np.allclose(
        got,
        finite_difference_gradient(function, point),
        rtol=1e-5,
        atol=1e-5 * scale,
    )


@pytest.mark.parametrize(
    "name, minimum",
    [
        ("quadratic", (0.0, 0.0)),
        ("rosenbrock", (1.0, 1.0)),
        ("beale", (3.0, 0.5)),
    ],
)
def test_the_minima_have_value_and_gradient_zero(name, minimum):
    function, _, _ = LANDSCAPES[name]
    assert CATALOGUE[name]["minimum"] == minimum
    assert function(*minimum) == 0.0
    assert np.array_equal(autograd_gradient(function, minimum), [0.0, 0.0])


# --- trajectories through autograd against plain NumPy references ------------
def module_path(function, start, optimizer, steps):
    """What the module's demonstrations do: a Variable point, loss from
    Variable ops, backward, step."""
    point = Variable(np.array(start, dtype=np.float64), requires_grad=True)
    opt = optimizer([point])
    path = [point.data.copy()]
    for _ in range(steps):
        opt.zero_grad()
        function(point[0], point[1]).backward()
        opt.step()
        path.append(point.data.copy())
    return np.array(path)


def heavy_ball_reference(gradient, start, lr, momentum, steps, nesterov=False):
    theta, buffer, path = (
        np.array(start, dtype=np.float64),
        None,
        [np.array(start, dtype=np.float64)],
    )
    for _ in range(steps):
        g = gradient(*theta)
        buffer = g.copy() if buffer is None else momentum * buffer + g
        theta = theta - lr * (g + momentum * buffer if nesterov else buffer)
        path.append(theta)
    return np.array(path)


def adam_reference(gradient, start, lr, beta1, beta2, steps, eps=1e-8):
    theta, m, v, path = (
        np.array(start, dtype=np.float64),
        np.zeros(2),
        np.zeros(2),
        [np.array(start, float)],
    )
    for t in range(1, steps + 1):
        g = gradient(*theta)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        theta = theta - lr / (1 - beta1**t) * m / (
            np.sqrt(v) / np.sqrt(1 - beta2**t) + eps
        )
        path.append(theta)
    return np.array(path)


@pytest.mark.parametrize(
    "name, start, lr, momentum, nesterov",
    [
        ("rosenbrock", (-1.2, 1.0), 1e-3, 0.9, False),
        ("rosenbrock", (-1.2, 1.0), 1e-3, 0.9, True),
        ("beale", (1.0, 1.5), 1e-2, 0.0, False),
        ("quadratic", (-4.5, -1.5), 0.05, 0.8, True),
    ],
)
def test_sgd_trajectories_through_autograd_match_numpy(
    name, start, lr, momentum, nesterov
):
    function, gradient, _ = LANDSCAPES[name]
    got = module_path(
        function,
        start,
        lambda params: SGD(
            params, lr=lr, momentum=momentum, nesterov=nesterov
        ),
        300,
    )
    expected = heavy_ball_reference(
        gradient, start, lr, momentum, 300, nesterov
    )
    assert np.allclose(got, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "name, start, lr, betas",
    [
        ("beale", (1.0, 1.5), 0.05, (0.9, 0.999)),
        ("rosenbrock", (-1.2, 1.0), 0.03, (0.9, 0.9)),
        ("quadratic", (-4.5, -1.5), 0.1, (0.5, 0.99)),
    ],
)
def test_adam_trajectories_through_autograd_match_numpy(
    name, start, lr, betas
):
    function, gradient, _ = LANDSCAPES[name]
    got = module_path(
        function, start, lambda params: Adam(params, lr=lr, betas=betas), 300
    )
    expected = adam_reference(gradient, start, lr, *betas, 300)
    assert np.allclose(got, expected, rtol=1e-9, atol=1e-12)


# --- the stability edge, in two dimensions -----------------------------------
@pytest.mark.parametrize("alpha_lambda", [1.9, 2.0, 2.1])
def test_gradient_descent_on_the_quadratic_follows_its_closed_form(
    alpha_lambda,
):
    """Along eigenvector i the error is multiplied by exactly (1 − αλ_i) per
    step: αλ_max = 2 is the edge."""
    kappa, start, steps = 20.0, np.array([-4.5, -1.5]), 40
    alpha = alpha_lambda / kappa
    point = Variable(start.copy(), requires_grad=True)
    for _ in range(steps):
        point.grad = None
        quadratic(point[0], point[1], kappa).backward()
        gradient_descent_step(point, alpha)
    eigenvalues, eigenvectors = np.linalg.eigh(quadratic_matrix(kappa))
    expected = eigenvectors @ (
        (1 - alpha * eigenvalues) ** steps * (eigenvectors.T @ start)
    )
    assert np.allclose(point.data, expected, rtol=1e-10, atol=1e-12)
    stiff_component = abs(eigenvectors[:, 1] @ point.data) / abs(
        eigenvectors[:, 1] @ start
    )
    if alpha_lambda < 2:
        assert stiff_component < 0.02
    elif alpha_lambda == 2:
        assert stiff_component == pytest.approx(1.0, rel=1e-9)
    else:
        assert stiff_component > 40


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("factor, converges", [(0.97, True), (1.03, False)])
def test_heavy_ball_stability_edge_is_two_times_one_plus_momentum(
    momentum, factor, converges
):
    """On f = λθ²/2 the heavy ball converges iff αλ < 2(1 + μ) (the explorer's
    prose relies on it)."""
    curvature = 20.0
    lr = factor * 2 * (1 + momentum) / curvature
    companion = np.array(
        [[1 + momentum - lr * curvature, -momentum], [1.0, 0.0]]
    )
    radius = np.abs(np.linalg.eigvals(companion)).max()
    assert (radius < 1) == converges
    theta = Variable(np.array(1.0), requires_grad=True)
    optimizer = SGD([theta], lr=lr, momentum=momentum)
    for _ in range(400):
        optimizer.zero_grad()
        (theta * theta * (curvature / 2)).backward()
        optimizer.step()
    assert (abs(float(theta.data)) < 1e-3) == converges


# --- memory: optimizer state of a float32 model trained through autograd -----
def float32_step(make_optimizer):
    manual_seed(0)
    model = Sequential(
        [
            Dense(64, 128, dtype=np.float32),
            ReLU(),
            Dense(128, 10, dtype=np.float32),
        ]
    )
    optimizer = make_optimizer(model.parameters())
    rng = np.random.default_rng(0)
    inputs = rng.random((32, 64)).astype(np.float32)
    labels = rng.integers(0, 10, 32)
    loss = CrossEntropyLoss()(model(inputs), labels)
    optimizer.zero_grad()
    loss.backward()
    gradient_dtypes = {p.grad.data.dtype for p in model.parameters()}
    optimizer.step()
    return model, optimizer, gradient_dtypes


@pytest.mark.parametrize(
    "make_optimizer, copies",
    [
        (lambda params: SGD(params, lr=0.1), 0),
        (lambda params: SGD(params, lr=0.1, momentum=0.9), 1),
        (lambda params: Adam(params, lr=1e-3), 2),
        (lambda params: Adam(params, lr=1e-3, amsgrad=True), 3),
    ],
    ids=["sgd", "momentum", "adam", "amsgrad"],
)
def test_optimizer_state_is_a_whole_number_of_float32_copies(
    make_optimizer, copies
):
    model, optimizer, gradient_dtypes = float32_step(make_optimizer)
    parameters = model.parameters()
    assert gradient_dtypes == {np.dtype(np.float32)}, (
        "autograd must give a float32 model float32 gradients"
    )
    assert all(p.data.dtype == np.float32 for p in parameters)
    parameter_bytes = sum(p.data.nbytes for p in parameters)
    assert parameter_bytes == 4 * (64 * 128 + 128 + 128 * 10 + 10)
    arrays = [
        value
        for state in optimizer.state.values()
        for value in state.values()
        if isinstance(value, np.ndarray)
    ]
    assert all(array.dtype == np.float32 for array in arrays)
    assert sum(array.nbytes for array in arrays) == copies * parameter_bytes


# --- the Use part: the digits network reaches its promised accuracy ----------
def test_adam_with_step_lr_reaches_95_percent_on_digits():
    """The recipe of the module's Use part, written out here: 15 epochs, Adam
    0.005, StepLR(5, 0.5), seed 0."""
    train, test = load_digits()
    manual_seed(0)
    model = Sequential([Dense(64, 128), ReLU(), Dense(128, 10)])
    optimizer = Adam(model.parameters(), learning_rate=0.005)
    scheduler = StepLR(optimizer, step_size=5, gamma=0.5)
    criterion = CrossEntropyLoss()
    loader = DataLoader(train, batch_size=32, shuffle=True, seed=0)
    for _ in range(15):
        for inputs, targets in loader:
            loss = criterion(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()
    assert scheduler.get_last_lr() == pytest.approx([0.005 * 0.5**3])
    with no_grad():
        inputs, targets = next(iter(DataLoader(test, batch_size=len(test))))
        accuracy = float(
            (model(inputs).data.argmax(axis=1) == targets.data).mean()
        )
    assert accuracy >= 0.95, f"test accuracy {accuracy:.3f}"
