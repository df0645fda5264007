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
# # Module 10: Training
#
# You have every part: tensors, autograd, layers, losses, a data loader, networks and optimizers. This
# module puts them in a loop and makes that loop trustworthy. You will build a `Trainer` that
#
# - runs epochs of mini-batch steps and records what happened (loss and accuracy per epoch),
# - measures the model on data it does not train on (validation), under `no_grad`,
# - stops early when the validation loss stops improving,
# - stops *loudly* when the loss becomes NaN or infinite, instead of training on garbage,
# - saves and restores checkpoints so a run can continue exactly where it stopped.
#
# ```python
# optimizer = Adam(model.parameters(), learning_rate=0.01)
# trainer = Trainer(model, CrossEntropyLoss(), optimizer)
# history = trainer.fit(train_loader, epochs=20, val_loader=val_loader)
# trainer.evaluate(test_loader)          # {"loss": ..., "accuracy": ...}
# trainer.save_checkpoint("digits.pkl")
# ```

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
# tito module start training        # your edition: exercises are stubs
# ```
#
# Then write the exercises, in order, in
# `modules/source/10_training/training_dev.py` (or in its paired notebook,
# `training_dev.ipynb`, in Jupyter); the test cell after each exercise
# checks it. Export your code into `tinytorch` and test it:
#
# ```bash
# tito export --module training && tito test --module training
# tito module status                # where you are in every module
# ```
#
# `tito module reset training` brings the reference solution back (it keeps
# your files as `.bak-<time>` copies).

# %%
#| bootstrap
# Makes `tinytorch` importable. Locally and on Binder it is installed already;
# the student notebooks that open on Colab install it here first.
import tinytorch

# %%
#| default_exp core.training
#| export
import copy
import hashlib
import io
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.optimizers import ReduceLROnPlateau, _context
from tinytorch.core.tensor import Tensor

# %%
from tinytorch.core.setup import after_exercise

# %% [markdown]
# ## The training loop
#
# Training minimises the average loss over the training set, $L(\theta) = \frac1N\sum_i \ell(f_\theta(x_i), y_i)$,
# by taking small steps against noisy mini-batch gradients (module 07 showed they are unbiased). One step on
# a batch $\mathcal B$ is always the same five lines:
#
# 1. **forward**: logits $z = f_\theta(x_{\mathcal B})$,
# 2. **loss**: $\hat L = \frac{1}{B}\sum_{i\in\mathcal B} \ell(z_i, y_i)$,
# 3. **clear** the old gradients (`backward` *adds* into `.grad`),
# 4. **backward**: $\nabla_\theta \hat L$ into every parameter's `.grad`,
# 5. **step**: the optimizer updates $\theta$, e.g. $\theta \leftarrow \theta - \eta\,\nabla_\theta \hat L$.
#
# An *epoch* runs that step on every batch of the loader once. After each epoch we record the mean training
# loss and accuracy, evaluate on validation data, and let a learning-rate scheduler take its step.
#
# ## Measuring: accuracy
#
# The loss is what we optimise; accuracy is what we care about for a classifier. The predicted class is the
# largest logit, $\hat y_i = \arg\max_c z_{ic}$ (softmax does not change which one is largest), and
#
# $$\text{accuracy} = \frac{1}{N}\sum_{i=1}^N [\hat y_i = y_i].$$

# %% [markdown]
# ## Exercise 1: accuracy (2 points)
#
# Write `accuracy(logits, labels)`: the fraction of rows of `logits` (shape `(N, C)`) whose largest entry is
# at the index given by `labels` (shape `(N,)`), as a Python `float`. Both may arrive as `Tensor`s (and
# `Variable`s, which are `Tensor`s) or as NumPy arrays: `_numpy` below returns the NumPy data either way.
# The checks on the shapes are written for you.


# %%
#| export
def _numpy(value):
    """The NumPy array behind a Tensor/Variable, or the value as an array."""
    return value.data if isinstance(value, Tensor) else np.asarray(value)


# %% nbgrader={"grade": false, "grade_id": "accuracy", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def accuracy(logits, labels):
    """Fraction of rows whose largest logit is at the labelled class (a float
    in [0, 1])."""
    logits, labels = _numpy(logits), _numpy(labels)
    if (
        logits.ndim != 2
        or labels.shape != (logits.shape[0],)
        or logits.shape[0] == 0
    ):
        raise ValueError(
            "accuracy needs logits of shape (N, C) with N >= 1 and labels of "
            "shape (N,); "
            f"got logits {logits.shape} and labels {labels.shape}"
        )
    ### BEGIN SOLUTION
    predictions = logits.argmax(axis=1)
    return float(np.mean(predictions == labels))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-accuracy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unit_accuracy():
    print("🔬 Unit Test: accuracy...")
    logits = np.array(
        [[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 5.0], [4.0, 0.0, 0.0]]
    )
    assert accuracy(logits, np.array([0, 1, 2, 0])) == 1.0
    assert accuracy(logits, np.array([0, 1, 2, 2])) == 0.75
    print("✅ 3 of 4 right gives 0.75")
    value = accuracy(Tensor(logits), Tensor(np.array([1, 0, 0, 1])))
    assert value == 0.0 and isinstance(value, float)
    print("✅ works on Tensors and returns a float")
    ### BEGIN HIDDEN TESTS
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 7))
    labels = rng.integers(0, 7, size=50)
    expected = (
        sum(int(np.argmax(row) == label) for row, label in zip(logits, labels))
        / 50
    )
    assert abs(accuracy(logits, labels) - expected) < 1e-12
    for bad_logits, bad_labels in (
        (logits, labels[:10]),
        (logits[0], labels[:1]),
        (logits[:0], labels[:0]),
    ):
        try:
            accuracy(bad_logits, bad_labels)
        except ValueError:
            pass
        else:
            raise AssertionError("accuracy should reject mismatched shapes")
    ### END HIDDEN TESTS
    print("📈 Progress: accuracy ✓")


