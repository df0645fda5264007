"""The learner's shell: activation, module imports from any folder, tito test
and doctor."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def in_activated_shell(command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    return subprocess.run(
        [
            "bash",
            "-c",
            f"source {ROOT}/bin/activate-tinytorch.sh >/dev/null && {command}",
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


def test_activation_makes_module_sources_importable_from_any_folder(tmp_path):
    result = in_activated_shell(
        'python -X importtime -c "from autograd_dev import Variable; import '
        "sys; "
        "x = Variable(10.0, requires_grad=True); loss = x**2; "
        "loss.backward(); "
        "print(f'{x.data:.4f}', float(x.grad.data)); print('matplotlib' in "
        'sys.modules)"',
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "10.0000 20.0",
        "False",
    ]  # no plotting library loaded on import
    # -X importtime reports microseconds per import; the whole import chain
    # must stay well under 2 s
    cumulative = [
        int(line.split("|")[1])
        for line in result.stderr.splitlines()
        if line.endswith("autograd_dev")
    ]
    assert cumulative and cumulative[0] < 2_000_000


def test_tito_is_on_path_and_documents_every_command(tmp_path):
    result = in_activated_shell("tito --help", tmp_path)
    assert result.returncode == 0
    for command in ("module", "export", "test", "sync", "doctor"):
        assert f"    {command} " in result.stdout


def test_tito_test_reports_failures_with_nonzero_exit(tmp_path):
    folder = tmp_path / "modules/source/01_broken"
    folder.mkdir(parents=True)
    (folder / "broken_dev.py").write_text(
        "def test_unit_passes():\n    assert 1 + 1 == 2\n\n"
        "def test_unit_fails():\n    assert 0.1 + 0.2 == 0.3, 'floats are not "
        "reals'\n\n"
        "def test_unit_stub():\n    raise NotImplementedError()\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tito.run_module_tests",
            str(folder / "broken_dev.py"),
            "broken_dev",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "✅ test_unit_passes" in result.stdout
    assert (
        "❌ test_unit_fails failed" in result.stdout
        and "floats are not reals" in result.stdout
    )
    assert "❌ test_unit_stub: not implemented yet" in result.stdout
    assert "module tests: 1 passed, 2 failed" in result.stdout


def test_doctor_reports_a_missing_module_path_with_the_fix(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-m", "tito", "doctor"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "module folders not on PYTHONPATH" in result.stdout
    assert "source bin/activate-tinytorch.sh" in result.stdout
