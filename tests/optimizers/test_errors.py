"""Bad input fails at once, with ValueError/TypeError messages that name the
argument and its valid range."""

import numpy as np
import pytest

from tinytorch.core.autograd import Variable
from tinytorch.core.optimizers import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiStepLR,
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


def param(*shape):
    return Variable(np.ones(shape or (2,)), requires_grad=True)


def sgd():
    return SGD([param()], lr=0.1)


BAD_HYPERPARAMETERS = [
    (
        lambda: SGD([param()], learning_rate=-0.1),
        ValueError,
        r"learning_rate \(lr\) must be a finite number >= 0, got -0.1",
    ),
    (
        lambda: SGD([param()], lr=-1),
        ValueError,
        r"learning_rate \(lr\) must be a finite number >= 0",
    ),
    (lambda: SGD([param()], lr=float("nan")), ValueError, "learning_rate"),
    (
        lambda: SGD([param()], momentum=-0.5),
        ValueError,
        r"momentum must be a finite number in \[0, 1\), got -0.5",
    ),
    (
        lambda: SGD([param()], weight_decay=-1e-4),
        ValueError,
        "weight_decay must be a finite number >= 0",
    ),
    (
        lambda: SGD([param()], nesterov=True),
        ValueError,
        "nesterov=True needs momentum > 0 and dampening = 0",
    ),
    (
        lambda: SGD([param()], momentum=0.9, dampening=0.1, nesterov=True),
        ValueError,
        "dampening",
    ),
    (lambda: SGD([param()], lr="0.1"), TypeError, "learning_rate"),
    (
        lambda: Adam([param()], learning_rate=-1e-3),
        ValueError,
        r"learning_rate \(lr\) must be a finite number >= 0",
    ),
    (
        lambda: Adam([param()], beta1=1.0),
        ValueError,
        r"beta1 must be a finite number in \[0, 1\), got 1.0",
    ),
    (
        lambda: Adam([param()], beta1=-0.1),
        ValueError,
        r"beta1 must be a finite number in \[0, 1\)",
    ),
    (
        lambda: Adam([param()], beta2=1.5),
        ValueError,
        r"beta2 must be a finite number in \[0, 1\), got 1.5",
    ),
    (
        lambda: Adam([param()], betas=(0.9, 1.0)),
        ValueError,
        r"beta2 must be a finite number in \[0, 1\)",
    ),
    (
        lambda: Adam([param()], betas=(0.9,)),
        ValueError,
        "betas must be a pair",
    ),
    (
        lambda: Adam([param()], 0.01, (0.9, 0.99)),
        TypeError,
        r"beta1 must be a number, .*betas=\(0.9, 0.99\)",
    ),
    (
        lambda: Adam([param()], eps=-1e-8),
        ValueError,
        "eps must be a finite number > 0",
    ),
    (
        lambda: Adam([param()], weight_decay=-0.01),
        ValueError,
        "weight_decay must be a finite number >= 0",
    ),
    (
        lambda: AdamW([param()], weight_decay=-0.01),
        ValueError,
        "weight_decay must be a finite number >= 0",
    ),
    (lambda: AdamW([param()], beta2=1.0), ValueError, "beta2"),
    (lambda: RMSprop([param()], lr=-0.01), ValueError, "learning_rate"),
    (
        lambda: RMSprop([param()], alpha=-0.5),
        ValueError,
        r"alpha must be a finite number in \[0, 1\)",
    ),
    (
        lambda: RMSprop([param()], momentum=-0.5),
        ValueError,
        r"momentum must be a finite number in \[0, 1\)",
    ),
    (
        lambda: RMSprop([param()], eps=-1.0),
        ValueError,
        "eps must be a finite number > 0",
    ),
    (
        lambda: Adagrad([param()], lr_decay=-1.0),
        ValueError,
        "lr_decay must be a finite number >= 0",
    ),
    (
        lambda: Adagrad([param()], initial_accumulator_value=-1.0),
        ValueError,
        "initial_accumulator_value must be a finite number >= 0",
    ),
    (
        lambda: Adagrad([param()], eps=-1.0),
        ValueError,
        "eps must be a finite number > 0",
    ),
    (
        lambda: SGD([param()], learning_rate=0.5, lr=0.1),
        TypeError,
        "both learning_rate=0.5 and lr=0.1",
    ),
    (
        lambda: Adam([param()], beta1=0.8, betas=(0.9, 0.99)),
        TypeError,
        "betas",
    ),
    # a group's own hyperparameters are checked too
    (
        lambda: SGD([{"params": [param()], "lr": -1.0}], lr=0.1),
        ValueError,
        r"learning_rate \(lr\) must be a finite number >= 0",
    ),
    (
        lambda: Adam([{"params": [param()], "betas": (0.9, 2.0)}]),
        ValueError,
        "beta2",
    ),
    (
        lambda: SGD([{"params": [param()], "learning_rate": 0.1}]),
        ValueError,
        "write 'lr', not 'learning_rate'",
    ),
    (lambda: SGD([{"lr": 0.1}]), ValueError, "'params'"),
]

