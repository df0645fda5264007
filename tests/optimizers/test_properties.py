"""Property tests (hypothesis): random shapes, hyperparameters and gradient
sequences."""

import math
import pickle

import numpy as np
import optimizers_reference as ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinytorch.core.autograd import Variable
from tinytorch.core.optimizers import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    MultiStepLR,
    RMSprop,
    StepLR,
    clip_grad_norm_,
)
from tinytorch.core.tensor import Tensor

FAST = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

shapes = st.lists(
    st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple),
    min_size=1,
    max_size=3,
)
unit = st.floats(0.0, 0.99)
rates = st.floats(1e-4, 0.5)
decays = st.sampled_from([0.0, 0.0, 1e-3, 0.1])


@st.composite
def optimizer_cases(draw):
    """(our constructor, reference(theta0, gradient, steps)) with random
    hyperparameters."""
    kind = draw(
        st.sampled_from(["sgd", "adam", "adamw", "rmsprop", "adagrad"])
    )
    lr, wd = draw(rates), draw(decays)
    if kind == "sgd":
        momentum = draw(st.sampled_from([0.0, draw(unit)]))
        nesterov = momentum > 0 and draw(st.booleans())
        dampening = (
            0.0 if nesterov else draw(st.sampled_from([0.0, draw(unit)]))
        )
        maximize = draw(st.booleans())
        options = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=wd,
            nesterov=nesterov,
            maximize=maximize,
        )
        return (lambda p: SGD(p, **options)), (
            lambda s, g, n: ref.sgd(s, g, n, **options)
        )
    if kind in ("adam", "adamw"):
        betas, eps, amsgrad = (
            (draw(unit), draw(unit)),
            draw(st.sampled_from([1e-8, 1e-3])),
            draw(st.booleans()),
        )
        cls = Adam if kind == "adam" else AdamW
        return (
            (
                lambda p: cls(
                    p,
                    lr=lr,
                    betas=betas,
                    eps=eps,
                    weight_decay=wd,
                    amsgrad=amsgrad,
                )
            ),
            (
                lambda s, g, n: ref.adam(
                    s,
                    g,
                    n,
                    lr=lr,
                    betas=betas,
                    eps=eps,
                    weight_decay=wd,
                    amsgrad=amsgrad,
                    decoupled=kind == "adamw",
                )
            ),
        )
    if kind == "rmsprop":
        options = dict(
            lr=lr,
            alpha=draw(unit),
            eps=draw(st.sampled_from([1e-8, 1e-3])),
            weight_decay=wd,
            momentum=draw(st.sampled_from([0.0, draw(unit)])),
            centered=draw(st.booleans()),
        )
        return (lambda p: RMSprop(p, **options)), (
            lambda s, g, n: ref.rmsprop(s, g, n, **options)
        )
    options = dict(
        lr=lr,
        lr_decay=draw(st.sampled_from([0.0, 0.05])),
        weight_decay=wd,
        initial_accumulator_value=draw(st.sampled_from([0.0, 0.1])),
        eps=1e-10,
    )
    return (lambda p: Adagrad(p, **options)), (
        lambda s, g, n: ref.adagrad(s, g, n, **options)
    )


def gradient_stream(seed, size, steps):
    """A fixed sequence of random gradients (one per step), whatever θ is, plus
    a pull towards 0."""
    grads = np.random.default_rng(seed).standard_normal((steps, size)) * 3.0
    counter = iter(range(steps))
    return lambda theta: grads[next(counter)] + 0.5 * theta


def run(make, arrays, gradient, steps):
    params = [Variable(a.copy(), requires_grad=True) for a in arrays]
    optimizer = make(params)
    for _ in range(steps):
        flat = np.concatenate([p.data.ravel() for p in params])
        g, offset = gradient(flat), 0
        for p in params:
            p.grad = Tensor(
                g[offset : offset + p.data.size].reshape(p.data.shape)
            )
            offset += p.data.size
        optimizer.step()
    return params, optimizer


@FAST
@given(
    case=optimizer_cases(),
    shape_list=shapes,
    seed=st.integers(0, 2**16),
    steps=st.integers(1, 12),
)
def test_any_shapes_and_hyperparameters_follow_the_reference(
    case, shape_list, seed, steps
):
    make, reference = case
    rng = np.random.default_rng(seed + 1)
    arrays = [rng.standard_normal(shape) for shape in shape_list]
    size = sum(a.size for a in arrays)
    params, _ = run(make, arrays, gradient_stream(seed, size, steps), steps)
    expected = reference(
        np.concatenate([a.ravel() for a in arrays]),
        gradient_stream(seed, size, steps),
        steps,
    )[-1]
    ours = np.concatenate([p.data.ravel() for p in params])
    assert [p.data.shape for p in params] == [tuple(s) for s in shape_list]
    assert np.linalg.norm(ours - expected) <= 1e-9 * max(
        np.linalg.norm(expected), 1e-300
    )


@FAST
@given(
    case=optimizer_cases(),
    seed=st.integers(0, 2**16),
    split_at=st.integers(1, 6),
)
def test_resume_is_bit_for_bit_for_any_configuration(case, seed, split_at):
    make, _ = case
    arrays = [np.random.default_rng(seed).standard_normal((2, 3))]
    straight, _ = run(make, arrays, gradient_stream(seed, 6, 8), 8)
    gradient = gradient_stream(seed, 6, 8)
    first, optimizer = run(make, arrays, gradient, split_at)
    saved = pickle.loads(pickle.dumps(optimizer.state_dict()))
    params = [Variable(first[0].data.copy(), requires_grad=True)]
    resumed = make(params)
    resumed.load_state_dict(saved)
    for _ in range(8 - split_at):
        params[0].grad = Tensor(gradient(params[0].data.ravel()).reshape(2, 3))
        resumed.step()
    assert np.array_equal(params[0].data, straight[0].data)


