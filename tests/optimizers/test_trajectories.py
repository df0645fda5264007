"""Every optimizer against an independent NumPy reference and against
torch.optim, 60 steps in float64."""

import numpy as np
import optimizers_reference as ref
import pytest
from torch_support import needs_torch, torch

from tinytorch.core.autograd import Variable
from tinytorch.core.optimizers import SGD, Adagrad, Adam, AdamW, RMSprop
from tinytorch.core.tensor import Tensor

STEPS = 60
TOLERANCE = 1e-9

# (id, tinytorch constructor, reference trajectory, torch constructor);
# hyperparameters spelled once each
CASES = [
    (
        "sgd-plain",
        lambda p: SGD(p, learning_rate=0.05),
        lambda s, g: ref.sgd(s, g, STEPS, lr=0.05),
        lambda p: torch.optim.SGD(p, lr=0.05),
    ),
    (
        "sgd-momentum",
        lambda p: SGD(p, learning_rate=0.05, momentum=0.9),
        lambda s, g: ref.sgd(s, g, STEPS, lr=0.05, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    ),
    (
        "sgd-dampening-decay",
        lambda p: SGD(
            p, lr=0.02, momentum=0.5, dampening=0.3, weight_decay=0.1
        ),
        lambda s, g: ref.sgd(
            s, g, STEPS, lr=0.02, momentum=0.5, dampening=0.3, weight_decay=0.1
        ),
        lambda p: torch.optim.SGD(
            p, lr=0.02, momentum=0.5, dampening=0.3, weight_decay=0.1
        ),
    ),
    (
        "sgd-nesterov",
        lambda p: SGD(
            p,
            learning_rate=0.05,
            momentum=0.9,
            nesterov=True,
            weight_decay=0.01,
        ),
        lambda s, g: ref.sgd(
            s,
            g,
            STEPS,
            lr=0.05,
            momentum=0.9,
            nesterov=True,
            weight_decay=0.01,
        ),
        lambda p: torch.optim.SGD(
            p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01
        ),
    ),
    (
        "sgd-maximize",
        lambda p: SGD(p, learning_rate=0.01, momentum=0.8, maximize=True),
        lambda s, g: ref.sgd(
            s, g, STEPS, lr=0.01, momentum=0.8, maximize=True
        ),
        lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.8, maximize=True),
    ),
    (
        "adam",
        lambda p: Adam(p, learning_rate=0.05),
        lambda s, g: ref.adam(s, g, STEPS, lr=0.05),
        lambda p: torch.optim.Adam(p, lr=0.05),
    ),
    (
        "adam-betas-eps",
        lambda p: Adam(p, learning_rate=0.1, beta1=0.8, beta2=0.99, eps=1e-6),
        lambda s, g: ref.adam(
            s, g, STEPS, lr=0.1, betas=(0.8, 0.99), eps=1e-6
        ),
        lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.8, 0.99), eps=1e-6),
    ),
    (
        "adam-l2",
        lambda p: Adam(p, lr=0.05, weight_decay=0.1),
        lambda s, g: ref.adam(s, g, STEPS, lr=0.05, weight_decay=0.1),
        lambda p: torch.optim.Adam(p, lr=0.05, weight_decay=0.1),
    ),
    (
        "adam-amsgrad",
        lambda p: Adam(p, lr=0.05, amsgrad=True),
        lambda s, g: ref.adam(s, g, STEPS, lr=0.05, amsgrad=True),
        lambda p: torch.optim.Adam(p, lr=0.05, amsgrad=True),
    ),
    (
        "adam-amsgrad-l2-betas",
        lambda p: Adam(
            p, lr=0.05, betas=(0.5, 0.9), weight_decay=0.05, amsgrad=True
        ),
        lambda s, g: ref.adam(
            s,
            g,
            STEPS,
            lr=0.05,
            betas=(0.5, 0.9),
            weight_decay=0.05,
            amsgrad=True,
        ),
        lambda p: torch.optim.Adam(
            p, lr=0.05, betas=(0.5, 0.9), weight_decay=0.05, amsgrad=True
        ),
    ),
    (
        "adamw",
        lambda p: AdamW(p, learning_rate=0.05),
        lambda s, g: ref.adam(
            s, g, STEPS, lr=0.05, weight_decay=0.01, decoupled=True
        ),
        lambda p: torch.optim.AdamW(p, lr=0.05),
    ),
    (
        "adamw-strong-amsgrad",
        lambda p: AdamW(p, lr=0.05, weight_decay=0.2, amsgrad=True),
        lambda s, g: ref.adam(
            s,
            g,
            STEPS,
            lr=0.05,
            weight_decay=0.2,
            amsgrad=True,
            decoupled=True,
        ),
        lambda p: torch.optim.AdamW(
            p, lr=0.05, weight_decay=0.2, amsgrad=True
        ),
    ),
    (
        "rmsprop",
        lambda p: RMSprop(p, learning_rate=0.01),
        lambda s, g: ref.rmsprop(s, g, STEPS, lr=0.01),
        lambda p: torch.optim.RMSprop(p, lr=0.01),
    ),
    (
        "rmsprop-momentum",
        lambda p: RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5),
        lambda s, g: ref.rmsprop(
            s, g, STEPS, lr=0.01, alpha=0.9, momentum=0.5
        ),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5),
    ),
    (
        "rmsprop-centered-decay",
        lambda p: RMSprop(p, lr=0.005, centered=True, weight_decay=0.1),
        lambda s, g: ref.rmsprop(
            s, g, STEPS, lr=0.005, centered=True, weight_decay=0.1
        ),
        lambda p: torch.optim.RMSprop(
            p, lr=0.005, centered=True, weight_decay=0.1
        ),
    ),
    (
        "rmsprop-centered-momentum",
        lambda p: RMSprop(p, lr=0.005, centered=True, momentum=0.9, eps=1e-6),
        lambda s, g: ref.rmsprop(
            s, g, STEPS, lr=0.005, centered=True, momentum=0.9, eps=1e-6
        ),
        lambda p: torch.optim.RMSprop(
            p, lr=0.005, centered=True, momentum=0.9, eps=1e-6
        ),
    ),
    (
        "adagrad",
        lambda p: Adagrad(p, learning_rate=0.1),
        lambda s, g: ref.adagrad(s, g, STEPS, lr=0.1),
        lambda p: torch.optim.Adagrad(p, lr=0.1),
    ),
    (
        "adagrad-decay-accumulator",
        lambda p: Adagrad(
            p,
            lr=0.1,
            lr_decay=0.01,
            weight_decay=0.1,
            initial_accumulator_value=0.5,
        ),
        lambda s, g: ref.adagrad(
            s,
            g,
            STEPS,
            lr=0.1,
            lr_decay=0.01,
            weight_decay=0.1,
            initial_accumulator_value=0.5,
        ),
        lambda p: torch.optim.Adagrad(
            p,
            lr=0.1,
            lr_decay=0.01,
            weight_decay=0.1,
            initial_accumulator_value=0.5,
        ),
    ),
    (
        "adagrad-eps",
        lambda p: Adagrad(p, lr=0.5, eps=1e-6),
        lambda s, g: ref.adagrad(s, g, STEPS, lr=0.5, eps=1e-6),
        lambda p: torch.optim.Adagrad(p, lr=0.5, eps=1e-6),
    ),
]
IDS = [case[0] for case in CASES]


