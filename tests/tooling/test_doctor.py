"""`tito doctor` right after the README's set-up: PyTorch is the tests'
business, not a warning."""

from __future__ import annotations

import importlib.metadata

from tito.commands import doctor


def test_a_local_build_label_is_the_pinned_release():
    assert doctor.same_release("2.13.0+cpu", "2.13.0")
    assert doctor.same_release("2.13.0", "2.13.0")
    assert not doctor.same_release("2.12.0+cpu", "2.13.0")
    assert not doctor.same_release("2.13.01", "2.13.0")


def test_missing_torch_is_a_note_not_a_warning(monkeypatch):
    real = importlib.metadata.version

    def version(name):
        if name == "torch":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    status, message = doctor._torch()
    assert status == doctor.INFO
    assert "skip" in message and "bin/test" in message


def test_another_torch_release_is_a_warning(monkeypatch):
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "2.1.0")
    status, message = doctor._torch()
    assert status == doctor.WARN and "torch 2.1.0 (pinned 2.13.0)" in message
