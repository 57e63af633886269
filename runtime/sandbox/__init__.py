"""The sandbox engine: nsjail command lines, cgroups, seccomp, the launcher and its results."""

__all__: list[str] = []
