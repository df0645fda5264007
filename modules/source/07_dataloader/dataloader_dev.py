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
# # Module 07: DataLoader
#
# A network learns from examples, and it sees them a few at a time. This module builds the plumbing that
# feeds it: a `Dataset` that holds examples, a `DataLoader` that cuts them into shuffled *mini-batches*, and
# two sources of real data: scikit-learn's bundled handwritten digits, and a reader for the MNIST files.
#
# By the end you will be able to write
#
# ```python
# train, test = load_digits()
# loader = DataLoader(train, batch_size=32, shuffle=True, seed=0)
# for inputs, targets in loader:  # or: batch.inputs, batch.targets
#     ...  # inputs: Tensor (32, 64), targets: Tensor (32,)
# ```
#
# and you will know *why* we train on mini-batches: a mini-batch gradient is an unbiased estimate of the
# full gradient whose noise shrinks like $1/B$. You will measure that.

# %% [markdown]
# ## Getting started
#
# Work in the browser (the launch buttons at the top of the course page open
# the student notebook on Binder or Colab) or locally. Locally, from the
# repository root:
#
# ```bash
# source bin/activate-tinytorch.sh  # activate the environment
# tito test --module tensor         # check what this builds on
# tito test --module autograd
# tito module start dataloader      # your edition: exercises are stubs
# ```
#
# Then write the exercises, in order, in
# `modules/source/07_dataloader/dataloader_dev.py` (or in its paired notebook,
# `dataloader_dev.ipynb`, in Jupyter); the test cell after each exercise
# checks it. Export your code into `tinytorch` and test it:
#
# ```bash
# tito export --module dataloader && tito test --module dataloader
# tito module status                # where you are in every module
# ```
#
# `tito module reset dataloader` brings the reference solution back (it keeps
# your files as `.bak-<time>` copies).

# %%
#| bootstrap
# Makes `tinytorch` importable. Locally and on Binder it is installed already;
# the student notebooks that open on Colab install it here first.
import tinytorch

# %%
#| default_exp core.dataloader
#| export
import gzip
from pathlib import Path
from typing import NamedTuple

import numpy as np

from tinytorch.core.tensor import Tensor

# %%
from tinytorch.core.setup import after_exercise

# %% [markdown]
# ## Datasets: a length and an index
#
# A dataset is anything that answers two questions: *how many examples are there?* (`len(dataset)`) and
# *what is example `i`?* (`dataset[i]`). That is all a data loader needs, so that is all the base class
# asks for. An example is a tuple, usually `(input, target)`.
#
# When the whole dataset fits in memory as arrays, `TensorDataset` is enough: it keeps one array per field,
# all with the same first dimension (the number of examples), and example `i` is row `i` of each.


# %%
#| export
class Dataset:
    """The interface every dataset has: `len(dataset)` and `dataset[i]` (one
    example, a tuple)."""

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(
            f"{type(self).__name__} must define __getitem__"
        )


