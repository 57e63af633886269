"""A daemon with small lockout and rate-limit settings, for access-control tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import Daemon, cleanup, make_daemon

__all__ = ["CONFIG", "LOCKOUT_MS", "MAX_FAILURES", "daemon"]

MAX_FAILURES = 3
# Short, so that lockout tests wait little, yet far longer than one call takes.
LOCKOUT_MS = 500

CONFIG = f"""
[auth]
max_failures = {MAX_FAILURES}
failure_window = "10s"
lockout = "{LOCKOUT_MS}ms"
max_lockout = "{4 * LOCKOUT_MS}ms"
admin_token_rotation = "1h"

[rate_limits.roles.agent]
concurrent = 1

[rate_limits.tokens.limited]
invocations_per_minute = 2

[rate_limits.tokens.frugal]
cpu_seconds_per_hour = 1

[rate_limits.tokens.canceller]
cpu_seconds_per_hour = 1
"""


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    instance = make_daemon()
    config = instance.root / "skillrt.toml"
    config.write_text(CONFIG)
    instance.start("--config", str(config))
    yield instance
    cleanup(instance)
