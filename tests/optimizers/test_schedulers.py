"""Learning-rate schedulers: closed forms written in the test,
torch.optim.lr_scheduler, resume, warnings."""

import math
import pickle
import warnings

import numpy as np
import optimizers_reference as ref
import pytest
from torch_support import needs_torch, torch

from tinytorch.core.autograd import Variable
from tinytorch.core.optimizers import (
    SGD,
    Adam,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)
from tinytorch.core.tensor import Tensor

EPOCHS = 60
BASE = [0.1, 0.02]  # two parameter groups with different base rates
T = torch.optim.lr_scheduler if torch else None  # used inside tests only


def our_optimizer(momentum=0.9):
    a, b = (
        Variable(np.ones(2), requires_grad=True),
        Variable(np.ones(3), requires_grad=True),
    )
    return SGD(
        [{"params": [a]}, {"params": [b], "lr": BASE[1]}],
        learning_rate=BASE[0],
        momentum=momentum,
    )


def torch_optimizer(momentum=0.9):
    a, b = torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)
    return torch.optim.SGD(
        [{"params": [a]}, {"params": [b], "lr": BASE[1]}],
        lr=BASE[0],
        momentum=momentum,
    )


def learning_rates(optimizer, scheduler, epochs=EPOCHS):
    """The rates in the groups during epochs 0..epochs-1 (the loop steps the
    optimizer, then the scheduler)."""
    rates = []
    for _ in range(epochs):
        rates.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return np.array(rates)


# (id, our scheduler, torch scheduler, closed form lr(base, epoch)); each
# written once
CASES = [
    (
        "step",
        lambda o: StepLR(o, step_size=7, gamma=0.5),
        lambda o: T.StepLR(o, step_size=7, gamma=0.5),
        lambda b, e: ref.step_lr(b, e, 7, 0.5),
    ),
    (
        "step-default-gamma",
        lambda o: StepLR(o, 10),
        lambda o: T.StepLR(o, 10),
        lambda b, e: ref.step_lr(b, e, 10),
    ),
    (
        "multistep",
        lambda o: MultiStepLR(o, milestones=[5, 20, 41], gamma=0.3),
        lambda o: T.MultiStepLR(o, milestones=[5, 20, 41], gamma=0.3),
        lambda b, e: ref.multi_step_lr(b, e, [5, 20, 41], 0.3),
    ),
    (
        "exponential",
        lambda o: ExponentialLR(o, gamma=0.93),
        lambda o: T.ExponentialLR(o, gamma=0.93),
        lambda b, e: ref.exponential_lr(b, e, 0.93),
    ),
    (
        "cosine",
        lambda o: CosineAnnealingLR(o, T_max=EPOCHS),
        lambda o: T.CosineAnnealingLR(o, T_max=EPOCHS),
        lambda b, e: ref.cosine_lr(b, e, EPOCHS),
    ),
    (
        "cosine-eta-min-periodic",
        lambda o: CosineAnnealingLR(o, T_max=17, eta_min=0.001),
        lambda o: T.CosineAnnealingLR(o, T_max=17, eta_min=0.001),
        lambda b, e: ref.cosine_lr(b, e, 17, 0.001),
    ),
    (
        "linear-default",
        lambda o: LinearLR(o),
        lambda o: T.LinearLR(o),
        lambda b, e: ref.linear_lr(b, e),
    ),
    (
        "linear-warmup",
        lambda o: LinearLR(
            o, start_factor=0.05, end_factor=0.9, total_iters=25
        ),
        lambda o: T.LinearLR(
            o, start_factor=0.05, end_factor=0.9, total_iters=25
        ),
        lambda b, e: ref.linear_lr(b, e, 0.05, 0.9, 25),
    ),
    (
        "lambda",
        lambda o: LambdaLR(o, lambda e: 1 / (1 + 0.1 * e)),
        lambda o: T.LambdaLR(o, lambda e: 1 / (1 + 0.1 * e)),
        lambda b, e: b / (1 + 0.1 * e),
    ),
    (
        "sequential-warmup-cosine",
        lambda o: SequentialLR(
            o,
            [
                LinearLR(o, start_factor=0.1, total_iters=10),
                CosineAnnealingLR(o, T_max=50),
            ],
            [10],
        ),
        lambda o: T.SequentialLR(
            o,
            [
                T.LinearLR(o, start_factor=0.1, total_iters=10),
                T.CosineAnnealingLR(o, T_max=50),
            ],
            [10],
        ),
        lambda b, e: (
            ref.linear_lr(b, e, 0.1, 1.0, 10)
            if e < 10
            else ref.cosine_lr(b, e - 10, 50)
        ),
    ),
    (
        "sequential-three",
        lambda o: SequentialLR(
            o,
            [
                LinearLR(o, start_factor=0.5, total_iters=4),
                StepLR(o, 6, 0.5),
                ExponentialLR(o, 0.9),
            ],
            [5, 30],
        ),
        lambda o: T.SequentialLR(
            o,
            [
                T.LinearLR(o, start_factor=0.5, total_iters=4),
                T.StepLR(o, 6, 0.5),
                T.ExponentialLR(o, 0.9),
            ],
            [5, 30],
        ),
        lambda b, e: (
            ref.linear_lr(b, e, 0.5, 1.0, 4)
            if e < 5
            else ref.step_lr(b, e - 5, 6, 0.5)
            if e < 30
            else ref.exponential_lr(b, e - 30, 0.9)
        ),
    ),
]
IDS = [case[0] for case in CASES]


