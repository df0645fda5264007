"""Package tests for module 10: tinytorch.core.training.

Reference values come from loops written here in NumPy (softmax regression,
least squares), never from the Trainer itself; resumed runs are compared with
uninterrupted ones bit for bit.
"""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from tinytorch.core.optimizers import SGD, Adam, ReduceLROnPlateau, StepLR
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import (
    EarlyStopping,
    NonFiniteLossError,
    Trainer,
    accuracy,
)


@pytest.fixture(scope="module")
def digits():
    train_full, test = load_digits(test_fraction=0.2, seed=0)
    pixels, labels = train_full.arrays
    fit_rows, val_rows = stratified_split(labels, test_fraction=0.2, seed=1)
    return (
        TensorDataset(pixels[fit_rows], labels[fit_rows]),
        TensorDataset(pixels[val_rows], labels[val_rows]),
        test,
    )


def softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def cross_entropy(logits, labels):
    return -np.log(softmax(logits)[np.arange(len(labels)), labels]).mean()


# --- accuracy ----------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    rows=st.integers(1, 40),
    classes=st.integers(2, 12),
    seed=st.integers(0, 10_000),
)
def test_accuracy_counts_argmax_hits(rows, classes, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(rows, classes))
    labels = rng.integers(0, classes, size=rows)
    hits = 0
    for row, label in zip(logits, labels):
        hits += int(max(range(classes), key=lambda c: row[c]) == label)
    assert accuracy(logits, labels) == pytest.approx(hits / rows, abs=1e-15)
    assert accuracy(Tensor(logits), Tensor(labels)) == pytest.approx(
        hits / rows, abs=1e-15
    )


def test_accuracy_rejects_bad_shapes():
    with pytest.raises(ValueError, match="labels"):
        accuracy(np.zeros((4, 3)), np.zeros(5, dtype=int))
    with pytest.raises(ValueError):
        accuracy(np.zeros(4), np.zeros(4, dtype=int))
    with pytest.raises(ValueError):
        accuracy(np.zeros((0, 3)), np.zeros(0, dtype=int))


# --- early stopping ----------------------------------------------------------


def test_early_stopping_decisions():
    stopper = EarlyStopping(patience=3, min_delta=0.05)
    losses = [1.0, 0.9, 0.88, 0.87, 0.86, 0.5, 0.6]
    decisions = [stopper.update(loss) for loss in losses]
    # 0.88, 0.87 and 0.86 improve on 0.9 by less than 0.05: the third of them
    # stops training
    assert decisions == [False, False, False, False, True, False, False]
    assert (
        stopper.best == 0.5
        and stopper.best_epoch == 6
        and stopper.bad_epochs == 1
    )
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="patience"):
            EarlyStopping(patience=bad)
    with pytest.raises(ValueError, match="min_delta"):
        EarlyStopping(min_delta=-0.1)


# --- the training loop -------------------------------------------------------