class TensorDataset(Dataset):
    """Examples stored as arrays that share their first dimension: example i is
    row i of every array.

    dataset = TensorDataset(images, labels) image, label = dataset[0]
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError(
                "TensorDataset needs at least one array, e.g. "
                "TensorDataset(inputs, targets)"
            )
        self.arrays = tuple(
            _as_array(array, f"argument {k}") for k, array in enumerate(arrays)
        )
        count = len(self.arrays[0])
        for k, array in enumerate(self.arrays[1:], start=1):
            if len(array) != count:
                raise ValueError(
                    f"TensorDataset: argument {k} has {len(array)} examples "
                    f"(shape {array.shape}) "
                    f"but argument 0 has {count}; every array needs the same "
                    "first dimension"
                )

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(array[index] for array in self.arrays)

    def __repr__(self):
        shapes = ", ".join(f"{a.shape} {a.dtype}" for a in self.arrays)
        return f"TensorDataset({len(self)} examples: {shapes})"


def _as_array(value, name):
    """An array (at least 1-D) from an array, a list or a Tensor."""
    array = np.asarray(value.data if isinstance(value, Tensor) else value)
    if array.ndim == 0:
        raise ValueError(
            f"TensorDataset: {name} is a single number; each field needs one "
            "entry per example"
        )
    return array


# %% [markdown]
# ## Mini-batches: why not one example, why not all of them?
#
# Training minimises the average loss over the $N$ training examples,
#
# $$L(\theta) = \frac{1}{N}\sum_{i=1}^{N} \ell_i(\theta), \qquad \nabla L(\theta) = \frac{1}{N}\sum_{i=1}^{N} \nabla \ell_i(\theta).$$
#
# The full gradient costs a pass over all $N$ examples for a single step. Instead we draw a *mini-batch*
# $\mathcal{B}$ of $B$ examples uniformly at random and use
#
# $$\hat g_{\mathcal B} = \frac{1}{B}\sum_{i\in\mathcal B} \nabla \ell_i(\theta).$$
#
# Every example is equally likely to be in the batch, so on average the estimate is right:
# $\mathbb{E}[\hat g_{\mathcal B}] = \nabla L$. It is *unbiased*. It is also noisy. If the per-example
# gradients scatter around their mean with total variance $\sigma^2 = \frac1N\sum_i \lVert\nabla\ell_i - \nabla L\rVert^2$,
# averaging $B$ of them divides that noise by $B$:
#
# $$\mathbb{E}\,\lVert \hat g_{\mathcal B} - \nabla L \rVert^2 = \frac{\sigma^2}{B}\cdot\frac{N-B}{N-1}.$$
#
# The second factor appears because we draw *without* replacement (an epoch uses each example once); it is
# close to 1 for small batches and reaches 0 at $B = N$, where the "estimate" is the exact gradient.
#
# So doubling the batch halves the variance but doubles the cost of a step. Batches of 32 to 256 are the
# usual compromise: noisy enough to be cheap, smooth enough to make progress, and large enough to keep
# vectorised NumPy (or a GPU) busy. Later in this module you will measure the $1/B$ law on real data.
#
# ## The loader's job
#
# One pass over the data is an *epoch*. For each epoch the loader
#
# 1. decides an order of the $N$ indices (`0, 1, …, N-1`, or a random permutation when `shuffle=True`),
# 2. cuts that order into consecutive batches of `batch_size` indices (the last one may be shorter; with
#    `drop_last=True` it is dropped, so every batch has the same size),
# 3. fetches the examples of each batch and stacks each field along a new first axis.
#
# Shuffling matters: digits sorted by label would give batches of only zeros, then only ones, and the
# network would chase each class in turn. A fresh order every epoch also keeps the batches from being the
# same every time.

# %% [markdown]
# ## Exercise 1: cut an epoch into batches (2 points)
#
# Write `make_batches(order, batch_size, drop_last)`. `order` is a 1-D array of example indices for one
# epoch. Return a list of 1-D index arrays: consecutive slices of `order` of length `batch_size`; the last
# slice may be shorter, and when `drop_last` is true a short last slice is left out.
#
# ```python
# make_batches(np.arange(7), 3, drop_last=False)
# # [array([0, 1, 2]), array([3, 4, 5]), array([6])]
# make_batches(np.arange(7), 3, drop_last=True)
# # [array([0, 1, 2]), array([3, 4, 5])]
# ```


# %% nbgrader={"grade": false, "grade_id": "make-batches", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def make_batches(order, batch_size, drop_last=False):
    """Consecutive slices of `order`, `batch_size` indices each; a short last
    slice only if not `drop_last`."""
    ### BEGIN SOLUTION
    batches = [
        order[start : start + batch_size]
        for start in range(0, len(order), batch_size)
    ]
    if drop_last and batches and len(batches[-1]) < batch_size:
        batches.pop()
    return batches
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-make-batches", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_make_batches():
    print("🔬 Unit Test: make_batches...")
    batches = make_batches(np.arange(7), 3, drop_last=False)
    assert [b.tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]], (
        batches
    )
    print("✅ 7 indices in batches of 3: sizes 3, 3, 1")
    batches = make_batches(np.arange(7), 3, drop_last=True)
    assert [b.tolist() for b in batches] == [[0, 1, 2], [3, 4, 5]], batches
    print("✅ drop_last leaves out the short batch")
    order = np.array([4, 0, 3, 1, 2])
    assert [b.tolist() for b in make_batches(order, 2)] == [
        [4, 0],
        [3, 1],
        [2],
    ]
    print("✅ batches follow the given order")
    ### BEGIN HIDDEN TESTS
    assert [
        b.tolist() for b in make_batches(np.arange(6), 3, drop_last=True)
    ] == [[0, 1, 2], [3, 4, 5]]
    assert [
        b.tolist() for b in make_batches(np.arange(6), 10, drop_last=False)
    ] == [[0, 1, 2, 3, 4, 5]]
    assert make_batches(np.arange(6), 10, drop_last=True) == []
    assert make_batches(np.arange(0), 4) == []
    for n in range(0, 30):
        for size in range(1, 9):
            for drop in (False, True):
                joined = np.concatenate(
                    make_batches(np.arange(n), size, drop) or [np.arange(0)]
                )
                expected = n - n % size if drop else n
                assert joined.tolist() == list(range(expected)), (
                    n,
                    size,
                    drop,
                )
    ### END HIDDEN TESTS
    print("📈 Progress: make_batches ✓")


if __name__ == "__main__":
    test_unit_make_batches()

# %% [markdown]
# ## Exercise 2: stack examples into a batch (3 points)
#
# The loader fetches the examples of a batch one by one: a list like `[(x0, y0), (x1, y1), ...]`, where each
# `x` is an array of shape `(64,)` and each `y` a label. The network wants one `Tensor` of shape `(B, 64)`
# and one of shape `(B,)`.
#
# Write `collate(examples)`: stack the first field of every example along a new axis 0 (`np.stack`), the
# same for the second field, and return `Batch(inputs=Tensor(...), targets=Tensor(...))`. A field may
# arrive as a NumPy array, a number or a `Tensor` (use `.data` for a `Tensor`; the helper `_field_data`
# below does this for you).
#
# `Batch` is a `NamedTuple`, so a batch unpacks like a pair, `inputs, targets = batch`, and also has named
# fields, `batch.inputs` and `batch.targets`.


# %%
#| export
class Batch(NamedTuple):
    """One mini-batch: `inputs, targets = batch`, or `batch.inputs` and
    `batch.targets` (both Tensors)."""

    inputs: Tensor
    targets: Tensor


def _field_data(value):
    """The NumPy data of one field of one example (a Tensor, an array or a
    plain number)."""
    return value.data if isinstance(value, Tensor) else np.asarray(value)


# %% nbgrader={"grade": false, "grade_id": "collate", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def collate(examples):
    """Stack a list of (input, target) examples into one `Batch` of two Tensors
    (axis 0 = example)."""
    ### BEGIN SOLUTION
    inputs = np.stack([_field_data(example[0]) for example in examples])
    targets = np.stack([_field_data(example[1]) for example in examples])
    return Batch(inputs=Tensor(inputs), targets=Tensor(targets))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-collate", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_unit_collate():
    print("🔬 Unit Test: collate...")
    examples = [
        (np.array([1.0, 2.0]), 0),
        (np.array([3.0, 4.0]), 1),
        (np.array([5.0, 6.0]), 2),
    ]
    batch = collate(examples)
    assert isinstance(batch, Batch), (
        f"collate should return a Batch, got {type(batch).__name__}"
    )
    assert isinstance(batch.inputs, Tensor) and isinstance(
        batch.targets, Tensor
    )
    assert batch.inputs.shape == (3, 2) and batch.targets.shape == (3,)
    assert np.array_equal(
        batch.inputs.data, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    )
    assert np.array_equal(batch.targets.data, [0, 1, 2])
    print("✅ three examples of shape (2,) stack to (3, 2); labels to (3,)")
    inputs, targets = batch
    assert inputs is batch.inputs and targets is batch.targets
    print("✅ a Batch unpacks as inputs, targets")
    ### BEGIN HIDDEN TESTS
    images = [
        (Tensor(np.full((8, 8), k, dtype=float)), Tensor(k)) for k in range(4)
    ]
    batch = collate(images)
    assert batch.inputs.shape == (4, 8, 8) and batch.targets.shape == (4,)
    assert np.array_equal(batch.inputs.data[:, 0, 0], [0, 1, 2, 3])
    assert np.issubdtype(collate([(np.zeros(3), 7)]).targets.dtype, np.integer)
    ### END HIDDEN TESTS
    print("📈 Progress: collate ✓")


if __name__ == "__main__":
    test_unit_collate()

# %% [markdown]
# ## The DataLoader
#
# With `make_batches` and `collate` the loader itself is short. Two design decisions are worth a word.
#
# **Reproducible shuffling.** A shuffled loader takes a `seed`. The order of epoch $e$ is a permutation drawn
# from `np.random.default_rng([seed, epoch])`: a new order each epoch, the same orders every time you run
# with the same seed, and nothing else to remember. The loader counts its epochs itself (each `for` loop
# over it is one epoch); `loader.set_epoch(e)` jumps to epoch `e`, which is how a training run that resumes
# from a checkpoint sees exactly the batches it would have seen.
#
# **`len(loader)` is the number of batches**, $\lceil N/B \rceil$, or $\lfloor N/B \rfloor$ with `drop_last`.
# Progress bars and learning-rate schedules that count steps rely on it.
#
# A dataset whose examples have two fields yields `Batch(inputs, targets)`; any other number of fields gives
# a plain tuple of Tensors, one per field.


# %%
#| export
class DataLoader:
    """Iterate over a dataset in mini-batches of Tensors.

    loader = DataLoader(train, batch_size=32, shuffle=True, seed=0)
    for inputs, targets in loader:  # one epoch; or batch.inputs/.targets
        ...
    """

    def __init__(
        self, dataset, batch_size=32, shuffle=False, seed=None, drop_last=False
    ):
        if not (
            hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")
        ):
            raise TypeError(
                "dataset must have __len__ and __getitem__ (a Dataset), got "
                f"{type(dataset).__name__}"
            )
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1
        ):
            raise ValueError(
                f"batch_size must be a positive integer, got {batch_size!r}"
            )
        if seed is not None and (
            isinstance(seed, bool)
            or not isinstance(seed, (int, np.integer))
            or seed < 0
        ):
            raise ValueError(
                f"seed must be None or a non-negative integer, got {seed!r}"
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        # without a seed, pick one now: the loader is still reproducible within
        # its own life
        self.seed = (
            int(seed)
            if seed is not None
            else int(np.random.SeedSequence().entropy)
        )
        self.epoch = 0

    def set_epoch(self, epoch):
        """The next `for` loop over the loader is epoch `epoch` (its shuffled
        order depends on it)."""
        if (
            isinstance(epoch, bool)
            or not isinstance(epoch, (int, np.integer))
            or epoch < 0
        ):
            raise ValueError(
                f"epoch must be a non-negative integer, got {epoch!r}"
            )
        self.epoch = int(epoch)

    def epoch_order(self, epoch):
        """The order in which epoch `epoch` visits the examples."""
        count = len(self.dataset)
        if not self.shuffle:
            return np.arange(count)
        return np.random.default_rng([self.seed, epoch]).permutation(count)

    def __len__(self):
        count = len(self.dataset)
        return (
            count // self.batch_size
            if self.drop_last
            else -(-count // self.batch_size)
        )

    def __iter__(self):
        order = self.epoch_order(self.epoch)
        self.epoch += 1
        return self._batches(order)

    def _batches(self, order):
        for indices in make_batches(order, self.batch_size, self.drop_last):
            examples = [self.dataset[int(i)] for i in indices]
            if len(examples[0]) == 2:
                yield collate(examples)
            else:
                yield tuple(
                    Tensor(np.stack([_field_data(ex[k]) for ex in examples]))
                    for k in range(len(examples[0]))
                )

    def __repr__(self):
        return (
            f"DataLoader({len(self.dataset)} examples, "
            f"batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}: {len(self)} "
            "batches)"
        )


# %% nbgrader={"grade": false, "grade_id": "test-dataloader", "locked": true, "schema_version": 3, "solution": false, "task": false}
def test_unit_dataloader():
    print("🔬 Unit Test: DataLoader...")
    inputs = np.arange(20, dtype=float).reshape(10, 2)
    labels = np.arange(10)
    loader = DataLoader(TensorDataset(inputs, labels), batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert [b.inputs.shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert np.array_equal(
        np.concatenate([b.targets.data for b in batches]), labels
    )
    print("✅ 10 examples, batch_size 4: batches of 4, 4, 2 in order")
    shuffled = DataLoader(
        TensorDataset(inputs, labels), batch_size=4, shuffle=True, seed=3
    )
    epoch0 = np.concatenate([t.data for _, t in shuffled])
    epoch1 = np.concatenate([t.data for _, t in shuffled])
    assert sorted(epoch0) == list(range(10)) and sorted(epoch1) == list(
        range(10)
    )
    assert not np.array_equal(epoch0, epoch1)
    assert np.array_equal(
        epoch0, np.random.default_rng([3, 0]).permutation(10)
    )
    print(
        "✅ shuffled epochs visit every example once, in a new order each epoch"
    )
    print("📈 Progress: DataLoader ✓")


if __name__ == "__main__":
    with after_exercise("make_batches", "collate"):
        test_unit_dataloader()

# %% [markdown]
# ## Real data: handwritten digits
#
# scikit-learn ships a small dataset of handwritten digits with the library, so it needs no download:
# 1,797 grey-scale images of 8×8 pixels, each pixel an integer from 0 to 16, labelled 0 to 9.
#
# `load_digits` turns them into a training and a test set:
#
# - **inputs** are the 64 pixels of each image as a row, divided by 16, so they are `float64` in $[0, 1]$.
#   Dividing by a known constant needs no statistics of the data, so nothing about the test set leaks into
#   training (standardising with the mean and spread of *all* images would);
# - **targets** are the labels as integers (`int64`);
# - the split is **stratified**: within each digit class a seeded random `test_fraction` of the images
#   (rounded to the nearest whole image) goes to the test set, so both sets have the same class balance.
#   The same seed always gives the same split.


# %%
#| export
def stratified_split(labels, test_fraction=0.2, seed=0):
    """(train_indices, test_indices): in each class a seeded random
    `test_fraction` of it goes to test."""
    if not 0 < test_fraction < 1:
        raise ValueError(
            "test_fraction must be between 0 and 1 (exclusive), got "
            f"{test_fraction!r}"
        )
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    test_parts = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        test_count = int(
            np.floor(test_fraction * len(members) + 0.5)
        )  # round half up
        test_parts.append(members[:test_count])
    test = np.sort(np.concatenate(test_parts))
    train = np.setdiff1d(np.arange(len(labels)), test)
    return train, test


def load_digits(test_fraction=0.2, seed=0):
    """scikit-learn's bundled 8x8 digits as (train, test) TensorDatasets of (N,
    64) pixels in [0, 1] and labels."""
    table = np.loadtxt(_digits_file(), delimiter=",")  # 64 pixels, label
    inputs = table[:, :-1] / 16.0
    labels = table[:, -1].astype(np.int64)
    train, test = stratified_split(labels, test_fraction, seed)
    return TensorDataset(inputs[train], labels[train]), TensorDataset(
        inputs[test], labels[test]
    )


def _digits_file():
    """The file scikit-learn's own `load_digits` reads. Found, not imported:
    importing scikit-learn takes two seconds."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise ModuleNotFoundError(
            "load_digits needs scikit-learn, which ships the digits: "
            "pip install scikit-learn"
        )
    folder = Path(spec.submodule_search_locations[0])
    return folder / "datasets" / "data" / "digits.csv.gz"


