"""Issue 11: every hyperparameter and loaded state is checked where it enters.

Each case checks the exception type and message at the call that made the
mistake, and that the refused call changed nothing (parameters, optimizer
state, scheduler state). Valid edge values (lr=0, momentum=0, tiny eps,
float16 gradients) keep working, with values computed by hand.
"""

import math
import pickle

import numpy as np
import pytest

from tinytorch.core.autograd import Variable
from tinytorch.core.optimizers import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    OneCycleLR,
    ReduceLROnPlateau,
    RMSprop,
    SequentialLR,
    StepLR,
    clip_grad_norm_,
    clip_grad_value_,
    gradient_descent_step,
)
from tinytorch.core.tensor import Tensor

INF, NAN = math.inf, math.nan
ALL = [SGD, Adam, AdamW, RMSprop, Adagrad]


def param(values=(1.0, 2.0, 3.0), grad=None, dtype=np.float64):
    p = Variable(np.array(values, dtype=dtype), requires_grad=True)
    if grad is not None:
        p.grad = Tensor(np.array(grad))
    return p


def frozen(thing):
    """Everything an optimizer or scheduler holds, as bytes to compare."""
    return pickle.dumps(thing.state_dict())


def stepped(optimizer_class, steps=2, **options):
    p = param(grad=[0.5, -1.0, 2.0])
    optimizer = optimizer_class([p], **options)
    for _ in range(steps):
        optimizer.step()
    return optimizer, p


# --- hyperparameters, at the constructor and in add_param_group ---------
BAD = [
    (
        SGD,
        dict(lr=INF),
        ValueError,
        r"^learning_rate \(lr\) must be a finite number >= 0, got inf$",
    ),
    (
        SGD,
        dict(momentum=INF),
        ValueError,
        r"^momentum must be a finite number in \[0, 1\), got inf$",
    ),
    (
        SGD,
        dict(momentum=0.5, dampening=NAN),
        ValueError,
        r"^dampening must be a finite number in \[0, 1\], got nan$",
    ),
    (
        SGD,
        dict(momentum=1.5),
        ValueError,
        r"momentum must be a finite number in \[0, 1\), got 1.5",
    ),
    (SGD, dict(weight_decay=NAN), ValueError, "weight_decay .* got nan"),
    (
        SGD,
        dict(momentum="0.9"),
        TypeError,
        r"momentum must be a finite number .* got '0.9' \(a str\)",
    ),
    (
        SGD,
        dict(nesterov="yes"),
        TypeError,
        "^nesterov must be True or False, got 'yes'$",
    ),
    (SGD, dict(maximize=None), TypeError, "maximize must be True or False"),
    (
        Adam,
        dict(eps=0.0),
        ValueError,
        "^eps must be a finite number > 0, got 0.0$",
    ),
    (Adam, dict(eps=INF), ValueError, "eps must be a finite number > 0"),
    (Adam, dict(lr=NAN), ValueError, r"learning_rate \(lr\) .* got nan"),
    (Adam, dict(beta1=NAN), ValueError, r"beta1 .* in \[0, 1\), got nan"),
    (Adam, dict(betas=(0.9, INF)), ValueError, "beta2 .* got inf"),
    (Adam, dict(amsgrad="False"), TypeError, "amsgrad must be True or"),
    (AdamW, dict(eps=0), ValueError, "eps must be a finite number > 0"),
    (AdamW, dict(weight_decay=INF), ValueError, "weight_decay .* got inf"),
    (
        RMSprop,
        dict(alpha=1.5),
        ValueError,
        r"^alpha must be a finite number in \[0, 1\), got 1.5$",
    ),
    (RMSprop, dict(eps=0.0), ValueError, "eps must be a finite number > 0"),
    (RMSprop, dict(momentum=NAN), ValueError, "momentum .* got nan"),
    (RMSprop, dict(centered=1), TypeError, "centered must be True or False"),
    (Adagrad, dict(lr_decay=INF), ValueError, "lr_decay .* got inf"),
    (Adagrad, dict(eps=0.0), ValueError, "eps must be a finite number > 0"),
    (
        Adagrad,
        dict(initial_accumulator_value=NAN),
        ValueError,
        "initial_accumulator_value .* got nan",
    ),
]


@pytest.mark.parametrize("cls, options, error, message", BAD)
def test_bad_hyperparameter_is_refused_at_the_constructor(
    cls, options, error, message
):
    with pytest.raises(error, match=message):
        cls([param()], **options)