def test_trainer_reaches_known_accuracy_on_digits(digits):
    train, val, test = digits
    model = Sequential([Dense(64, 64, rng=0), ReLU(), Dense(64, 10, rng=1)])
    optimizer = SGD(model.parameters(), learning_rate=0.05, momentum=0.9)
    trainer = Trainer(
        model,
        CrossEntropyLoss(),
        optimizer,
        StepLR(optimizer, step_size=5, gamma=0.5),
    )
    history = trainer.fit(
        DataLoader(train, 32, shuffle=True, seed=0),
        epochs=12,
        val_loader=DataLoader(val, 128),
    )
    assert history["epoch"] == list(range(1, 13)) and trainer.epoch == 12
    assert all(
        len(history[key]) == 12
        for key in (
            "train_loss",
            "train_accuracy",
            "val_loss",
            "val_accuracy",
            "lr",
        )
    )
    assert history["lr"] == [
        0.05 * 0.5 ** (e // 5) for e in range(12)
    ]  # StepLR, one step per epoch
    assert history["train_loss"][-1] < 0.1 * history["train_loss"][0]
    scores = trainer.evaluate(DataLoader(test, 100))
    assert scores["accuracy"] >= 0.93, scores
    # evaluate() agrees with a NumPy forward pass of the trained weights
    w1, b1, w2, b2 = (p.data for p in model.parameters())
    inputs, labels = test.arrays
    logits = np.maximum(inputs @ w1 + b1, 0) @ w2 + b2
    assert scores["accuracy"] == pytest.approx(
        np.mean(logits.argmax(axis=1) == labels), abs=1e-12
    )
    assert scores["loss"] == pytest.approx(
        cross_entropy(logits, labels), rel=1e-12
    )
    assert history["val_loss"][-1] == pytest.approx(
        trainer.evaluate(DataLoader(val, 7))["loss"], rel=1e-12
    )


def test_epoch_averages_match_softmax_regression_written_out():
    """fit() on a linear model with SGD equals gradient descent on softmax
    regression, batch by batch."""
    rng = np.random.default_rng(3)
    inputs, labels = rng.normal(size=(23, 4)), rng.integers(0, 3, size=23)
    model = Dense(4, 3, rng=5)
    weight, bias = model.weight.data.copy(), model.bias.data.copy()
    trainer = Trainer(
        model, CrossEntropyLoss(), SGD(model.parameters(), learning_rate=0.3)
    )
    history = trainer.fit(
        DataLoader(TensorDataset(inputs, labels), batch_size=10), epochs=3
    )  # 10, 10, 3
    for epoch in range(3):
        losses, hits = [], []
        for start in range(0, 23, 10):
            x, y = inputs[start : start + 10], labels[start : start + 10]
            logits = x @ weight + bias
            losses += [cross_entropy(logits, y)] * len(y)
            hits += list(logits.argmax(axis=1) == y)
            error = (softmax(logits) - np.eye(3)[y]) / len(y)
            weight, bias = (
                weight - 0.3 * x.T @ error,
                bias - 0.3 * error.sum(axis=0),
            )
        assert history["train_loss"][epoch] == pytest.approx(
            np.mean(losses), rel=1e-12
        )
        assert history["train_accuracy"][epoch] == pytest.approx(
            np.mean(hits), abs=1e-12
        )
    np.testing.assert_allclose(model.weight.data, weight, rtol=1e-12)
    np.testing.assert_allclose(model.bias.data, bias, rtol=1e-12)


def test_evaluate_builds_no_graph_and_changes_nothing(digits):
    _, val, _ = digits
    model = Sequential([Dense(64, 16, rng=0), ReLU(), Dense(16, 10, rng=1)])
    seen = []

    def recording_loss(logits, targets):
        seen.append(logits.requires_grad)
        return CrossEntropyLoss()(logits, targets)

    trainer = Trainer(
        model, recording_loss, SGD(model.parameters(), learning_rate=0.1)
    )
    before = [p.data.copy() for p in model.parameters()]
    trainer.evaluate(DataLoader(val, 64))
    assert seen and not any(seen)
    assert all(p.grad is None for p in model.parameters())
    assert all(
        np.array_equal(a, p.data) for a, p in zip(before, model.parameters())
    )
    trainer.train_step(*next(iter(DataLoader(val, 8))))
    assert seen[-1] is True  # training does build the graph


def test_regression_has_nan_accuracy_and_fits_a_line():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(64, 1))
    y = 2 * x + 0.5
    line = Dense(1, 1, rng=0)
    history = Trainer(
        line, MSELoss(), SGD(line.parameters(), learning_rate=0.3)
    ).fit(DataLoader(TensorDataset(x, y), 16), epochs=60)
    assert np.isnan(history["train_accuracy"][-1])
    assert line.weight.data.item() == pytest.approx(2.0, abs=1e-6)
    assert line.bias.data.item() == pytest.approx(0.5, abs=1e-6)


def test_fit_rejects_bad_arguments(digits):
    train, _, _ = digits
    model = Dense(64, 10, rng=0)
    trainer = Trainer(
        model, CrossEntropyLoss(), SGD(model.parameters(), learning_rate=0.1)
    )
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="epochs"):
            trainer.fit(DataLoader(train, 32), epochs=bad)
    with pytest.raises(ValueError, match="val_loader"):
        trainer.fit(
            DataLoader(train, 32), epochs=1, early_stopping=EarlyStopping()
        )
    with pytest.raises(TypeError, match="optimizer"):
        Trainer(model, CrossEntropyLoss(), optimizer="sgd")
    with pytest.raises(TypeError, match="model"):
        Trainer(object(), CrossEntropyLoss(), SGD(model.parameters()))


def test_reduce_on_plateau_gets_the_validation_loss(digits):
    train, val, _ = digits
    model = Dense(64, 10, rng=0)
    optimizer = SGD(model.parameters(), learning_rate=0.5)
    scheduler = ReduceLROnPlateau(
        optimizer, patience=0, factor=0.5, threshold=10.0
    )  # nothing counts as better
    history = Trainer(model, CrossEntropyLoss(), optimizer, scheduler).fit(
        DataLoader(train, 64), epochs=3, val_loader=DataLoader(val, 256)
    )
    assert history["lr"] == [0.5, 0.25, 0.125]


# --- NaN / inf ---------------------------------------------------------------