def close(actual, expected):
    """Relative error 1e-9, plus a floor far below any rate (a cosine that
    reaches exactly 0 in one form)."""
    np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_schedule_matches_closed_form(case):
    _, make, _, formula = case
    optimizer = our_optimizer()
    scheduler = make(optimizer)
    rates = learning_rates(optimizer, scheduler)
    expected = np.array(
        [[formula(base, e) for base in BASE] for e in range(EPOCHS)]
    )
    close(rates, expected)
    assert scheduler.get_last_lr() == [
        group["lr"] for group in optimizer.param_groups
    ]
    assert [group["initial_lr"] for group in optimizer.param_groups] == BASE


@needs_torch
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_schedule_matches_torch(case):
    _, make, make_torch, _ = case
    optimizer, torch_opt = our_optimizer(), torch_optimizer()
    ours = learning_rates(optimizer, make(optimizer))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = learning_rates(torch_opt, make_torch(torch_opt))
    close(ours, theirs)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_schedule_resumes_bit_for_bit(case):
    _, make, _, _ = case
    optimizer = our_optimizer()
    straight = learning_rates(optimizer, make(optimizer))

    optimizer = our_optimizer()
    scheduler = make(optimizer)
    first = learning_rates(optimizer, scheduler, 23)
    saved = pickle.dumps((optimizer.state_dict(), scheduler.state_dict()))
    optimizer = our_optimizer()
    scheduler = make(optimizer)
    optimizer_state, scheduler_state = pickle.loads(saved)
    optimizer.load_state_dict(optimizer_state)
    scheduler.load_state_dict(scheduler_state)
    second = learning_rates(optimizer, scheduler, EPOCHS - 23)
    assert np.array_equal(np.concatenate([first, second]), straight)


def test_step_lr_page_example():
    """StepLR(optimizer, step_size=10, gamma=0.1): 0.1 for epochs 0-9, 0.01 for
    10-19, ..."""
    optimizer = SGD(
        [Variable(np.ones(1), requires_grad=True)], learning_rate=0.1
    )
    scheduler = StepLR(optimizer, step_size=10, gamma=0.1)
    seen = []
    for epoch in range(30):
        optimizer.step()
        scheduler.step()
        seen.append(scheduler.get_last_lr())
    assert all(isinstance(lrs, list) and len(lrs) == 1 for lrs in seen)
    np.testing.assert_allclose(
        [lrs[0] for lrs in seen],
        [0.1] * 9 + [0.01] * 10 + [0.001] * 10 + [0.0001],
        rtol=1e-12,
    )