@pytest.mark.parametrize("cls, options, error, message", BAD)
def test_bad_hyperparameter_is_refused_by_add_param_group(
    cls, options, error, message
):
    optimizer, _ = stepped(cls)
    before = frozen(optimizer)
    group = {"params": [param()]}
    for name, value in options.items():  # group keys use PyTorch's names
        name = "lr" if name == "learning_rate" else name
        if name in ("beta1", "beta2"):
            betas = [0.9, 0.999]
            betas[name == "beta2"] = value
            name, value = "betas", tuple(betas)
        group[name] = value
    with pytest.raises(error, match=message.lstrip("^").rstrip("$")):
        optimizer.add_param_group(group)
    assert frozen(optimizer) == before  # no half-added group


@pytest.mark.parametrize("cls", ALL)
def test_zero_learning_rate_moves_nothing_but_counts_steps(cls):
    optimizer, p = stepped(cls, steps=3, lr=0.0)
    assert np.array_equal(p.data, [1.0, 2.0, 3.0])
    state = optimizer.state[p]
    if "step" in state:
        assert state["step"] == 3


def test_zero_momentum_is_plain_gradient_descent():
    # three steps of θ ← θ − 0.1·g with the fixed gradient (0.5, −1, 2)
    optimizer, p = stepped(SGD, steps=3, lr=0.1, momentum=0.0)
    assert np.allclose(p.data, [0.85, 2.3, 2.4], rtol=0, atol=1e-15)
    assert "momentum_buffer" not in optimizer.state[p]


@pytest.mark.parametrize("cls", [Adam, AdamW, RMSprop, Adagrad])
def test_tiny_eps_keeps_working_on_a_zero_gradient(cls):
    p = param(grad=[0.0, 0.0, 0.0])
    options = {"weight_decay": 0.0} if cls is AdamW else {}
    optimizer = cls([p], lr=0.1, eps=1e-300, **options)
    for _ in range(3):
        optimizer.step()
    assert np.array_equal(p.data, [1.0, 2.0, 3.0])  # 0 / (0 + eps) = 0


def test_tiny_eps_adam_first_step_is_lr_times_sign():
    # step 1: m̂ = g, v̂ = g², so θ ← θ − lr·g/(|g| + eps) = θ − lr·sign(g)
    p = param(grad=[0.5, -1.0, 2.0])
    Adam([p], lr=0.1, eps=1e-300).step()
    assert np.allclose(p.data, [0.9, 2.1, 2.9], rtol=0, atol=1e-15)


@pytest.mark.parametrize("cls", ALL)
def test_float16_gradients_update_a_float32_parameter(cls):
    p = param([1.0, 2.0], dtype=np.float32)
    p.grad = Tensor(np.array([0.5, -0.25], dtype=np.float16))
    optimizer = cls([p], lr=0.5)
    optimizer.step()
    assert p.data.dtype == np.float32 and np.all(np.isfinite(p.data))
    if cls is SGD:  # θ − 0.5·g, exact in float32
        assert np.array_equal(p.data, np.array([0.75, 2.125], np.float32))
    else:  # the adaptive ones move against the sign of the gradient
        assert p.data[0] < 1.0 and p.data[1] > 2.0


# --- PyTorch's names, resolved in one place --------------------------------
@pytest.mark.parametrize("cls", ALL)
def test_pytorch_names_give_the_same_optimizer(cls):
    a, b = param(), param()
    ours = cls(parameters=[a], learning_rate=0.03)
    theirs = cls(params=[b], lr=0.03)
    strip = [
        {k: v for k, v in g.items() if k != "params"}
        for g in ours.param_groups
    ]
    assert strip == [
        {k: v for k, v in g.items() if k != "params"}
        for g in theirs.param_groups
    ]
    assert strip[0]["lr"] == 0.03
    with pytest.raises(TypeError, match="got both learning_rate=0.03 and lr"):
        cls([param()], learning_rate=0.03, lr=0.1)
    with pytest.raises(TypeError, match="got both parameters=.* and params"):
        cls(parameters=[param()], params=[param()])


@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_betas_is_the_pair_beta1_beta2(cls):
    optimizer = cls([param()], betas=(0.8, 0.95))
    assert optimizer.param_groups[0]["betas"] == (0.8, 0.95)
    assert cls([param()], beta1=0.8, beta2=0.95).param_groups[0]["betas"] == (
        0.8,
        0.95,
    )
    with pytest.raises(TypeError, match="got both beta2=0.9 and betas"):
        cls([param()], beta2=0.9, betas=(0.8, 0.95))
    with pytest.raises(ValueError, match=r"betas must be a pair \(beta1"):
        cls([param()], betas=0.9)