def test_nan_input_stops_at_its_batch_before_any_update():
    rng = np.random.default_rng(1)
    inputs, labels = rng.normal(size=(100, 5)), rng.integers(0, 4, size=100)
    inputs[70, 2] = np.nan  # batch 3 of batch size 32 (rows 64..95)
    model = Dense(5, 4, rng=2)
    weight, bias = model.weight.data.copy(), model.bias.data.copy()
    trainer = Trainer(
        model, CrossEntropyLoss(), SGD(model.parameters(), learning_rate=0.1)
    )
    with pytest.raises(NonFiniteLossError) as caught:
        trainer.fit(
            DataLoader(TensorDataset(inputs, labels), batch_size=32), epochs=2
        )
    error = caught.value
    assert isinstance(error, FloatingPointError)
    assert (error.epoch, error.batch) == (1, 3) and np.isnan(error.loss)
    assert "epoch 1, batch 3" in str(error) and "learning rate" in str(error)
    for start in (0, 32):  # the two good batches, by hand
        x, y = inputs[start : start + 32], labels[start : start + 32]
        logits = x @ weight + bias
        err = (softmax(logits) - np.eye(4)[y]) / 32
        weight, bias = weight - 0.1 * x.T @ err, bias - 0.1 * err.sum(axis=0)
    np.testing.assert_allclose(model.weight.data, weight, rtol=1e-12)
    np.testing.assert_allclose(model.bias.data, bias, rtol=1e-12)
    assert trainer.epoch == 0 and trainer.history["train_loss"] == []


