"""Issue 11: checkpoints are atomic and loads are all-or-nothing.

A save writes a temporary file in the target folder, fsyncs it and renames
it into place, so a save killed with SIGKILL half-way leaves the previous
file intact and loadable. A load checks model, optimizer, scheduler and
epoch before it changes anything; a refused load leaves the trainer exactly
as it was, and every error names the file.
"""

import copy
import os
import pickle
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tinytorch.core.training as training
from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Dense
from tinytorch.core.losses import MSELoss
from tinytorch.core.networks import Sequential
from tinytorch.core.optimizers import SGD, Adam, ExponentialLR, StepLR
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import Trainer

ROOT = Path(__file__).resolve().parents[2]


def make_trainer(
    seed=0,
    optimizer="adam",
    scheduler="step",
    hidden=3,
    dtype=np.float64,
):
    model = Sequential(
        [Dense(4, hidden, rng=seed), ReLU(), Dense(hidden, 2, rng=seed + 1)]
    )
    for p in model.parameters():
        p.data = p.data.astype(dtype)
    make = {
        "adam": lambda ps: Adam(ps, lr=0.01),
        "sgd": lambda ps: SGD(ps, lr=0.1, momentum=0.9),
    }[optimizer]
    opt = make(model.parameters())
    sched = {
        "step": lambda: StepLR(opt, step_size=2, gamma=0.5),
        "exponential": lambda: ExponentialLR(opt, gamma=0.9),
        None: lambda: None,
    }[scheduler]()
    return Trainer(model, MSELoss(), opt, sched)


def train(trainer, epochs=2, seed=0):
    """Train by hand on fixed random data: state in every component."""
    rng = np.random.default_rng(seed)
    inputs = Tensor(rng.standard_normal((8, 4)))
    targets = Tensor(rng.standard_normal((8, 2)))
    for _ in range(epochs):
        loss, _ = trainer.train_step(inputs, targets)
        trainer.epoch += 1
        trainer.history["epoch"].append(trainer.epoch)
        trainer.history["train_loss"].append(loss)
        if trainer.scheduler is not None:
            trainer.scheduler.step()
    return trainer


def snapshot(trainer):
    """A frozen copy of everything a load may change."""
    return copy.deepcopy(
        (
            [p.data for p in trainer.model.parameters()],
            trainer.optimizer.state_dict(),
            trainer.scheduler and trainer.scheduler.state_dict(),
            trainer.epoch,
            trainer.history,
        )
    )


