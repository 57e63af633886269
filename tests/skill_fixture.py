"""A small skill folder written on the fly, for tests of the catalog and the CLI."""

from __future__ import annotations

from pathlib import Path

SKILL_MD = """---
name: {name}
description: Echoes its input back, for tests.
---
# {name}
"""

SKILL_TOML = """\
version = "1.0.0"
profile = "default"

[[tools]]
name = "echo"
entrypoint = ["/usr/bin/python3", "/skill/echo.py"]
input_schema.type = "object"
input_schema.properties.n.type = "integer"
input_schema.required = ["n"]
"""

ECHO = "import json, sys\nprint(json.dumps({'got': json.load(sys.stdin)}))\n"


def make_skill(
    root: Path, name: str = "echo-skill", toml: str | None = None, code: str = ECHO
) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(SKILL_MD.format(name=name))
    (folder / "skill.toml").write_text(toml if toml is not None else SKILL_TOML.format())
    (folder / "echo.py").write_text(code)
    folder.chmod(0o755)
    return folder
