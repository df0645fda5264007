# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 01: Setup
#
# Welcome to TinyTorch. Over ten modules you build a small deep-learning framework from NumPy up: tensors,
# automatic differentiation, layers, losses, data loading, networks, optimizers and a training loop. Every
# line of it is yours to read.
#
# This first module is about the workflow you will use in every other one:
#
# 1. **Read and implement.** Each module is a notebook (or, locally, the `*_dev.py` file it is paired with).
#    Cells marked as exercises hold `raise NotImplementedError()` until you write the code.
#    (Locally, a fresh checkout holds the reference solutions: `tito module start NAME`
#    turns a module into your edition first.)
# 2. **Test inline.** The cell after each exercise checks it and tells you what works.
# 3. **Export.** `tito export --module NAME` copies the code cells marked `#| export` into the `tinytorch`
#    package, so later modules can `import` what you built.
# 4. **Test the package.** `tito test --module NAME` runs the module's tests and the package's own tests.

# %% [markdown]
# ## Getting started
#
# Work in the browser (the launch buttons at the top of the course page open
# the student notebook on Binder or Colab) or locally. Locally, from the
# repository root:
#
# ```bash
# source bin/activate-tinytorch.sh  # activate the environment
# tito module start setup           # your edition: exercises are stubs
# ```
#
# Then write the exercises, in order, in
# `modules/source/01_setup/setup_dev.py` (or in its paired notebook,
# `setup_dev.ipynb`, in Jupyter); the test cell after each exercise
# checks it. Export your code into `tinytorch` and test it:
#
# ```bash
# tito export --module setup && tito test --module setup
# tito module status                # where you are in every module
# ```
#
# `tito module reset setup` brings the reference solution back (it keeps
# your files as `.bak-<time>` copies).

# %%
#| bootstrap
# Makes `tinytorch` importable. Locally and on Binder it is installed already;
# the student notebooks that open on Colab install it here first.
import tinytorch

# %%
#| default_exp core.setup
#| export
import contextlib
import platform
import sys

import numpy as np

# %% [markdown]
# ## How a module tells you what is missing
#
# Later modules run demonstrations that use your exercises: a training run needs your optimizer. Until an
# exercise is done those cells should not crash with a long traceback; they should say what to finish first.
# `after_exercise` is a *context manager* that does exactly that: the code inside the `with` block runs as
# usual, and a `NotImplementedError` (the exercise stub) becomes a short note.


# %%
#| export
@contextlib.contextmanager
def after_exercise(*names):
    """Run a demonstration that needs the named exercises; until they are
    written, say so instead of failing.

    with after_exercise("SGD.step"):
        train(model, SGD(model.parameters()))
    """
    try:
        yield
    except NotImplementedError:
        print(
            f"⏳ This cell uses {', '.join(names)}: implement it above, run "
            "its tests, then run this cell again."
        )


# %% [markdown]
# ## How a test tells you what went wrong
#
# A bare `assert` that fails says `AssertionError` and nothing more. Every graded test in this course
# says instead *which quantity* it checked, *at which step*, what it *expected* and what it *got*, and,
# when your numbers match a mistake learners often make, *which mistake* that is:
#
# ```text
# θ at step 2: expected 0.72, got 0.81
#   → this is what you get when the momentum buffer is not kept between steps
# ```
#
# `expect_close` compares numbers (or arrays) with a tolerance, `expect_equal` compares exactly, and
# `expect` checks a condition. Their `mistakes` argument maps a description of a common wrong solution to
# the value that solution would produce.


# %%
#| export
def _show(value):
    """A value as a test message shows it: short, with enough digits to see a
    difference."""
    array = np.asarray(value)
    if array.dtype.kind in "fc" and array.ndim == 0:
        return f"{array.item():.12g}"
    if array.dtype.kind in "fciub":
        return np.array2string(
            array, precision=10, separator=", ", threshold=12
        )
    return repr(value)


def _where(quantity, step):
    return quantity if step is None else f"{quantity} at step {step}"


def _named_mistake(got, mistakes, matches):
    """The description of the first known mistake whose value `got` matches."""
    for description, wrong in (mistakes or {}).items():
        try:
            if matches(got, wrong):
                return f"\n  → this is what you get when {description}"
        except (TypeError, ValueError):  # a mistake of another shape or type
            continue
    return ""


def expect(condition, message):
    """Fail with `message` (what was checked, and what to fix) unless
    `condition` holds."""
    if not condition:
        raise AssertionError(message)


def expect_equal(quantity, got, expected, *, step=None, mistakes=None):
    """Fail unless `got == expected` exactly (arrays: same shape, equal
    entries)."""
    same = (
        np.array_equal(got, expected)
        if isinstance(got, np.ndarray) or isinstance(expected, np.ndarray)
        else got == expected
    )
    if not same:
        named = _named_mistake(got, mistakes, np.array_equal)
        raise AssertionError(
            f"{_where(quantity, step)}: expected {_show(expected)}, "
            f"got {_show(got)}{named}"
        )


