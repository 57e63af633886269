"""The human in the loop: approval requests and standing rules, and the gate that applies them."""

__all__: list[str] = []
