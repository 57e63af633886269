"""The files of a skill folder, and the one hash over them that identifies a skill's content."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["content_hash", "skill_files"]


def skill_files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


def content_hash(directory: Path) -> str:
    """sha256 over the relative path and bytes of every regular file, in a fixed order."""
    digest = hashlib.sha256()
    for file in sorted(skill_files(directory)):
        digest.update(str(file.relative_to(directory)).encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()