def test_lambda_lr_one_function_per_group():
    optimizer = our_optimizer()
    scheduler = LambdaLR(optimizer, [lambda e: 0.5**e, lambda e: e + 1])
    rates = learning_rates(optimizer, scheduler, 6)
    close(rates, [[BASE[0] * 0.5**e, BASE[1] * (e + 1)] for e in range(6)])


class Warmup:
    """A callable object: LambdaLR saves its attributes in the state dict
    (functions it cannot save)."""

    def __init__(self, length):
        self.length = length

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.length)


def test_lambda_lr_state_dict_saves_callable_objects_not_functions():
    optimizer = our_optimizer()
    scheduler = LambdaLR(optimizer, [Warmup(4), lambda e: 1.0])
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [{"length": 4}, None]
    other = LambdaLR(our_optimizer(), [Warmup(99), lambda e: 1.0])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].length == 4


# --- OneCycleLR: learning rate and momentum ----------------------------------
ONE_CYCLE = [
    dict(max_lr=0.5, total_steps=60),
    dict(
        max_lr=[0.5, 0.2],
        total_steps=60,
        pct_start=0.25,
        anneal_strategy="linear",
        div_factor=10.0,
    ),
    dict(
        max_lr=1.0,
        epochs=6,
        steps_per_epoch=10,
        three_phase=True,
        base_momentum=0.8,
        max_momentum=0.9,
    ),
    dict(
        max_lr=0.3,
        total_steps=60,
        final_div_factor=100.0,
        cycle_momentum=False,
    ),
]


@needs_torch
@pytest.mark.parametrize(
    "options",
    ONE_CYCLE,
    ids=["cos", "linear-per-group", "three-phase", "no-momentum"],
)
def test_one_cycle_matches_reference_and_torch(options):
    optimizer, torch_opt = our_optimizer(), torch_optimizer()
    scheduler, torch_scheduler = (
        OneCycleLR(optimizer, **options),
        T.OneCycleLR(torch_opt, **options),
    )
    peaks = (
        options["max_lr"]
        if isinstance(options["max_lr"], list)
        else [options["max_lr"]] * 2
    )
    phase = {
        key: options[key]
        for key in (
            "pct_start",
            "div_factor",
            "final_div_factor",
            "three_phase",
            "base_momentum",
            "max_momentum",
        )
        if key in options
    }
    phase["strategy"] = options.get("anneal_strategy", "cos")
    for e in range(60):
        expected = [ref.one_cycle(e, peak, 60, **phase) for peak in peaks]
        ours = [(g["lr"], g["momentum"]) for g in optimizer.param_groups]
        theirs = [(g["lr"], g["momentum"]) for g in torch_opt.param_groups]
        if options.get("cycle_momentum", True):
            close(ours, expected)
        else:
            close([lr for lr, _ in ours], [lr for lr, _ in expected])
            assert [m for _, m in ours] == [0.9, 0.9]
        close(ours, theirs)
        if e < 59:
            for opt, sched in (
                (optimizer, scheduler),
                (torch_opt, torch_scheduler),
            ):
                opt.step()
                sched.step()


def test_one_cycle_cycles_adams_beta1_and_stops_after_total_steps():
    p = Variable(np.ones(2), requires_grad=True)
    optimizer = Adam([p], lr=0.01, betas=(0.9, 0.99))
    scheduler = OneCycleLR(optimizer, max_lr=0.1, total_steps=10)
    betas = []
    for _ in range(10):
        betas.append(optimizer.param_groups[0]["betas"])
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(
        [b1 for b1, _ in betas],
        [ref.one_cycle(e, 0.1, 10)[1] for e in range(10)],
        rtol=1e-12,
    )
    assert all(b2 == 0.99 for _, b2 in betas)
    with pytest.raises(ValueError, match="total_steps"):
        scheduler.step()


