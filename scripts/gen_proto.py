"""Generates the Python gRPC code in runtime/proto/ from protos/ (``make proto``).

With ``--check DIR`` it generates into DIR instead, so a test can compare with what is committed.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
PACKAGE = "runtime.proto"


def generate(out: Path) -> None:
    files = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    with tempfile.TemporaryDirectory() as tmp:
        include = str(Path(protoc.__file__).parent / "_proto")
        code = protoc.main(
            [
                "protoc",
                f"-I{PROTOS}",
                f"-I{include}",
                f"--python_out={tmp}",
                f"--pyi_out={tmp}",
                f"--grpc_python_out={tmp}",
                *files,
            ]
        )
        if code != 0:
            raise SystemExit(f"protoc failed with exit code {code}")
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(tmp, out)
    # protoc writes imports relative to the proto root; make them absolute within the package.
    for file in out.rglob("*.py*"):
        text = re.sub(r"^from skillrt\.", f"from {PACKAGE}.skillrt.", file.read_text(), flags=re.M)
        file.write_text(text)
    for directory in [out, *[d for d in out.rglob("*") if d.is_dir()]]:
        (directory / "__init__.py").touch()


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        generate(Path(sys.argv[2]))
    else:
        generate(ROOT / "runtime" / "proto")


if __name__ == "__main__":
    main()
