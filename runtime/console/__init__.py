"""The web console: operators and approvers in a browser, served by the daemon on its own loop.

Pages for approvals (live, decided here as the Approvals service decides), invocations, the
audit log, a dashboard and the skills. Who may see and do what is the role table of
``runtime.auth.roles``, read through the RPC each page stands for; signing in is counted by the
daemon's one lockout and every sign-in, sign-out and decision is audited.
"""

__all__: list[str] = []