BAD_PARAMETERS = [
    (lambda: SGD([], lr=0.1), ValueError, "parameters is an empty list"),
    (lambda: Adam(iter([])), ValueError, "parameters is an empty iterator"),
    (lambda: SGD(lr=0.1), TypeError, "needs the parameters"),
    (lambda: SGD([1.0, 2.0]), TypeError, "float, which is not a parameter"),
    (
        lambda: SGD([np.ones(3)]),
        TypeError,
        "ndarray, which is not a parameter",
    ),
    (
        lambda: SGD([Tensor([1.0])]),
        TypeError,
        "not a parameter",
    ),  # a Tensor has no .grad
    (lambda: SGD(param()), TypeError, "not a single parameter"),
    (lambda: SGD({param()}), TypeError, "not a set"),
    (lambda: SGD(3.0), TypeError, "parameters must be a list"),
    (lambda: SGD([Variable(np.arange(3))]), TypeError, "floating-point"),
    (
        lambda: SGD([param(), {"params": [param()]}]),
        TypeError,
        "not a parameter",
    ),
    (
        lambda: SGD([{"params": [param()]}, param()]),
        TypeError,
        "a parameter group must be a dict",
    ),
]


@pytest.mark.parametrize(
    "make, error, message", BAD_HYPERPARAMETERS + BAD_PARAMETERS
)
def test_bad_arguments_raise_a_clear_error(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_same_parameter_twice_is_refused():
    p, q = param(), param()
    with pytest.raises(ValueError, match="the same parameter appears twice"):
        SGD([p, q, p])
    with pytest.raises(ValueError, match="the same parameter appears twice"):
        Adam([{"params": [p]}, {"params": [q, p]}])
    optimizer = SGD([p])
    with pytest.raises(ValueError, match="twice"):
        optimizer.add_param_group({"params": [p]})
    assert len(optimizer.param_groups) == 1


def test_equal_numbers_are_still_different_parameters():
    SGD([param(), param()])  # no error: identity, not equality


def test_gradient_of_the_wrong_shape():
    p = param(3)
    p.grad = Tensor(np.ones(4))
    with pytest.raises(
        ValueError,
        match=r"gradient of shape \(4,\) belongs to a parameter of shape "
        r"\(3,\)",
    ):
        SGD([p], lr=0.1).step()


BAD_SCHEDULERS = [
    (
        lambda: StepLR(sgd(), step_size=0),
        ValueError,
        "step_size must be a positive integer, got 0",
    ),
    (
        lambda: StepLR(sgd(), step_size=-3),
        ValueError,
        "step_size must be a positive integer",
    ),
    (
        lambda: StepLR(sgd(), step_size=2.5),
        ValueError,
        "step_size must be a positive integer",
    ),
    (
        lambda: StepLR(sgd(), step_size=3, gamma=0),
        ValueError,
        "gamma must be a finite number > 0, got 0",
    ),
    (
        lambda: StepLR(sgd(), step_size=3, gamma=-0.5),
        ValueError,
        "gamma must be a finite number > 0",
    ),
    (
        lambda: StepLR("optimizer", step_size=3),
        TypeError,
        "optimizer must be an optimizer",
    ),
    (
        lambda: MultiStepLR(sgd(), milestones=[3, -1]),
        ValueError,
        "milestones must be non-negative integers",
    ),
    (
        lambda: MultiStepLR(sgd(), milestones=[3], gamma=0.0),
        ValueError,
        "gamma must be a finite number > 0",
    ),
    (
        lambda: ExponentialLR(sgd(), gamma=0.0),
        ValueError,
        "gamma must be a finite number > 0",
    ),
    (
        lambda: CosineAnnealingLR(sgd(), T_max=0),
        ValueError,
        "T_max must be a positive integer",
    ),
    (
        lambda: CosineAnnealingLR(sgd(), T_max=10, eta_min=-1.0),
        ValueError,
        "eta_min must be a finite number >= 0",
    ),
    (
        lambda: LinearLR(sgd(), start_factor=0.0),
        ValueError,
        r"start_factor must be a finite number in \(0, 1\]",
    ),
    (
        lambda: LinearLR(sgd(), end_factor=1.5),
        ValueError,
        r"end_factor must be a finite number in \[0, 1\]",
    ),
    (
        lambda: LinearLR(sgd(), total_iters=0),
        ValueError,
        "total_iters must be a positive integer",
    ),
    (
        lambda: LambdaLR(sgd(), [lambda e: 1.0, lambda e: 1.0]),
        ValueError,
        "expected 1 functions",
    ),
    (lambda: LambdaLR(sgd(), 0.5), TypeError, "lr_lambda must be a function"),
    (lambda: OneCycleLR(sgd(), max_lr=0.1), ValueError, "needs total_steps"),
    (
        lambda: OneCycleLR(sgd(), max_lr=0.1, total_steps=0),
        ValueError,
        "total_steps must be a positive integer",
    ),
    (
        lambda: OneCycleLR(sgd(), max_lr=0.1, total_steps=10, pct_start=1.5),
        ValueError,
        r"pct_start must be a finite number in \[0, 1\]",
    ),
    (
        lambda: OneCycleLR(
            sgd(), max_lr=0.1, total_steps=10, anneal_strategy="exp"
        ),
        ValueError,
        "anneal_strategy",
    ),
    (
        lambda: OneCycleLR(sgd(), max_lr=[0.1, 0.2], total_steps=10),
        ValueError,
        "max_lr: expected 1 values",
    ),
    (
        lambda: OneCycleLR(Adagrad([param()]), max_lr=0.1, total_steps=10),
        ValueError,
        "cycle_momentum=True needs",
    ),
    (
        lambda: ReduceLROnPlateau(sgd(), factor=1.0),
        ValueError,
        r"factor must be a finite number in \[0, 1\)",
    ),
    (
        lambda: ReduceLROnPlateau(sgd(), mode="smallest"),
        ValueError,
        "mode must be 'min' or 'max'",
    ),
    (
        lambda: ReduceLROnPlateau(sgd(), threshold_mode="pct"),
        ValueError,
        "threshold_mode",
    ),
    (
        lambda: ReduceLROnPlateau(sgd(), patience=-1),
        ValueError,
        "patience must be a non-negative integer",
    ),
    (
        lambda: ReduceLROnPlateau(sgd(), min_lr=[0.1, 0.2]),
        ValueError,
        "min_lr: expected 1 values",
    ),
]


@pytest.mark.parametrize("make, error, message", BAD_SCHEDULERS)
def test_bad_scheduler_arguments_raise_a_clear_error(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_bad_sequential_schedulers():
    optimizer, other = sgd(), sgd()
    with pytest.raises(ValueError, match="schedulers is empty"):
        SequentialLR(optimizer, [], [])
    with pytest.raises(ValueError, match="milestones: expected 1"):
        SequentialLR(
            optimizer, [StepLR(optimizer, 2), StepLR(optimizer, 3)], []
        )
    with pytest.raises(ValueError, match="another optimizer"):
        SequentialLR(optimizer, [StepLR(optimizer, 2), StepLR(other, 3)], [4])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        SequentialLR(
            optimizer,
            [StepLR(optimizer, 2), ReduceLROnPlateau(optimizer)],
            [4],
        )


def test_clipping_errors():
    p = param(3)
    p.grad = Tensor(np.array([1.0, np.nan, 0.0]))
    with pytest.raises(RuntimeError, match="not finite.*error_if_nonfinite"):
        clip_grad_norm_([p], max_norm=1.0, error_if_nonfinite=True)
    p.grad = Tensor(np.array([1.0, np.inf, 0.0]))
    with pytest.raises(RuntimeError, match="not finite"):
        clip_grad_norm_(p, max_norm=1.0, error_if_nonfinite=True)
    with pytest.raises(
        ValueError, match="max_norm must be a number >= 0 or inf"
    ):
        clip_grad_norm_([p], max_norm=-1.0)
    with pytest.raises(
        ValueError, match="clip_value must be a number >= 0 or inf"
    ):
        clip_grad_value_([p], clip_value=-1.0)
    with pytest.raises(TypeError, match="not a parameter"):
        clip_grad_norm_([np.ones(3)], max_norm=1.0)


def test_gradient_descent_step_skips_missing_gradient():
    p = param(2)
    gradient_descent_step(p, 0.1)
    assert np.array_equal(p.data, [1.0, 1.0])