@pytest.mark.parametrize("learning_rate", [1.5, 4.0, 50.0])
def test_huge_learning_rate_raises_at_the_first_non_finite_batch(
    learning_rate,
):
    """Least squares with a step far past 2/λmax diverges; the Trainer stops
    where a NumPy loop overflows."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, size=(60, 2))
    y = x @ np.array([[1.0], [-2.0]]) + 0.5
    line = Dense(2, 1, rng=0)
    weight, bias = line.weight.data.copy(), line.bias.data.copy()
    expected = None
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(
            1, 200
        ):  # the reference loop, batch size 16: 16, 16, 16, 12
            for batch, start in enumerate(range(0, 60, 16), start=1):
                xb, yb = x[start : start + 16], y[start : start + 16]
                residual = xb @ weight + bias - yb
                loss = np.mean(residual**2)
                if not np.isfinite(loss):
                    expected = (epoch, batch, weight.copy(), bias.copy())
                    break
                grad = 2 * residual / residual.size
                weight, bias = (
                    weight - learning_rate * xb.T @ grad,
                    bias - learning_rate * grad.sum(axis=0),
                )
            if expected:
                break
        assert expected is not None, "the reference run should diverge"
        trainer = Trainer(
            line,
            MSELoss(),
            SGD(line.parameters(), learning_rate=learning_rate),
        )
        with pytest.raises(NonFiniteLossError) as caught:
            trainer.fit(
                DataLoader(TensorDataset(x, y), batch_size=16), epochs=200
            )
    epoch, batch, weight, bias = expected
    assert (caught.value.epoch, caught.value.batch) == (epoch, batch)
    assert caught.value.learning_rate == learning_rate
    assert f"{learning_rate / 10:g}" in str(
        caught.value
    )  # suggests a lower rate
    assert np.all(np.isfinite(line.weight.data)) and np.all(
        np.isfinite(line.bias.data)
    )
    np.testing.assert_allclose(line.weight.data, weight, rtol=1e-9)
    np.testing.assert_allclose(line.bias.data, bias, rtol=1e-9)
    assert trainer.epoch == epoch - 1


# --- checkpoints -------------------------------------------------------------


def make_trainer(seed, with_scheduler=True):
    model = Sequential(
        [Dense(64, 16, rng=seed), ReLU(), Dense(16, 10, rng=seed + 1)]
    )
    optimizer = Adam(model.parameters(), learning_rate=0.01)
    scheduler = (
        StepLR(optimizer, step_size=2, gamma=0.5) if with_scheduler else None
    )
    return Trainer(model, CrossEntropyLoss(), optimizer, scheduler)


def test_checkpoint_round_trip_continues_bit_for_bit(digits, tmp_path):
    train, val, _ = digits
    loader = DataLoader(train, batch_size=64, shuffle=True, seed=3)
    val_loader = DataLoader(val, batch_size=256)
    original = make_trainer(seed=0)
    original.fit(loader, epochs=3, val_loader=val_loader)
    path = tmp_path / "run.pkl"
    original.save_checkpoint(path)
    original.fit(loader, epochs=3, val_loader=val_loader)

    resumed = make_trainer(seed=10)  # different weights before loading
    resumed.load_checkpoint(path)
    assert (
        resumed.epoch == 3
        and resumed.learning_rate() == original.history["lr"][3]
    )
    resumed_loader = DataLoader(
        train, batch_size=64, shuffle=True, seed=3
    )  # a fresh loader, too
    resumed.fit(resumed_loader, epochs=3, val_loader=val_loader)
    for a, b in zip(original.model.parameters(), resumed.model.parameters()):
        assert np.array_equal(a.data, b.data)
    assert resumed.history == original.history
    state_a, state_b = (
        original.optimizer.state_dict(),
        resumed.optimizer.state_dict(),
    )
    for position in state_a["state"]:
        for key, value in state_a["state"][position].items():
            assert np.array_equal(value, state_b["state"][position][key]), key


def test_checkpoint_restores_exact_parameters_and_dtypes(digits, tmp_path):
    train, _, _ = digits
    trainer = make_trainer(seed=0, with_scheduler=False)
    trainer.fit(DataLoader(train, 128), epochs=1)
    trainer.save_checkpoint(tmp_path / "a.ckpt")
    other = make_trainer(seed=5, with_scheduler=False)
    other.load_checkpoint(str(tmp_path / "a.ckpt"))
    for a, b in zip(trainer.model.parameters(), other.model.parameters()):
        assert (
            np.array_equal(a.data, b.data)
            and a.data.dtype == b.data.dtype
            and a.data is not b.data
        )
    # the checkpoint is independent of the live run: training on does not
    # change what was saved
    trainer.fit(DataLoader(train, 128), epochs=1)
    again = make_trainer(seed=7, with_scheduler=False)
    again.load_checkpoint(tmp_path / "a.ckpt")
    for a, b in zip(other.model.parameters(), again.model.parameters()):
        assert np.array_equal(a.data, b.data)


def test_checkpoint_refuses_to_overwrite(digits, tmp_path):
    train, _, _ = digits
    trainer = make_trainer(seed=0)
    path = tmp_path / "keep.pkl"
    path.write_bytes(b"yesterday's good model")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        trainer.save_checkpoint(path)
    assert path.read_bytes() == b"yesterday's good model"
    trainer.fit(DataLoader(train, 128), epochs=1)
    trainer.save_checkpoint(path, overwrite=True)
    fresh = make_trainer(seed=3)
    fresh.load_checkpoint(path)
    assert fresh.epoch == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "keep.pkl"
    ]  # no temporary files left behind


def test_checkpoint_rejects_other_models_and_foreign_pickles(digits, tmp_path):
    trainer = make_trainer(seed=0)
    trainer.save_checkpoint(tmp_path / "small.pkl")
    bigger = Sequential([Dense(64, 32, rng=0), ReLU(), Dense(32, 10, rng=1)])
    other = Trainer(bigger, CrossEntropyLoss(), Adam(bigger.parameters()))
    with pytest.raises(ValueError, match="shapes"):
        other.load_checkpoint(tmp_path / "small.pkl")
    (tmp_path / "plain.pkl").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(ValueError, match="not a TinyTorch checkpoint"):
        trainer.load_checkpoint(tmp_path / "plain.pkl")

    class Payload:
        def __reduce__(self):
            return (exec, ("raise SystemExit('code ran while loading')",))

    (tmp_path / "evil.pkl").write_bytes(
        pickle.dumps({"format": "tinytorch-checkpoint-1", "x": Payload()})
    )
    with pytest.raises(pickle.UnpicklingError, match="exec"):
        trainer.load_checkpoint(tmp_path / "evil.pkl")


# --- early stopping inside fit -----------------------------------------------


def test_fit_stops_early_and_restores_the_best_epoch(digits):
    train, val, _ = digits
    small_rows, _ = stratified_split(
        train.arrays[1], test_fraction=0.9, seed=2
    )
    small = TensorDataset(*(array[small_rows] for array in train.arrays))

    def run(epochs, early_stopping=None):
        model = Sequential(
            [Dense(64, 64, rng=0), ReLU(), Dense(64, 10, rng=1)]
        )
        trainer = Trainer(
            model,
            CrossEntropyLoss(),
            Adam(model.parameters(), learning_rate=0.01),
        )
        trainer.fit(
            DataLoader(small, 16, shuffle=True, seed=0),
            epochs,
            val_loader=DataLoader(val, 512),
            early_stopping=early_stopping,
        )
        return trainer

    stopper = EarlyStopping(patience=5)
    stopped = run(200, stopper)
    val_losses = stopped.history["val_loss"]
    best_epoch = int(np.argmin(val_losses)) + 1
    assert stopper.best_epoch == best_epoch
    assert (
        stopped.epoch == best_epoch + 5 < 200
    )  # overfitting makes it stop, 5 epochs later
    assert all(
        loss >= val_losses[best_epoch - 1] for loss in val_losses[best_epoch:]
    )
    reference = run(best_epoch)  # the same run, ended at the best epoch
    for a, b in zip(stopped.model.parameters(), reference.model.parameters()):
        assert np.array_equal(a.data, b.data)
    assert stopped.evaluate(DataLoader(val, 512))["loss"] == pytest.approx(
        min(val_losses), rel=1e-12
    )
