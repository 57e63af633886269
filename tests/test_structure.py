"""The shape of the package: what a newcomer can rely on when reading it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from runtime.util import paths

RUNTIME = paths.PROJECT_ROOT / "runtime"
MODULES = sorted(p for p in RUNTIME.rglob("*.py") if "proto" not in p.relative_to(RUNTIME).parts)


def _name(path: Path) -> str:
    parts = path.relative_to(paths.PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_declares_what_it_exports(path: Path) -> None:
    """Every module has __all__, and every name in it exists."""
    module = importlib.import_module(_name(path))
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{_name(path)} has no __all__"
    missing = [name for name in exported if not hasattr(module, name)]
    assert not missing, f"{_name(path)}.__all__ names what it lacks: {missing}"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_stays_small(path: Path) -> None:
    """No hand-written module grows past 400 lines: a bigger one is split by concern."""
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400


def test_package_is_typed() -> None:
    """The package ships py.typed, so its users' type checkers read its annotations."""
    assert (RUNTIME / "py.typed").exists()