def test_the_module_names_are_the_documented_signature():
    import inspect

    for cls in ALL:
        names = inspect.signature(cls).parameters
        assert "learning_rate" in names and "lr" not in names, cls
        assert "parameters" in names and "params" not in names, cls


# --- one generator, two optimizers ------------------------------------------
def test_an_exhausted_generator_is_named():
    params = [param(), param()]
    shared = (p for p in params)
    SGD(shared, lr=0.1)
    with pytest.raises(
        ValueError,
        match=r"parameters is an empty iterator: was it already used.*"
        r"list\(model.parameters\(\)\)",
    ):
        Adam(shared)
    with pytest.raises(ValueError, match="parameters is an empty list"):
        Adam([])


# --- load_state_dict --------------------------------------------------------
FOREIGN = [
    (SGD, dict(momentum=0.9), Adam, {}, "SGD cannot load the state of Adam"),
    (Adam, {}, SGD, dict(momentum=0.9), "Adam cannot load the state of SGD"),
    (RMSprop, {}, Adagrad, {}, "RMSprop cannot load the state of Adagrad"),
    (Adagrad, {}, RMSprop, {}, "Adagrad cannot load the state of RMSprop"),
    (SGD, {}, AdamW, {}, "SGD cannot load the state of Adam"),
]


@pytest.mark.parametrize(
    "target, t_options, source, s_options, message", FOREIGN
)
def test_another_optimizers_state_is_refused_at_load(
    target, t_options, source, s_options, message
):
    optimizer, p = stepped(target, **t_options)
    other, _ = stepped(source, **s_options)
    before, data = frozen(optimizer), p.data.copy()
    with pytest.raises(ValueError, match=message):
        optimizer.load_state_dict(other.state_dict())
    assert frozen(optimizer) == before and np.array_equal(p.data, data)
    optimizer.step()  # still works, with its own state


def test_sgd_refusing_adams_state_names_the_keys():
    sgd, _ = stepped(SGD, momentum=0.9)
    with pytest.raises(ValueError) as caught:
        sgd.load_state_dict(stepped(Adam)[0].state_dict())
    text = str(caught.value)
    assert "param_groups[0] has" in text
    assert "betas" in text and "momentum" in text


@pytest.mark.parametrize(
    "spoil, error, message",
    [
        (
            lambda s: s["param_groups"][0].__setitem__("lr", -10),
            ValueError,
            r"param_groups\[0\]: learning_rate \(lr\) must be a finite "
            r"number >= 0, got -10",
        ),
        (
            lambda s: s["param_groups"][0].__setitem__("momentum", NAN),
            ValueError,
            r"param_groups\[0\]: momentum must be .* got nan",
        ),
        (
            lambda s: s["param_groups"][0].pop("momentum"),
            ValueError,
            r"param_groups\[0\] has no 'momentum': a state dict of SGD",
        ),
        (
            lambda s: s["param_groups"][0].pop("params"),
            ValueError,
            r"param_groups\[0\] has no 'params' entry",
        ),
        (
            lambda s: s.pop("state"),
            ValueError,
            "the state dict has no 'state' entry",
        ),
        (
            lambda s: s.pop("param_groups"),
            ValueError,
            "the state dict has no 'param_groups' entry",
        ),
        (
            lambda s: s["param_groups"][0].__setitem__("nesterov", "no"),
            TypeError,
            "nesterov must be True or False",
        ),
        (
            lambda s: s["param_groups"][0].__setitem__("betas", (0.9, 0.9)),
            ValueError,
            "has betas, which SGD does not use",
        ),
    ],
)
def test_a_spoiled_state_dict_is_refused_and_changes_nothing(
    spoil, error, message
):
    optimizer, p = stepped(SGD, lr=0.1, momentum=0.9)
    state = optimizer.state_dict()
    spoil(state)
    before = frozen(optimizer)
    with pytest.raises(error, match=message):
        optimizer.load_state_dict(state)
    assert frozen(optimizer) == before


def test_a_state_dict_that_is_not_a_dict():
    optimizer, _ = stepped(SGD)
    with pytest.raises(TypeError, match="must be a dict .* got list"):
        optimizer.load_state_dict([1, 2])


