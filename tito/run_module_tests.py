"""Run a module's own test functions (`test_*` in its _dev.py), one by one, and report each.

Used by `tito test` in a fresh interpreter, so the module is imported exactly as a learner imports it.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback


def main(path: str, name: str) -> int:
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
    failed = []
    for test in tests:
        try:
            test()
        except NotImplementedError:
            failed.append(test.__name__)
            print(
                f"❌ {test.__name__}: not implemented yet (an exercise still raises NotImplementedError)"
            )
        except (
            Exception
        ):  # report every failure, then go on with the next test
            failed.append(test.__name__)
            print(
                f"❌ {test.__name__} failed:\n{traceback.format_exc(limit=3)}"
            )
        else:
            print(f"✅ {test.__name__}")
    print(
        f"\nmodule tests: {len(tests) - len(failed)} passed, {len(failed)} failed"
    )
    return 1 if failed or not tests else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
