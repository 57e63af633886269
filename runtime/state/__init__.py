"""The one SQLite access layer: connections, schema migrations, work off the event loop."""

__all__: list[str] = []