# --- gradient_descent_step ---------------------------------------------------
def test_gradient_descent_step_refuses_a_broadcast_gradient():
    p = param(grad=[0.5])
    with pytest.raises(
        ValueError,
        match=r"a gradient of shape \(1,\) belongs to a parameter of shape "
        r"\(3,\)",
    ):
        gradient_descent_step(p, 0.1)
    assert np.array_equal(p.data, [1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    "rate, error, message",
    [
        (
            INF,
            ValueError,
            "^learning_rate must be a finite number >= 0, got inf$",
        ),
        (NAN, ValueError, "got nan"),
        (-0.1, ValueError, "got -0.1"),
        ("0.1", TypeError, r"got '0.1' \(a str\)"),
    ],
)
def test_gradient_descent_step_refuses_a_bad_learning_rate(
    rate, error, message
):
    p = param(grad=[1.0, 1.0, 1.0])
    with pytest.raises(error, match=message):
        gradient_descent_step(p, rate)
    assert np.array_equal(p.data, [1.0, 2.0, 3.0])
    gradient_descent_step(p, 0.0)  # zero is a valid rate
    assert np.array_equal(p.data, [1.0, 2.0, 3.0])


# --- schedulers --------------------------------------------------------------
def sgd(lr=0.1):
    return SGD([param(grad=[1.0, 1.0, 1.0])], lr=lr)


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: ExponentialLR(sgd(), gamma=INF),
            "^gamma must be a finite number > 0, got inf$",
        ),
        (lambda: ExponentialLR(sgd(), gamma=NAN), "gamma .* got nan"),
        (lambda: StepLR(sgd(), 2, gamma=INF), "gamma .* got inf"),
        (lambda: LinearLR(sgd(), start_factor=NAN), "start_factor .* nan"),
        (
            lambda: OneCycleLR(sgd(), max_lr=INF, total_steps=5),
            "max_lr must be a finite number > 0, got inf",
        ),
        (
            lambda: OneCycleLR(
                sgd(), max_lr=0.1, total_steps=5, max_momentum=2
            ),
            r"max_momentum must be a finite number in \[0, 1\), got 2",
        ),
        (
            lambda: ReduceLROnPlateau(sgd(), min_lr=NAN),
            "min_lr .* got nan",
        ),
        (lambda: ReduceLROnPlateau(sgd(), threshold=INF), "threshold .* inf"),
        (lambda: StepLR(sgd(), 2, last_epoch=-5), "last_epoch must be"),
        (
            lambda: LambdaLR(sgd(), lambda epoch: -1.0),
            r"^the factor lr_lambda\(0\) must be a finite number >= 0, "
            r"got -1.0$",
        ),
    ],
)
def test_bad_scheduler_settings_are_refused_at_the_constructor(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("bad", [-0.5, NAN, INF])
def test_lambda_lr_refuses_a_bad_factor_at_the_step_and_changes_nothing(bad):
    optimizer = sgd(lr=0.1)
    scheduler = LambdaLR(optimizer, lambda epoch: bad if epoch == 2 else 0.5)
    optimizer.step()
    scheduler.step()
    before = frozen(scheduler)
    with pytest.raises(
        ValueError,
        match=rf"the factor lr_lambda\(2\) must be a finite number >= 0, "
        rf"got {bad!r}",
    ):
        scheduler.step()
    assert frozen(scheduler) == before
    assert (
        scheduler.last_epoch == 1 and optimizer.param_groups[0]["lr"] == 0.05
    )


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (NAN, ValueError, "^metrics must be a finite number, got nan: "),
        (-INF, ValueError, "^metrics must be a finite number, got -inf: "),
        ("low", TypeError, "^metrics must be a number .*, got 'low'$"),
        (None, TypeError, "^metrics must be a number .*, got None$"),
    ],
)
def test_plateau_refuses_a_metric_that_is_not_a_finite_number(
    bad, error, message
):
    """A diverged loss (nan) would count as one more bad epoch, and -inf
    would stay the best value forever: refused, and nothing changes."""
    optimizer = sgd(lr=0.1)
    scheduler = ReduceLROnPlateau(optimizer, patience=0)
    scheduler.step(1.0)
    before = frozen(scheduler)
    with pytest.raises(error, match=message):
        scheduler.step(bad)
    assert frozen(scheduler) == before
    scheduler.step(2.0)  # a worse epoch: with patience 0 the rate drops
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01)


