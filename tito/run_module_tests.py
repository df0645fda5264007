"""Run a module's own test functions (`test_*` in its _dev.py), one by one, and
report each.

Used by `tito test` in a fresh interpreter, so the module is imported exactly
as a learner imports it. At the end, one line per graded exercise of the
module: not implemented yet, failing (with the test's message), or passing.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
import traceback
from pathlib import Path


def _exercises(path: Path) -> list:
    """The module's exercises (none for a file that is not a course module)."""
    try:
        import jupytext

        from tito import learner
    except ImportError:
        return []
    labels = learner.load_record().get(path.parent.name, {}).get("labels")
    return learner.exercises(jupytext.read(path, fmt="py:percent"), labels)


def _raised_in(error: BaseException) -> str:
    """Qualified name of the function that raised (`Adam.step`)."""
    tb = error.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    return getattr(code, "co_qualname", code.co_name)  # 3.10: no qualname


def _where(error: BaseException) -> str:
    """The last frames of the traceback, without this runner's own frame."""
    frames = error.__traceback__.tb_next
    return "".join(
        traceback.format_exception(type(error), error, frames, limit=-3)
    )


def _message(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    if not isinstance(error, AssertionError):
        text = f"{type(error).__name__}: {text}"
    return text


def _uses(test, exercises) -> list:
    """The exercises a test calls, by the names their cells define."""
    try:
        code = inspect.getsource(test)
    except OSError:
        return []
    return [
        e
        for e in exercises
        if any(re.search(rf"\b{re.escape(n)}\b", code) for n in e.names)
    ]


def main(path: str, name: str, summary: str | None = None) -> int:
    """Run the tests; with `summary`, also write the per-exercise lines to that
    file."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    tests = [
        fn
        for key, fn in vars(module).items()
        if key.startswith("test_")
        and inspect.isfunction(fn)
        and fn.__module__ == name
    ]
    exercises = _exercises(Path(path))
    failures = {}  # exercise label -> first message
    failed = []
    for test in tests:
        try:
            test()
        except NotImplementedError as error:
            failed.append(test.__name__)
            where = _raised_in(error)
            print(
                f"❌ {test.__name__}: not implemented yet (`{where}` still "
                "raises NotImplementedError)"
            )
        except Exception as error:  # report every failure, then go on
            failed.append(test.__name__)
            message = _message(error)
            print(f"❌ {test.__name__} failed: {message}\n{_where(error)}")
            for exercise in _uses(test, exercises):
                failures.setdefault(
                    exercise.label, f"{test.__name__}: {message}"
                )
        else:
            print(f"✅ {test.__name__}")
    print(
        f"\nmodule tests: {len(tests) - len(failed)} passed, "
        f"{len(failed)} failed"
    )
    lines = [_exercise_line(e, failures) for e in exercises]
    if lines:
        print("exercises:\n" + "\n".join(lines))
    if summary:
        Path(summary).write_text("\n".join(lines), encoding="utf-8")
    return 1 if failed or not tests else 0


def _exercise_line(exercise, failures: dict) -> str:
    if exercise.stub:
        return f"  ❌ `{exercise.label}`: not implemented yet"
    if exercise.label in failures:
        return f"  ❌ `{exercise.label}`: {failures[exercise.label]}"
    return f"  ✅ `{exercise.label}`: its tests pass"


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:4]))
