"""The console as a person uses it, in a real headless chromium: signing in (with and without
TOTP), a pending approval appearing live and approved, what a viewer cannot do, signing out,
and a phone-sized screen. Each test leaves screenshots of the pages it saw."""

from __future__ import annotations

import json
import threading
import urllib.parse
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from runtime.client import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.console.browser.conftest import PHONE, sign_in, url
from tests.console.conftest import ConsoleDaemon


def test_signing_in_with_a_password(page: Page, console: ConsoleDaemon, screenshots: Path) -> None:
    """An approver signs in with a password and lands on the live approvals page."""
    password = console.add_account("pat", "approver")
    page.goto(url(console, "/login"))
    page.screenshot(path=screenshots / "login.png", full_page=True)
    sign_in(page, console, "pat", password)
    assert page.url.endswith("/approvals")
    expect(page.locator("#live")).to_have_text("live")
    expect(page.locator(".who")).to_contain_text("console:pat")
    page.screenshot(path=screenshots / "approvals-empty.png", full_page=True)


def test_signing_in_with_totp(page: Page, console: ConsoleDaemon, screenshots: Path) -> None:
    """With TOTP enrolled, the password alone is refused and the code lets the person in."""
    password = console.add_account("quinn", "approver")
    enrolled = console.cli("console", "totp", "quinn")
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(enrolled.stdout.strip()).query)
    totp = pyotp.TOTP(secret["secret"][0])
    page.goto(url(console, "/login"))
    page.fill("#password-form input[name=name]", "quinn")
    page.fill("#password-form input[name=password]", password)
    page.click("#password-form button[type=submit]")
    expect(page.locator(".error")).to_have_text("Sign-in failed.")
    page.screenshot(path=screenshots / "login-refused.png", full_page=True)
    sign_in(page, console, "quinn", password, code=totp.now())
    assert page.url.endswith("/approvals")


def test_a_pending_approval_appears_live_and_approving_it_completes_the_call(
    page: Page, console: ConsoleDaemon, screenshots: Path
) -> None:
    """The request appears without a reload; approving it lets the agent's waiting call
    finish with its result."""
    agent = console.token("live-agent", "agent")
    password = console.add_account("rae", "approver")
    sign_in(page, console, "rae", password)
    expect(page.locator("#live")).to_have_text("live")
    page.evaluate("window.notReloaded = true")
    answers: list[pb.Invocation] = []
    caller = threading.Thread(
        target=lambda: answers.append(console.invoke(agent, {"order": 66}, wait=True))
    )
    caller.start()
    card = page.locator(".approval", has_text='"order": 66')
    expect(card).to_be_visible()
    expect(card).to_contain_text("live-agent")
    expect(card.locator(".countdown")).to_contain_text("expires in")
    page.screenshot(path=screenshots / "approvals-pending.png", full_page=True)
    card.locator("input[name=reason]").fill("checked the order")
    card.locator("button.approve").click()
    expect(card.locator(".settled")).to_contain_text("approved by console:rae")
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=screenshots / "approvals-approved.png", full_page=True)
    caller.join(timeout=120)
    assert answers and answers[0].result.status == pb.STATUS_OK
    assert json.loads(answers[0].result.output_json) == {"echo": {"order": 66}}


def test_the_audit_page_shows_a_decision(
    page: Page, console: ConsoleDaemon, screenshots: Path
) -> None:
    """A decision made in the console is on the audit page, under the approver's name."""
    agent = console.token("audited-agent", "agent")
    pending = console.invoke(agent, {"audited": True})
    password = console.add_account("wes", "approver")
    sign_in(page, console, "wes", password)
    card = page.locator(f"#{pending.approval_id}")
    card.locator("input[name=reason]").fill("not today")
    card.locator("button.deny").click()
    expect(card.locator(".settled")).to_contain_text("denied by console:wes: not today")
    page.context.clear_cookies()
    admin = console.add_account("wes-admin", "admin")
    sign_in(page, console, "wes-admin", admin)
    page.goto(url(console, "/audit?event=approval.decided"))
    expect(page.locator("#chain")).to_contain_text("intact")
    row = page.locator("tr[data-event='approval.decided']", has_text=pending.approval_id)
    expect(row).to_contain_text("console:wes")
    expect(row).to_contain_text("not today")
    page.screenshot(path=screenshots / "audit.png", full_page=True)