if __name__ == "__main__":
    test_unit_accuracy()


# %%
#| export
def _batch_accuracy(logits, targets):
    """accuracy() for class labels; NaN for other targets (a regression has no
    accuracy)."""
    targets = _numpy(targets)
    if (
        not np.issubdtype(targets.dtype, np.integer)
        or targets.ndim != 1
        or _numpy(logits).ndim != 2
    ):
        return float("nan")
    return accuracy(logits, targets)


# %% [markdown]
# ## When the loss becomes NaN
#
# With a learning rate that is too large the weights grow with every step, the logits overflow, and the loss
# becomes `inf` and then `nan` ("not a number"). NaN is contagious: `nan * 0` is `nan`, so one NaN gradient
# turns every weight it touches into NaN, and from then on the model predicts nonsense while the loop happily
# continues. Hours of compute go into a dead model.
#
# The cure is cheap: check the loss of every batch *before* the backward pass and stop with a clear message
# when it is not finite. Stopping before `backward()` and `step()` also means the weights are left exactly
# as they were after the last good step, so you can inspect them. `NonFiniteLossError` is a
# `FloatingPointError` (Python's own category for this) that says where it happened and what to try.


# %%
#| export
class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; training stopped before that batch
    changed any parameter."""

    def __init__(self, loss, epoch, batch, learning_rate=None):
        self.loss, self.epoch, self.batch, self.learning_rate = (
            loss,
            epoch,
            batch,
            learning_rate,
        )
        hint = "the learning rate is probably too large"
        if learning_rate is not None:
            hint += f" (it is {learning_rate:g}; try {learning_rate / 10:g})"
        super().__init__(
            f"the loss is {loss} at epoch {epoch}, batch {batch}: {hint}. "
            "Also check the inputs "
            "for NaN/inf. Training stopped before this batch changed the "
            "parameters."
        )


# %% [markdown]
# ## Overfitting and validation
#
# The training loss measures how well the model fits the examples it *learns from*. A network with enough
# parameters can drive it towards zero by memorising them, noise included, and then do worse on new
# examples. That is **overfitting**, and the training loss cannot see it.
#
# So we hold out part of the training data as a **validation set**: the model never trains on it, and its
# loss estimates the loss on new data. The typical picture over epochs: both losses fall at first; later the
# training loss keeps falling while the validation loss flattens and turns up. The gap between them is the
# *generalisation gap*.
#
# The **test set** is different again: we look at it once, at the end. If we chose the number of epochs or the
# learning rate by looking at test accuracy, the test set would have become a validation set and its
# accuracy would flatter the model.
#
# ## Early stopping
#
# The simplest defence against overfitting: watch the validation loss and stop when it has not improved for
# `patience` epochs, then go back to the weights of the best epoch. An improvement has to beat the best loss so
# far by more than `min_delta`, so that noise in the last decimal places does not count.
#
# $$\text{improved at epoch } t \iff L^{\text{val}}_t < L^{\text{val}}_{\text{best}} - \delta .$$

# %% [markdown]
# ## Exercise 2: early stopping (3 points)
#
# Complete `EarlyStopping.update(val_loss)`. It is called once per epoch with that epoch's validation loss
# and returns `True` when training should stop. Keep `self.best` (the best loss so far, `inf` at the start),
# `self.best_epoch` (the number of `update` calls, counting from 1, at which `best` was set) and
# `self.bad_epochs` (how many epochs in a row have not improved). Stop when `bad_epochs` reaches `patience`.
# An improvement is a loss below `best - min_delta`; it resets `bad_epochs` to 0.
# Also set `self.improved` to whether this call improved, so the trainer knows when to save the weights.


# %% nbgrader={"grade": false, "grade_id": "early-stopping", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class EarlyStopping:
    """Stop when the validation loss has not improved by more than `min_delta`
    for `patience` epochs."""

    def __init__(self, patience=5, min_delta=0.0):
        if (
            isinstance(patience, bool)
            or not isinstance(patience, (int, np.integer))
            or patience < 1
        ):
            raise ValueError(
                "patience must be a positive integer (epochs), got "
                f"{patience!r}"
            )
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        self.patience, self.min_delta = int(patience), float(min_delta)
        self.best, self.best_epoch, self.bad_epochs, self.epochs_seen = (
            float("inf"),
            0,
            0,
            0,
        )
        self.improved = False

    def update(self, val_loss):
        """Record one epoch's validation loss; True: training must stop."""
        self.epochs_seen += 1
        ### BEGIN SOLUTION
        self.improved = val_loss < self.best - self.min_delta
        if self.improved:
            self.best, self.best_epoch, self.bad_epochs = (
                val_loss,
                self.epochs_seen,
                0,
            )
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-early-stopping", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_unit_early_stopping():
    print("🔬 Unit Test: EarlyStopping...")
    stopper = EarlyStopping(patience=2)
    decisions = [
        stopper.update(loss) for loss in [1.0, 0.8, 0.9, 0.7, 0.75, 0.71]
    ]
    assert decisions == [False, False, False, False, False, True], decisions
    assert stopper.best == 0.7 and stopper.best_epoch == 4
    print(
        "✅ patience 2: stops after two epochs without a new best (best 0.7 at "
        "epoch 4)"
    )
    stopper = EarlyStopping(patience=1, min_delta=0.1)
    assert stopper.update(1.0) is False and stopper.improved
    assert stopper.update(0.95) is True and not stopper.improved
    print("✅ an improvement smaller than min_delta does not count")
    ### BEGIN HIDDEN TESTS
    stopper = EarlyStopping(patience=3)
    for loss in [5.0, 4.0, 3.0, 2.0]:
        assert stopper.update(loss) is False and stopper.improved
    assert (stopper.best, stopper.best_epoch, stopper.bad_epochs) == (
        2.0,
        4,
        0,
    )
    assert [stopper.update(2.0) for _ in range(3)] == [
        False,
        False,
        True,
    ]  # equal is not better
    stopper = EarlyStopping(patience=2)
    assert stopper.update(float("nan")) is False and stopper.best == float(
        "inf"
    )
    ### END HIDDEN TESTS
    print("📈 Progress: EarlyStopping ✓")