# %%
if __name__ == "__main__":
    digits_train, digits_test = load_digits()
    print("train:", digits_train)
    print("test: ", digits_test)
    print("examples per class in test:", np.bincount(digits_test.arrays[1]))

# %% [markdown]
# Twenty training images, two of each digit. At 8×8 pixels they are coarse, but a small network still
# recognises well over 90% of them.

# %%
if __name__ == "__main__":
    import matplotlib.pyplot as plt

    images, labels = digits_train.arrays
    fig, axes = plt.subplots(2, 10, figsize=(10, 2.4))
    for digit in range(10):
        for row, index in enumerate(np.flatnonzero(labels == digit)[:2]):
            ax = axes[row, digit]
            ax.imshow(
                images[index].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1
            )
            ax.set_title(str(digit), fontsize=9)
            ax.axis("off")
    fig.suptitle("Digits from the training set (8×8 pixels, values in [0, 1])")
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## Measured: the variance of a mini-batch gradient
#
# Let us check the $\sigma^2/B$ law on the digits. Take a linear classifier, logits $z = xW$, with the
# softmax cross-entropy loss. Its gradient for one example has a closed form,
# $\nabla_W \ell_i = x_i^\top(\operatorname{softmax}(z_i) - y_i)$ with $y_i$ the one-hot label, so we can
# compute all 1,438 per-example gradients at once, their mean (the full gradient) and their spread
# $\sigma^2$. Then we draw many batches from a shuffled `DataLoader` for each batch size $B$ and measure
# $\lVert \hat g_{\mathcal B} - \nabla L\rVert^2$ on average.

