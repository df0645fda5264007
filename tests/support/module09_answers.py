"""Answers to module 09's exercises, as a learner writes them: bodies that
replace an exercise's stub.

CORRECT answers are written independently of the reference solution (other
code, same semantics), so a test of full marks shows that the tests accept any
right answer, not only the instructor's text. WRONG answers are the mistakes
learners really make; the tests check that each loses points and that the
message names the mistake.
"""

from __future__ import annotations

from dataclasses import dataclass

CORRECT = {
    # θ ← θ − α g, in place; nothing without a gradient
    "gradient-descent-step": """\
grad = getattr(parameter, "grad", None)
if grad is not None:
    step = learning_rate * np.asarray(grad.data)
    np.subtract(parameter.data, step, out=parameter.data)
""",
    # loop body of SGD.step over (p, g, state, group)
    "sgd-step": """\
if group["maximize"]:
    g = np.negative(g)
if group["weight_decay"]:
    g = np.add(g, group["weight_decay"] * p.data)
mu = group["momentum"]
if mu:
    previous = state.get("momentum_buffer")
    if previous is None:
        velocity = np.array(g, copy=True)
    else:
        velocity = mu * previous + (1.0 - group["dampening"]) * g
    state["momentum_buffer"] = velocity
    g = g + mu * velocity if group["nesterov"] else velocity
np.subtract(p.data, group["lr"] * g, out=p.data)
""",
    # loop body of Adam.step; lr, beta1, beta2, eps, l2 are set by the code
    # above the stub
    "adam-step": """\
if "step" not in state:
    zeros = np.zeros_like
    state.update(step=0, exp_avg=zeros(p.data), exp_avg_sq=zeros(p.data))
    if group["amsgrad"]:
        state["max_exp_avg_sq"] = np.zeros_like(p.data)
state["step"] = count = state["step"] + 1
if l2:
    g = g + l2 * p.data
first = state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
second = beta2 * state["exp_avg_sq"] + (1 - beta2) * np.square(g)
state["exp_avg_sq"] = second
if group["amsgrad"]:
    second = np.maximum(state["max_exp_avg_sq"], second)
    state["max_exp_avg_sq"] = second
shrink_first, shrink_second = 1 - beta1 ** count, 1 - beta2 ** count
denominator = np.sqrt(second) / np.sqrt(shrink_second) + eps
p.data -= (lr / shrink_first) * first / denominator
""",
    # StepLR.get_lr
    "step-lr": """\
decays = self.last_epoch // self.step_size
return [rate * self.gamma ** decays for rate in self.base_lrs]
""",
    # adam_update_in_place: in place, blocked by hand, in another order
    # (m/d before the step size): equal within the test's ulp bound
    "adam-in-place": """\
first, second = scratch[0], scratch[1]
step_size = lr / (1.0 - beta1 ** step)
root = (1.0 - beta2 ** step) ** 0.5
for lo in range(0, param.size, 4096):
    hi = min(lo + 4096, param.size)
    g, m, v = grad[lo:hi], exp_avg[lo:hi], exp_avg_sq[lo:hi]
    a, b = first[lo:hi], second[lo:hi]
    np.multiply(m, beta1, out=m)
    np.add(m, np.multiply(g, 1.0 - beta1, out=a), out=m)
    np.multiply(g, g, out=a)
    np.multiply(v, beta2, out=v)
    np.add(v, np.multiply(a, 1.0 - beta2, out=a), out=v)
    np.add(np.divide(np.sqrt(v, out=b), root, out=b), eps, out=b)
    np.multiply(np.divide(m, b, out=a), step_size, out=a)
    np.subtract(param[lo:hi], a, out=param[lo:hi])
""",
    # digits_training_plan(parameters, total_steps): Adam, a half cosine
    "digits-training-plan": """\
adam = Adam(parameters, learning_rate=0.05)
half_cosine = lambda step: 0.5 * (1 + math.cos(math.pi * step / total_steps))
return adam, LambdaLR(adam, half_cosine)
""",
    # measured_rate(errors): the geometric mean of the late step ratios
    "measured-rate": """\
late = np.log(np.asarray(errors, dtype=float)[len(errors) // 2 :])
return float(np.exp((late[-1] - late[0]) / (len(late) - 1)))
""",
    # gd_rate(learning_rate, lambda_min, lambda_max)
    "gd-rate": """\
factors = [1 - learning_rate * lam for lam in (lambda_min, lambda_max)]
return max(abs(f) for f in factors)
""",
    # heavy_ball_rate(lambda_min, lambda_max)
    "heavy-ball-rate": """\
a, b = math.sqrt(lambda_min), math.sqrt(lambda_max)
return (b - a) / (b + a)
""",
}