if __name__ == "__main__":
    test_unit_early_stopping()

# %% [markdown]
# ## Checkpoints
#
# A checkpoint is everything needed to continue a run as if it had never stopped:
#
# - the **parameters** of the model (a list of arrays, in `model.parameters()` order),
# - the **optimizer state** (`optimizer.state_dict()`: momentum buffers, Adam's moments and step counts, the
#   learning rate of each group); without it, Adam would restart with zero moments and take a different path,
# - the **scheduler state**, the **epoch** count and the **history** so far.
#
# The data order matters as well: `Trainer.fit` tells a shuffling `DataLoader` which epoch it is on
# (`loader.set_epoch`), and module 07's loader derives its order from the seed and the epoch, so a resumed
# run sees the same batches. Together, a resumed run reproduces the uninterrupted one bit for bit.
#
# Three safety rules. A checkpoint is never written over an existing file unless you say `overwrite=True`
# (yesterday's good model is not lost to a typo). Every save first writes a temporary file next to the
# target, forces it to disk and then renames it into place, so a crash or a kill half-way leaves the
# previous checkpoint (or none), never half of one. A load checks the whole file against the trainer
# (parameter shapes and dtypes, the kind of optimizer and scheduler, the epoch) before it changes
# anything, and its errors name the file. The file is a SHA-256 checksum (a damaged file is caught) and a
# Python pickle; loading only accepts plain Python values and NumPy arrays, so a checkpoint cannot smuggle
# in code to run.


# %%
#| export
class _ForeignObjectError(pickle.UnpicklingError):
    """A checkpoint asked to build something other than plain values and
    arrays.
    """


class _CheckpointUnpickler(pickle.Unpickler):
    """Unpickles plain Python values and NumPy arrays only: loading a
    checkpoint runs no foreign code."""

    _ALLOWED = {"_reconstruct", "ndarray", "dtype", "scalar", "_frombuffer"}

    def find_class(self, module, name):
        if module.split(".")[0] == "numpy" and name in self._ALLOWED:
            return super().find_class(module, name)
        raise _ForeignObjectError(
            "a checkpoint may only hold numbers and arrays, not "
            f"{module}.{name}"
        )


def _write_atomically(path, payload, overwrite):
    """Write bytes to `path` in one piece: refuse an existing file unless
    `overwrite`.

    The bytes go to a temporary file in the same folder (a rename is atomic
    only within one file system), are flushed and fsynced to disk, and only
    then renamed over `path`. A save killed at any moment leaves the previous
    file (or none) at `path`, never a partial one.
    """
    path = Path(path)
    exists_message = f"{path} exists; pass overwrite=True to replace it"
    if not overwrite and path.exists():
        raise FileExistsError(exists_message)
    handle, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())  # on disk before the name points at it
        if not overwrite and path.exists():  # appeared while we wrote
            raise FileExistsError(exists_message)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# A checkpoint file: this tag, the SHA-256 of the pickle, then the pickle. The
# checksum catches a truncated or damaged file even where the damage would
# still unpickle (inside an array's bytes).
_CHECKSUMMED = b"tinytorch-checkpoint sha256\n"


def _checkpoint_bytes(state):
    payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    return _CHECKSUMMED + hashlib.sha256(payload).digest() + payload


def _read_checkpoint(path):
    """The dict a checkpoint file holds; a truncated or corrupted file is
    named in the error.
    """
    payload = Path(path).read_bytes()
    if payload.startswith(_CHECKSUMMED):  # files without it: older saves
        digest = payload[len(_CHECKSUMMED) : len(_CHECKSUMMED) + 32]
        payload = payload[len(_CHECKSUMMED) + 32 :]
        if hashlib.sha256(payload).digest() != digest:
            raise ValueError(
                f"{path} is truncated or corrupted: its checksum does not "
                f"match its contents"
            )
    try:
        state = _CheckpointUnpickler(io.BytesIO(payload)).load()
    except _ForeignObjectError as error:
        raise pickle.UnpicklingError(f"{path}: {error}") from None
    except Exception as error:  # what a damaged pickle raises varies
        raise ValueError(
            f"{path} is truncated or corrupted, not a readable TinyTorch "
            f"checkpoint ({type(error).__name__}: {error})"
        ) from error
    if (
        not isinstance(state, dict)
        or state.get("format") != "tinytorch-checkpoint-1"
    ):
        raise ValueError(f"{path} is not a TinyTorch checkpoint")
    missing = [key for key in _CHECKPOINT_KEYS if key not in state]
    if missing:
        raise ValueError(f"{path} has no {missing[0]!r} entry")
    return state


_CHECKPOINT_KEYS = (
    "parameters",
    "optimizer",
    "scheduler",
    "epoch",
    "history",
)


