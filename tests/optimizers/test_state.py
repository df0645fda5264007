"""The Optimizer base class: checkpoints that resume bit for bit, groups,
zero_grad, closures, skipped parameters, dtypes, and duck-typed parameters from
both Variable classes."""

import importlib.util
import pickle
from pathlib import Path

import numpy as np
import optimizers_reference as ref
import pytest

from tinytorch.core.autograd import Variable
from tinytorch.core.optimizers import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    Optimizer,
    RMSprop,
)
from tinytorch.core.tensor import Tensor

ROOT = Path(__file__).resolve().parents[2]

OPTIMIZERS = {
    "sgd": lambda p: SGD(p, lr=0.05),
    "sgd-momentum-nesterov": lambda p: SGD(
        p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01
    ),
    "adam": lambda p: Adam(p, lr=0.05),
    "adam-amsgrad": lambda p: Adam(p, lr=0.05, amsgrad=True, weight_decay=0.1),
    "adamw": lambda p: AdamW(p, lr=0.05, weight_decay=0.1),
    "rmsprop-centered-momentum": lambda p: RMSprop(
        p, lr=0.01, centered=True, momentum=0.5
    ),
    "adagrad": lambda p: Adagrad(
        p, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1
    ),
}


def fresh_parameters(start):
    return [Variable(array, requires_grad=True) for array in ref.split(start)]


def train(params, optimizer, gradient, steps):
    for _ in range(steps):
        for p, g in zip(
            params, ref.split(gradient(ref.join(p.data for p in params)))
        ):
            p.grad = Tensor(g)
        optimizer.step()


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_resume_from_state_dict_is_bit_for_bit(name):
    make = OPTIMIZERS[name]
    gradient, start = ref.make_problem(0)
    params = fresh_parameters(start)
    train(params, make(params), gradient, 40)
    straight = ref.join(p.data for p in params)

    params = fresh_parameters(start)
    optimizer = make(params)
    train(params, optimizer, gradient, 17)
    checkpoint = pickle.dumps(
        {
            "params": [p.data.copy() for p in params],
            "optimizer": optimizer.state_dict(),
        }
    )
    del params, optimizer

    saved = pickle.loads(checkpoint)
    params = [Variable(array, requires_grad=True) for array in saved["params"]]
    optimizer = make(params)
    optimizer.load_state_dict(saved["optimizer"])
    train(params, optimizer, gradient, 23)
    assert np.array_equal(ref.join(p.data for p in params), straight)


def plain(value):
    """True when a state dict holds only plain Python and NumPy values."""
    if isinstance(value, dict):
        return all(
            isinstance(k, (int, str)) and plain(v) for k, v in value.items()
        )
    if isinstance(value, (list, tuple)):
        return all(plain(v) for v in value)
    return value is None or isinstance(
        value, (bool, int, float, str, np.ndarray, np.generic)
    )


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_is_plain_positional_and_a_copy(name):
    gradient, start = ref.make_problem(1)
    params = fresh_parameters(start)
    optimizer = OPTIMIZERS[name](params)
    train(params, optimizer, gradient, 3)
    state = optimizer.state_dict()
    assert plain(state)
    assert state["param_groups"][0]["params"] == [0, 1]
    assert set(state["state"]) <= {0, 1}
    frozen = pickle.dumps(state)
    train(params, optimizer, gradient, 3)  # the optimizer moves on ...
    assert pickle.dumps(state) == frozen  # ... the checkpoint does not
    live = pickle.dumps(optimizer.state_dict())
    spoil(optimizer.state_dict())  # editing a checkpoint changes nothing live
    assert pickle.dumps(optimizer.state_dict()) == live
    other = OPTIMIZERS[name](fresh_parameters(start))
    other.load_state_dict(state)
    spoil(state)  # nor does editing it after loading
    assert pickle.dumps(other.state_dict()) == frozen


