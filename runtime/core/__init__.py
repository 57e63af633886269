"""The invocation pipeline: catalog, policy, admission, the run of one call, redaction."""

__all__: list[str] = []
