"""The client's calls for quarantined skills: quarantine one by hand, release it, list them
(mixed into ``Client``, which provides the stubs and the call metadata)."""

from __future__ import annotations

from typing import Any

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb

__all__ = ["QuarantineCalls"]


class QuarantineCalls:
    _admin: Any
    _meta: tuple[tuple[str, str], ...]

    def quarantine_skill(self, skill: str, *, reason: str, timeout: float = 30) -> pb.Quarantine:
        """Refuse ``skill``'s calls, as it is now, until it is released."""
        imposed: pb.Quarantine = self._admin.QuarantineSkill(
            pb.QuarantineSkillRequest(skill=skill, reason=reason),
            timeout=timeout,
            metadata=self._meta,
        )
        return imposed

    def release_skill(self, skill: str, *, timeout: float = 30) -> list[pb.Quarantine]:
        """Release every quarantine of ``skill``; the ones released."""
        response = self._admin.ReleaseSkill(
            pb.ReleaseSkillRequest(skill=skill), timeout=timeout, metadata=self._meta
        )
        return list(response.released)

    def quarantines(self, *, timeout: float = 30) -> list[pb.Quarantine]:
        """The quarantines in force, oldest first."""
        response = self._admin.ListQuarantines(
            pb.ListQuarantinesRequest(), timeout=timeout, metadata=self._meta
        )
        return list(response.quarantines)
