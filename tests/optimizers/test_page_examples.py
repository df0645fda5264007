"""The module page's manual examples, run exactly as written in a fresh
interpreter with the module folders on the import path (as
`source bin/activate-tinytorch.sh` sets it), checked against closed-form
references."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import jupytext
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
MODULE_FOLDERS = sorted(
    str(p)
    for p in (ROOT / "modules" / "source").glob("[0-9][0-9]_*")
    if p.is_dir()
)

SOURCE = ROOT / "modules" / "source" / "09_optimizers" / "optimizers_dev.py"
MARKER = "# Test SGD on simple quadratic function"


def page_examples() -> str:
    """The module's manual-testing cell as a learner types it in a shell:
    the imports its text names, then the cell's body (outside the
    notebook's `if __name__ == "__main__":` and `with after_exercise(...)`
    wrappers)."""
    cells = jupytext.read(SOURCE, fmt="py:percent").cells
    index = next(i for i, c in enumerate(cells) if MARKER in c.source)
    text = cells[index - 1].source  # the markdown that introduces it
    imports = re.findall(r"`((?:from|import) [^`]+)`", text)
    body = cells[index].source.splitlines()
    first = next(i for i, line in enumerate(body) if MARKER in line)
    code = textwrap.dedent("\n".join(body[first:]))
    return "\n".join(imports) + "\n" + code + "\n"


def run_as_learner(code, tmp_path):
    env = dict(
        os.environ,
        MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join(MODULE_FOLDERS + [str(ROOT)]),
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def heavy_ball_on_x_squared():
    """x ← x − 0.1·v with v ← 0.9·v + 2x (v₀ = 0): the printed (x after the
    step, loss before it)."""
    x, v, lines = 10.0, 0.0, {}
    for step in range(100):
        loss = x * x
        v = 0.9 * v + 2 * x
        x = x - 0.1 * v
        if step % 10 == 0:
            lines[step] = (x, loss)
    return lines


def adam_on_norm_squared():
    x, m, s, lines = np.array([2.0, -3.0]), np.zeros(2), np.zeros(2), {}
    for t in range(1, 51):
        loss, g = float(np.sum(x**2)), 2 * x
        m = 0.9 * m + 0.1 * g
        s = 0.999 * s + 0.001 * g**2
        x = x - 0.01 * (m / (1 - 0.9**t)) / (
            np.sqrt(s / (1 - 0.999**t)) + 1e-8
        )
        if (t - 1) % 10 == 0:
            lines[t - 1] = (x.copy(), loss)
    return lines


def numbers(text):
    return [float(n) for n in re.findall(r"-?\d+\.\d*(?:e[-+]\d+)?", text)]


def test_page_manual_examples_print_the_right_numbers(tmp_path):
    output = run_as_learner(page_examples(), tmp_path).splitlines()
    assert len(output) == 15, output
    sgd_lines, adam_lines = output[:10], output[10:]
    for line, (step, (x, loss)) in zip(
        sgd_lines, heavy_ball_on_x_squared().items()
    ):
        assert line == f"Step {step}: x = {x:.4f}, loss = {loss:.4f}", (
            line,
            x,
            loss,
        )
    assert (
        sgd_lines[0] == "Step 0: x = 8.0000, loss = 100.0000"
    )  # by hand: 10 − 0.1·20
    for line, (step, (x, loss)) in zip(
        adam_lines, adam_on_norm_squared().items()
    ):
        assert line.startswith(f"Step {step}: x = [")
        printed = numbers(line)
        np.testing.assert_allclose(
            printed[:2], x, rtol=0, atol=1e-8
        )  # NumPy prints 8 digits
        assert f"loss = {loss:.6f}" in line
    assert (
        adam_lines[0] == "Step 0: x = [ 1.99 -2.99], loss = 13.000000"
    )  # first step: exactly lr·sign(g)


def test_page_api_lines_work(tmp_path):
    code = textwrap.dedent("""\
        import numpy as np
        from optimizers_dev import SGD, Adam, StepLR, gradient_descent_step
        from autograd_dev import Variable
        shapes = ((2, 3), (3,), ())
        w1, w2, bias = (Variable(np.ones(s), requires_grad=True)
                        for s in shapes)
        sgd = SGD(parameters=[w1, w2, bias], learning_rate=0.01, momentum=0.9)
        adam = Adam(parameters=[w1, w2, bias], learning_rate=0.001,
                    beta1=0.9, beta2=0.999)
        loss = (w1.sum() * 2 + (w2 * w2).sum() + bias * 3)
        sgd.zero_grad()
        loss.backward()
        sgd.step()
        optimizer = sgd
        scheduler = StepLR(optimizer, step_size=10, gamma=0.1)
        for epoch in range(12):
            optimizer.step()
            scheduler.step()
        print(scheduler.get_last_lr())
        print(w1.data[0, 0], w2.data[0], float(bias.data))
        parameter = Variable(np.array([1.0, 2.0]), requires_grad=True)
        (parameter * parameter).sum().backward()
        gradient_descent_step(parameter, 0.25)
        print(parameter.data)
    """)
    lines = run_as_learner(code, tmp_path).splitlines()
    assert np.isclose(numbers(lines[0])[0], 0.001, rtol=1e-12)
    # 13 steps with the same gradients (w1: 2, bias: 3), momentum 0.9: one step
    # before the scheduler exists, then epochs 0-9 at 0.01 and epochs 10-11 at
    # 0.001
    rates = [0.01] * 11 + [0.001] * 2
    v, moved = 0.0, 0.0
    for lr in rates:
        v = 0.9 * v + 1.0
        moved += lr * v
    w1_expected, bias_expected = 1 - 2 * moved, 1 - 3 * moved
    printed = numbers(lines[1])
    assert np.isclose(printed[0], w1_expected, rtol=1e-12) and np.isclose(
        printed[2], bias_expected, rtol=1e-12
    )
    np.testing.assert_allclose(numbers(lines[2]), [0.5, 1.0], rtol=1e-15)


def test_importing_the_module_source_has_no_side_effects(tmp_path):
    code = (
        "import sys\nimport optimizers_dev\n"
        "print('matplotlib' in sys.modules, sorted(n for n in ('SGD', 'Adam', "
        "'StepLR') if hasattr(optimizers_dev, n)))"
    )
    assert (
        run_as_learner(code, tmp_path).strip()
        == "False ['Adam', 'SGD', 'StepLR']"
    )