@needs_torch
def test_one_cycle_with_optimizer_matches_torch_trajectory():
    """The cycled momentum really drives the optimizer: SGD + OneCycleLR
    parameters equal PyTorch's."""
    gradient, start = ref.make_problem(6)
    ours = Variable(start.copy(), requires_grad=True)
    theirs = torch.tensor(start.copy(), requires_grad=True)
    optimizer = SGD([ours], lr=0.01, momentum=0.9, nesterov=True)
    torch_opt = torch.optim.SGD([theirs], lr=0.01, momentum=0.9, nesterov=True)
    scheduler, torch_scheduler = (
        OneCycleLR(optimizer, 0.2, total_steps=50),
        T.OneCycleLR(torch_opt, 0.2, total_steps=50),
    )
    for _ in range(49):
        ours.grad = Tensor(gradient(ours.data))
        theirs.grad = torch.from_numpy(gradient(theirs.detach().numpy()))
        optimizer.step()
        torch_opt.step()
        scheduler.step()
        torch_scheduler.step()
    assert ref.relative_error(ours.data, theirs.detach().numpy()) <= 1e-9


# --- ReduceLROnPlateau -------------------------------------------------------
def noisy_plateau(seed):
    rng = np.random.default_rng(seed)
    return list(
        np.maximum(np.exp(-np.arange(60) / 8.0), 0.05)
        + 0.01 * rng.standard_normal(60)
    )


PLATEAU = [
    dict(),
    dict(factor=0.5, patience=2),
    dict(factor=0.5, patience=1, cooldown=3, min_lr=[0.01, 0.001]),
    dict(
        mode="max",
        factor=0.2,
        patience=3,
        threshold=0.01,
        threshold_mode="abs",
    ),
    dict(patience=0, threshold=0.1, threshold_mode="rel", eps=1e-3),
]


@needs_torch
@pytest.mark.parametrize(
    "options",
    PLATEAU,
    ids=["defaults", "patience-2", "cooldown-min-lr", "max-abs", "eps"],
)
def test_reduce_on_plateau_matches_reference_and_torch(options):
    metrics = noisy_plateau(7)
    if options.get("mode") == "max":
        metrics = [-m for m in metrics]
    optimizer, torch_opt = our_optimizer(), torch_optimizer()
    scheduler, torch_scheduler = (
        ReduceLROnPlateau(optimizer, **options),
        T.ReduceLROnPlateau(torch_opt, **options),
    )
    ours, theirs = [], []
    for metric in metrics:
        optimizer.step()
        torch_opt.step()
        scheduler.step(metric)
        torch_scheduler.step(metric)
        ours.append(scheduler.get_last_lr())
        theirs.append(torch_scheduler.get_last_lr())
    min_lrs = options.get("min_lr", 0.0)
    min_lrs = min_lrs if isinstance(min_lrs, list) else [min_lrs] * 2
    settings = {k: v for k, v in options.items() if k != "min_lr"}
    expected = np.array(
        [
            ref.plateau_lrs(metrics, base, min_lr=m, **settings)
            for base, m in zip(BASE, min_lrs)
        ]
    ).T
    close(ours, expected)
    close(ours, theirs)
    assert len({tuple(r) for r in ours}) > 1 or options == {}, (
        "the test should see at least one reduction"
    )