def run_tinytorch(make_optimizer, gradient, start, steps=STEPS):
    params = [
        Variable(array, requires_grad=True) for array in ref.split(start)
    ]
    optimizer = make_optimizer(params)
    path = []
    for _ in range(steps):
        for p, g in zip(
            params, ref.split(gradient(ref.join(p.data for p in params)))
        ):
            p.grad = Tensor(g)
        optimizer.step()
        path.append(ref.join(p.data for p in params))
    return np.array(path)


def run_torch(make_optimizer, gradient, start, steps=STEPS):
    params = [
        torch.tensor(array, dtype=torch.float64, requires_grad=True)
        for array in ref.split(start)
    ]
    optimizer = make_optimizer(params)
    path = []
    for _ in range(steps):
        current = ref.join(p.detach().numpy() for p in params)
        for p, g in zip(params, ref.split(gradient(current))):
            p.grad = torch.from_numpy(g)
        optimizer.step()
        path.append(ref.join(p.detach().numpy() for p in params))
    return np.array(path)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_trajectory_matches_numpy_reference(case, seed):
    _, make, reference, _ = case
    gradient, start = ref.make_problem(seed)
    ours = run_tinytorch(make, gradient, start)
    expected = reference(start, gradient)
    assert ours.shape == expected.shape == (STEPS, ref.SIZE)
    assert np.linalg.norm(expected[-1] - start) > 0.1, (
        "the problem should move the parameters"
    )
    assert ref.relative_error(ours, expected) <= TOLERANCE


