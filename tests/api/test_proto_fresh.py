"""The committed gRPC code is exactly what `make proto` generates from protos/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runtime.util import paths


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    """Regenerating from the .proto files changes nothing; run `make proto` if this fails."""
    subprocess.run(
        [sys.executable, "scripts/gen_proto.py", "--check", str(tmp_path / "proto")],
        cwd=paths.PROJECT_ROOT,
        check=True,
    )
    committed = paths.PROJECT_ROOT / "runtime" / "proto"
    fresh = {
        p.relative_to(tmp_path / "proto"): p.read_bytes()
        for p in (tmp_path / "proto").rglob("*.py*")
    }
    current = {
        p.relative_to(committed): p.read_bytes()
        for p in committed.rglob("*.py*")
        if "__pycache__" not in p.parts
    }
    assert fresh == current
