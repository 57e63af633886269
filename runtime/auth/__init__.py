"""Identity and access: tokens, roles, failed-authentication lockout, rate limits."""
