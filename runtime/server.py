"""The daemon: builds the grpc.aio server, wires every object, and shuts down gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
import sys
from pathlib import Path

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from runtime.admission import Admission
from runtime.api.skillrt.v1 import skillrt_pb2 as pb
from runtime.api.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.catalog import Catalog
from runtime.config import DaemonConfig
from runtime.errors import ConfigError
from runtime.interceptors import ErrorMappingInterceptor
from runtime.invocations import Invocations, recover
from runtime.profiles import ProfileStore
from runtime.sandbox.cgroups import Cgroups, detect_layout
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.nsjail import find_nsjail
from runtime.servicer import SkillRuntimeServicer
from runtime.store import Store

log = structlog.get_logger("skillrt.server")
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["SkillRuntime"].full_name


def configure_logging() -> None:
    """JSON lines on stderr, one per event, with the bound request id when there is one."""
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def _lock_state_dir(state_dir: Path) -> int:
    """One daemon per state directory: it owns the cgroups and records found there."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(state_dir / "daemon.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise ConfigError(
            f"{state_dir}: another skillrt daemon is using this state directory"
        ) from exc
    return fd


def _prepare_socket(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    if not path.exists():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()  # left behind by a daemon that died
    else:
        raise ConfigError(f"{path}: another daemon is already listening on this socket")
    finally:
        probe.close()


async def serve(config: DaemonConfig, *, ready: asyncio.Event | None = None) -> None:
    configure_logging()
    lock = _lock_state_dir(config.state_dir)
    store = Store(config.database)
    try:
        cgroups = Cgroups(detect_layout(), config.cgroup_root)
        launcher = Launcher(cgroups=cgroups, nsjail=find_nsjail())
        reaped, failed = recover(cgroups, store)
        if reaped or failed:
            log.warning(
                "recovered after an unclean stop",
                sandboxes_killed=reaped,
                invocations_failed=failed,
            )
        await _serve(config, store, launcher, ready)
    finally:
        store.close()
        os.close(lock)


async def _serve(
    config: DaemonConfig, store: Store, launcher: Launcher, ready: asyncio.Event | None
) -> None:
    catalog = Catalog(config.catalog_dir)
    profiles = ProfileStore(config.profiles_dir)
    invocations = Invocations(
        catalog=catalog,
        profiles=profiles,
        launcher=launcher,
        store=store,
        admission=Admission(max_running=config.max_running, max_queued=config.max_queued),
    )
    server = grpc.aio.server(interceptors=[ErrorMappingInterceptor()])
    pb_grpc.add_SkillRuntimeServicer_to_server(  # type: ignore[no-untyped-call]
        SkillRuntimeServicer(catalog=catalog, profiles=profiles, invocations=invocations), server
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (
            SERVICE_NAME,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    _prepare_socket(config.socket_path)
    old_umask = os.umask(0o177)  # the socket is created 0600: only the daemon's user connects
    try:
        server.add_insecure_port(f"unix:{config.socket_path}")
    finally:
        os.umask(old_umask)
    if config.tcp_address:
        log.warning("listening on TCP without TLS (loopback only)", address=config.tcp_address)
        server.add_insecure_port(config.tcp_address)
    await server.start()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("serving", socket=str(config.socket_path), tcp=config.tcp_address, pid=os.getpid())
    print(f"skillrt: listening on unix:{config.socket_path}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if ready is not None:
        ready.set()
    await stop.wait()

    grace = config.shutdown_grace_ms / 1000
    log.info("shutting down", grace_seconds=grace)
    await health_servicer.enter_graceful_shutdown()
    await asyncio.gather(server.stop(grace), invocations.drain(grace))
    with contextlib.suppress(FileNotFoundError):
        config.socket_path.unlink()
    log.info("stopped")
