"""``skillrt vet``: the security review of one skill folder, one module per check."""

__all__: list[str] = []
