"""Skill folders of each kind found among published OpenClaw skills, written for tests.

Each folder has the shape of a real one (metadata as a YAML mapping, as one line of JSON, as
JSON spread over lines with trailing commas) but its own content. ``EXPECTED`` is what the
catalog must say of each on a Linux host, with ``POLICY`` as the operator's grants.
"""

from __future__ import annotations

from pathlib import Path

from tests.skill_fixture import SKILL_TOML, make_skill

ABSENT = "skillrt-test-absent-program"  # a program no host has

_SKILL_MD: dict[str, str] = {
    # Instructions only: the agent drives programs every host has.
    "plain-notes": """---
name: plain-notes
description: Keep short plain-text notes in the workspace with ordinary shell tools.
metadata:
  openclaw:
    emoji: "🗒️"
    requires:
      bins: ["sh", "cat"]
---
# plain-notes

Write a note with `cat > notes/TITLE.txt`; list notes with `ls notes`.
""",
    # Instructions plus a script the agent runs from the skill's folder.
    "hello-script": """---
name: hello-script
description: Greet someone by running the script that comes with this skill.
metadata: {"openclaw":{"emoji":"👋","requires":{"bins":["sh"]}}}
---
# hello-script

Run `sh {baseDir}/scripts/hello.sh NAME` and repeat what it prints.
""",
    # For macOS only.
    "mac-notes": (
        "---\nname: mac-notes\n"
        "description: Read and write notes through a program that exists on macOS only.\n"
        "homepage: https://example.invalid/mac-notes\n"
        'metadata: {"openclaw":{"emoji":"📝","os":["darwin"],"requires":{"bins":["notes-cli"]},'
        '"install":[{"id":"brew","kind":"brew","formula":"example/tap/notes-cli",'
        '"bins":["notes-cli"],"label":"Install notes-cli (brew)"}]}}\n'
        "---\n# mac-notes\n"
    ),
    # Needs a program this host lacks.
    "absent-program": f"""---
name: absent-program
description: Drive a command-line program that is not installed here.
metadata:
  {{
    "openclaw":
      {{
        "emoji": "🧰",
        "requires": {{ "bins": ["{ABSENT}"] }},
      }},
  }}
---
# absent-program
""",
    # Needs a secret, which the operator granted.
    "place-search": """---
name: place-search
description: Look places up through a web API that needs a key.
metadata:
  {
    "openclaw":
      {
        "emoji": "📍",
        "requires": { "bins": ["sh"], "env": ["PLACES_API_KEY"] },
        "primaryEnv": "PLACES_API_KEY",
      },
  }
---
# place-search
""",
    # Needs a secret, which the operator did not grant.
    "forecast-api": """---
name: forecast-api
description: Fetch weather forecasts from a web API that needs a key.
metadata: {"openclaw":{"requires":{"env":["FORECAST_API_KEY"]},"primaryEnv":"FORECAST_API_KEY"}}
---
# forecast-api
""",
    # Needs any one of several programs: one of them is here.
    "any-shell": f"""---
name: any-shell
description: Run a shell script with whichever shell is installed.
metadata: {{"openclaw":{{"requires":{{"anyBins":["{ABSENT}", "sh"]}}}}}}
---
# any-shell
""",
    # Needs any one of several programs: none of them is here.
    "any-absent": f"""---
name: any-absent
description: Use one of two programs, neither of them installed here.
metadata: {{"openclaw":{{"requires":{{"anyBins":["{ABSENT}", "{ABSENT}-too"]}}}}}}
---
# any-absent
""",
    # Frontmatter that is not YAML.
    "broken-front": """---
name: broken-front
description: [this list is never closed
---
# broken-front
""",
}

HELLO = '#!/bin/sh\necho "hello, ${1:-world}"\n'

POLICY = """\
[skills.place-search]
network = ["places.example.com:443"]
readonly_paths = ["/etc/ssl/certs"]
secrets = ["PLACES_API_KEY"]
principals = ["owner"]
"""

# name -> (kind, the unavailable reason, a part of it, or None when available)
EXPECTED: dict[str, tuple[str, str | None]] = {
    "plain-notes": ("instruction", None),
    "hello-script": ("instruction", None),
    "mac-notes": ("instruction", "runs only on darwin; this host is linux"),
    "absent-program": ("instruction", f"needs the program {ABSENT}, which this host lacks"),
    "place-search": ("instruction", None),
    "forecast-api": (
        "instruction",
        "needs secret FORECAST_API_KEY, which the operator has not granted",
    ),
    "any-shell": ("instruction", None),
    "any-absent": ("instruction", f"needs one of the programs {ABSENT}, {ABSENT}-too"),
    "broken-front": ("instruction", "broken-front/SKILL.md: invalid YAML frontmatter"),
    "broken-manifest": ("tool", "broken-manifest/skill.toml: colour: unknown key"),
    "typo-profile": ("tool", "typo-profile/skill.toml: profile: unknown profile 'defualt'"),
    "absent-tool": ("tool", f"needs the program {ABSENT}, which this host lacks"),
}


def write_catalog(catalog: Path) -> Path:
    """Every folder of ``EXPECTED`` under ``catalog``, and the policy beside it."""
    catalog.mkdir(parents=True, exist_ok=True)
    for name, text in _SKILL_MD.items():
        folder = catalog / name
        folder.mkdir()
        (folder / "SKILL.md").write_text(text)
    script = catalog / "hello-script" / "scripts" / "hello.sh"
    script.parent.mkdir()
    script.write_text(HELLO)
    script.chmod(0o755)
    make_skill(
        catalog,
        "broken-manifest",
        toml=SKILL_TOML.replace("[[tools]]", 'colour = "blue"\n\n[[tools]]'),
    )
    make_skill(catalog, "typo-profile", toml=SKILL_TOML.replace('"default"', '"defualt"'))
    needy = make_skill(catalog, "absent-tool")
    (needy / "SKILL.md").write_text(
        "---\nname: absent-tool\ndescription: A tool skill whose program is missing.\n"
        f'metadata: {{"openclaw":{{"requires":{{"bins":["{ABSENT}"]}}}}}}\n---\n'
    )
    (catalog.parent / "skills-policy.toml").write_text(POLICY)
    return catalog
