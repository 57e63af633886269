"""The hash-chained, keyed audit log: events, the writer, verification, queries, retention."""

__all__: list[str] = []