def _check_parameters(saved, parameters):
    """ValueError unless the saved arrays match the model's parameters:
    count, shapes, dtypes.
    """
    if not isinstance(saved, list) or len(saved) != len(parameters):
        count = len(saved) if isinstance(saved, list) else repr(saved)
        raise ValueError(
            f"the checkpoint holds {count} parameters, the model "
            f"{len(parameters)}"
        )
    shapes = [np.shape(array) for array in saved]
    if shapes != [p.data.shape for p in parameters]:
        raise ValueError(
            f"the checkpoint holds parameters of shapes {shapes}, but the "
            f"model has {[p.data.shape for p in parameters]}"
        )
    for i, (array, p) in enumerate(zip(saved, parameters)):
        if np.asarray(array).dtype != p.data.dtype:
            raise ValueError(
                f"parameter {i} is {np.asarray(array).dtype} in the "
                f"checkpoint but {p.data.dtype} in the model"
            )


def _check_progress(epoch, history):
    if (
        isinstance(epoch, bool)
        or not isinstance(epoch, (int, np.integer))
        or epoch < 0
    ):
        raise ValueError(
            f"the checkpoint's epoch must be an integer >= 0, got {epoch!r}"
        )
    if not isinstance(history, dict) or not all(
        isinstance(values, list) for values in history.values()
    ):
        raise ValueError(
            "the checkpoint's history must be a dict of per-epoch lists"
        )


# %% [markdown]
# ## The Trainer
#
# Most of the `Trainer` is bookkeeping, written for you: looping over epochs and batches, averaging, the
# history, validation, early stopping and checkpoints. The heart of it, one step on one batch, is yours.
#
# `fit(train_loader, epochs, val_loader=None, early_stopping=None)` runs `epochs` *more* epochs (after a
# `load_checkpoint` it continues the count) and returns `history`, a dictionary of lists with one entry per
# epoch: `"epoch"`, `"train_loss"`, `"train_accuracy"`, `"lr"`, and with a validation loader `"val_loss"`
# and `"val_accuracy"`. The training loss and accuracy of an epoch are averaged over its batches *as they
# were trained* (weighted by batch size), so they lag slightly behind the model at the end of the epoch.
# Accuracy is NaN when the targets are not class labels (a regression has none).
#
# The scheduler (if any) takes one step per epoch, after it; a `ReduceLROnPlateau`-style scheduler (one
# whose `step` takes a metric) gets the validation loss, or the training loss without validation data.

# %% [markdown]
# ## Exercise 3: one training step (4 points)
#
# Write the body of `Trainer.train_step(inputs, targets, epoch, batch)`: the five steps of the training loop
# above, plus the safety check. In order:
#
# 1. `logits = self.model(inputs)`, then `loss = self.loss_fn(logits, targets)`;
# 2. `self.check_finite(loss, epoch, batch)`: raises `NonFiniteLossError` *before* anything changes;
# 3. `self.optimizer.zero_grad()`, `loss.backward()`, `self.optimizer.step()`;
# 4. return the loss as a Python `float` and the logits: `return float(loss.data), logits`.