def same(a, b):
    """Equal values, arrays compared exactly (with their dtypes)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and np.array_equal(a, b)
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


@pytest.fixture
def saved(tmp_path):
    """A checkpoint of an Adam + StepLR trainer after two epochs."""
    path = tmp_path / "run.ckpt"
    train(make_trainer(seed=0)).save_checkpoint(path)
    return path


# --- loads are all-or-nothing, and name the file -----------------------------
REFUSED = [
    (
        dict(optimizer="sgd"),
        r"run.ckpt: SGD cannot load the state of Adam: the state dict's "
        r"param_groups\[0\] has",
    ),
    (
        dict(hidden=5),
        r"run.ckpt: the checkpoint holds parameters of shapes "
        r"\[\(4, 3\), \(3,\), \(3, 2\), \(2,\)\], but the model has "
        r"\[\(4, 5\)",
    ),
    (
        dict(dtype=np.float32),
        "run.ckpt: parameter 0 is float64 in the checkpoint but float32 in "
        "the model",
    ),
    (
        dict(scheduler="exponential"),
        "run.ckpt: ExponentialLR cannot load the state of StepLR",
    ),
    (
        dict(scheduler=None),
        "run.ckpt: the checkpoint has a scheduler state and this trainer has "
        "none",
    ),
]


@pytest.mark.parametrize("options, message", REFUSED)
def test_a_mismatched_checkpoint_is_refused_and_changes_nothing(
    saved, options, message
):
    trainer = train(make_trainer(seed=7, **options), epochs=3, seed=1)
    before = snapshot(trainer)
    with pytest.raises(ValueError, match=message):
        trainer.load_checkpoint(saved)
    assert same(snapshot(trainer), before)
    train(trainer, epochs=1)  # and it trains on as before


def test_a_scheduler_refusal_puts_the_loaded_optimizer_back(saved):
    # the optimizer state fits (Adam into Adam) and loads first; the
    # scheduler then refuses: the optimizer must be as it was
    trainer = train(make_trainer(seed=7, scheduler="exponential"), epochs=3)
    before = trainer.optimizer.state_dict()
    with pytest.raises(ValueError, match="ExponentialLR cannot load"):
        trainer.load_checkpoint(saved)
    after = trainer.optimizer.state_dict()
    assert same(after, before)
    assert after["state"][0]["step"] == 3  # not the checkpoint's 2


def test_a_trainer_without_scheduler_refuses_one_with(tmp_path):
    path = tmp_path / "run.ckpt"
    train(make_trainer(scheduler=None)).save_checkpoint(path)
    trainer = make_trainer(seed=3)
    before = snapshot(trainer)
    with pytest.raises(
        ValueError,
        match="this trainer has a scheduler state and the checkpoint has none",
    ):
        trainer.load_checkpoint(path)
    assert same(snapshot(trainer), before)


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda s: s.__setitem__("epoch", -1),
            "epoch must be an integer >= 0",
        ),
        (lambda s: s.__setitem__("epoch", 2.5), "epoch must be an integer"),
        (lambda s: s.__setitem__("history", [1]), "history must be a dict"),
        (lambda s: s.pop("optimizer"), "has no 'optimizer' entry"),
        (
            lambda s: s["optimizer"]["param_groups"][0].__setitem__("lr", -10),
            r"learning_rate \(lr\) must be a finite number >= 0, got -10",
        ),
        (
            lambda s: s["parameters"].pop(),
            "the checkpoint holds 3 parameters, the model 4",
        ),
    ],
)
def test_a_spoiled_checkpoint_is_refused_and_changes_nothing(
    saved, edit, message
):
    state = training._read_checkpoint(saved)
    edit(state)
    saved.write_bytes(pickle.dumps(state))  # an unchecksummed (older) file
    trainer = train(make_trainer(seed=7), epochs=3)
    before = snapshot(trainer)
    with pytest.raises(ValueError, match=message) as caught:
        trainer.load_checkpoint(saved)
    assert str(saved) in str(caught.value)
    assert same(snapshot(trainer), before)


@pytest.mark.parametrize("cut", [0.5, 0.99])
def test_a_truncated_checkpoint_names_the_file(saved, cut):
    data = saved.read_bytes()
    saved.write_bytes(data[: int(len(data) * cut)])
    trainer = make_trainer(seed=7)
    before = snapshot(trainer)
    with pytest.raises(ValueError, match="is truncated or corrupted") as info:
        trainer.load_checkpoint(saved)
    assert str(info.value).startswith(str(saved))
    assert same(snapshot(trainer), before)


def test_a_corrupted_array_byte_is_caught_by_the_checksum(saved):
    data = bytearray(saved.read_bytes())
    data[-40] ^= 0xFF  # inside the last array's numbers: still unpickles
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum does not match") as info:
        make_trainer(seed=7).load_checkpoint(saved)
    assert str(info.value).startswith(f"{saved} is truncated or corrupted")


def test_an_empty_file_names_the_file(tmp_path):
    path = tmp_path / "empty.ckpt"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="truncated or corrupted") as info:
        make_trainer().load_checkpoint(path)
    assert str(info.value).startswith(str(path))


def test_a_good_load_restores_everything(saved):
    original = train(make_trainer(seed=0))
    resumed = make_trainer(seed=7)
    resumed.load_checkpoint(saved)
    assert same(snapshot(resumed), snapshot(original))


# --- saves are atomic --------------------------------------------------------
def test_a_save_fsyncs_a_temporary_file_in_the_folder_then_renames_it(
    tmp_path, monkeypatch
):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", Path(os.readlink(f"/proc/self/fd/{fd}"))))
        real_fsync(fd)

    def replace(source, target):
        events.append(("replace", Path(source), Path(target)))
        real_replace(source, target)

    monkeypatch.setattr(training.os, "fsync", fsync)
    monkeypatch.setattr(training.os, "replace", replace)
    path = tmp_path / "run.ckpt"
    train(make_trainer()).save_checkpoint(path)
    (_, synced), (_, source, target) = events
    assert synced == source and source.parent == tmp_path
    assert target == path and source.name.endswith(".tmp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.ckpt"]


def test_a_failed_save_keeps_the_previous_file_and_no_temporary(
    saved, monkeypatch
):
    good = saved.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(training.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        train(make_trainer(seed=5)).save_checkpoint(saved, overwrite=True)
    assert saved.read_bytes() == good
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]


def test_overwrite_false_refuses_a_file_but_not_a_leftover_temporary(saved):
    good = saved.read_bytes()
    trainer = train(make_trainer(seed=5))
    with pytest.raises(FileExistsError, match="exists; pass overwrite=True"):
        trainer.save_checkpoint(saved)
    assert saved.read_bytes() == good
    fresh = saved.parent / "fresh.ckpt"
    leftover = saved.parent / ".fresh.ckpt.k1ll3d.tmp"  # a killed save's
    leftover.write_bytes(b"half a checkpoint")
    trainer.save_checkpoint(fresh)
    make_trainer(seed=9).load_checkpoint(fresh)


# A child process saves a large checkpoint and is killed with SIGKILL half-way
# through writing it. The child slows its file writes down (half, then a
# pause) so that the kill lands inside the write, every time.
CHILD = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from test_checkpoints import make_trainer, train

    real_fdopen = os.fdopen

    class HalfThenWait:
        def __init__(self, file):
            self.file = file
        def write(self, data):
            half = len(data) // 2
            self.file.write(data[:half])
            self.file.flush()
            print("half written", flush=True)
            time.sleep(120)
            self.file.write(data[half:])
        def __getattr__(self, name):
            return getattr(self.file, name)
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self.file.__exit__(*exc)

    os.fdopen = lambda *a, **k: HalfThenWait(real_fdopen(*a, **k))
    trainer = train(make_trainer(seed=5, hidden=int(sys.argv[3])))
    trainer.save_checkpoint(sys.argv[2], overwrite=sys.argv[4] == "yes")
    """
)
HIDDEN = 100_000  # 0.7M parameters: a 17 MB checkpoint with Adam state