# %%
if __name__ == "__main__":
    with after_exercise("make_batches", "collate"):
        images, labels = digits_train.arrays
        weights = np.random.default_rng(0).normal(0.0, 0.1, size=(64, 10))
        logits = images @ weights
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        errors = probs - np.eye(10)[labels]  # softmax(z) - onehot(y)
        per_example = (images[:, :, None] * errors[:, None, :]).reshape(
            len(images), -1
        )
        full_gradient = per_example.mean(axis=0)
        sigma2 = ((per_example - full_gradient) ** 2).sum(axis=1).mean()
        # a dataset of per-example gradients: the mean of a batch of them is
        # that batch's gradient
        gradients = TensorDataset(per_example, labels)
        batch_sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
        measured = []
        for size in batch_sizes:
            loader = DataLoader(
                gradients,
                batch_size=size,
                shuffle=True,
                seed=1,
                drop_last=True,
            )
            errors2 = []
            while len(errors2) < 400:  # several epochs for the large batches
                errors2 += [
                    ((g.data.mean(axis=0) - full_gradient) ** 2).sum()
                    for g, _ in loader
                ]
            measured.append(np.mean(errors2))
        count = len(images)
        theory = [sigma2 / b * (count - b) / (count - 1) for b in batch_sizes]
        for size, m, t in zip(batch_sizes, measured, theory):
            print(f"B = {size:4d}: measured {m:.5f}   theory {t:.5f}")

        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        ax.loglog(batch_sizes, measured, "o", label="measured on digits")
        ax.loglog(
            batch_sizes,
            theory,
            "-",
            label=r"$\frac{\sigma^2}{B}\,\frac{N-B}{N-1}$",
        )
        ax.loglog(
            batch_sizes,
            [sigma2 / b for b in batch_sizes],
            ":",
            color="gray",
            label=r"$\sigma^2/B$",
        )
        ax.set_xlabel("batch size $B$")
        ax.set_ylabel(r"$E\,\|\hat g_B - \nabla L\|^2$")
        ax.set_title("Mini-batch gradient noise falls like 1/B")
        ax.legend()
        plt.tight_layout()
        plt.show()