def test_reduce_on_plateau_resumes_bit_for_bit():
    metrics = noisy_plateau(8)

    def run(values, optimizer, scheduler):
        out = []
        for value in values:
            optimizer.step()
            scheduler.step(value)
            out.append(scheduler.get_last_lr())
        return out

    optimizer = our_optimizer()
    straight = run(
        metrics,
        optimizer,
        ReduceLROnPlateau(optimizer, factor=0.5, patience=2, cooldown=1),
    )
    optimizer = our_optimizer()
    scheduler = ReduceLROnPlateau(
        optimizer, factor=0.5, patience=2, cooldown=1
    )
    first = run(metrics[:30], optimizer, scheduler)
    saved = pickle.loads(
        pickle.dumps((optimizer.state_dict(), scheduler.state_dict()))
    )
    optimizer = our_optimizer()
    scheduler = ReduceLROnPlateau(
        optimizer, factor=0.5, patience=2, cooldown=1
    )
    optimizer.load_state_dict(saved[0])
    scheduler.load_state_dict(saved[1])
    assert first + run(metrics[30:], optimizer, scheduler) == straight


# --- protocol ----------------------------------------------------------------
def test_constructor_takes_the_first_step():
    optimizer = our_optimizer()
    scheduler = StepLR(optimizer, step_size=3)
    assert (
        scheduler.last_epoch == 0
        and scheduler.base_lrs == BASE
        and scheduler.get_last_lr() == BASE
    )
    scheduler = ExponentialLR(our_optimizer(), gamma=0.5)
    assert scheduler.get_last_lr() == BASE


def test_get_last_lr_is_a_copy():
    optimizer = our_optimizer()
    scheduler = StepLR(optimizer, 2)
    scheduler.get_last_lr().append(5)
    assert scheduler.get_last_lr() == BASE


@needs_torch
def test_warns_like_torch_when_scheduler_steps_before_optimizer():
    optimizer = our_optimizer()
    scheduler = StepLR(optimizer, step_size=2)
    with pytest.warns(UserWarning, match=r"before optimizer\.step\(\)"):
        scheduler.step()
    torch_opt = torch_optimizer()
    torch_scheduler = T.StepLR(torch_opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step"):
        torch_scheduler.step()


def test_no_warning_in_the_right_order():
    optimizer = our_optimizer()
    scheduler = CosineAnnealingLR(optimizer, T_max=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(5):
            optimizer.step()
            scheduler.step()


def test_resuming_with_last_epoch_needs_initial_lr():
    with pytest.raises(ValueError, match="initial_lr"):
        StepLR(our_optimizer(), step_size=2, last_epoch=4)
    optimizer = our_optimizer()
    StepLR(optimizer, step_size=2)
    scheduler = StepLR(
        optimizer, step_size=2, last_epoch=4
    )  # groups now carry initial_lr
    assert scheduler.last_epoch == 5
    close(scheduler.get_last_lr(), [b * 0.1**2 for b in BASE])


def test_scheduler_state_dict_is_plain_and_independent():
    optimizer = our_optimizer()
    scheduler = SequentialLR(
        optimizer, [LinearLR(optimizer), ExponentialLR(optimizer, 0.9)], [5]
    )
    state = scheduler.state_dict()
    assert "optimizer" not in state
    blob = pickle.dumps(state)
    optimizer.step()
    scheduler.step()
    assert pickle.dumps(state) == blob, (
        "stepping must not change a saved state dict"
    )


def test_scheduler_state_dict_for_other_group_count_is_refused():
    scheduler = StepLR(our_optimizer(), 2)
    one_group = SGD([Variable(np.ones(1), requires_grad=True)], lr=0.1)
    other = StepLR(one_group, 2)
    with pytest.raises(ValueError, match="parameter groups"):
        other.load_state_dict(scheduler.state_dict())


def test_cosine_closed_form_at_period_end_is_exact():
    optimizer = SGD([Variable(np.ones(1), requires_grad=True)], lr=1.0)
    scheduler = CosineAnnealingLR(optimizer, T_max=4)
    rates = learning_rates(optimizer, scheduler, 9)[:, 0]
    assert rates[4] == 0.0 and rates[8] == 1.0
    close(rates, [(1 + math.cos(math.pi * e / 4)) / 2 for e in range(9)])