# %% nbgrader={"grade": false, "grade_id": "trainer", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Trainer:
    """Train a model with a loss function and an optimizer (and optionally a
    learning-rate scheduler).

    trainer = Trainer(model, CrossEntropyLoss(), SGD(model.parameters(),
    learning_rate=0.1)) history = trainer.fit(train_loader, epochs=10,
    val_loader=val_loader)
    """

    def __init__(self, model, loss_fn, optimizer, scheduler=None):
        if not callable(getattr(model, "parameters", None)):
            raise TypeError(
                "model must have a parameters() method (a Module), got "
                f"{type(model).__name__}"
            )
        for name in ("zero_grad", "step"):
            if not callable(getattr(optimizer, name, None)):
                raise TypeError(
                    "optimizer must have zero_grad() and step(), got "
                    f"{type(optimizer).__name__}"
                )
        self.model, self.loss_fn, self.optimizer, self.scheduler = (
            model,
            loss_fn,
            optimizer,
            scheduler,
        )
        self.epoch = 0  # epochs completed so far
        self.history = {
            "epoch": [],
            "train_loss": [],
            "train_accuracy": [],
            "lr": [],
        }

    def learning_rate(self):
        """The first parameter group's learning rate, if the optimizer has
        groups."""
        groups = getattr(self.optimizer, "param_groups", None)
        return groups[0].get("lr") if groups else None

    def check_finite(self, loss, epoch=None, batch=None):
        """Raise NonFiniteLossError if the loss is NaN or infinite."""
        value = _numpy(loss)
        if not np.all(np.isfinite(value)):
            raise NonFiniteLossError(
                float(np.asarray(value).reshape(-1)[0]),
                epoch,
                batch,
                self.learning_rate(),
            )

    def train_step(self, inputs, targets, epoch=None, batch=None):
        """One optimisation step on one batch; returns (loss as a float,
        logits)."""
        ### BEGIN SOLUTION
        logits = self.model(inputs)
        loss = self.loss_fn(logits, targets)
        self.check_finite(loss, epoch, batch)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return float(loss.data), logits
        ### END SOLUTION

    def train_epoch(self, loader):
        """One pass over `loader`; returns (mean loss, accuracy) over the
        batches as they were trained."""
        epoch = self.epoch + 1  # counted from 1 in messages and the history
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(
                self.epoch
            )  # the shuffled order depends on the epoch: resumable
        total_loss, total_correct, count = 0.0, 0.0, 0
        for batch, (inputs, targets) in enumerate(loader, start=1):
            loss, logits = self.train_step(inputs, targets, epoch, batch)
            size = len(_numpy(targets))
            total_loss += loss * size
            total_correct += _batch_accuracy(logits, targets) * size
            count += size
        if count == 0:
            raise ValueError(
                "the training loader produced no batches (empty dataset, or "
                "drop_last with a "
                "batch_size larger than the dataset)"
            )
        return total_loss / count, total_correct / count

    def evaluate(self, loader):
        """{"loss", "accuracy"} of the model on every example of `loader`,
        without building a graph."""
        total_loss, total_correct, count = 0.0, 0.0, 0
        with no_grad():
            for inputs, targets in loader:
                logits = self.model(inputs)
                size = len(_numpy(targets))
                total_loss += (
                    float(_numpy(self.loss_fn(logits, targets))) * size
                )
                total_correct += _batch_accuracy(logits, targets) * size
                count += size
        if count == 0:
            raise ValueError(
                "the loader produced no batches: there is nothing to evaluate"
            )
        return {"loss": total_loss / count, "accuracy": total_correct / count}

    def fit(
        self,
        train_loader,
        epochs,
        val_loader=None,
        early_stopping=None,
        verbose=False,
    ):
        """Train for `epochs` more epochs; returns the history (a dict of
        per-epoch lists)."""
        if (
            isinstance(epochs, bool)
            or not isinstance(epochs, (int, np.integer))
            or epochs < 1
        ):
            raise ValueError(
                f"epochs must be a positive integer, got {epochs!r}"
            )
        if early_stopping is not None and val_loader is None:
            raise ValueError(
                "early_stopping watches the validation loss: pass val_loader "
                "as well"
            )
        best_parameters = None
        for _ in range(epochs):
            lr = self.learning_rate()
            train_loss, train_accuracy = self.train_epoch(train_loader)
            self.epoch += 1
            record = {
                "epoch": self.epoch,
                "train_loss": train_loss,
                "train_accuracy": train_accuracy,
                "lr": lr,
            }
            if val_loader is not None:
                scores = self.evaluate(val_loader)
                record.update(
                    val_loss=scores["loss"], val_accuracy=scores["accuracy"]
                )
            for key, value in record.items():
                self.history.setdefault(key, []).append(value)
            if verbose:
                print(
                    "  ".join(
                        f"{key} {value:.4g}"
                        for key, value in record.items()
                        if value is not None
                    )
                )
            self._scheduler_step(record.get("val_loss", train_loss))
            if early_stopping is not None:
                stop = early_stopping.update(record["val_loss"])
                if early_stopping.improved:
                    best_parameters = [
                        p.data.copy() for p in self.model.parameters()
                    ]
                if stop:
                    if (
                        best_parameters is not None
                    ):  # go back to the best epoch's weights
                        for parameter, best in zip(
                            self.model.parameters(), best_parameters
                        ):
                            parameter.data = best
                    if verbose:
                        print(
                            "early stopping: best validation loss "
                            f"{early_stopping.best:.4g} "
                            "at epoch "
                            f"{self.epoch - early_stopping.bad_epochs}"
                        )
                    break
        return self.history

    def _scheduler_step(self, metric):
        if self.scheduler is None:
            return
        if isinstance(
            self.scheduler, ReduceLROnPlateau
        ):  # it needs to know how training goes
            self.scheduler.step(metric)
        else:
            self.scheduler.step()

    # --- checkpoints ---------------------------------------------------------
    def save_checkpoint(self, path, overwrite=False):
        """Save parameters, optimizer/scheduler state, epoch and history to
        `path` (a checksummed pickle file).

        The file appears at `path` complete or not at all (see
        `_write_atomically`).
        """
        state = {
            "format": "tinytorch-checkpoint-1",
            "parameters": [p.data.copy() for p in self.model.parameters()],
            "optimizer": _state_of(self.optimizer),
            "scheduler": _state_of(self.scheduler),
            "epoch": self.epoch,
            "history": self.history,
        }
        _write_atomically(path, _checkpoint_bytes(state), overwrite)

    def load_checkpoint(self, path):
        """Restore what save_checkpoint wrote, into this trainer's model,
        optimizer and scheduler.

        The checkpoint is checked against the trainer before anything changes:
        a refused load leaves the model, optimizer, scheduler, epoch and
        history as they were, and its error names the file.
        """
        state = _read_checkpoint(path)
        parameters = list(self.model.parameters())
        with _context(path):  # errors start with the file's name
            _check_parameters(state["parameters"], parameters)
            _check_progress(state["epoch"], state["history"])
            self._load_optimizer_and_scheduler(state)
        # nothing below can fail: every check has passed
        for parameter, array in zip(parameters, state["parameters"]):
            parameter.data = np.array(array, dtype=parameter.data.dtype)
            parameter.grad = None
        self.epoch = int(state["epoch"])
        self.history = copy.deepcopy(state["history"])

    def _load_optimizer_and_scheduler(self, state):
        """Load both states or neither: each checks its own state, and a
        refused scheduler state puts the optimizer back.
        """
        for name in ("optimizer", "scheduler"):
            live = _state_of(getattr(self, name))
            if (state[name] is None) != (live is None):
                has, lacks = (
                    ("the checkpoint", "this trainer")
                    if live is None
                    else ("this trainer", "the checkpoint")
                )
                raise ValueError(
                    f"{has} has a {name} state and {lacks} has none: "
                    f"resume with the same kind of {name}"
                )
        before = _state_of(self.optimizer)
        if before is not None:
            self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))
        try:
            if state["scheduler"] is not None:
                self.scheduler.load_state_dict(
                    copy.deepcopy(state["scheduler"])
                )
        except BaseException:
            if before is not None:
                self.optimizer.load_state_dict(before)
            raise