# %% [markdown]
# On the log-log plot $1/B$ is a straight line of slope $-1$, and the measurements sit on it until the batch
# becomes a sizeable part of the data set, where drawing without replacement bends the curve down. A batch
# of 32 cuts the noise of a single example by a factor of about 32 for 32 times the work; going from 256 to
# 512 halves the noise again but doubles the cost of every step.

# %% [markdown]
# ## MNIST from its original files
#
# MNIST (70,000 handwritten digits of 28×28 pixels) is the classic next step. We do not download it: if
# you have the four files (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
# `t10k-labels-idx1-ubyte`, optionally gzipped as `.gz`), `load_mnist(folder)` reads them.
#
# They are in the **IDX format**, a tiny binary layout:
#
# | bytes | meaning |
# | --- | --- |
# | 0–1 | always zero (this is how you recognise an IDX file) |
# | 2 | the data type code: `0x08` uint8, `0x09` int8, `0x0B` int16, `0x0C` int32, `0x0D` float32, `0x0E` float64 |
# | 3 | the number of dimensions $d$ |
# | 4 … 4+4d | the $d$ sizes, each a 4-byte big-endian unsigned integer |
# | then | the values, row-major (C order), big-endian |
#
# Together the first four bytes are the *magic number*: `0x00000803` for the image files (uint8, three
# dimensions: count, rows, columns) and `0x00000801` for the label files.

