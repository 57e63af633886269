"""The daemon: builds the grpc.aio server, wires every object, and shuts down gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
from typing import Any

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from runtime.api.admin import AdminServicer
from runtime.api.approvals import ApprovalsServicer
from runtime.api.config import DaemonConfig
from runtime.api.console_wiring import console_listener
from runtime.api.housekeeping import (
    Reloader,
    audit_auth_failure,
    audit_recovery,
    collect_snapshots,
    prune_audit_daily,
    reload_config,
    repair_audit,
    sweep_expired,
)
from runtime.api.interceptors import ServerInterceptor
from runtime.api.logs import configure_logging
from runtime.api.metrics import Metrics, Watched
from runtime.api.metrics_listener import MetricsListener
from runtime.api.preflight import preflight
from runtime.api.relay import Relay
from runtime.api.sessions import SessionsServicer
from runtime.api.skill_runtime import SkillRuntimeServicer
from runtime.api.startup import lock_state_dir, open_catalog, prepare_socket, private_socket
from runtime.api.tlsfront import certified_principal, server_context
from runtime.api.workspace import WorkspaceServicer
from runtime.approvals.gate import SYSTEM_ACTOR, ApprovalGate
from runtime.approvals.store import ApprovalStore
from runtime.audit import events
from runtime.audit.background import BackgroundAudit
from runtime.audit.chainkey import require_chain_key
from runtime.audit.writer import AuditLog
from runtime.auth.accounts import AccountStore
from runtime.auth.authenticate import Authenticator
from runtime.auth.bootstrap import AdminTokenKeeper, create_owner_if_none
from runtime.auth.lockout import Lockout
from runtime.auth.ratelimit import RateLimiter
from runtime.auth.tokens import TokenStore, load_server_key
from runtime.core.admission import Admission
from runtime.core.commands import SessionCommands
from runtime.core.invoke import Invocations
from runtime.core.quarantine_store import QuarantineStore
from runtime.core.quarantines import Quarantines
from runtime.core.recovery import Recovery, recover
from runtime.core.sessions import Sessions
from runtime.core.signature_gate import SignatureGate
from runtime.core.signers import SignerStore
from runtime.core.snapshots import SkillSnapshots
from runtime.core.store import Store
from runtime.core.tools import ToolCalls
from runtime.errors import WrongState
from runtime.proto.skillrt.v1 import sessions_pb2 as spb
from runtime.proto.skillrt.v1 import sessions_pb2_grpc as spb_grpc
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.sandbox.cgroups import Cgroups, detect_layout
from runtime.sandbox.egress.session import load_settings, remove_stale_sessions
from runtime.sandbox.identity import IdentityPool
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.nsjail import find_nsjail
from runtime.sandbox.pool import WarmPool
from runtime.sandbox.profiles import ProfileStore
from runtime.secrets.keys import key_source
from runtime.secrets.oauth import OAuthBroker
from runtime.secrets.store import SecretStore
from runtime.state.schema import open_main
from runtime.util.clock import SYSTEM_CLOCK

__all__ = [
    "ADMIN_SERVICE_NAME",
    "APPROVALS_SERVICE_NAME",
    "SERVICE_NAME",
    "Reloader",
    "serve",
]

log = structlog.get_logger("skillrt.server")

# After the drain, how long callers get to receive the final records of cancelled invocations:
# the server stops as soon as all have answered, so this is only a bound, generous because
# killing the sandboxes and recording their ends takes seconds on a loaded host.
_ANSWER_SECONDS = 15.0

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["SkillRuntime"].full_name
ADMIN_SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Admin"].full_name
APPROVALS_SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Approvals"].full_name


async def serve(
    config: DaemonConfig,
    *,
    ready: asyncio.Event | None = None,
    reload: Reloader | None = None,
) -> None:
    # What `skillrt config check` checks stops the start the same way (but a broken profile).
    preflight(config, every_profile=False)
    configure_logging()
    # Services start at a soft 1024 (systemd): take the hard limit, so that the egress proxies'
    # descriptor reserve leaves the daemon room for every other caller.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    os.umask(0o077)  # state files (databases and their -wal/-shm, keys, logs) are private
    lock = lock_state_dir(config.state_dir)
    db = open_main(config.database)
    store = Store(db)
    server_key = load_server_key(config.server_key)
    tokens, accounts = TokenStore(db, server_key), AccountStore(db, server_key)
    approvals = ApprovalStore(db)
    try:
        cgroups = Cgroups(detect_layout(), config.cgroup_root)
        launcher = Launcher(
            cgroups=cgroups,
            nsjail=find_nsjail(),
            egress=load_settings(),
            identities=IdentityPool(config.host_uids),
        )
        recovery = recover(cgroups, store)
        remove_stale_sessions()
        await _serve(config, store, tokens, accounts, approvals, launcher, ready, reload, recovery)
    finally:
        db.close()
        os.close(lock)


async def _serve(
    config: DaemonConfig,
    store: Store,
    tokens: TokenStore,
    accounts: AccountStore,
    approvals: ApprovalStore,
    launcher: Launcher,
    ready: asyncio.Event | None,
    reload: Reloader | None,
    recovery: Recovery,
) -> None:
    current = [config]  # what SIGHUP swaps: the settings that apply without a restart
    profiles = ProfileStore(config.profiles_dir)
    snapshots = SkillSnapshots(config.snapshot_root)
    snapshots.open()  # a root the sandbox user cannot reach, or others may write, stops the start
    # A log with entries and no chain key stops the start: keying it is the operator's act.
    require_chain_key(config.audit_keys, config.audit_log)
    metrics = Metrics()  # counts what the audit log records; served only if configured
    audit_log = BackgroundAudit(AuditLog(config.audit_log, keys=config.audit_keys), metrics)
    audit_log.bind(asyncio.get_running_loop())
    await repair_audit(audit_log)
    audit_recovery(audit_log, recovery)
    quarantines = Quarantines(
        store=QuarantineStore(store.db), settings=config.quarantine, audit_log=audit_log
    )
    await quarantines.load()  # in force again before the first call
    signatures = SignatureGate(SignerStore(tokens.db), required=config.require_signed)
    catalog = open_catalog(config, profiles, snapshots, gates=[signatures, quarantines.gate])

    def record_token(change: str, fields: dict[str, Any]) -> None:
        # Written through rather than queued: the token is made only once this returns.
        audit_log.log.append(events.TOKEN_CHANGES[change], actor=SYSTEM_ACTOR, **fields)

    owner = create_owner_if_none(tokens, SYSTEM_CLOCK.now_ms(), record=record_token)
    if owner is not None:
        # Shown once, on the terminal only: logs never carry secrets.
        print(f"skillrt: owner token (shown once, keep it safe): {owner}", flush=True)
    broker = OAuthBroker(
        SecretStore(
            config.secrets_db, key_source(config.secrets_key, command=config.secrets_key_command)
        )
    )
    admission = Admission(max_running=config.max_running, max_queued=config.max_queued)
    # Warm sandboxes start only while no call waits for a slot.
    pool = WarmPool(launcher, config.pool, busy=lambda: admission.waiting > 0)
    invocations = Invocations(
        tools=ToolCalls(catalog=catalog, profiles=profiles),
        pool=pool,
        store=store,
        admission=admission,
        gate=ApprovalGate(store=approvals, audit_log=audit_log),
        approval_timeout_ms=config.approval_timeout_ms,
        rate_limiter=RateLimiter(lambda who: current[0].rate_limits(who.role, who.name)),
        audit_log=audit_log,
        resolve_secrets=lambda names: asyncio.to_thread(broker.resolve, names),
    )
    quarantines.watch(invocations.runner)
    sessions = Sessions(
        settings=config.sessions,
        profiles=profiles,
        catalog=catalog,
        identities=launcher.identities,
        audit_log=audit_log,
        give_up_a_uid=pool.give_up_a_uid,
    )
    sessions.recover()
    invocations.add_strategy(
        "command", SessionCommands(sessions=sessions, policies=config.session_commands)
    )
    keeper = AdminTokenKeeper(
        tokens=tokens,
        path=config.admin_token_file,
        interval_ms=config.admin_token_rotation_ms,
        overlap_ms=config.token_overlap_ms,
        record=record_token,
    )
    keeper.refresh()
    upstream = private_socket(config.state_dir)
    relay = Relay(upstream)
    lockout = Lockout(config.lockout)
    authenticator = Authenticator(
        tokens=tokens,
        lockout=lockout,
        transport=relay.transport,
        keyholders=frozenset({0, os.geteuid()}),  # root, and the user the daemon runs as
        on_failure=lambda peer, token_id: audit_auth_failure(audit_log, peer, token_id),
    )
    metrics.watch(
        Watched(
            admission=admission,
            pool=pool,
            lockout=lockout,
            approvals=approvals,
            quarantines=quarantines,
        )
    )
    metrics_listener = MetricsListener(metrics.exposition)

    def reload_by(actor: str) -> list[str]:
        if reload is None:
            raise WrongState("this daemon was started without a configuration to reload")
        return reload_config(
            reload, current, invocations, lockout, signatures, audit_log, quarantines, actor=actor
        )

    server = grpc.aio.server(
        interceptors=[
            ServerInterceptor(
                authenticator,
                tokens.db,
                on_call=lambda method, who, allowed: audit_log.emit(
                    events.RPC_CALLED,
                    actor=who.name,
                    method=method,
                    role=who.role.value,
                    allowed=allowed,
                ),
            )
        ]
    )
    pb_grpc.add_SkillRuntimeServicer_to_server(  # type: ignore[no-untyped-call]
        SkillRuntimeServicer(
            catalog=catalog,
            profiles=profiles,
            invocations=invocations,
            signed_by=signatures.signed_by,
        ),
        server,
    )
    pb_grpc.add_AdminServicer_to_server(  # type: ignore[no-untyped-call]
        AdminServicer(
            tokens=tokens,
            default_overlap_ms=config.token_overlap_ms,
            audit_log=audit_log,
            pool=pool,
            store=store,
            signers=signatures.signers,
            reload=reload_by,
            quarantines=quarantines,
            catalog=catalog,
            accounts=accounts,
        ),
        server,
    )
    spb_grpc.add_SessionsServicer_to_server(  # type: ignore[no-untyped-call]
        SessionsServicer(sessions=sessions, invocations=invocations), server
    )
    spb_grpc.add_WorkspaceServicer_to_server(  # type: ignore[no-untyped-call]
        WorkspaceServicer(sessions.files), server
    )
    pb_grpc.add_ApprovalsServicer_to_server(  # type: ignore[no-untyped-call]
        ApprovalsServicer(
            invocations=invocations, catalog=catalog, audit_log=audit_log, quarantines=quarantines
        ),
        server,
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (
            SERVICE_NAME,
            ADMIN_SERVICE_NAME,
            APPROVALS_SERVICE_NAME,
            *(s.full_name for s in spb.DESCRIPTOR.services_by_name.values()),
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    await metrics_listener.listen(config.metrics_listen)
    console = console_listener(
        config,
        invocations=invocations,
        catalog=catalog,
        signatures=signatures,
        profiles=profiles,
        audit_log=audit_log,
        accounts=accounts,
        tokens=tokens,
        lockout=lockout,
    )
    await console.listen()
    prepare_socket(config.socket_path)
    # gRPC listens only where the daemon's listeners relay to: they name each caller.
    server.add_insecure_port(f"unix:{upstream}")
    await server.start()
    await relay.listen_unix(config.socket_path)
    if config.tcp_address and config.tls is not None:
        tls = config.tls
        await relay.listen_tcp(
            config.tcp_address,
            tls=server_context(tls),
            certify=lambda cert: certified_principal(tls, cert),
        )
    elif config.tcp_address:
        log.warning(
            "INSECURE: listening on TCP without TLS; tokens cross the wire in clear text",
            address=config.tcp_address,
        )
        await relay.listen_tcp(config.tcp_address)
    keeper_task = asyncio.create_task(keeper.run())
    pruner_task = asyncio.create_task(prune_audit_daily(config))
    sweeper_task = asyncio.create_task(sweep_expired(invocations, sessions))
    collector_task = asyncio.create_task(collect_snapshots(snapshots))
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info(
        "serving",
        socket=str(config.socket_path),
        tcp=config.tcp_address,
        tls=config.tls is not None,
        pid=os.getpid(),
    )
    print(f"skillrt: listening on {config.listeners()}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if reload is not None:

        def on_hangup() -> None:
            with contextlib.suppress(WrongState):  # refused, logged and audited: nothing changed
                reload_by(SYSTEM_ACTOR)

        loop.add_signal_handler(signal.SIGHUP, on_hangup)
    if ready is not None:
        ready.set()
    await stop.wait()

    grace = config.shutdown_grace_ms / 1000
    log.info("shutting down", grace_seconds=grace)
    keeper_task.cancel()
    pruner_task.cancel()
    sweeper_task.cancel()
    collector_task.cancel()
    await health_servicer.enter_graceful_shutdown()
    relay.stop_listening()
    # The server outlasts the drain so that callers still connected receive their invocation's
    # final record (cancelled, with its id) instead of UNAVAILABLE; it stops as soon as every
    # call has answered.
    await asyncio.gather(
        server.stop(grace + _ANSWER_SECONDS), invocations.drain(grace), pool.close()
    )
    relay.close()
    await sessions.close()
    snapshots.close()
    await audit_log.close()
    await metrics_listener.close()
    await console.close()
    for path in (config.socket_path, upstream):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    log.info("stopped")