@dataclass(frozen=True)
class Wrong:
    """A wrong answer as learners write it, and what the failing test must say
    about it."""

    body: str  # replaces the stub
    mistake: str  # a regular expression the failing test's message must match


# A learner's SGD loop body, right, with {markers} a wrong answer rewrites.
SGD_BODY = """\
lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
if group["maximize"]:
    {maximize}
if group["weight_decay"]:
    {decay}
if mu:
    if "momentum_buffer" not in state:
        state["momentum_buffer"] = {first}
    else:
        state["momentum_buffer"] = {later}
    b = state["momentum_buffer"]
    g = {nesterov} if group["nesterov"] else b
p.data -= lr * g
"""
SGD_RIGHT = {
    "maximize": "g = -g",
    "decay": 'g = g + group["weight_decay"] * p.data',
    "first": "g.copy()",
    "later": 'mu * state["momentum_buffer"] + (1 - tau) * g',
    "nesterov": "g + mu * b",
}


def sgd(**wrong) -> str:
    return SGD_BODY.format(**{**SGD_RIGHT, **wrong})


# A learner's Adam loop body, right, with {markers} a wrong answer rewrites
# (lr, beta1, beta2, eps and l2 are set by the code above the stub).
ADAM_BODY = """\
if "step" not in state:
    zeros = np.zeros_like(p.data)
    state.update(step=0, exp_avg=zeros, exp_avg_sq=zeros.copy())
    if group["amsgrad"]:
        state["max_exp_avg_sq"] = zeros.copy()
state["step"] += 1
t = {t}
if l2:
    {l2}
m = state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
v = state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * g**2
m_hat, v_hat = m / {m_fix}, v / {v_fix}
if group["amsgrad"]:
    {amsgrad}
p.data -= lr * m_hat / ({denominator})
"""
ADAM_RIGHT = {
    "t": 'state["step"]',
    "l2": "g = g + l2 * p.data",
    "m_fix": "(1 - beta1**t)",
    "v_fix": "(1 - beta2**t)",
    "amsgrad": (
        'state["max_exp_avg_sq"] = np.maximum(state["max_exp_avg_sq"], v)\n'
        '    v_hat = state["max_exp_avg_sq"] / (1 - beta2**t)'
    ),
    "denominator": "np.sqrt(v_hat) + eps",
}


def adam(**wrong) -> str:
    return ADAM_BODY.format(**{**ADAM_RIGHT, **wrong})


def step_lr(exponent: str) -> str:
    return (
        f"return [rate * self.gamma ** ({exponent})"
        " for rate in self.base_lrs]\n"
    )


