"""Small pure helpers every layer may use: canonical JSON, the clock, units, TOML fields."""

__all__: list[str] = []
