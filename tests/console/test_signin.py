"""Signing in to the web console of a real daemon: passwords, TOTP, tokens, sessions, CSRF and
the lockout, over HTTP."""

from __future__ import annotations

import urllib.parse

import pyotp

from tests.console.conftest import ConsoleDaemon


def _totp(console: ConsoleDaemon, name: str) -> pyotp.TOTP:
    enrolled = console.cli("console", "totp", name)
    assert enrolled.returncode == 0, enrolled.stderr
    uri = enrolled.stdout.strip()
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    return pyotp.TOTP(secret)


def test_a_password_opens_a_session_on_the_approvals_page(console: ConsoleDaemon) -> None:
    """An approver's right password opens a session and lands on the approvals page."""
    password = console.add_account("ada", "approver")
    browser = console.browser()
    answer = browser.sign_in(name="ada", password=password)
    assert (answer.status, answer.location) == (303, "/approvals")
    page = browser.get("/approvals")
    assert page.status == 200
    assert "console:ada · approver" in page.body


def test_the_session_cookie_is_httponly_and_strict(console: ConsoleDaemon) -> None:
    """The session cookie is HttpOnly and SameSite=Strict; on loopback plain HTTP it cannot be
    Secure (the browser would never send it back), and it is not."""
    password = console.add_account("bea", "viewer")
    browser = console.browser()
    browser.sign_in(name="bea", password=password)
    session = [c for c in browser.set_cookies if c.startswith("skillrt-session=")]
    assert len(session) == 1
    assert "HttpOnly" in session[0] and "SameSite=Strict" in session[0]
    assert "Secure" not in session[0]


def test_a_wrong_password_is_refused_without_saying_why(console: ConsoleDaemon) -> None:
    """A wrong password answers 401 with the same words as an unknown name, opens no session,
    and is in the audit log as auth.failed via the console."""
    console.add_account("cyd", "approver")
    wrong = console.browser().sign_in(name="cyd", password="not the password at all")
    unknown = console.browser().sign_in(name="nobody-here", password="not the password at all")
    assert (wrong.status, unknown.status) == (401, 401)
    assert "Sign-in failed." in wrong.body and "Sign-in failed." in unknown.body
    failed = console.audit("auth.failed")
    assert any(e.get("via") == "console" and e.get("name") == "cyd" for e in failed)


def test_totp_is_needed_once_enrolled_and_a_code_works_once(console: ConsoleDaemon) -> None:
    """With TOTP enrolled, the password alone is refused; with the current code it is
    accepted, and the same code cannot be used again."""
    password = console.add_account("dee", "approver")
    totp = _totp(console, "dee")
    assert console.browser().sign_in(name="dee", password=password).status == 401
    code = totp.now()
    first = console.browser().sign_in(name="dee", password=password, code=code)
    assert (first.status, first.location) == (303, "/approvals")
    again = console.browser().sign_in(name="dee", password=password, code=code)
    assert again.status == 401
    logins = [e for e in console.audit("console.login") if e["actor"] == "console:dee"]
    assert [e["method"] for e in logins] == ["password+totp"]


def test_an_api_token_signs_in_as_its_principal(console: ConsoleDaemon) -> None:
    """An owner's API token signs in as that token's principal and sees every page."""
    browser = console.browser()
    answer = browser.sign_in(token=console.daemon.owner_token)
    assert answer.status == 303
    page = browser.get("/approvals")
    assert "owner · owner" in page.body
    for name in ("/approvals", "/invocations", "/dashboard", "/audit", "/skills"):
        assert f'href="{name}"' in page.body


def test_sign_in_without_the_form_cookie_is_refused(console: ConsoleDaemon) -> None:
    """A sign-in posted without the form's own token (from another page) is refused."""
    password = console.add_account("eve", "approver")
    browser = console.browser()
    answer = browser.post("/login", {"csrf": "made-up", "name": "eve", "password": password})
    assert answer.status == 403
    assert not any(k.startswith("skillrt-session") for k in browser.cookies)


def test_a_change_without_the_csrf_token_is_refused(console: ConsoleDaemon) -> None:
    """A signed-in POST without the session's CSRF token, or with another's, is refused."""
    password = console.add_account("fay", "approver")
    browser = console.browser()
    browser.sign_in(name="fay", password=password)
    assert browser.post("/logout", {}).status == 403
    assert browser.post("/logout", {"csrf": "not-the-token"}).status == 403
    assert browser.get("/approvals").status == 200  # still signed in


def test_a_change_from_another_origin_is_refused(console: ConsoleDaemon) -> None:
    """A POST whose Origin is another site is refused even with the right token."""
    password = console.add_account("gus", "approver")
    browser = console.browser()
    browser.sign_in(name="gus", password=password)
    token = browser.csrf()
    answer = browser.post("/logout", {"csrf": token}, {"Origin": "https://evil.example"})
    assert answer.status == 403