def test_a_viewer_sees_no_approve_button_and_a_forged_post_is_refused(
    page: Page, console: ConsoleDaemon, screenshots: Path
) -> None:
    """A viewer's page has no approve button; a decision posted without a CSRF token, or with
    the viewer's own session and token, is refused and the request stays pending."""
    agent = console.token("viewer-agent", "agent")
    pending = console.invoke(agent, {"viewer": "forges"})
    password = console.add_account("sam", "viewer")
    sign_in(page, console, "sam", password)
    page.goto(url(console, "/approvals"))
    assert page.locator("button.approve").count() == 0
    page.screenshot(path=screenshots / "approvals-viewer.png", full_page=True)
    decide = url(console, f"/approvals/{pending.approval_id}/decide")
    without = page.request.post(decide, form={"decision": "approve"})
    assert without.status == 403
    token = page.locator("input[name=csrf]").first.input_value()
    forged = page.request.post(decide, form={"decision": "approve", "csrf": token})
    assert forged.status == 403
    approver = console.add_account("sam-approver", "approver")
    page.context.clear_cookies()
    sign_in(page, console, "sam-approver", approver)
    expect(page.locator(f"#{pending.approval_id}")).to_have_attribute("data-state", "pending")


def test_a_forged_post_without_the_token_is_refused_for_an_approver(
    page: Page, console: ConsoleDaemon
) -> None:
    """Even an approver's session decides nothing without the page's CSRF token."""
    agent = console.token("forged-agent", "agent")
    pending = console.invoke(agent, {"forged": True})
    password = console.add_account("tess", "approver")
    sign_in(page, console, "tess", password)
    decide = url(console, f"/approvals/{pending.approval_id}/decide")
    assert page.request.post(decide, form={"decision": "approve"}).status == 403
    page.reload()
    expect(page.locator(f"#{pending.approval_id}")).to_have_attribute("data-state", "pending")


def test_signing_out_invalidates_the_session(
    chromium: Browser, context: BrowserContext, page: Page, console: ConsoleDaemon
) -> None:
    """After signing out, the session's cookie, replayed in another browser, opens nothing."""
    password = console.add_account("uma", "approver")
    sign_in(page, console, "uma", password)
    kept = context.cookies()
    page.click("#logout")
    page.wait_for_url("**/login")
    replay = chromium.new_context()
    try:
        replay.add_cookies(kept)  # type: ignore[arg-type]
        other = replay.new_page()
        other.goto(url(console, "/approvals"))
        assert "/login" in other.url
        expect(other.locator("#password-form")).to_be_visible()
    finally:
        replay.close()


def test_the_approvals_page_fits_a_phone(
    chromium: Browser, console: ConsoleDaemon, screenshots: Path
) -> None:
    """On a phone-sized screen a pending request fits the width (nothing scrolls sideways)
    and its approve and deny buttons are on screen and usable."""
    agent = console.token("phone-agent", "agent")
    console.invoke(agent, {"text": "a long input " * 20, "path": "/a/very/long/path/" * 6})
    password = console.add_account("val", "approver")
    phone = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = phone.new_page()
        sign_in(page, console, "val", password)
        card = page.locator(".approval", has_text="phone-agent").first
        expect(card).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        for button in ("button.approve", "button.deny"):
            box = card.locator(button).bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
            assert box["height"] >= 40  # big enough for a thumb
        page.screenshot(path=screenshots / "approvals-phone.png", full_page=True)
    finally:
        phone.close()


@pytest.mark.parametrize("path", ["/approvals", "/invocations", "/dashboard", "/audit", "/skills"])
def test_every_page_fits_a_phone(
    chromium: Browser, console: ConsoleDaemon, screenshots: Path, path: str
) -> None:
    """Each page, on a phone-sized screen, scrolls only down, never sideways; a picture of it
    on a phone and on a desktop is kept."""
    agent = console.token(f"pages-agent{path.replace('/', '-')}", "agent")
    with Client(console.daemon.target, token=agent) as client:
        client.invoke("text-stats", "analyze", {"text": "pages " * 40}, timeout=120)
    name = path.strip("/")
    for size, viewport in (("phone", PHONE), ("desktop", {"width": 1280, "height": 800})):
        made = chromium.new_context(viewport=viewport, is_mobile=size == "phone")
        try:
            page = made.new_page()
            page.goto(url(console, "/login"))
            page.click("summary")
            page.fill("#token-form input[name=token]", console.daemon.owner_token)
            page.click("#token-form button[type=submit]")
            page.wait_for_selector("#logout")
            page.goto(url(console, path))
            expect(page.locator("h1")).to_be_visible()
            if size == "phone":
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["width"], f"{path} is {width} px wide on a phone"
            page.screenshot(path=screenshots / f"{name}-{size}.png", full_page=True)
        finally:
            made.close()