def test_a_computed_rate_that_overflows_is_refused():
    optimizer = sgd(lr=0.1)
    scheduler = LambdaLR(optimizer, lambda epoch: 1e308 if epoch else 1.0)
    optimizer.param_groups[0]["initial_lr"] = 1e10
    scheduler.base_lrs = [1e10]  # 1e10 · 1e308 = inf
    optimizer.step()
    with pytest.raises(
        ValueError,
        match=r"LambdaLR at epoch 1, param_groups\[0\]: learning_rate \(lr\)"
        r" must be a finite number >= 0, got inf",
    ):
        scheduler.step()
    assert scheduler.last_epoch == 0


def test_another_schedulers_state_is_refused():
    optimizer = sgd()
    step_lr = StepLR(optimizer, 2)
    exponential = ExponentialLR(sgd(), 0.9)
    before = frozen(step_lr)
    with pytest.raises(
        ValueError,
        match="^StepLR cannot load the state of ExponentialLR: load each "
        "scheduler's state into a scheduler of the same kind$",
    ):
        step_lr.load_state_dict(exponential.state_dict())
    assert frozen(step_lr) == before


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda s: s.pop("last_epoch"), "has no 'last_epoch' entry"),
        (lambda s: s.pop("scheduler"), "has no 'scheduler' entry"),
        (
            lambda s: s.__setitem__("milestones", [3]),
            "has 'milestones', which a StepLR does not have",
        ),
        (
            lambda s: s.__setitem__("_last_lr", [INF]),
            r"_last_lr\[0\]: learning_rate \(lr\) .* got inf",
        ),
        (lambda s: s.__setitem__("base_lrs", [0.1, 0.1]), "2 rates, but"),
        (lambda s: s.__setitem__("last_epoch", 2.5), "last_epoch must be"),
    ],
)
def test_a_spoiled_scheduler_state_is_refused_and_changes_nothing(
    spoil, message
):
    optimizer = sgd()
    scheduler = StepLR(optimizer, 2, gamma=0.5)
    optimizer.step()
    scheduler.step()
    state = scheduler.state_dict()
    spoil(state)
    before, lr = frozen(scheduler), optimizer.param_groups[0]["lr"]
    with pytest.raises(ValueError, match=message):
        scheduler.load_state_dict(state)
    assert frozen(scheduler) == before
    assert optimizer.param_groups[0]["lr"] == lr


def test_sequential_lr_checks_every_inner_state_before_loading_any():
    def make():
        optimizer = sgd()
        return SequentialLR(
            optimizer,
            [LinearLR(optimizer), ExponentialLR(optimizer, 0.9)],
            [3],
        )

    scheduler = make()
    state = make().state_dict()
    state["_schedulers"][1].pop("gamma")
    inner_before = [frozen(inner) for inner in scheduler._schedulers]
    with pytest.raises(
        ValueError, match="ExponentialLR state dict has no 'gamma'"
    ):
        scheduler.load_state_dict(state)
    assert [frozen(inner) for inner in scheduler._schedulers] == inner_before


# --- clipping ----------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [0, -1, 0.5, NAN, -INF])
def test_clip_grad_norm_refuses_what_is_not_a_norm(norm_type):
    p = param(grad=[3.0, 4.0, 0.0])
    with pytest.raises(
        ValueError, match=r"^norm_type must be a number >= 1 or inf, got"
    ):
        clip_grad_norm_([p], max_norm=1.0, norm_type=norm_type)
    assert np.array_equal(p.grad.data, [3.0, 4.0, 0.0])


@pytest.mark.parametrize(
    "norm_type, total", [(1, 7.0), (2, 5.0), (INF, 4.0), ("inf", 4.0)]
)
def test_clip_grad_norm_valid_norms(norm_type, total):
    p = param(grad=[3.0, -4.0, 0.0])
    assert clip_grad_norm_([p], 1.0, norm_type=norm_type) == total
    assert np.allclose(
        p.grad.data, np.array([3.0, -4.0, 0.0]) / (total + 1e-6)
    )


def test_infinite_max_norm_only_measures():
    p = param(grad=[3.0, 4.0, 0.0])
    assert clip_grad_norm_([p], max_norm=INF) == 5.0
    assert np.array_equal(p.grad.data, [3.0, 4.0, 0.0])
    with pytest.raises(
        ValueError, match="max_norm must be a number >= 0 or inf, got nan"
    ):
        clip_grad_norm_([p], max_norm=NAN)
    with pytest.raises(ValueError, match="clip_value .* got nan"):
        clip_grad_value_([p], clip_value=NAN)
    assert np.array_equal(p.grad.data, [3.0, 4.0, 0.0])
