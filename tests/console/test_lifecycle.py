"""The console starts and stops with the daemon, open streams included."""

from __future__ import annotations

import http.client
import signal
import socket

from tests.api.conftest import cleanup
from tests.console.conftest import start_console_daemon
from tests.timing import scaled


def test_the_daemon_stops_with_a_live_stream_open() -> None:
    """SIGTERM stops a daemon whose console has a live approvals stream open: exit 0, and the
    console's port is closed."""
    served = start_console_daemon()
    try:
        browser = served.browser()
        assert browser.sign_in(token=served.daemon.owner_token).status == 303
        stream = http.client.HTTPConnection("127.0.0.1", served.port, timeout=scaled(30))
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        stream.request("GET", "/approvals/events", headers={"Cookie": cookie})
        assert stream.getresponse().status == 200
        assert served.daemon.stop(signal.SIGTERM, timeout=scaled(60)) == 0
        stream.close()
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", served.port)) != 0
    finally:
        cleanup(served.daemon)