@needs_torch
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_trajectory_matches_torch(case):
    _, make, _, make_torch = case
    gradient, start = ref.make_problem(2)
    assert (
        ref.relative_error(
            run_tinytorch(make, gradient, start),
            run_torch(make_torch, gradient, start),
        )
        <= TOLERANCE
    )


@needs_torch
def test_parameter_groups_match_torch():
    """Two groups with different learning rates and momenta, as PyTorch runs
    them."""
    gradient, start = ref.make_problem(3)

    def ours(params):
        return SGD(
            [
                {"params": params[:1], "lr": 0.01},
                {"params": params[1:], "momentum": 0.5},
            ],
            learning_rate=0.05,
            momentum=0.9,
            nesterov=False,
        )

    def theirs(params):
        return torch.optim.SGD(
            [
                {"params": params[:1], "lr": 0.01},
                {"params": params[1:], "momentum": 0.5},
            ],
            lr=0.05,
            momentum=0.9,
        )

    assert (
        ref.relative_error(
            run_tinytorch(ours, gradient, start),
            run_torch(theirs, gradient, start),
        )
        <= TOLERANCE
    )

    def ours_adam(params):
        return Adam(
            [
                {"params": params[:1]},
                {"params": params[1:], "lr": 0.2, "betas": (0.5, 0.6)},
            ],
            lr=0.05,
        )

    def theirs_adam(params):
        return torch.optim.Adam(
            [
                {"params": params[:1]},
                {"params": params[1:], "lr": 0.2, "betas": (0.5, 0.6)},
            ],
            lr=0.05,
        )

    assert (
        ref.relative_error(
            run_tinytorch(ours_adam, gradient, start),
            run_torch(theirs_adam, gradient, start),
        )
        <= TOLERANCE
    )


def test_parameter_groups_match_reference_group_by_group():
    """Each group follows the reference with its own hyperparameters."""
    gradient, start = ref.make_problem(4)
    params = [
        Variable(array, requires_grad=True) for array in ref.split(start)
    ]
    optimizer = SGD(
        [{"params": [params[0]], "lr": 0.01}, {"params": [params[1]]}],
        learning_rate=0.1,
        momentum=0.5,
    )
    size0 = params[0].data.size
    # with a separable gradient each group is an independent problem
    scales = np.linspace(0.5, 2.0, ref.SIZE)

    def separable(theta):
        return scales * theta - 1.0

    for _ in range(STEPS):
        for p, g in zip(
            params, ref.split(separable(ref.join(p.data for p in params)))
        ):
            p.grad = Tensor(g)
        optimizer.step()
    first = ref.sgd(
        start[:size0],
        lambda t: scales[:size0] * t - 1.0,
        STEPS,
        lr=0.01,
        momentum=0.5,
    )[-1]
    second = ref.sgd(
        start[size0:],
        lambda t: scales[size0:] * t - 1.0,
        STEPS,
        lr=0.1,
        momentum=0.5,
    )[-1]
    assert ref.relative_error(params[0].data.ravel(), first) <= TOLERANCE
    assert ref.relative_error(params[1].data.ravel(), second) <= TOLERANCE


