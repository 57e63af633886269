"""A secrets store on a key file in a temporary state directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.secrets.keys import KeyFile
from runtime.secrets.store import SecretStore

VALUE = b"sk-live-4f9a2c-very-secret-token"


@pytest.fixture
def key_file(tmp_path: Path) -> KeyFile:
    return KeyFile(tmp_path / "secrets.key")


@pytest.fixture
def store(tmp_path: Path, key_file: KeyFile) -> Iterator[SecretStore]:
    opened = SecretStore(tmp_path / "secrets.db", key_file)
    yield opened
    opened.close()


def secret_skill_toml(secrets: list[str]) -> str:
    """A one-tool skill manifest that declares ``secrets``; the tool runs /skill/echo.py."""
    listed = ", ".join(f'"{s}"' for s in secrets)
    return f"""\
version = "1.0.0"

[permissions]
secrets = [{listed}]

[[tools]]
name = "echo"
entrypoint = ["/usr/bin/python3", "/skill/echo.py"]
input_schema.type = "object"
"""
