"""The skills page of a real daemon: available and unavailable skills, with reasons,
permissions and tools, and a place for their review."""

from __future__ import annotations

import pytest

from tests.console.conftest import Browser, ConsoleDaemon


@pytest.fixture(scope="module")
def viewer(console: ConsoleDaemon) -> Browser:
    broken = console.daemon.catalog / "broken"
    broken.mkdir()
    (broken / "SKILL.md").write_text("---\nname: broken\ndescription: Broken.\n---\n# broken\n")
    (broken / "skill.toml").write_text('version = "1"\nprofile = "no-such-profile"\n')
    password = console.add_account("zed", "viewer")
    browser = console.browser()
    assert browser.sign_in(name="zed", password=password).status == 303
    return browser


def _card(page: str, name: str) -> str:
    return page.split(f'id="skill-{name}"')[1].split("</article>")[0]


def test_available_skills_show_their_tools_and_approval(viewer: Browser) -> None:
    """An available skill shows its version, its tools, and which need approval."""
    gated = _card(viewer.get("/skills").body, "gated")
    assert 'data-available="yes"' in viewer.get("/skills").body
    assert "2.5.0" in gated and "echo" in gated and "needs approval (before_run)" in gated


def test_an_unavailable_skill_says_why(viewer: Browser) -> None:
    """A folder that cannot be served is listed unavailable with its reason."""
    broken = _card(viewer.get("/skills").body, "broken")
    assert "unavailable" in broken and 'class="error reason"' in broken


def test_each_skill_has_a_place_for_its_review(viewer: Browser) -> None:
    """Every skill has a Review row, waiting for vet and signature state."""
    page = viewer.get("/skills").body
    assert page.count('class="review"') == page.count('class="card skill"') > 0