def expect_close(
    quantity,
    got,
    expected,
    *,
    step=None,
    rtol=1e-12,
    atol=1e-15,
    mistakes=None,
):
    """Fail unless `got` equals `expected` within `atol + rtol·|expected|`.

    expect_close("θ", p.data, 0.72, step=2, mistakes={
        "the momentum buffer is not kept between steps": 0.81})
    """
    got_array = np.asarray(got)
    expected_array = np.asarray(expected)
    where = _where(quantity, step)
    if got_array.shape != expected_array.shape:
        raise AssertionError(
            f"{where}: expected shape {expected_array.shape}, "
            f"got shape {got_array.shape} ({_show(got)})"
        )
    close = np.allclose(got_array, expected_array, rtol=rtol, atol=atol)
    if not close:
        named = _named_mistake(
            got_array,
            mistakes,
            lambda g, w: np.allclose(g, w, rtol=max(rtol, 1e-9), atol=atol),
        )
        raise AssertionError(
            f"{where}: expected {_show(expected)}, got {_show(got)}{named}"
        )


# %%
def test_unit_expect():
    print("🔬 Unit Test: test messages...")
    expect_close("θ", 0.72 + 1e-14, 0.72, step=2)
    try:
        expect_close(
            "θ",
            0.81,
            0.72,
            step=2,
            mistakes={
                "the buffer is reset every step": 0.81,
                "lr is ignored": 0.5,
            },
        )
    except AssertionError as error:
        message = str(error)
    else:
        raise AssertionError("expect_close accepted 0.81 for 0.72")
    assert message == (
        "θ at step 2: expected 0.72, got 0.81\n"
        "  → this is what you get when the buffer is reset "
        "every step"
    ), message
    try:
        expect_close("m", np.zeros(3), np.zeros(2))
    except AssertionError as error:
        assert "expected shape (2,), got shape (3,)" in str(error), error
    try:
        expect_equal("state['step']", 3, 2, step=2)
    except AssertionError as error:
        assert str(error) == "state['step'] at step 2: expected 2, got 3"
    print("✅ A failed check names the quantity, the step, expected and got")


if __name__ == "__main__":
    test_unit_expect()


# %% [markdown]
# ## Exercise: describe your environment
#
# Bugs in numerical code often come down to versions: a NumPy release changes a default, a Python version
# changes how floats print. When you ask for help, the first thing anyone wants is your environment.
#
# Write `system_info()` so that it returns a dictionary with three entries:
#
# | key | value | where to find it |
# | --- | --- | --- |
# | `"python"` | the Python version as `"3.11.7"` | `platform.python_version()` |
# | `"numpy"` | the NumPy version string | `np.__version__` |
# | `"platform"` | the operating system, e.g. `"Linux"` | `platform.system()` |


# %% nbgrader={"grade": false, "grade_id": "system-info", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def system_info():
    """The versions that matter when numerical code misbehaves."""
    ### BEGIN SOLUTION
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.system(),
    }
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-system-info", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_system_info():
    print("🔬 Unit Test: system_info...")
    info = system_info()
    assert set(info) == {"python", "numpy", "platform"}, (
        f"expected three keys, got {sorted(info)}"
    )
    assert info["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    print("✅ Python version reported as", info["python"])
    assert info["numpy"] == np.__version__
    print("✅ NumPy version reported as", info["numpy"])
    ### BEGIN HIDDEN TESTS
    assert info["platform"] == platform.system()
    assert all(isinstance(value, str) for value in info.values())
    ### END HIDDEN TESTS
    print("📈 Progress: system_info ✓")


if __name__ == "__main__":
    test_unit_system_info()

# %% [markdown]
# ## Floating point: the numbers you will be optimizing
#
# Every number in this course is a binary floating-point number. They are not real numbers: between two
# neighbouring floats there is a gap, and the gap grows with the size of the number. The *machine epsilon*
# $\varepsilon$ is the gap just above $1$: $2^{-23} \approx 1.2\times 10^{-7}$ for `float32` and
# $2^{-52} \approx 2.2\times 10^{-16}$ for `float64`. Adding something much smaller than $\varepsilon\,|x|$ to
# $x$ changes nothing, which is why a learning rate that is too small can make training stall in `float32`,
# and why the tests in this course compare trajectories in `float64`.
#
# The figure shows the gap between neighbouring floats (`np.spacing`) across twelve orders of magnitude.

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt

    x = np.logspace(-6, 6, 200)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for dtype in (np.float32, np.float64):
        ax.loglog(x, np.spacing(x.astype(dtype)), label=np.dtype(dtype).name)
    ax.set_xlabel("value $x$")
    ax.set_ylabel("gap to the next float")
    ax.set_title("Floats get sparser as they grow")
    ax.legend()
    plt.show()

# %% [markdown]
# ## Check the whole environment
#
# `tito doctor` (in a terminal, after `source bin/activate-tinytorch.sh`) checks everything else: the
# virtual environment, the package, the module folders on the import path and the export state.

# %%
if __name__ == "__main__":
    with after_exercise("system_info"):
        for key, value in system_info().items():
            print(f"{key:>8}: {value}")