def spoil(state_dict):
    for buffers in state_dict["state"].values():
        for value in buffers.values():
            if isinstance(value, np.ndarray):
                value[...] = 1e9
    for group in state_dict["param_groups"]:
        group["lr"] = -1.0


def test_load_state_dict_restores_hyperparameters_of_each_group():
    a, b = (
        Variable(np.ones(2), requires_grad=True),
        Variable(np.ones(3), requires_grad=True),
    )
    source = SGD(
        [{"params": [a], "lr": 0.3}, {"params": [b], "momentum": 0.5}], lr=0.1
    )
    c, d = (
        Variable(np.ones(2), requires_grad=True),
        Variable(np.ones(3), requires_grad=True),
    )
    target = SGD([{"params": [c]}, {"params": [d]}], lr=0.9)
    target.load_state_dict(source.state_dict())
    assert [g["lr"] for g in target.param_groups] == [0.3, 0.1]
    assert [g["momentum"] for g in target.param_groups] == [0.0, 0.5]
    assert (
        target.param_groups[0]["params"][0] is c
        and target.param_groups[1]["params"][0] is d
    )


@pytest.mark.parametrize(
    "mismatch", ["group-count", "parameter-count", "shape", "unknown-position"]
)
def test_load_state_dict_refuses_a_different_model_and_changes_nothing(
    mismatch,
):
    a, b = (
        Variable(np.ones(2), requires_grad=True),
        Variable(np.ones(3), requires_grad=True),
    )
    for p in (a, b):
        p.grad = Tensor(np.ones_like(p.data))
    source = Adam([a, b], lr=0.1)
    source.step()
    state = source.state_dict()
    if mismatch == "group-count":
        target = Adam(
            [
                {"params": [Variable(np.ones(2), requires_grad=True)]},
                {"params": [Variable(np.ones(3), requires_grad=True)]},
            ]
        )
        words = "parameter groups"
    elif mismatch == "parameter-count":
        target = Adam([Variable(np.ones(2), requires_grad=True)])
        words = "parameters"
    elif mismatch == "shape":
        target = Adam(
            [
                Variable(np.ones(2), requires_grad=True),
                Variable(np.ones(4), requires_grad=True),
            ]
        )
        words = "shape"
    else:
        target = Adam(
            [
                Variable(np.ones(2), requires_grad=True),
                Variable(np.ones(3), requires_grad=True),
            ]
        )
        state["state"][7] = state["state"][1]
        words = "parameter 7"
    before_groups = [dict(g) for g in target.param_groups]
    with pytest.raises(ValueError, match=words):
        target.load_state_dict(state)
    assert len(target.state) == 0
    assert target.param_groups == before_groups


def test_load_state_dict_casts_buffers_to_the_parameter_dtype():
    p64 = Variable(np.ones(3), requires_grad=True)
    p64.grad = Tensor(np.full(3, 0.5))
    source = Adam([p64], lr=0.1)
    source.step()
    p32 = Variable(np.ones(3, dtype=np.float32), requires_grad=True)
    target = Adam([p32], lr=0.1)
    target.load_state_dict(source.state_dict())
    assert (
        target.state[p32]["exp_avg"].dtype == np.float32
        and target.state[p32]["step"] == 1
    )


# --- groups ------------------------------------------------------------------
def test_missing_group_keys_come_from_defaults_and_extra_keys_are_kept():
    a, b = (
        Variable(np.ones(1), requires_grad=True),
        Variable(np.ones(1), requires_grad=True),
    )
    optimizer = Adam(
        [{"params": [a], "name": "encoder"}, {"params": b, "lr": 0.5}],
        lr=0.01,
        betas=(0.8, 0.9),
    )
    first, second = optimizer.param_groups
    assert (
        first["lr"] == 0.01
        and first["betas"] == (0.8, 0.9)
        and first["name"] == "encoder"
    )
    assert (
        second["lr"] == 0.5
        and second["eps"] == 1e-8
        and second["params"] == [b]
    )
    assert optimizer.defaults == {
        "lr": 0.01,
        "betas": (0.8, 0.9),
        "eps": 1e-8,
        "weight_decay": 0.0,
        "amsgrad": False,
        "decoupled_weight_decay": False,
        "fused": None,
    }


