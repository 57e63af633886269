"""The ``skillrt`` command line."""

__all__: list[str] = []
