"""A skill whose tools misbehave on request, for tests of the daemon."""

from __future__ import annotations

from pathlib import Path

SKILL_MD = """---
name: probe
description: Tools that succeed, fail, sleep, hog memory or chatter, for daemon tests.
---
# probe
"""

_TOOL = """
[[tools]]
name = "{name}"
entrypoint = ["/usr/bin/python3", "/skill/probe.py", "{name}"]
input_schema = {{ type = "object" }}
"""

SKILL_TOML = 'version = "1.2.3"\nprofile = "default"\n' + "".join(
    _TOOL.format(name=n) for n in ("echo", "fail", "sleep", "hog", "spin", "chatter", "daemonize")
)

PROBE = r"""
import json, os, sys, time
mode = sys.argv[1]
data = json.load(sys.stdin)
if mode == "echo":
    print(json.dumps({"got": data}))
elif mode == "fail":
    print("failing on purpose", file=sys.stderr)
    sys.exit(3)
elif mode == "sleep":
    time.sleep(data.get("seconds", 60))
    print(json.dumps({"slept": data.get("seconds", 60)}))
elif mode == "hog":
    chunks = []
    while True:
        chunks.append(bytearray(16 * 1024 * 1024))
elif mode == "spin":
    while True:
        pass
elif mode == "chatter":
    for i in range(data.get("lines", 3)):
        print(f"line {i}", flush=True)
        time.sleep(data.get("pause", 0.05))
elif mode == "daemonize":
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 1)
                os.dup2(null.fileno(), 2)
            time.sleep(600)
        os._exit(0)
    time.sleep(data.get("seconds", 60))
    print(json.dumps({"done": True}))
"""


def make_probe_skill(catalog: Path) -> Path:
    folder = catalog / "probe"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(SKILL_MD)
    (folder / "skill.toml").write_text(SKILL_TOML)
    (folder / "probe.py").write_text(PROBE)
    return folder
