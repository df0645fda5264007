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
# 2. **Test inline.** The cell after each exercise checks it and tells you what works.
# 3. **Export.** `tito export --module NAME` copies the code cells marked `#| export` into the `tinytorch`
#    package, so later modules can `import` what you built.
# 4. **Test the package.** `tito test --module NAME` runs the module's tests and the package's own tests.

# %%
#| bootstrap
# Makes `tinytorch` importable. Locally and on Binder it is installed already; the student notebooks that
# open on Colab install it here first.
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
    """Run a demonstration that needs the named exercises; until they are written, say so instead of failing.

        with after_exercise("SGD.step"):
            train(model, SGD(model.parameters()))
    """
    try:
        yield
    except NotImplementedError:
        print(f"⏳ This cell uses {', '.join(names)}: implement it above, run its tests, then run this cell again.")


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
    assert set(info) == {"python", "numpy", "platform"}, f"expected three keys, got {sorted(info)}"
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
