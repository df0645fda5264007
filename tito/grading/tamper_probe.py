"""The part of a grading kernel's state a submission could change to rig
its tests, as the kernel itself sees it.

tito/grading/tamper.py sends this file's source into the grading kernel
before the first cell (the baseline: no submission code has run yet),
before every graded test cell and after the last cell, and compares the
snapshots itself: the baseline never stays in the kernel, so a submission
cannot edit it. Its names are deleted by the cell that calls it; tito
imports it only for TITO_SHELL_PARTS.

A snapshot maps each area to {key: description}; a description names the
object and its identity (`id`), so a replacement with a look-alike differs.
"""

# what runs a cell and shows its errors (tamper.py's static scan looks for
# these names too)
TITO_SHELL_PARTS = (
    "showtraceback",
    "_showtraceback",
    "showsyntaxerror",
    "run_cell",
    "run_cell_async",
    "run_ast_nodes",
    "run_code",
    "transform_cell",
    "transform_ast",
    "InteractiveTB",
    "SyntaxTB",
    "CustomTB",
)


def _tito_tamper_snapshot(marker):
    import builtins
    import json
    import sys
    import threading
    import types

    def describe(obj):
        try:
            return name_of(obj)
        except Exception:  # a proxy that fails on inspection: still an id
            return f"{type(obj).__name__}@{id(obj):x}"

    def name_of(obj):
        if isinstance(obj, types.MethodType):  # a new object at each access
            owner = obj.__self__
            owned = f"{type(owner).__name__}@{id(owner):x}"
            return f"{describe(obj.__func__)} of {owned}"
        label = getattr(obj, "__qualname__", None)
        module = getattr(obj, "__module__", None)
        if not isinstance(label, str) or not isinstance(module, str):
            label, module = type(obj).__qualname__, type(obj).__module__
            if isinstance(obj, types.ModuleType):
                label, module = "module", obj.__name__
        text = f"{module}.{label}@{id(obj):x}"
        if isinstance(obj, types.FunctionType):
            # f.__code__ = ... or new defaults keep the function object
            code = obj.__code__
            defaults = repr((obj.__defaults__, obj.__kwdefaults__))
            text += f" code@{id(code):x} in {code.co_filename}"
            text += f" defaults {hash(defaults):x}"
        return text

    def listing(prefix, items):
        return {f"{prefix}[{i}]": describe(x) for i, x in enumerate(items)}

    shell = get_ipython()  # noqa: F821 (the kernel's own)
    snap = {"transformers": {}, "events": {}, "imports": {}, "errors": {}}
    manager = shell.input_transformer_manager
    for owner, names in (
        (shell, ("input_transformers_post", "ast_transformers")),
        (manager, ("cleanup_transforms", "line_transforms")),
        (manager, ("token_transformers",)),
    ):
        for name in names:
            items = getattr(owner, name, [])
            snap["transformers"].update(listing(name, items))
    snap["transformers"]["manager"] = describe(manager)
    snap["events"]["registry"] = describe(shell.events)
    for event, callbacks in shell.events.callbacks.items():
        for callback in callbacks:  # by name: an addition shifts no other
            snap["events"][f"{event}: {describe(callback)}"] = event
    for name in ("meta_path", "path_hooks"):  # by entry; the value: order
        for place, entry in enumerate(getattr(sys, name)):
            snap["imports"][f"sys.{name}: {describe(entry)}"] = str(place)
    snap["imports"]["builtins.__import__"] = describe(builtins.__import__)
    snap["builtins"] = {
        name: describe(value)
        for name, value in vars(builtins).items()
        if name != "_"  # the last result, kept by the display hook
    }

    # the assert helpers: the modules the graded tests check with
    watched = ["math", "numpy", "numpy.testing", "tinytorch.core.setup"]
    for name in watched:
        try:
            __import__(name)
        except Exception:  # e.g. tinytorch.core.setup while grading 01
            continue
    snap["helpers"] = {}
    for name in watched:
        module = sys.modules.get(name)
        if module is None:
            continue
        snap["helpers"][name] = describe(module)
        for attr, value in list(vars(module).items()):
            if not (attr.startswith("__") and attr.endswith("__")):
                snap["helpers"][f"{name}.{attr}"] = describe(value)
    # the names the test cells look up in the notebook's namespace
    names = ("np", "numpy", "math", "expect_close", "expect_equal", "expect")
    snap["names"] = {
        name: describe(shell.user_ns[name])
        for name in names
        if name in shell.user_ns
    }

    errors = snap["errors"]
    for name in TITO_SHELL_PARTS:
        errors[f"shell.{name}"] = describe(getattr(shell, name, None))
    errors["shell.custom_exceptions"] = repr(shell.custom_exceptions)
    errors["shell (class)"] = describe(type(shell))
    kernel = getattr(shell, "kernel", None)
    for name in ("do_execute", "execute_request"):
        errors[f"kernel.{name}"] = describe(getattr(kernel, name, None))
    errors["sys.excepthook"] = describe(sys.excepthook)
    errors["sys.displayhook"] = describe(sys.displayhook)
    errors["sys.settrace"] = describe(sys.gettrace())
    errors["sys.setprofile"] = describe(sys.getprofile())
    errors["threading.settrace"] = describe(
        getattr(threading, "_trace_hook", None)
    )
    errors["threading.setprofile"] = describe(
        getattr(threading, "_profile_hook", None)
    )
    print(marker + json.dumps(snap) + marker, flush=True)
