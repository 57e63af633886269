"""Identity and access: tokens, roles, failed-authentication lockout, rate limits."""

__all__: list[str] = []
