"""The skills page: every catalog folder, available or not (and why), with its permissions and
tools, as ListSkills shows them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from runtime.console.web import SITE, page, require
from runtime.core.catalog import SkillEntry
from runtime.core.instructions import InstructionSkill
from runtime.core.manifest import SkillSpec

__all__ = ["setup"]


def setup(app: web.Application) -> None:
    app.router.add_get("/skills", skills_page)


async def skills_page(request: web.Request) -> web.StreamResponse:
    require(request, "skills")
    listing = request.app[SITE].backend.catalog.listing()
    rows = [_row(entry) for entry in sorted(listing, key=lambda e: (not e.available, e.name))]
    return page(request, "skills.html", title="Skills", rows=rows)


def _row(entry: SkillEntry) -> dict[str, Any]:
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
        # A skill's vet record and signature, once the catalog carries them: the page has a
        # column waiting (see skills.html), empty until then.
        "review": None,
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
