"""The hash-chained, keyed audit log: events, keys, the writer, verification, anchors, queries,
retention."""

__all__: list[str] = []
