"""The skills page: every catalog folder, available or not (and why), with its permissions and
tools, as ListSkills shows them, and its review: vet record and signature."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from runtime.console.web import SITE, page, require
from runtime.core.catalog import SkillEntry
from runtime.core.instructions import InstructionSkill
from runtime.core.manifest import SkillSpec
from runtime.core.review import review
from runtime.core.signature_gate import SignatureGate

__all__ = ["setup"]


def setup(app: web.Application) -> None:
    app.router.add_get("/skills", skills_page)


async def skills_page(request: web.Request) -> web.StreamResponse:
    require(request, "skills")
    backend = request.app[SITE].backend
    listing = backend.catalog.listing()
    rows = [
        _row(entry, backend.signatures)
        for entry in sorted(listing, key=lambda e: (not e.available, e.name))
    ]
    return page(request, "skills.html", title="Skills", rows=rows)


def _row(entry: SkillEntry, signatures: SignatureGate) -> dict[str, Any]:
    skill = entry.skill
    row: dict[str, Any] = {
        "name": entry.name,
        "kind": entry.kind.value,
        "description": entry.description,
        "available": entry.available,
        "reason": entry.unavailable_reason or "",
        "version": "",
        "profile": "",
        "content_hash": "",
        "permissions": None,
        "tools": [],
        # Its vet record and signature, judged against the content served now.
        "review": review(entry, signatures) if skill is not None else None,
    }
    if isinstance(skill, SkillSpec):
        row.update(
            version=skill.version,
            profile=skill.profile,
            content_hash=skill.content_hash,
            permissions=skill.permissions,
            tools=[
                {
                    "name": tool.name,
                    "description": tool.description,
                    "elevated": tool.elevated,
                    "approval": tool.approval,
                    "network": tool.network,
                }
                for tool in skill.tools
            ],
        )
    elif isinstance(skill, InstructionSkill):
        row.update(content_hash=skill.content_hash, permissions=skill.grants)
    return row