def test_page_and_pytorch_names_give_identical_runs():
    gradient, start = ref.make_problem(5)
    runs = [
        run_tinytorch(
            lambda p: Adam(p, learning_rate=0.02, beta1=0.8, beta2=0.95),
            gradient,
            start,
            20,
        ),
        run_tinytorch(
            lambda p: Adam(p, lr=0.02, betas=(0.8, 0.95)), gradient, start, 20
        ),
        run_tinytorch(
            lambda p: Adam(params=p, lr=0.02, betas=[0.8, 0.95]),
            gradient,
            start,
            20,
        ),
    ]
    assert np.array_equal(runs[0], runs[1]) and np.array_equal(
        runs[0], runs[2]
    )
    sgd_runs = [
        run_tinytorch(
            lambda p: SGD(parameters=p, learning_rate=0.1, momentum=0.9),
            gradient,
            start,
            20,
        ),
        run_tinytorch(lambda p: SGD(p, 0.1, 0.9), gradient, start, 20),
        run_tinytorch(
            lambda p: SGD(params=p, lr=0.1, momentum=0.9), gradient, start, 20
        ),
    ]
    assert np.array_equal(sgd_runs[0], sgd_runs[1]) and np.array_equal(
        sgd_runs[0], sgd_runs[2]
    )


@needs_torch
@pytest.mark.parametrize(
    "optimizer_class", [SGD, Adam, AdamW, RMSprop, Adagrad]
)
def test_defaults_and_state_names_match_torch(optimizer_class):
    """Same hyperparameter keys in param_groups and the same state buffer names
    as PyTorch."""
    torch_class = getattr(torch.optim, optimizer_class.__name__)
    options = {
        SGD: {"momentum": 0.9},
        RMSprop: {"momentum": 0.9, "centered": True},
        Adam: {"amsgrad": True},
        AdamW: {"amsgrad": True},
        Adagrad: {},
    }[optimizer_class]
    ours = Variable(np.ones(3), requires_grad=True)
    theirs = torch.ones(3, dtype=torch.float64, requires_grad=True)
    ours.grad, theirs.grad = (
        Tensor(np.ones(3)),
        torch.ones(3, dtype=torch.float64),
    )
    ours_optimizer = optimizer_class([ours], lr=0.1, **options)
    torch_optimizer = torch_class([theirs], lr=0.1, **options)
    ours_optimizer.step()
    torch_optimizer.step()
    ours_state, torch_state = (
        ours_optimizer.state_dict(),
        torch_optimizer.state_dict(),
    )
    assert set(ours_state) == {"state", "param_groups"}
    assert set(ours_state["state"][0]) == set(torch_state["state"][0])
    torch_keys = set(torch_state["param_groups"][0])
    assert set(ours_state["param_groups"][0]) <= torch_keys
    for key in ours_state["param_groups"][0]:
        if key != "params":
            assert (
                ours_state["param_groups"][0][key]
                == torch_state["param_groups"][0][key]
            ), key
    # the torch defaults we share (lr aside, which the course sets differently
    # for SGD and Adagrad)
    for key, value in ours_optimizer.defaults.items():
        if key != "lr":
            assert (
                torch_class(
                    [torch.zeros(1, requires_grad=True)], lr=0.1
                ).defaults[key]
                == optimizer_class(
                    [Variable(np.zeros(1), requires_grad=True)], lr=0.1
                ).defaults[key]
            ), key
