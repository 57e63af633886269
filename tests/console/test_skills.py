"""The skills page of a real daemon: available and unavailable skills, with reasons,
permissions and tools, and their review: vet record and signature."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.console.conftest import Browser, ConsoleDaemon
from tests.signing_fixture import sign_folder, write_key


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


def test_a_skill_never_vetted_nor_signed_says_so(viewer: Browser) -> None:
    """Without a vet record or signature beside its folder, a skill's review says so."""
    card = _card(viewer.get("/skills").body, "probe")
    assert "not vetted (skillrt vet)" in card
    assert "unsigned: no probe.sig.json beside the folder" in card


def test_a_vetted_skill_signed_by_a_trusted_key_shows_both(
    console: ConsoleDaemon, viewer: Browser, tmp_path: Path
) -> None:
    """Vetted and signed by a key the owner trusted, the card names the reviewer, the verdict
    and the signer; the review is shown whether or not signatures are required."""
    key = Ed25519PrivateKey.generate()
    folder = console.daemon.catalog / "reviewed"
    shutil.copytree(console.daemon.catalog / "gated", folder)
    skill_md = (folder / "SKILL.md").read_text().replace("name: gated", "name: reviewed")
    (folder / "SKILL.md").write_text(skill_md)
    sign_folder(folder, key)
    public = write_key(key, tmp_path / "carol.key")
    trusted = console.cli("skills", "trust", str(public), "--name", "carol")
    assert trusted.returncode == 0, trusted.stderr
    card = _card(viewer.get("/skills").body, "reviewed")
    assert "vetted by reviewer at 2026-11-01 11:00 UTC: passed" in card
    assert "signed by carol (ed25519:" in card
    (folder / "echo.py").write_text((folder / "echo.py").read_text() + "\n")
    changed = _card(viewer.get("/skills").body, "reviewed")
    assert "the vet record is for other content" in changed
    assert "changed since it was signed" in changed