def _state_of(component):
    """An optimizer's or scheduler's `state_dict()`, or None if it has none
    (or is None).
    """
    return component.state_dict() if hasattr(component, "state_dict") else None


# %% nbgrader={"grade": true, "grade_id": "test-train-step", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
class _PlainGradientDescent:
    """θ ← θ − η∇L: the smallest optimizer, so this test checks the Trainer and
    nothing else."""

    def __init__(self, parameters, learning_rate):
        self.parameters, self.param_groups = (
            list(parameters),
            [{"lr": learning_rate}],
        )

    def zero_grad(self):
        for parameter in self.parameters:
            parameter.grad = None

    def step(self):
        for parameter in self.parameters:
            parameter.data = (
                parameter.data
                - self.param_groups[0]["lr"] * parameter.grad.data
            )


def _softmax_regression_step(weight, bias, inputs, labels, learning_rate):
    """One gradient-descent step of softmax regression, written out: returns
    (loss, new weight, new bias)."""
    logits = inputs @ weight + bias
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(len(labels)), labels]).mean()
    error = (probs - np.eye(weight.shape[1])[labels]) / len(
        labels
    )  # dL/dlogits
    return (
        loss,
        weight - learning_rate * inputs.T @ error,
        bias - learning_rate * error.sum(axis=0),
    )


def test_unit_train_step():
    from tinytorch.core.layers import Dense
    from tinytorch.core.losses import CrossEntropyLoss

    print("🔬 Unit Test: Trainer.train_step...")
    rng = np.random.default_rng(0)
    inputs, labels = rng.normal(size=(6, 3)), np.array([0, 1, 2, 1, 0, 2])
    model = Dense(3, 3, rng=1)
    weight, bias = model.weight.data.copy(), model.bias.data.copy()
    trainer = Trainer(
        model,
        CrossEntropyLoss(),
        _PlainGradientDescent(model.parameters(), 0.5),
    )
    for step in range(3):  # three steps: gradients must not pile up
        loss, logits = trainer.train_step(Tensor(inputs), Tensor(labels))
        expected_loss, weight, bias = _softmax_regression_step(
            weight, bias, inputs, labels, 0.5
        )
        assert isinstance(loss, float) and abs(loss - expected_loss) < 1e-12, (
            loss,
            expected_loss,
        )
        assert np.allclose(model.weight.data, weight, rtol=1e-12, atol=1e-14)
        assert np.allclose(model.bias.data, bias, rtol=1e-12, atol=1e-14)
    print(
        "✅ three steps match gradient descent on softmax regression written "
        "out"
    )
    poisoned = inputs.copy()
    poisoned[2, 1] = np.nan
    weight, bias = model.weight.data.copy(), model.bias.data.copy()
    try:
        trainer.train_step(Tensor(poisoned), Tensor(labels), epoch=4, batch=7)
    except NonFiniteLossError as error:
        assert (error.epoch, error.batch) == (
            4,
            7,
        ) and "epoch 4, batch 7" in str(error)
        print(f"✅ NaN stopped with: {error}")
    else:
        raise AssertionError(
            "a NaN loss must raise NonFiniteLossError before backward()"
        )
    assert np.array_equal(model.weight.data, weight) and np.array_equal(
        model.bias.data, bias
    )
    print("✅ the weights are untouched by the bad batch")
    ### BEGIN HIDDEN TESTS
    assert isinstance(logits.data, np.ndarray) and logits.shape == (6, 3)
    for parameter in model.parameters():
        assert parameter.grad is None or np.all(
            np.isfinite(parameter.grad.data)
        )
    model = Dense(3, 3, rng=2)
    weight, bias = model.weight.data.copy(), model.bias.data.copy()
    trainer = Trainer(
        model,
        CrossEntropyLoss(),
        _PlainGradientDescent(model.parameters(), 0.1),
    )
    loss, _ = trainer.train_step(inputs[:4], labels[:4])
    expected_loss, weight, bias = _softmax_regression_step(
        weight, bias, inputs[:4], labels[:4], 0.1
    )
    assert abs(loss - expected_loss) < 1e-12 and np.allclose(
        model.weight.data, weight, rtol=1e-12
    )
    ### END HIDDEN TESTS
    print("📈 Progress: Trainer.train_step ✓")


if __name__ == "__main__":
    test_unit_train_step()

# %% [markdown]
# ## Training on the digits
#
# Time to use it. We split module 07's digits training set once more: 80% to train on, 20% for validation
# (stratified, seeded). The test set stays untouched until the very end.
#
# The model is a two-layer network, $64 \to 64 \to 10$, trained with SGD with momentum (module 09) and a
# `StepLR` schedule that halves the learning rate every 10 epochs. Thirty epochs take a second or two.

# %%
if __name__ == "__main__":
    from tinytorch.core.activations import ReLU
    from tinytorch.core.dataloader import (
        DataLoader,
        TensorDataset,
        load_digits,
        stratified_split,
    )
    from tinytorch.core.layers import Dense
    from tinytorch.core.losses import CrossEntropyLoss, MSELoss
    from tinytorch.core.networks import Sequential
    from tinytorch.core.optimizers import SGD, Adam, StepLR

    digits_train, digits_test = load_digits(test_fraction=0.2, seed=0)
    pixels, labels = digits_train.arrays
    fit_rows, val_rows = stratified_split(labels, test_fraction=0.2, seed=1)
    train_set = TensorDataset(pixels[fit_rows], labels[fit_rows])
    val_set = TensorDataset(pixels[val_rows], labels[val_rows])
    print(
        f"train {len(train_set)}, validation {len(val_set)}, test "
        f"{len(digits_test)} images"
    )