# Every exercise has at least two; each loses points with a message that names
# the mistake. The first of each fails every test cell of its exercise
# (tests/grading relies on it).
WRONG = {
    "gradient-descent-step": [
        Wrong(
            "parameter.data = parameter.data + learning_rate * "
            "parameter.grad.data\n",
            r"goes up the gradient",
        ),
        Wrong(
            "if parameter.grad is not None:\n"
            "    parameter.data = parameter.data"
            " - learning_rate * parameter.grad.data\n",
            r"replaced by a new array",
        ),
        Wrong(
            "parameter.data -= learning_rate * parameter.grad.data\n",
            r"\.grad is None must be left alone",
        ),
        Wrong(  # .grad as a NumPy array: its .data is a memoryview
            "if parameter.grad is not None:\n"
            "    parameter.data -= learning_rate * parameter.grad.data\n",
            r"raw memory buffer",
        ),
    ],
    "sgd-step": [
        Wrong(  # keeps no buffer at all
            sgd(first="g.copy()", later="g.copy()"),
            r"buffer is not kept between steps",
        ),
        Wrong(
            sgd(later="mu * state['momentum_buffer'] + g"),
            r"dampening is ignored",
        ),
        Wrong(
            sgd(first="(1 - tau) * g"),
            r"dampening is applied at the first step",
        ),
        Wrong(sgd(first="g"), r"is the very array of p\.grad"),
        Wrong(sgd(maximize="g *= -1"), r"negated in place"),
        Wrong(
            sgd(decay="g -= group['weight_decay'] * p.data"),
            r"weight decay has the wrong sign",
        ),
        Wrong(sgd(nesterov="b"), r"Nesterov steps along b"),
        Wrong(  # the velocity form u ← μu − αg, θ ← θ + u
            "u = state.get('momentum_buffer', np.zeros_like(p.data))\n"
            "u = group['momentum'] * u - group['lr'] * g\n"
            "state['momentum_buffer'] = u\n"
            "p.data += u\n",
            r"stores the velocity",
        ),
    ],
    "adam-step": [
        Wrong(adam(m_fix="1", v_fix="1"), r"bias correction is missing"),
        Wrong(adam(v_fix="1"), r"only m is bias-corrected"),
        Wrong(
            adam(denominator="np.sqrt(v_hat + eps)"), r"inside the square root"
        ),
        Wrong(  # a counter in the group, counted once per parameter
            adam(t='group["t"] = group.get("t", 0) + 1'),
            r"shared by all parameters",
        ),
        Wrong(adam(l2="g += l2 * p.data"), r"added in place"),
        Wrong(adam(amsgrad="pass"), r"running maximum is never updated"),
        Wrong(
            adam(
                amsgrad='v_hat = state["max_exp_avg_sq"] = '
                'np.maximum(state["max_exp_avg_sq"], v_hat)'
            ),
            r"maximum is kept of the bias-corrected",
        ),
    ],
    "step-lr": [
        Wrong(
            step_lr("(self.last_epoch + 1) // self.step_size"),
            r"one epoch early",
        ),
        Wrong(
            step_lr("(self.last_epoch - 1) // self.step_size"),
            r"one epoch late",
        ),
        Wrong(step_lr("self.last_epoch / self.step_size"), r"/ instead of //"),
        Wrong(  # PyTorch's chainable form
            "groups = self.optimizer.param_groups\n"
            "if self.last_epoch == 0 or self.last_epoch % self.step_size:\n"
            "    return [group['lr'] for group in groups]\n"
            "return [group['lr'] * self.gamma for group in groups]\n",
            r"chainable form",
        ),
        Wrong(
            "return [group['lr']"
            " * self.gamma ** (self.last_epoch // self.step_size)\n"
            "        for group in self.optimizer.param_groups]\n",
            r"decays compound",
        ),
    ],
    "adam-in-place": [
        Wrong(  # the readable formula: right numbers, full-size temporaries
            "exp_avg[:] = beta1 * exp_avg + (1 - beta1) * grad\n"
            "exp_avg_sq[:] = beta2 * exp_avg_sq + (1 - beta2) * grad * grad\n"
            "m_hat = exp_avg / (1 - beta1 ** step)\n"
            "v_hat = exp_avg_sq / (1 - beta2 ** step)\n"
            "param -= lr * m_hat / (np.sqrt(v_hat) + eps)\n",
            r"full-size temporar(y|ies)",
        ),
        Wrong(  # in place, but v is never bias-corrected
            "s, work = scratch[0], scratch[1]\n"
            "exp_avg *= beta1\n"
            "exp_avg += np.multiply(grad, 1 - beta1, out=s)\n"
            "exp_avg_sq *= beta2\n"
            "np.multiply(grad, grad, out=s)\n"
            "exp_avg_sq += np.multiply(s, 1 - beta2, out=s)\n"
            "np.sqrt(exp_avg_sq, out=s)\n"
            "s += eps\n"
            "np.multiply(exp_avg, lr / (1 - beta1 ** step), out=work)\n"
            "param -= np.divide(work, s, out=work)\n",
            r"only m is bias-corrected",
        ),
        Wrong(  # eps added before the correction of v: (√v + ε)/√(1 − β2ᵗ)
            "s, work = scratch[0], scratch[1]\n"
            "exp_avg *= beta1\n"
            "exp_avg += np.multiply(grad, 1 - beta1, out=s)\n"
            "exp_avg_sq *= beta2\n"
            "exp_avg_sq += np.multiply(grad, grad, out=s) * (1 - beta2)\n"
            "np.sqrt(exp_avg_sq, out=s)\n"
            "s += eps\n"
            "s /= (1 - beta2 ** step) ** 0.5\n"
            "np.multiply(exp_avg, lr / (1 - beta1 ** step), out=work)\n"
            "param -= np.divide(work, s, out=work)\n",
            r"eps is added before dividing",
        ),
        Wrong(  # rebinds the names instead of writing into the arrays
            "exp_avg = beta1 * exp_avg + (1 - beta1) * grad\n"
            "exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad * grad\n"
            "d = np.sqrt(exp_avg_sq) / (1 - beta2 ** step) ** 0.5 + eps\n"
            "param -= lr / (1 - beta1 ** step) * exp_avg / d\n",
            r"m is rebound",
        ),
    ],
    "digits-training-plan": [
        Wrong(  # a constant rate
            "adam = Adam(parameters, learning_rate=0.01)\n"
            "return adam, LambdaLR(adam, lambda step: 1.0)\n",
            r"after 3 epochs.*of 359\)\n.*stays at 0\.01 for all 135",
        ),
        Wrong(  # a cosine sized in epochs, stepped every batch
            "sgd = SGD(parameters, learning_rate=0.3, momentum=0.9)\n"
            "return sgd, CosineAnnealingLR(sgd, T_max=3)\n",
            r"goes back up \d+ times.*size it in total_steps",
        ),
        Wrong(  # StepLR written for epochs: halves the rate every step
            "adam = Adam(parameters, learning_rate=0.01)\n"
            "return adam, StepLR(adam, step_size=1, gamma=0.5)\n",
            r"below 1% of its peak from step \d+ of 135",
        ),
        Wrong(  # far too large a rate
            "sgd = SGD(parameters, learning_rate=3.0, momentum=0.9)\n"
            "return sgd, CosineAnnealingLR(sgd, T_max=total_steps)\n",
            r"guesses \(chance is 0\.1\).*too large",
        ),
        Wrong(  # trains more than the budget inside the plan
            "sgd = SGD(parameters, learning_rate=0.1)\n"
            "for p in parameters:\n"
            "    p.data *= 1.01\n"
            "return sgd, CosineAnnealingLR(sgd, T_max=total_steps)\n",
            r"weights: they may change only in optimizer.step",
        ),
    ],
    "measured-rate": [
        Wrong(  # from the first steps
            "return (errors[-1] / errors[0]) ** (1 / (len(errors) - 1))\n",
            r"from the first steps",
        ),
        Wrong(  # entries, not steps
            "h = len(errors) // 2\n"
            "return (errors[-1] / errors[h]) ** (1 / (len(errors) - h))\n",
            r"counts entries, not steps",
        ),
        Wrong(  # the last step's ratio
            "return errors[-1] / errors[-2]\n",
            r"last step's ratio",
        ),
    ],
    "gd-rate": [
        Wrong(  # no absolute values
            "return max(1 - learning_rate * lambda_min,"
            " 1 - learning_rate * lambda_max)\n",
            r"not taken in absolute value",
        ),
        Wrong(  # only the steep direction
            "return abs(1 - learning_rate * lambda_max)\n",
            r"only the steepest direction",
        ),
    ],
    "heavy-ball-rate": [
        Wrong(  # κ where √κ belongs
            "kappa = lambda_max / lambda_min\n"
            "return (kappa - 1) / (kappa + 1)\n",
            r"κ stands where √κ belongs",
        ),
        Wrong(  # returns β*
            "r = math.sqrt(lambda_max / lambda_min)\n"
            "return ((r - 1) / (r + 1)) ** 2\n",
            r"momentum β\* = ρ², not the rate",
        ),
    ],
}

# right, except that it waits forever for a gradient that is not there (the
# test's "no gradient" case; the demonstrations always have gradients, so only
# the test cell loops)
LOOPS_WITHOUT_GRADIENT = """\
grad = parameter.grad
while grad is None:
    pass
parameter.data -= learning_rate * grad.data
"""
STUBBORN_LOOP = (
    "import time\nwhile True:\n    try:\n        time.sleep(3600)\n"
    "    except BaseException:\n        pass\n"
)
