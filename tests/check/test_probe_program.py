"""The probe program stands alone: it runs where skillrt is not installed."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

from runtime.check.profile_check import INTERPRETER, PROBE_PROGRAM


def test_imports_only_the_standard_library() -> None:
    """Every module the probe program imports is part of the standard library."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(PROBE_PROGRAM)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= sys.stdlib_module_names, imported - sys.stdlib_module_names


def test_runs_isolated_from_skillrt() -> None:
    """Run by an isolated interpreter with no site packages, it prints its one JSON document."""
    config = {"child_timeout_s": 2, "probes": [["a", "exists", False, ["/"]], ["b", "x", True, []]]}
    done = subprocess.run(
        [INTERPRETER, "-I", "-S", "-c", PROBE_PROGRAM, json.dumps(config)],
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert json.loads(done.stdout) == {
        "observations": {
            "a": {"result": "value", "detail": "present"},
            "b": {"result": "error", "detail": "unknown probe x"},
        }
    }