# %%
if __name__ == "__main__":
    with after_exercise("accuracy", "Trainer.train_step"):
        model = Sequential(
            [Dense(64, 64, rng=0), ReLU(), Dense(64, 10, rng=1)]
        )
        optimizer = SGD(model.parameters(), learning_rate=0.05, momentum=0.9)
        trainer = Trainer(
            model,
            CrossEntropyLoss(),
            optimizer,
            StepLR(optimizer, step_size=10, gamma=0.5),
        )
        history = trainer.fit(
            DataLoader(train_set, batch_size=32, shuffle=True, seed=0),
            epochs=30,
            val_loader=DataLoader(val_set, batch_size=256),
        )
        for epoch in (0, 4, 9, 19, 29):
            print(
                f"epoch {history['epoch'][epoch]:2d}  lr "
                f"{history['lr'][epoch]:.4f}  "
                f"train loss {history['train_loss'][epoch]:.3f}  acc "
                f"{history['train_accuracy'][epoch]:.3f}  |  "
                f"val loss {history['val_loss'][epoch]:.3f}  acc "
                f"{history['val_accuracy'][epoch]:.3f}"
            )
        final = trainer.evaluate(DataLoader(digits_test, batch_size=256))
        print(
            f"\ntest set, looked at once: loss {final['loss']:.3f}, accuracy "
            f"{final['accuracy']:.1%}"
        )

        import matplotlib.pyplot as plt

        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
        ax_loss.plot(history["epoch"], history["train_loss"], label="train")
        ax_loss.plot(history["epoch"], history["val_loss"], label="validation")
        ax_loss.set_yscale("log")
        ax_loss.set_xlabel("epoch")
        ax_loss.set_ylabel("cross-entropy loss")
        ax_loss.set_title("Loss")
        ax_acc.plot(history["epoch"], history["train_accuracy"], label="train")
        ax_acc.plot(
            history["epoch"], history["val_accuracy"], label="validation"
        )
        ax_acc.axhline(
            final["accuracy"],
            color="gray",
            linestyle=":",
            label="test (final model)",
        )
        ax_acc.set_ylim(0.8, 1.005)
        ax_acc.set_xlabel("epoch")
        ax_acc.set_ylabel("accuracy")
        ax_acc.set_title("Accuracy")
        for ax in (ax_loss, ax_acc):
            for boundary in (10, 20):
                ax.axvline(
                    boundary + 0.5, color="lightgray", linewidth=0.8
                )  # StepLR halves the rate here
            ax.legend()
        fig.suptitle(
            "64 → 64 → 10 network on the digits: SGD with momentum, StepLR"
        )
        plt.tight_layout()
        plt.show()

# %% [markdown]
# The training loss keeps falling for all thirty epochs; the validation loss flattens after about ten, and
# the validation accuracy with it. The learning-rate halvings (grey lines) give small extra drops. The test
# accuracy lands close to the validation accuracy: the validation set did its job of predicting it.

# %% [markdown]
# ## Watching a model overfit
#
# Overfitting is easy to provoke: give a big network few examples. Below, the same kind of network with 128
# hidden units trains on 115 images (about 11 per digit) with Adam for 150 epochs. The training loss falls
# towards zero: the network memorises its 115 images. The validation loss reaches its minimum early and
# then *rises*, while the validation accuracy barely moves. The rising loss means the model grows more
# confident in its wrong answers, a sign that it fits noise rather than digits.
#
# Then we train again from the same start with `EarlyStopping(patience=10)`: it stops ten epochs after the
# best validation loss and puts back the weights of that epoch.

# %%
if __name__ == "__main__":
    with after_exercise(
        "accuracy", "Trainer.train_step", "EarlyStopping.update"
    ):
        small_rows, _ = stratified_split(
            train_set.arrays[1], test_fraction=0.9, seed=2
        )
        small_set = TensorDataset(
            *(array[small_rows] for array in train_set.arrays)
        )

        def small_run(early_stopping=None, epochs=150):
            model = Sequential(
                [Dense(64, 128, rng=0), ReLU(), Dense(128, 10, rng=1)]
            )
            trainer = Trainer(
                model,
                CrossEntropyLoss(),
                Adam(model.parameters(), learning_rate=0.01),
            )
            trainer.fit(
                DataLoader(small_set, batch_size=16, shuffle=True, seed=0),
                epochs,
                val_loader=DataLoader(val_set, batch_size=512),
                early_stopping=early_stopping,
            )
            return trainer

        overfit = small_run()
        stopper = EarlyStopping(patience=10)
        stopped = small_run(stopper)
        print(f"{len(small_set)} training images")
        print(
            "150 epochs:     validation loss "
            f"{overfit.history['val_loss'][-1]:.3f}, "
            "accuracy "
            f"{overfit.evaluate(DataLoader(val_set, 512))['accuracy']:.1%}"
        )
        print(
            f"early stopping: stopped after epoch {stopped.epoch}, best epoch "
            f"{stopper.best_epoch}; "
            "validation loss "
            f"{stopped.evaluate(DataLoader(val_set, 512))['loss']:.3f}, "
            "accuracy "
            f"{stopped.evaluate(DataLoader(val_set, 512))['accuracy']:.1%}"
        )

        import matplotlib.pyplot as plt

        history = overfit.history
        fig, (ax_both, ax_val) = plt.subplots(1, 2, figsize=(11, 3.8))
        ax_both.semilogy(
            history["epoch"], history["train_loss"], label="train"
        )
        ax_both.semilogy(
            history["epoch"], history["val_loss"], label="validation"
        )
        ax_both.set_title("Train and validation loss (log scale)")
        ax_val.plot(
            history["epoch"],
            history["val_loss"],
            color="C1",
            label="validation",
        )
        ax_val.set_title("Validation loss, zoomed (linear scale)")
        for ax in (ax_both, ax_val):
            ax.axvline(
                stopper.best_epoch,
                color="gray",
                linestyle="--",
                label=f"best epoch ({stopper.best_epoch})",
            )
            ax.axvspan(
                stopper.best_epoch,
                stopped.epoch,
                color="gray",
                alpha=0.15,
                label="patience: 10 epochs",
            )
            ax.set_xlabel("epoch")
            ax.set_ylabel("cross-entropy loss")
            ax.legend()
        ax_val.set_ylim(0.25, 0.5)
        fig.suptitle(
            f"Overfitting: {len(small_set)} training images, 64 → 128 → 10 "
            "network, Adam"
        )
        plt.tight_layout()
        plt.show()

