"""The gRPC edge: server wiring, servicers, interceptors, config; the only layer that knows
gRPC status codes."""

__all__: list[str] = []