def test_sign_out_ends_the_session(console: ConsoleDaemon) -> None:
    """After signing out, the old cookie opens nothing, and the sign-out is audited."""
    password = console.add_account("hal", "approver")
    browser = console.browser()
    browser.sign_in(name="hal", password=password)
    cookie = dict(browser.cookies)
    assert browser.post("/logout", {"csrf": browser.csrf()}).location == "/login"
    browser.cookies = cookie  # as if the cookie had been kept
    again = browser.get("/approvals")
    assert (again.status, again.location) == (303, "/login?next=/approvals")
    assert any(e["actor"] == "console:hal" for e in console.audit("console.logout"))


def test_a_password_reset_ends_the_accounts_sessions(console: ConsoleDaemon) -> None:
    """Resetting an account's password ends the sessions opened with the old one."""
    password = console.add_account("ivy", "approver")
    browser = console.browser()
    browser.sign_in(name="ivy", password=password)
    assert browser.get("/approvals").status == 200
    assert console.cli("console", "reset", "ivy").returncode == 0
    assert browser.get("/approvals").status == 303


def test_guessing_locks_the_guesser_out_of_that_account(console: ConsoleDaemon) -> None:
    """After three wrong passwords for one account, even the right one is refused for a while
    from the same caller; other accounts still sign in."""
    password = console.add_account("jon", "approver")
    for _ in range(3):
        assert console.browser().sign_in(name="jon", password="guess-guess-guess").status == 401
    assert console.browser().sign_in(name="jon", password=password).status == 401
    other = console.add_account("kim", "approver")
    assert console.browser().sign_in(name="kim", password=other).status == 303


def test_pages_need_a_session(console: ConsoleDaemon) -> None:
    """Without a session a page leads to the sign-in form, which comes back to it."""
    answer = console.browser().get("/approvals")
    assert (answer.status, answer.location) == (303, "/login?next=/approvals")


def test_answers_carry_a_strict_content_security_policy(console: ConsoleDaemon) -> None:
    """Pages allow scripts and styles from the console only, and no framing."""
    headers = console.browser().get("/login").headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_next_page_a_browser_would_read_as_another_site_is_not_followed(
    console: ConsoleDaemon,
) -> None:
    """After sign-in, a ``next`` with a tab or line break (which browsers drop, so that
    ``/<tab>/evil.example`` means ``//evil.example``) is ignored for the home page."""
    for target in ("/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example"):
        browser = console.browser()
        form = browser.get("/login?" + urllib.parse.urlencode({"next": target})).body
        assert "evil.example" not in form
        answer = browser.sign_in(token=console.daemon.owner_token, next=target)
        assert (answer.status, answer.location) == (303, "/approvals")


def test_signing_in_again_and_again_ends_the_oldest_of_ones_own_sessions(
    console: ConsoleDaemon,
) -> None:
    """An agent's token signing in over and over keeps ten sessions at most (its oldest end),
    so its flood cannot push other people's sessions out."""
    token = console.token("console-flooder", "agent")
    browsers = [console.browser() for _ in range(11)]
    for browser in browsers:
        assert browser.sign_in(token=token).status == 303
    assert browsers[0].get("/invocations").status == 303
    assert browsers[-1].get("/invocations").status == 200


def test_a_page_under_another_host_name_gets_nothing(console: ConsoleDaemon) -> None:
    """A request naming another Host (a DNS-rebinding page's) is refused before any session or
    sign-in is looked at; the console's own address and localhost are served."""
    browser = console.browser()
    refused = browser.get("/login", headers={"Host": f"rebind.example:{console.port}"})
    assert refused.status == 400
    assert browser.get("/login").status == 200
    assert browser.get("/login", headers={"Host": f"localhost:{console.port}"}).status == 200


def test_a_page_asked_for_before_sign_in_comes_back_with_all_its_filters(
    console: ConsoleDaemon,
) -> None:
    """Sent to sign in from a page with several filters, a person lands on that very page."""
    browser = console.browser()
    asked = browser.get("/invocations?skill=calc&status=ok")
    assert asked.status == 303
    nxt = urllib.parse.parse_qs(urllib.parse.urlparse(asked.location).query)["next"][0]
    assert nxt == "/invocations?skill=calc&status=ok"
    answer = browser.sign_in(token=console.daemon.owner_token, next=nxt)
    assert (answer.status, answer.location) == (303, "/invocations?skill=calc&status=ok")


def test_what_aiohttp_answers_by_itself_carries_the_security_headers(
    console: ConsoleDaemon,
) -> None:
    """A redirect to sign in and a body too large still carry the frame, sniffing and cache
    headers."""
    browser = console.browser()
    redirected = browser.get("/approvals")
    too_large = browser.request(
        "POST", "/login", "x" * (65 * 1024), {"Content-Type": "application/octet-stream"}
    )
    for answer in (redirected, too_large):
        assert answer.headers["X-Frame-Options"] == "DENY", answer.status
        assert answer.headers["Cache-Control"] == "no-store"