def test_add_param_group_later_trains_with_its_own_rate():
    a, b = (
        Variable(np.array([1.0]), requires_grad=True),
        Variable(np.array([1.0]), requires_grad=True),
    )
    optimizer = SGD([a], lr=0.1)
    optimizer.add_param_group({"params": [b], "lr": 0.5})
    a.grad, b.grad = Tensor(np.ones(1)), Tensor(np.ones(1))
    optimizer.step()
    assert a.data[0] == 0.9 and b.data[0] == 0.5
    with pytest.raises(ValueError, match="twice"):
        optimizer.add_param_group({"params": [a]})


# --- zero_grad, closure, skipped parameters ----------------------------------
def test_zero_grad_both_modes():
    p = Variable(np.ones(3), requires_grad=True)
    p.grad = Tensor(np.array([1.0, 2.0, 3.0]))
    array = p.grad.data
    optimizer = SGD([p], lr=0.1)
    optimizer.zero_grad(set_to_none=False)
    assert p.grad.data is array and np.array_equal(array, np.zeros(3))
    optimizer.zero_grad()
    assert p.grad is None
    optimizer.zero_grad()  # nothing to clear: still fine
    assert p.grad is None


def test_zero_grad_with_read_only_gradient_view():
    p = Variable(np.ones((2, 2)), requires_grad=True)
    p.grad = Tensor(np.ones((2, 2)))
    p.grad.data = np.broadcast_to(np.ones(2), (2, 2))  # read-only
    SGD([p], lr=0.1).zero_grad(set_to_none=False)
    assert np.array_equal(p.grad.data, np.zeros((2, 2)))


def test_step_returns_the_closure_loss_and_calls_it_once():
    x = Variable(np.array([3.0]), requires_grad=True)
    calls = []

    def closure():
        calls.append(1)
        x.grad = None
        loss = (x * x).sum()
        loss.backward()
        return float(loss.data)

    optimizer = SGD([x], lr=0.25)
    losses = [optimizer.step(closure) for _ in range(3)]
    assert (
        losses == [9.0, 2.25, 0.5625]
        and len(calls) == 3
        and x.data[0] == 0.375
    )
    assert optimizer.step() is None


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_parameters_without_gradient_are_skipped_and_start_fresh_later(name):
    used, unused = (
        Variable(np.ones(2), requires_grad=True),
        Variable(np.full(2, 5.0), requires_grad=True),
    )
    optimizer = OPTIMIZERS[name]([used, unused])
    for _ in range(3):
        used.grad = Tensor(np.array([0.5, -0.5]))
        optimizer.step()
    assert (
        np.array_equal(unused.data, [5.0, 5.0])
        and unused not in optimizer.state
    )
    # when it finally gets a gradient, it moves exactly like a new parameter
    # under a new optimizer
    unused.grad = Tensor(np.array([1.0, 2.0]))
    used.grad = None
    frozen = used.data.copy()
    optimizer.step()
    twin = Variable(np.full(2, 5.0), requires_grad=True)
    twin.grad = Tensor(np.array([1.0, 2.0]))
    OPTIMIZERS[name]([twin]).step()
    assert np.array_equal(unused.data, twin.data) and np.array_equal(
        used.data, frozen
    )