@FAST
@given(
    grad=st.lists(
        st.floats(-1e6, 1e6, allow_subnormal=False), min_size=1, max_size=8
    ),
    lr=rates,
    betas=st.tuples(unit, unit),
)
def test_adams_first_step_is_at_most_the_learning_rate(grad, lr, betas):
    p = Variable(np.zeros(len(grad)), requires_grad=True)
    p.grad = Tensor(np.array(grad))
    Adam([p], lr=lr, betas=betas).step()
    assert np.all(np.abs(p.data) <= lr * (1 + 1e-12))
    big = np.abs(grad) > 1e-3
    np.testing.assert_allclose(
        p.data[big], -lr * np.sign(np.array(grad)[big]), rtol=1e-4
    )


@FAST
@given(
    seed=st.integers(0, 2**16),
    scale=st.floats(1e-3, 1e3),
    amsgrad=st.booleans(),
)
def test_adam_without_eps_ignores_the_scale_of_the_loss(seed, scale, amsgrad):
    arrays = [np.random.default_rng(seed).standard_normal(4)]
    grads = np.random.default_rng(seed + 7).standard_normal((6, 4)) + 0.1
    plain_grads, scaled_grads = iter(grads), iter(grads * scale)
    plain, _ = run(
        lambda p: Adam(p, lr=0.1, eps=1e-300, amsgrad=amsgrad),
        arrays,
        lambda flat: next(plain_grads),
        6,
    )
    scaled, _ = run(
        lambda p: Adam(p, lr=0.1, eps=1e-300, amsgrad=amsgrad),
        arrays,
        lambda flat: next(scaled_grads),
        6,
    )
    np.testing.assert_allclose(
        scaled[0].data, plain[0].data, rtol=1e-10, atol=1e-12
    )


@FAST
@given(grad=st.lists(st.floats(-100, 100), min_size=1, max_size=6), lr=rates)
def test_plain_sgd_step_is_minus_lr_times_gradient(grad, lr):
    p = Variable(np.ones(len(grad)), requires_grad=True)
    p.grad = Tensor(np.array(grad))
    SGD([p], lr=lr).step()
    np.testing.assert_allclose(
        p.data, 1.0 - lr * np.array(grad), rtol=1e-15, atol=1e-15
    )


@FAST
@given(
    shape_list=shapes,
    seed=st.integers(0, 2**16),
    max_norm=st.floats(1e-3, 10.0),
    norm_type=st.sampled_from([1.0, 2.0, 3.0, math.inf]),
)
def test_clipped_gradients_have_at_most_max_norm_and_keep_their_direction(
    shape_list, seed, max_norm, norm_type
):
    rng = np.random.default_rng(seed)
    params = []
    for shape in shape_list:
        p = Variable(np.zeros(shape), requires_grad=True)
        p.grad = Tensor(rng.standard_normal(shape) * rng.uniform(0.01, 10))
        params.append(p)
    before = np.concatenate([p.grad.data.ravel() for p in params])
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    after = np.concatenate([p.grad.data.ravel() for p in params])
    expected_total = (
        np.max(np.abs(before))
        if norm_type == math.inf
        else np.sum(np.abs(before) ** norm_type) ** (1 / norm_type)
    )
    assert math.isclose(total, expected_total, rel_tol=1e-12)
    new_norm = (
        np.max(np.abs(after))
        if norm_type == math.inf
        else np.sum(np.abs(after) ** norm_type) ** (1 / norm_type)
    )
    assert new_norm <= max_norm * (1 + 1e-12) or math.isclose(
        new_norm, total, rel_tol=1e-12
    )
    scale = min(1.0, max_norm / (total + 1e-6))
    np.testing.assert_allclose(after, before * scale, rtol=1e-14, atol=0)


@FAST
@given(
    base=st.floats(1e-4, 1.0),
    step_size=st.integers(1, 10),
    gamma=st.floats(0.05, 0.99),
    milestones=st.lists(st.integers(0, 40), max_size=4),
    t_max=st.integers(1, 30),
    epochs=st.integers(1, 50),
)
def test_schedules_follow_their_closed_forms(
    base, step_size, gamma, milestones, t_max, epochs
):
    makers = [
        (
            lambda o: StepLR(o, step_size, gamma),
            lambda e: ref.step_lr(base, e, step_size, gamma),
        ),
        (
            lambda o: MultiStepLR(o, milestones, gamma),
            lambda e: ref.multi_step_lr(base, e, milestones, gamma),
        ),
        (
            lambda o: ExponentialLR(o, gamma),
            lambda e: ref.exponential_lr(base, e, gamma),
        ),
        (
            lambda o: CosineAnnealingLR(o, t_max),
            lambda e: ref.cosine_lr(base, e, t_max),
        ),
    ]
    for make, formula in makers:
        optimizer = SGD([Variable(np.zeros(1), requires_grad=True)], lr=base)
        scheduler = make(optimizer)
        for epoch in range(epochs):
            assert math.isclose(
                optimizer.param_groups[0]["lr"],
                formula(epoch),
                rel_tol=1e-9,
                abs_tol=1e-15,
            )
            assert 0.0 <= scheduler.get_last_lr()[0] <= base * (1 + 1e-12)
            optimizer.step()
            scheduler.step()