# %% [markdown]
# ## Exercise 3: parse an IDX file (4 points)
#
# Write `parse_idx(raw)`: `raw` is the whole file as `bytes`. Return a NumPy array of the declared type
# (in native byte order) and shape. Check the input and raise `ValueError` with a message that says what is
# wrong when
#
# - `raw` is shorter than the 4-byte magic number, or its first two bytes are not zero ("bad magic number"),
# - the type code is not in `IDX_DTYPES`,
# - the file ends before the $d$ sizes do,
# - the number of data bytes is not (product of the sizes) × (bytes per value).
#
# Useful: `int.from_bytes(raw[4:8], "big")`, or `np.frombuffer(raw, dtype=">u4", count=d, offset=4)` for
# the sizes; `np.frombuffer(raw, dtype=IDX_DTYPES[code], offset=...)` for the values (the types in
# `IDX_DTYPES` are big-endian; `.astype(dtype.newbyteorder("="))` converts them to native order and copies).

# %%
#| export
IDX_DTYPES = {
    0x08: np.dtype(">u1"),  # unsigned byte
    0x09: np.dtype(">i1"),  # signed byte
    0x0B: np.dtype(">i2"),  # short
    0x0C: np.dtype(">i4"),  # int
    0x0D: np.dtype(">f4"),  # float
    0x0E: np.dtype(">f8"),  # double
}