# --- dtypes and in-place updates ---------------------------------------------
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float32_parameters_stay_float32_and_update_in_place(name):
    p = Variable(
        np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3),
        requires_grad=True,
    )
    array = p.data
    optimizer = OPTIMIZERS[name]([p])
    for _ in range(3):
        p.grad = Tensor((2 * p.data).astype(np.float32))
        optimizer.step()
    assert p.data is array and p.data.dtype == np.float32
    for value in optimizer.state[p].values():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32
    # float32 follows the float64 run to float32 precision
    q = Variable(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    optimizer = OPTIMIZERS[name]([q])
    for _ in range(3):
        q.grad = Tensor(2 * q.data)
        optimizer.step()
    np.testing.assert_allclose(p.data, q.data, rtol=1e-5, atol=1e-6)


def test_gradient_array_is_not_modified_by_any_optimizer():
    for name, make in OPTIMIZERS.items():
        p = Variable(np.ones(3), requires_grad=True)
        grad = np.array([0.1, -0.2, 0.3])
        p.grad = Tensor(grad.copy())
        optimizer = make([p])
        optimizer.step()
        optimizer.step()
        assert np.array_equal(p.grad.data, grad), name


# --- duck typing: both Variable classes, and raw arrays as gradients ---------
def load_autograd_dev():
    path = ROOT / "modules" / "source" / "03_autograd" / "autograd_dev.py"
    spec = importlib.util.spec_from_file_location(
        "autograd_dev_for_optimizer_tests", path
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_variables_of_the_module_source_and_of_the_package_both_work():
    DevVariable = load_autograd_dev().Variable
    assert DevVariable is not Variable
    x_dev, x_pkg = (
        DevVariable(np.array([2.0, -3.0]), requires_grad=True),
        Variable(np.array([2.0, -3.0]), requires_grad=True),
    )
    optimizer = Adam([x_dev, x_pkg], learning_rate=0.01)
    for _ in range(5):
        optimizer.zero_grad()
        (x_dev * x_dev).sum().backward()
        (x_pkg * x_pkg).sum().backward()
        optimizer.step()
    assert np.array_equal(x_dev.data, x_pkg.data)
    np.testing.assert_allclose(
        x_pkg.data,
        ref.adam(np.array([2.0, -3.0]), lambda t: 2 * t, 5, lr=0.01)[-1],
        rtol=1e-12,
    )


def test_any_object_with_array_data_and_grad_is_a_parameter():
    class Weight:
        def __init__(self, values):
            self.data = np.array(values, dtype=float)
            self.grad = None

        def __eq__(
            self, other
        ):  # elementwise ==, like many tensor libraries: no hashing
            return self.data == other

        __hash__ = None

    w = Weight([1.0, 2.0])
    w.grad = np.array([1.0, 1.0])  # a raw array as gradient
    optimizer = SGD([w], lr=0.5, momentum=0.9)
    optimizer.step()
    assert np.array_equal(w.data, [0.5, 1.5]) and w in optimizer.state
    optimizer.zero_grad(set_to_none=False)
    assert np.array_equal(w.grad, [0.0, 0.0])


def test_repr_lists_groups():
    optimizer = SGD(
        [Variable(np.ones(1), requires_grad=True)], lr=0.1, momentum=0.9
    )
    text = repr(optimizer)
    assert (
        text.startswith("SGD (")
        and "Parameter Group 0" in text
        and "momentum: 0.9" in text
    )


def test_subclass_protocol():
    """A new optimizer needs only defaults and a step: the base class does the
    rest."""

    class SignSGD(Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        def step(self, closure=None):
            loss = self._begin_step(closure)
            for p, g, state, group in self._each_parameter():
                state["count"] = state.get("count", 0) + 1
                p.data -= group["lr"] * np.sign(g)
            return loss

    p = Variable(np.array([1.0, -1.0, 0.0]), requires_grad=True)
    optimizer = SignSGD([p])
    p.grad = Tensor(np.array([3.0, -0.001, 0.0]))
    optimizer.step()
    assert np.allclose(p.data, [0.9, -0.9, 0.0]) and optimizer.state_dict()[
        "state"
    ] == {0: {"count": 1}}
