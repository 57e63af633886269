"""Checks of the host and of profiles: ``skillrt doctor`` and ``skillrt profile check``."""

__all__: list[str] = []