# %% [markdown]
# Early stopping is not the only defence. More data is the best one; weight decay (`weight_decay=` in the
# optimizers of module 09) and smaller models are the others you already have.

# %% [markdown]
# ## A loss that explodes
#
# Here is the failure the NaN check exists for. A straight-line fit, $y \approx wx + b$ with the
# mean-squared error, trained with a learning rate far beyond the stable range. For this quadratic loss
# gradient descent is stable only when $\eta\lambda_{\max} < 2$ (module 09 derives this); here $\eta\lambda_{\max}$ is about 25, so the
# error is multiplied by about 24 every step. Within a few hundred steps the numbers overflow.

# %%
if __name__ == "__main__":
    with after_exercise("Trainer.train_step"):
        rng = np.random.default_rng(0)
        x = rng.uniform(-3, 3, size=(200, 1))
        y = 3 * x - 1 + rng.normal(0, 0.1, size=(200, 1))
        line = Dense(1, 1, rng=0)
        runaway = Trainer(
            line, MSELoss(), SGD(line.parameters(), learning_rate=2.0)
        )
        try:
            with np.errstate(
                over="ignore", invalid="ignore"
            ):  # we want to see the error, not warnings
                runaway.fit(
                    DataLoader(TensorDataset(x, y), batch_size=20), epochs=100
                )
        except NonFiniteLossError as error:
            print(f"NonFiniteLossError: {error}\n")
            print(
                "the last good weights are still there, finite: w = "
                f"{line.weight.data.item():.3g}, "
                f"b = {line.bias.data.item():.3g}"
            )
        with np.errstate(over="ignore", invalid="ignore"):
            careful = Dense(1, 1, rng=0)
            Trainer(
                careful,
                MSELoss(),
                SGD(careful.parameters(), learning_rate=0.05),
            ).fit(DataLoader(TensorDataset(x, y), batch_size=20), epochs=20)
        print(
            f"with learning_rate=0.05: w = {careful.weight.data.item():.3f}, "
            f"b = {careful.bias.data.item():.3f}"
            " (the truth: 3 and -1)"
        )

# %% [markdown]
# ## Checkpoints: stop, resume, get the same result
#
# Train five epochs and save; train five more. Then build a *new* model (with different random weights) and
# a new optimizer, load the checkpoint and train five epochs. If the checkpoint holds everything, the two
# runs end with identical weights, to the last bit.

# %%
if __name__ == "__main__":
    with after_exercise("accuracy", "Trainer.train_step"):
        import tempfile

        def digits_trainer(seed):
            model = Sequential(
                [Dense(64, 32, rng=seed), ReLU(), Dense(32, 10, rng=seed + 1)]
            )
            optimizer = Adam(model.parameters(), learning_rate=0.005)
            return Trainer(
                model,
                CrossEntropyLoss(),
                optimizer,
                StepLR(optimizer, step_size=3, gamma=0.5),
            )

        loader = DataLoader(train_set, batch_size=32, shuffle=True, seed=0)
        with tempfile.TemporaryDirectory() as folder:
            checkpoint = Path(folder) / "digits-epoch5.pkl"
            original = digits_trainer(seed=0)
            original.fit(loader, epochs=5)
            original.save_checkpoint(checkpoint)
            try:
                original.save_checkpoint(checkpoint)
            except FileExistsError as error:
                print(f"FileExistsError: {error}")
            original.fit(loader, epochs=5)

            resumed = digits_trainer(
                seed=42
            )  # other weights: the checkpoint replaces them
            resumed.load_checkpoint(checkpoint)
            print(
                f"resumed at epoch {resumed.epoch}, learning rate "
                f"{resumed.learning_rate():g}"
            )
            resumed.fit(loader, epochs=5)
        same = all(
            np.array_equal(a.data, b.data)
            for a, b in zip(
                original.model.parameters(), resumed.model.parameters()
            )
        )
        print(f"after 10 epochs, weights identical bit for bit: {same}")
        print(
            "train loss per epoch: "
            f"{np.round(resumed.history['train_loss'], 4)}"
        )

# %% [markdown]
# ## What you built
#
# - `accuracy`, `Trainer.train_step` and `Trainer.fit`: the training loop, with history, validation under
#   `no_grad`, a scheduler step per epoch and early stopping that restores the best weights;
# - `NonFiniteLossError`: training stops at the first NaN/inf loss, says where, and leaves the weights of the
#   last good step;
# - checkpoints that never overwrite by accident and resume a run bit for bit.
#
# With these, the framework you built over ten modules trains a real classifier to about 96% on digits it
# has never seen. Everything else in deep learning (convolutions, attention, GPUs) changes what goes *inside*
# this loop, not the loop.