# %% nbgrader={"grade": false, "grade_id": "parse-idx", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def parse_idx(raw):
    """The array stored in the bytes of an IDX file; ValueError when the bytes
    are not a valid IDX file."""
    ### BEGIN SOLUTION
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"bad magic number {raw[:4].hex() or '(empty)'}: an IDX file "
            "starts with two zero bytes"
        )
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(
            f"unknown IDX data type code 0x{code:02X}; known codes: {known}"
        )
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(
            f"IDX header truncated: {ndim} dimensions need {header_size} "
            f"bytes, file has {len(raw)}"
        )
    shape = tuple(
        int(size)
        for size in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4)
    )
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header_size
    if found != expected:
        raise ValueError(
            f"IDX size mismatch: shape {shape} of {dtype.name} needs "
            f"{expected} data bytes, "
            f"the file has {found}"
        )
    values = np.frombuffer(raw, dtype=dtype, offset=header_size)
    return values.reshape(shape).astype(dtype.newbyteorder("="))
    ### END SOLUTION


# %%
#| export
def read_idx(path):
    """The array in an IDX file (plain or gzip-compressed); ValueError when the
    file is not valid IDX."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":  # the gzip signature: decompress first
        raw = gzip.decompress(raw)
    try:
        return parse_idx(raw)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _find_mnist_file(folder, stem):
    """`stem`, `stem.gz`, or the `train-images.idx3-ubyte` spelling some
    mirrors use."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def load_mnist(folder, dtype=np.float32):
    """MNIST from the four IDX files in `folder` as (train, test)
    TensorDatasets.

    Inputs are flattened to 784 pixels scaled to [0, 1] (float32 by default:
    60,000 float64 images would take 376 MB); labels are int64. Nothing is
    downloaded.
    """
    folder = Path(folder)
    paths = {
        key: _find_mnist_file(folder, stem)
        for key, stem in MNIST_FILES.items()
    }
    missing = [MNIST_FILES[key] for key, path in paths.items() if path is None]
    if missing:
        raise FileNotFoundError(
            f"{folder} is missing the MNIST file(s) {', '.join(missing)} "
            "(plain or .gz); this function does not download them"
        )
    datasets = []
    for part in ("train", "test"):
        images = read_idx(paths[f"{part}_images"])
        labels = read_idx(paths[f"{part}_labels"])
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"MNIST {part} files do not match: images {images.shape}, "
                f"labels {labels.shape}"
            )
        inputs = images.reshape(len(images), -1).astype(dtype) / dtype(255)
        datasets.append(TensorDataset(inputs, labels.astype(np.int64)))
    return tuple(datasets)


