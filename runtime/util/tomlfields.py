"""Strict reading of TOML documents: every key is expected, every error names file and key.

Profiles, manifests and config files are policy; a typo in one must be an error, never a default
silently taken instead.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from runtime.errors import ConfigError

__all__ = ["Table"]

T = TypeVar("T")


class Table:
    """A TOML table that remembers which keys were read, so that leftovers can be reported."""

    def __init__(self, source: str, path: str, data: dict[str, Any]) -> None:
        self._source = source
        self._path = path
        self._data = data
        self._read: set[str] = set()

    @classmethod
    def load(cls, file: Path) -> Table:
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise ConfigError(f"{file}: file not found") from exc
        except OSError as exc:
            raise ConfigError(f"{file}: cannot read: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{file}: not UTF-8 text") from exc
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: invalid TOML: {exc}") from exc
        return cls(str(file), "", data)

    def key_name(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def error(self, key: str, reason: str) -> ConfigError:
        return ConfigError(f"{self._source}: {self.key_name(key)}: {reason}")

    def has(self, key: str) -> bool:
        """Whether ``key`` is present; every reader asks this first, so what a parser looks for
        can be learnt by watching it (the example configuration's test does)."""
        return key in self._data

    def _get(self, key: str, kind: type | tuple[type, ...], kind_name: str) -> Any:
        value = self.raw(key)
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.error(key, f"expected {kind_name}, got {value!r}")
        if not isinstance(value, kind):
            raise self.error(key, f"expected {kind_name}, got {type(value).__name__}")
        return value

    def string(self, key: str, default: str | None = None) -> str:
        if not self.has(key):
            if default is None:
                raise self.error(key, "missing")
            return default
        value: str = self._get(key, str, "a string")
        return self._no_nul(key, value)

    def boolean(self, key: str, default: bool) -> bool:
        if not self.has(key):
            return default
        value: bool = self._get(key, bool, "true or false")
        return value

    def integer(self, key: str, default: int | None = None) -> int:
        if not self.has(key):
            if default is None:
                raise self.error(key, "missing")
            return default
        value: int = self._get(key, int, "an integer")
        return value

    def number(self, key: str) -> float:
        value = self._get(key, (int, float), "a number")
        return float(value)

    def raw(self, key: str) -> Any:
        """The value at ``key``; a required key that is absent is a ConfigError naming it."""
        self._read.add(key)
        if not self.has(key):
            raise self.error(key, "missing")
        return self._data[key]

    def parsed(self, key: str, parse: Callable[[Any], T]) -> T:
        """``parse(value)``; a ValueError from it becomes a ConfigError naming the key."""
        value = self.raw(key)
        try:
            return parse(value)
        except ValueError as exc:
            raise self.error(key, str(exc)) from exc

    def str_list(self, key: str) -> tuple[str, ...]:
        if not self.has(key):
            return ()
        value = self._get(key, list, "a list of strings")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"{key}[{index}]", f"expected a string, got {item!r}")
            self._no_nul(f"{key}[{index}]", item)
        return tuple(value)

    def _no_nul(self, key: str, value: str) -> str:
        # TOML allows \u0000, but no path, name or command the daemon hands the kernel can hold one.
        if "\0" in value:
            raise self.error(key, "must not contain a NUL character")
        return value

    def table(self, key: str, *, required: bool = False) -> Table:
        if not self.has(key):
            if required:
                raise self.error(key, "missing table")
            return Table(self._source, self.key_name(key), {})
        value = self._get(key, dict, "a table")
        return Table(self._source, self.key_name(key), value)

    def child(self, key: str, data: dict[str, Any]) -> Table:
        """A table nested at ``key`` that was read some other way (a list item, say)."""
        self._read.add(key.split("[")[0])
        return Table(self._source, self.key_name(key), data)

    def tables(self, key: str) -> Iterator[Table]:
        """An array of tables (``[[key]]``)."""
        if not self.has(key):
            return
        value = self._get(key, list, "an array of tables")
        for index, item in enumerate(value):
            name = f"{self.key_name(key)}[{index}]"
            if not isinstance(item, dict):
                raise ConfigError(f"{self._source}: {name}: expected a table")
            yield Table(self._source, name, item)

    def str_map(self, key: str) -> dict[str, str]:
        table = self.table(key)
        return {name: table.string(name) for name in table.names()}

    def names(self) -> list[str]:
        return list(self._data)

    def finish(self) -> None:
        """Raise for the first key that nothing read: it is a typo or an unsupported setting."""
        for key in self._data:
            if key not in self._read:
                raise self.error(key, "unknown key")
