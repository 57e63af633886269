"""The audit event vocabulary: the only event names the log accepts.

Invocation events carry skill, tool, version, content_hash, input_hash, profile and limits;
invocation.started carries skill, tool and how long the call waited for a slot (queued_ms);
invocation.finished adds status and usage. No event carries an input, an output or a secret
value: the log is kept for 30 days and cannot be edited to remove one.
"""

from __future__ import annotations

__all__ = [
    "APPROVAL_DECIDED",
    "APPROVAL_EXPIRED",
    "APPROVAL_REQUESTED",
    "AUDIT_ADOPTED",
    "AUDIT_REPAIRED",
    "AUTH_FAILED",
    "CHECKPOINT",
    "CONFIG_RELOADED",
    "CONSOLE_ACCOUNT_CHANGES",
    "CONSOLE_ACCOUNT_CREATED",
    "CONSOLE_ACCOUNT_REMOVED",
    "CONSOLE_ACCOUNT_RESET",
    "CONSOLE_LOGIN",
    "CONSOLE_LOGOUT",
    "CONSOLE_TOTP_ENROLLED",
    "DAEMON_RECOVERED",
    "DATA_DELETED",
    "DATA_EXPORTED",
    "EGRESS_DECIDED",
    "EVENTS",
    "INVOCATION_FINISHED",
    "INVOCATION_REQUESTED",
    "INVOCATION_STARTED",
    "RPC_CALLED",
    "RULE_CREATED",
    "RULE_DELETED",
    "SECRET_ACCESSED",
    "SECRET_KEY_ROTATED",
    "SECRET_REFRESHED",
    "SECRET_REMOVED",
    "SECRET_REVOKED",
    "SECRET_SET",
    "SESSION_CREATED",
    "SESSION_ENDED",
    "SIGNER_DISTRUSTED",
    "SIGNER_TRUSTED",
    "SKILL_QUARANTINED",
    "SKILL_RELEASED",
    "TOKEN_CHANGES",
    "TOKEN_CREATED",
    "TOKEN_REVOKED",
    "TOKEN_ROTATED",
]

AUTH_FAILED = "auth.failed"
RPC_CALLED = "rpc.called"
INVOCATION_REQUESTED = "invocation.requested"
INVOCATION_STARTED = "invocation.started"
INVOCATION_FINISHED = "invocation.finished"
APPROVAL_REQUESTED = "approval.requested"
APPROVAL_DECIDED = "approval.decided"
APPROVAL_EXPIRED = "approval.expired"
# A standing rule allows or denies every matching call: each one is an approval in advance.
RULE_CREATED = "rule.created"
RULE_DELETED = "rule.deleted"
TOKEN_CREATED = "token.created"
TOKEN_REVOKED = "token.revoked"
TOKEN_ROTATED = "token.rotated"
# What the token store's own callers say of a change ("created", ...), as the event it is.
TOKEN_CHANGES = {"created": TOKEN_CREATED, "revoked": TOKEN_REVOKED, "rotated": TOKEN_ROTATED}
# The web console: who signed in (and how) and out; failed sign-ins are auth.failed.
CONSOLE_LOGIN = "console.login"
CONSOLE_LOGOUT = "console.logout"
CONSOLE_ACCOUNT_CREATED = "console.account_created"
CONSOLE_ACCOUNT_RESET = "console.account_reset"
CONSOLE_TOTP_ENROLLED = "console.totp_enrolled"
CONSOLE_ACCOUNT_REMOVED = "console.account_removed"
CONSOLE_ACCOUNT_CHANGES = {
    "created": CONSOLE_ACCOUNT_CREATED,
    "reset": CONSOLE_ACCOUNT_RESET,
    "totp": CONSOLE_TOTP_ENROLLED,
    "removed": CONSOLE_ACCOUNT_REMOVED,
}
SECRET_SET = "secret.set"
SECRET_REMOVED = "secret.removed"
SECRET_ACCESSED = "secret.accessed"
SECRET_REFRESHED = "secret.refreshed"
SECRET_REVOKED = "secret.revoked"
SECRET_KEY_ROTATED = "secret.key_rotated"
CONFIG_RELOADED = "config.reloaded"
# Whose signatures the catalog accepts (key_id and name): each change is a change of what runs.
SIGNER_TRUSTED = "signer.trusted"
SIGNER_DISTRUSTED = "signer.distrusted"
DATA_EXPORTED = "data.exported"
DATA_DELETED = "data.deleted"
EGRESS_DECIDED = "egress.decided"  # one network connection a sandbox asked for, and the answer
DAEMON_RECOVERED = "daemon.recovered"  # a start after an unclean stop, and what it cleaned up
SESSION_CREATED = "session.created"
SESSION_ENDED = "session.ended"  # destroyed, expired, or ended by a daemon stop or restart
# A skill content refused until released: by the daemon ("automatic", with the trips that
# crossed a threshold) or by an operator (with the reason given); and its release.
SKILL_QUARANTINED = "skill.quarantined"
SKILL_RELEASED = "skill.released"
AUDIT_REPAIRED = "audit.repaired"  # a torn tail cut off: how many bytes, after which seq
AUDIT_ADOPTED = "audit.adopted"  # an unkeyed log keyed by the operator, unkeyed up to a seq
# Written by retention only, so it is not in EVENTS: no caller may append one.
CHECKPOINT = "audit.checkpoint"
EVENTS = frozenset(
    {
        EGRESS_DECIDED,
        AUDIT_REPAIRED,
        AUDIT_ADOPTED,
        SESSION_CREATED,
        SESSION_ENDED,
        SKILL_QUARANTINED,
        SKILL_RELEASED,
        DAEMON_RECOVERED,
        AUTH_FAILED,
        RPC_CALLED,
        INVOCATION_REQUESTED,
        INVOCATION_STARTED,
        INVOCATION_FINISHED,
        APPROVAL_REQUESTED,
        APPROVAL_DECIDED,
        APPROVAL_EXPIRED,
        RULE_CREATED,
        RULE_DELETED,
        TOKEN_CREATED,
        TOKEN_REVOKED,
        TOKEN_ROTATED,
        CONSOLE_LOGIN,
        CONSOLE_LOGOUT,
        CONSOLE_ACCOUNT_CREATED,
        CONSOLE_ACCOUNT_RESET,
        CONSOLE_TOTP_ENROLLED,
        CONSOLE_ACCOUNT_REMOVED,
        SECRET_SET,
        SECRET_REMOVED,
        SECRET_ACCESSED,
        SECRET_REFRESHED,
        SECRET_REVOKED,
        SECRET_KEY_ROTATED,
        CONFIG_RELOADED,
        SIGNER_TRUSTED,
        SIGNER_DISTRUSTED,
        DATA_EXPORTED,
        DATA_DELETED,
    }
)
