"""What the README's "Shipping dependencies" tells skill authors works: a package vendored with
`pip install --target vendor` and put on sys.path by the entrypoint imports in the real sandbox,
where `python3 -I -S` sees no site-packages of its own."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from runtime.cli.scaffold import scaffold
from runtime.util import paths

# A wheel made here (nothing is downloaded): one pure-Python module.
_WHEEL = "tinyshout-1.0-py3-none-any.whl"
_WHEEL_FILES = {
    "tinyshout/__init__.py": "def shout(text):\n    return text.upper() + '!'\n",
    "tinyshout-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinyshout\nVersion: 1.0\n",
    "tinyshout-1.0.dist-info/WHEEL": (
        "Wheel-Version: 1.0\nGenerator: skillrt-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    ),
    "tinyshout-1.0.dist-info/RECORD": "",
}
# The entrypoint as the README writes it: the vendor folder first on sys.path, then the imports.
_MAIN = """\
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "vendor"))

import json

import tinyshout

request = json.load(sys.stdin)
json.dump({"shouted": tinyshout.shout(request["name"]), "site": "site" in sys.modules}, sys.stdout)
"""


def _sandbox_python_version() -> str:
    """The X.Y of the interpreter skills run under, which `pip --python-version` is told."""
    return subprocess.run(
        ["/usr/bin/python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_a_vendored_pure_python_package_imports_in_the_sandbox(tmp_path: Path) -> None:
    """pip --target vendor, sys.path.insert in the entrypoint: the import works under -I -S."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / _WHEEL, "w") as wheel:
        for name, text in _WHEEL_FILES.items():
            wheel.writestr(name, text)
    folder = scaffold("shouter", tmp_path, "default")
    (folder / "main.py").write_text(_MAIN)
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--target",
            str(folder / "vendor"),
            "--no-compile",
            "--python-version",
            _sandbox_python_version(),
            "--only-binary=:all:",
            "--no-index",
            "--find-links",
            str(wheels),
            "tinyshout",
            "--quiet",
            "--disable-pip-version-check",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr
    assert (folder / "vendor" / "tinyshout" / "__init__.py").is_file()
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "runtime.cli.main",
            "run",
            str(folder),
            "--tool",
            "hello",
            "--input",
            '{"name": "ada"}',
            "--json",
        ],
        cwd=paths.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    result = json.loads(ran.stdout)
    # -S held: no site module, so nothing but the vendor folder brought the package in.
    assert (result["status"], result["output"]) == ("ok", {"shouted": "ADA!", "site": False})
