"""``skillrt new NAME``: a skill folder that validates and runs as it is, to edit from there.

One tool, ``hello``: SKILL.md (the OpenClaw/AgentSkills frontmatter), skill.toml, the tool's
input schema as a JSON file, and ``main.py``, which reads its input as JSON on stdin and writes
one JSON value on stdout. Nothing is written over: an existing target is refused.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from runtime.core.skillmd import SKILL_NAME
from runtime.errors import BadRequest

__all__ = ["PROFILES", "cmd_new", "register", "scaffold"]

PROFILES = ("default", "minimal", "network")
TOOL = "hello"

_EXAMPLES = """\
examples:
  skillrt new weather --profile network       # creates ./weather
  skillrt new word-count --dir skills_catalog
then:
  skillrt validate ./weather
  skillrt run ./weather --tool hello --input '{"name": "you"}'"""

_SKILL_MD = """\
---
name: {name}
description: Say hello to someone. Replace this line with what {name} does and when an agent \
should use it.
---

# {name}

One tool, `hello`, that greets a person by name.

## Call

```sh
skillrt run ./{name} --tool hello --input '{{"name": "Ada"}}'
# outside skillrt: JSON on stdin, JSON on stdout
echo '{{"name": "Ada"}}' | python3 {{baseDir}}/main.py
```

Input: `name` (string, required). Output: `{{"greeting": "Hello, Ada!"}}`.
"""

_SKILL_TOML = """\
# The runtime manifest. Sizes and durations take units ("64MiB", "5s").
version = "0.1.0"
profile = "{profile}"  # sandbox_profiles/{profile}.toml

[limits]  # may only tighten the profile's limits
wall_time = "5s"

[permissions]
{permissions}
[[tools]]
name = "hello"
description = "Greet someone by name"
# -I -S: isolated mode, no site-packages; a skill ships its own libraries (see the README).
entrypoint = ["/usr/bin/python3", "-I", "-S", "/skill/main.py"]
input_schema = "hello.schema.json"
"""

_PERMISSIONS = {
    "default": "",
    "minimal": "",
    "network": (
        "# The hosts the tool may reach, through the egress proxy: host:port or *.domain:port.\n"
        'network = ["example.com:443"]\n'
    ),
}

_MAIN_PY = '''\
"""The hello tool: one JSON object on stdin (already checked against hello.schema.json),
one JSON value on stdout. A failure exits non-zero with {"error": "..."} on stderr."""

import json
import sys


def main() -> int:
    request = json.load(sys.stdin)
    name = request["name"].strip()
    if not name:
        json.dump({"error": "name is blank"}, sys.stderr)
        return 1
    json.dump({"greeting": f"Hello, {name}!"}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200}},
}


def register(verbs: Any) -> None:
    new = verbs.add_parser(
        "new",
        help="create a skill folder that validates and runs as it is",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    new.add_argument("name", metavar="NAME", help=f"the skill's name ({SKILL_NAME.pattern})")
    parent = new.add_argument(
        "--dir", default=".", metavar="PARENT", help="where to create it (default: here)"
    )
    parent.complete = {"bash": "_shtab_compgen_dirs", "zsh": "_files -/"}
    new.add_argument(
        "--profile", default="default", choices=PROFILES, help="the sandbox profile it runs under"
    )
    new.set_defaults(handler=cmd_new)


def cmd_new(args: argparse.Namespace) -> int:
    folder = scaffold(args.name, Path(args.dir), args.profile)
    shown = _shown(folder)
    files = ", ".join(sorted(p.name for p in folder.iterdir()))
    print(f"created {shown} (profile {args.profile}): {files}")
    print(f"next: skillrt validate {shown}")
    print(f'      skillrt run {shown} --tool {TOOL} --input \'{{"name": "you"}}\'')
    return 0


def scaffold(name: str, parent: Path, profile: str) -> Path:
    """Write the new skill folder ``parent/name``; BadRequest for a bad name or place."""
    if not SKILL_NAME.match(name):
        raise BadRequest(f"new: {name!r} is not a skill name ({SKILL_NAME.pattern})")
    if profile not in PROFILES:
        raise BadRequest(f"new: --profile must be one of {', '.join(PROFILES)}")
    if not parent.is_dir():
        raise BadRequest(f"new: --dir {parent}: no such folder")
    folder = parent / name
    try:
        folder.mkdir()  # refuses anything already there, file or folder
    except FileExistsError:
        raise BadRequest(f"new: {folder} already exists; nothing was written") from None
    except OSError as exc:
        raise BadRequest(f"new: cannot create {folder}: {exc.strerror}") from exc
    for relative, text in _files(name, profile).items():
        (folder / relative).write_text(text, encoding="utf-8")
    return folder


def _files(name: str, profile: str) -> dict[str, str]:
    return {
        "SKILL.md": _SKILL_MD.format(name=name),
        "skill.toml": _SKILL_TOML.format(profile=profile, permissions=_PERMISSIONS[profile]),
        "main.py": _MAIN_PY,
        f"{TOOL}.schema.json": json.dumps(_SCHEMA, indent=2) + "\n",
    }


def _shown(folder: Path) -> str:
    """The folder as `skillrt run` takes a path: with a slash, so it is not read as a name."""
    text = os.path.normpath(folder)
    return text if "/" in text else f"./{text}"
