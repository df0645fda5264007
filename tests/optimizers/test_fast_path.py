"""The fast path (fused=None/True) gives the readable step's numbers.

Both paths run the same formula; the readable one is the learner's `step`,
the fast one works in place in blocks (module 09, Part 3.6). With the
reference solution they agree bit for bit (same operations in the same
order). A learner may write the readable step, or adam_update_in_place, in
another order, so these tests accept any correct solution: they compare
within ULPS_PER_STEP units in the last place per step, taken at the scale of
the array (order changes move each result by a few roundings; θ absorbs at
most about one ulp of its own scale per step, and m, v, b are averages that
do not amplify earlier errors).
"""

from contextlib import contextmanager
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinytorch.core.optimizers as optimizers
from tinytorch.core.autograd import Variable
from tinytorch.core.optimizers import SGD, Adam, AdamW
from tinytorch.core.tensor import Tensor

ULPS_PER_STEP = 16
FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def assert_within_ulps(quantity, got, expected, steps):
    """|got − expected| ≤ ULPS_PER_STEP·steps ulp of the array's scale."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype, f"{quantity}: dtype {got.dtype}"
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-30)
    bound = ULPS_PER_STEP * steps * np.spacing(expected.dtype.type(scale))
    error = float(np.abs(got - expected).max(initial=0.0))
    assert error <= bound, (
        f"{quantity} after {steps} steps: fast and readable paths differ by "
        f"{error:.3g}, more than {ULPS_PER_STEP * steps} ulp ({bound:.3g})"
    )


@contextmanager
def block_size(size):
    """Small blocks, so that small arrays cross block boundaries."""
    with mock.patch.object(optimizers, "BLOCK_SIZE", size):
        yield


def run(make, start, grads, fused, block=1 << 14):
    """θ and the state after the gradients, on one path; checks .grad."""
    p = Variable(start.copy(), requires_grad=True)
    with block_size(block):
        optimizer = make([p], fused=fused)
        for g in grads:
            p.grad = Tensor(g.copy())
            optimizer.step()
            assert np.array_equal(p.grad.data, g), "a step changed .grad"
    return p, optimizer


def assert_same_numbers(make, start, grads, block):
    fast_p, fast = run(make, start, grads, True, block)
    slow_p, slow = run(make, start, grads, False, block)
    steps = len(grads)
    assert_within_ulps("θ", fast_p.data, slow_p.data, steps)
    fast_state, slow_state = fast.state[fast_p], slow.state[slow_p]
    assert sorted(fast_state) == sorted(slow_state)
    for key, value in slow_state.items():
        if isinstance(value, np.ndarray):
            assert_within_ulps(key, fast_state[key], value, steps)
        else:
            assert fast_state[key] == value, key


shapes = st.lists(st.integers(1, 9), min_size=0, max_size=3).map(tuple)
dtypes = st.sampled_from([np.float32, np.float64])
blocks = st.sampled_from([1, 5, 64, 1 << 14])


@st.composite
def problems(draw):
    """A start, 1 to 5 gradients of 1e-6 to 1e2 in size, a block size."""
    shape, dtype = draw(shapes), draw(dtypes)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    start = rng.standard_normal(shape).astype(dtype)
    grads = [
        (
            rng.standard_normal(shape) * 10.0 ** rng.uniform(-6, 2, shape)
        ).astype(dtype)
        for _ in range(draw(st.integers(1, 5)))
    ]
    return start, grads, draw(blocks)


@FAST
@given(
    problems(),
    st.floats(1e-4, 1.0),
    st.sampled_from([0.0, 0.5, 0.9]),
    st.sampled_from([0.0, 0.3]),
    st.sampled_from([0.0, 1e-2]),
    st.booleans(),
    st.booleans(),
)
def test_sgd_paths_agree(problem, lr, mu, tau, wd, nesterov, maximize):
    nesterov = nesterov and mu > 0 and tau == 0
    start, grads, block = problem

    def make(params, fused):
        return SGD(
            params,
            lr=lr,
            momentum=mu,
            dampening=tau,
            weight_decay=wd,
            nesterov=nesterov,
            maximize=maximize,
            fused=fused,
        )

    assert_same_numbers(make, start, grads, block)


@FAST
@given(
    problems(),
    st.floats(1e-4, 0.1),
    st.sampled_from([0.0, 0.5, 0.9]),
    st.sampled_from([0.9, 0.999]),
    st.sampled_from([1e-8, 1e-3]),
    st.sampled_from([0.0, 1e-2]),
    st.booleans(),
    st.sampled_from([Adam, AdamW]),
)
def test_adam_paths_agree(problem, lr, b1, b2, eps, wd, amsgrad, kind):
    start, grads, block = problem

    def make(params, fused):
        return kind(
            params,
            lr=lr,
            betas=(b1, b2),
            eps=eps,
            weight_decay=wd,
            amsgrad=amsgrad,
            fused=fused,
        )

    assert_same_numbers(make, start, grads, block)


# --- which path runs -----------------------------------------------------


@pytest.fixture
def fast_calls(monkeypatch):
    """The parameters the fast updates receive, by optimizer class name."""
    calls = []
    for name in ("sgd_fast_update", "adam_fast_update"):
        real = getattr(optimizers, name)

        def spy(param, *args, real=real):
            calls.append(param)
            return real(param, *args)

        monkeypatch.setattr(optimizers, name, spy)
    return calls


def parameter(array):
    p = Variable(array, requires_grad=True)
    p.grad = Tensor(np.ones_like(array))
    return p


MAKERS = [
    lambda params, **kw: SGD(params, lr=0.1, **kw),
    lambda params, **kw: SGD(params, lr=0.1, momentum=0.9, **kw),
    lambda params, **kw: Adam(params, lr=0.1, **kw),
    lambda params, **kw: AdamW(params, lr=0.1, **kw),
]


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_auto_takes_the_fast_path_for_large_float_parameters(
    make, dtype, fast_calls
):
    large = parameter(np.zeros(optimizers.FAST_PATH_MIN_SIZE, dtype))
    small = parameter(np.zeros(optimizers.FAST_PATH_MIN_SIZE - 1, dtype))
    make([large, small]).step()  # fused=None
    assert [p.size for p in fast_calls] == [large.data.size]
    assert fast_calls[0] is large.data  # in place, no copy


@pytest.mark.parametrize("make", MAKERS)
def test_fused_true_takes_it_for_every_size_and_false_never(make, fast_calls):
    tiny = parameter(np.zeros(3))
    make([tiny], fused=True).step()
    assert len(fast_calls) == 1
    large = parameter(np.zeros(optimizers.FAST_PATH_MIN_SIZE))
    make([large], fused=False).step()
    assert len(fast_calls) == 1


CASES = {  # arrays a fast update cannot update in place through flat views
    "strided": lambda base: base.copy()[:, ::2],
    "Fortran order": lambda base: np.asfortranarray(base),
    "read-only": lambda base: np.array(base, copy=True),
    "float16": lambda base: base.astype(np.float16),
}


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("case", CASES)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # float16 overflows
def test_unsupported_arrays_take_the_readable_step_even_when_fused(
    make, case, fast_calls
):
    rng = np.random.default_rng(0)
    base = rng.standard_normal((40, 60))
    fused_p, readable_p = parameter(base.copy()), parameter(base.copy())
    for p in (fused_p, readable_p):
        p.data = CASES[case](base)  # after the constructor, which may copy
        p.grad = Tensor(rng.standard_normal(p.data.shape).astype(p.data.dtype))
    grad = fused_p.grad.data.copy()
    readable_p.grad = Tensor(grad.copy())
    if case == "read-only":  # the readable step raises: so does fused=True
        fused_p.data.flags.writeable = readable_p.data.flags.writeable = False
        for p, fused in ((fused_p, True), (readable_p, False)):
            with pytest.raises(ValueError, match="read-only"):
                make([p], fused=fused).step()
        assert fast_calls == []
        return
    make([fused_p], fused=True).step()
    make([readable_p], fused=False).step()
    assert fast_calls == [], f"{case} took the fast path"
    assert np.array_equal(fused_p.data, readable_p.data)
    assert np.array_equal(fused_p.grad.data, grad)


def test_amsgrad_and_numpy_scalars_take_the_readable_step(fast_calls):
    p = parameter(np.zeros(10, np.float32))
    Adam([p], lr=0.1, amsgrad=True, fused=True).step()
    SGD([p], lr=np.float64(0.1), fused=True).step()  # could widen
    assert fast_calls == []


def test_fused_must_be_none_true_or_false():
    p = parameter(np.zeros(3))
    for make in MAKERS:
        with pytest.raises(ValueError, match="fused must be None"):
            make([p], fused="yes").step()


def test_a_large_step_explains_an_unwritten_exercise(monkeypatch):
    def unwritten(*args):
        raise NotImplementedError()

    monkeypatch.setattr(optimizers, "adam_update_in_place", unwritten)
    p = parameter(np.ones(optimizers.FAST_PATH_MIN_SIZE, np.float32))
    adam = Adam([p], lr=0.1)
    with pytest.raises(NotImplementedError, match="fused=False"):
        adam.step()
    assert np.all(p.data == 1) and not adam.state[p]  # nothing changed
    Adam([p], lr=0.1, fused=False).step()  # the readable step still works
    assert np.all(p.data < 1)


# --- checkpoints across paths --------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda params, **kw: SGD(params, lr=0.05, momentum=0.9, **kw),
        lambda params, **kw: Adam(params, lr=0.01, weight_decay=0.1, **kw),
        lambda params, **kw: AdamW(params, lr=0.01, **kw),
    ],
)
@pytest.mark.parametrize("first, second", [(True, False), (False, True)])
def test_a_checkpoint_resumes_on_either_path(make, first, second):
    rng = np.random.default_rng(3)
    start = rng.standard_normal(1000).astype(np.float32)
    grads = [rng.standard_normal(1000).astype(np.float32) for _ in range(6)]
    with block_size(64):
        p, optimizer = run(make, start, grads[:3], first, 64)
        checkpoint = optimizer.state_dict()
        # the same structure on both paths: keys, shapes, dtypes
        _, other = run(make, start, grads[:3], second, 64)
        other_state = other.state_dict()["state"][0]
        assert sorted(checkpoint["state"][0]) == sorted(other_state)
        for key, value in checkpoint["state"][0].items():
            if isinstance(value, np.ndarray):
                assert value.dtype == other_state[key].dtype == np.float32
        # resume on the other path: groups come back from the checkpoint
        # (as in torch.optim), so choose the path after loading
        resumed = Variable(p.data.copy(), requires_grad=True)
        optimizer_2 = make([resumed])
        optimizer_2.load_state_dict(checkpoint)
        assert optimizer_2.param_groups[0]["fused"] is first
        optimizer_2.param_groups[0]["fused"] = second
        # resume on the same path: bit for bit
        same = Variable(p.data.copy(), requires_grad=True)
        optimizer_3 = make([same])
        optimizer_3.load_state_dict(checkpoint)
        for g in grads[3:]:
            for q, opt in ((p, optimizer), (resumed, optimizer_2)):
                q.grad = Tensor(g.copy())
                opt.step()
            same.grad = Tensor(g.copy())
            optimizer_3.step()
    assert np.array_equal(same.data, p.data)
    assert_within_ulps("θ resumed on the other path", resumed.data, p.data, 6)


def test_an_old_checkpoint_without_fused_means_auto():
    p = parameter(np.zeros(5))
    adam = Adam([p], lr=0.1)
    adam.step()
    checkpoint = adam.state_dict()
    del checkpoint["param_groups"][0]["fused"]
    adam.load_state_dict(checkpoint)
    adam.step()
    assert adam.state[p]["step"] == 2