def killed_save(path, overwrite):
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            str(Path(__file__).parent),
            str(path),
            str(HIDDEN),
            "yes" if overwrite else "no",
        ],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        cwd=ROOT,
    )
    try:
        assert child.stdout.readline() == b"half written\n"
        partial = [p for p in path.parent.iterdir() if p.suffix == ".tmp"]
        assert len(partial) == 1 and partial[0].stat().st_size > 1_000_000
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL


def test_a_killed_overwrite_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "big.ckpt"
    previous = train(make_trainer(seed=0, hidden=HIDDEN))
    previous.save_checkpoint(path)
    good = path.read_bytes()
    killed_save(path, overwrite=True)
    assert path.read_bytes() == good
    resumed = make_trainer(seed=3, hidden=HIDDEN)
    resumed.load_checkpoint(path)
    assert same(snapshot(resumed), snapshot(previous))


def test_a_killed_first_save_leaves_no_file_and_does_not_block(tmp_path):
    path = tmp_path / "big.ckpt"
    killed_save(path, overwrite=False)
    assert not path.exists()
    trainer = train(make_trainer(seed=0, hidden=HIDDEN))
    trainer.save_checkpoint(path)  # overwrite=False: the leftover is no file
    make_trainer(seed=1, hidden=HIDDEN).load_checkpoint(path)