# %% nbgrader={"grade": true, "grade_id": "test-parse-idx", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_unit_parse_idx():
    print("🔬 Unit Test: parse_idx...")
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = (
        bytes([0, 0, 0x08, 3])
        + (2).to_bytes(4, "big")
        + (3).to_bytes(4, "big")
        + (4).to_bytes(4, "big")
    )
    parsed = parse_idx(raw + images.tobytes())
    assert parsed.dtype == np.uint8 and parsed.shape == (2, 3, 4), (
        parsed.dtype,
        parsed.shape,
    )
    assert np.array_equal(parsed, images)
    print("✅ uint8 images of shape (2, 3, 4)")
    values = np.array([1.5, -2.0, 3.25], dtype=">f4")
    parsed = parse_idx(
        bytes([0, 0, 0x0D, 1]) + (3).to_bytes(4, "big") + values.tobytes()
    )
    assert parsed.dtype == np.float32 and parsed.tolist() == [1.5, -2.0, 3.25]
    print("✅ big-endian float32 values")
    for bad in (
        b"\x01\x00\x08\x01" + bytes(4),
        b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + bytes(3),
    ):
        try:
            parse_idx(bad)
        except ValueError as error:
            print(f"✅ rejected: {error}")
        else:
            raise AssertionError(
                "parse_idx should raise ValueError for a bad magic number or "
                "a short file"
            )
    ### BEGIN HIDDEN TESTS
    ints = np.array([[-1, 2], [300000, -4]], dtype=">i4")
    parsed = parse_idx(
        bytes([0, 0, 0x0C, 2]) + (2).to_bytes(4, "big") * 2 + ints.tobytes()
    )
    assert parsed.dtype == np.int32 and parsed.tolist() == [
        [-1, 2],
        [300000, -4],
    ]
    assert parsed.dtype.byteorder in ("=", "|") or parsed.dtype.isnative
    for bad in (
        b"",
        b"\x00\x00",
        bytes([0, 0, 0x07, 1]) + bytes(5),
        bytes([0, 0, 0x08, 2]) + bytes(4),
        bytes([0, 0, 0x08, 1]) + (2).to_bytes(4, "big") + bytes(3),
    ):
        try:
            parse_idx(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"parse_idx accepted invalid bytes {bad!r}")
    ### END HIDDEN TESTS
    print("📈 Progress: parse_idx ✓")


if __name__ == "__main__":
    test_unit_parse_idx()

# %% [markdown]
# ## What you built
#
# - `Dataset` / `TensorDataset`: examples you can count and index.
# - `DataLoader`: epochs of shuffled (reproducibly, by `seed` and epoch), stacked mini-batches of Tensors,
#   `len(loader)` batches each; `for inputs, targets in loader` or `batch.inputs` / `batch.targets`.
# - `load_digits()`: real data, offline, split by class; `read_idx` / `load_mnist` for MNIST files you have.
# - The reason mini-batches work: an unbiased gradient estimate whose variance falls like $1/B$.
#
# Next, module 08 stacks layers into networks, and module 09 builds the optimizers that take these noisy
# gradient steps.
