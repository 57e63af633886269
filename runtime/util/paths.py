"""Where the bundled profiles and catalog live, unless the environment or a flag says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PROJECT_ROOT", "catalog_dir", "profiles_dir"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def profiles_dir() -> Path:
    return Path(os.environ.get("SKILLRT_PROFILES") or PROJECT_ROOT / "sandbox_profiles")


def catalog_dir() -> Path:
    return Path(os.environ.get("SKILLRT_CATALOG") or PROJECT_ROOT / "skills_catalog")
