"""The bundled elevated skill: python-exec runs a program once a person approves it."""

from __future__ import annotations

import asyncio
import json
import shutil
import time

from runtime.core.catalog import Catalog
from runtime.core.execute import run_tool
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.profiles import ProfileStore
from runtime.util import paths
from tests.api.conftest import cleanup, make_daemon
from tests.approvals.conftest import approvals_stub, create_token


def test_manifest_marks_it_elevated(catalog: Catalog) -> None:
    """The tool is elevated and needs approval before it runs."""
    tool = catalog.get("python-exec").tool("run")
    assert (tool.elevated, tool.approval) == (True, "before_run")


def test_program_output_and_error(
    catalog: Catalog, profiles: ProfileStore, launcher: Launcher
) -> None:
    """Run directly (as a skill author would), it returns the printout and the error line."""
    run = asyncio.run(
        run_tool(
            skill=catalog.get("python-exec"),
            tool_name="run",
            input_value={"code": "print(6 * 7)\n1 / 0"},
            profiles=profiles,
            launcher=launcher,
        )
    )
    assert run.output == {"stdout": "42\n", "error": "ZeroDivisionError: division by zero"}


def test_daemon_holds_it_for_approval() -> None:
    """Through the daemon, the program runs only after an approver says yes."""
    daemon = make_daemon()
    shutil.copytree(
        paths.PROJECT_ROOT / "skills_catalog" / "python-exec", daemon.catalog / "python-exec"
    )
    try:
        daemon.start()
        agent = create_token(daemon, "agent", "agent")
        with daemon.channel(agent) as channel:
            pending = daemon.stub(channel).Invoke(
                pb.InvokeRequest(
                    skill="python-exec", tool="run", input_json=json.dumps({"code": "print(1+1)"})
                ),
                timeout=30,
            )
        assert pending.result.status == pb.STATUS_PENDING_APPROVAL
        with daemon.channel() as channel:
            approvals_stub(channel).Decide(
                pb.DecideRequest(id=pending.approval_id, approve=True), timeout=30
            )
        with daemon.channel(agent) as channel:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                found = daemon.stub(channel).GetInvocation(pb.GetInvocationRequest(id=pending.id))
                if found.state == pb.INVOCATION_STATE_FINISHED:
                    break
                time.sleep(0.05)
        assert json.loads(found.result.output_json) == {"stdout": "2\n", "error": None}
    finally:
        cleanup(daemon)
