"""Admin's quarantine RPCs: operators quarantine a skill by hand, release it, and list what is
quarantined (mixed into ``AdminServicer``); and a quarantine as the API shows it."""

from __future__ import annotations

from typing import Any, NoReturn, TypeAlias

import grpc

from runtime.auth.roles import principal
from runtime.core.catalog import Catalog, SkillKind
from runtime.core.manifest import SkillSpec
from runtime.core.quarantine import Quarantine
from runtime.core.quarantines import Quarantines
from runtime.errors import BadRequest, WrongState
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util.aio import to_the_end

__all__ = ["QuarantineAdmin", "quarantine_to_proto"]

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"

_REASON_CHARS = 500


def quarantine_to_proto(quarantine: Quarantine) -> pb.Quarantine:
    return pb.Quarantine(
        skill=quarantine.skill,
        skill_content_hash=quarantine.content_hash,
        kind=quarantine.kind,
        reason=quarantine.reason,
        counts=quarantine.counts,
        quarantined_at_ms=quarantine.since_ms,
        quarantined_by=quarantine.by,
        released_by=quarantine.released_by or "",
        released_at_ms=quarantine.released_ms or 0,
    )


class QuarantineAdmin:
    """The quarantine RPCs of the Admin service."""

    quarantines: Quarantines
    catalog: Catalog

    async def QuarantineSkill(
        self, request: pb.QuarantineSkillRequest, context: Context
    ) -> pb.Quarantine:
        reason = _reason(request.reason)
        entry = self.catalog.entry(request.skill or _required("skill"))
        if entry.kind is SkillKind.INSTRUCTION:
            raise WrongState(
                f"skill {entry.name!r} is an instruction skill, which sessions mount: only tool "
                "skills are quarantined"
            )
        if not isinstance(entry.skill, SkillSpec):
            raise WrongState(
                f"skill {entry.name!r} cannot be loaded, so it cannot be run either: "
                f"{entry.unavailable_reason}"
            )
        # An audited quarantine is stored and in force, even if the caller leaves half-way.
        imposed = await to_the_end(
            self.quarantines.impose(
                skill=entry.name,
                content_hash=entry.skill.content_hash,
                reason=reason,
                by=principal().name,
            )
        )
        return quarantine_to_proto(imposed)

    async def ReleaseSkill(
        self, request: pb.ReleaseSkillRequest, context: Context
    ) -> pb.ReleaseSkillResponse:
        skill = request.skill or _required("skill")
        released = await to_the_end(self.quarantines.release(skill=skill, by=principal().name))
        return pb.ReleaseSkillResponse(released=[quarantine_to_proto(q) for q in released])

    async def ListQuarantines(
        self, request: pb.ListQuarantinesRequest, context: Context
    ) -> pb.ListQuarantinesResponse:
        return pb.ListQuarantinesResponse(
            quarantines=[quarantine_to_proto(q) for q in self.quarantines.active()]
        )


def _required(field: str) -> NoReturn:
    raise BadRequest(f"{field}: required")


def _reason(text: str) -> str:
    """The operator's reason: shown in every refusal of the skill's calls, so one line."""
    reason = text.strip()
    if not reason:
        raise BadRequest("reason: required")
    if len(reason) > _REASON_CHARS or not reason.isprintable():
        raise BadRequest(f"reason: must be one line of printable text, {_REASON_CHARS} at most")
    return reason
