"""Secrets at rest: the encrypted store, its keys, and OAuth credentials."""

__all__: list[str] = []
