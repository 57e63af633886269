"""nsjail's log pipe, read without blocking the event loop."""

from __future__ import annotations

import asyncio
import os

__all__ = ["LogPipe"]


class LogPipe:
    """nsjail's log pipe: read up to the readiness line at start, the rest after the run."""

    def __init__(self, reader: asyncio.StreamReader, transport: asyncio.BaseTransport) -> None:
        self._reader = reader
        self._transport = transport
        self._lines: list[str] = []

    @classmethod
    async def open(cls, fd: int) -> LogPipe:
        """Takes ownership of ``fd``: it is closed here if opening fails."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        pipe = os.fdopen(fd, "rb", buffering=0)
        try:
            transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), pipe
            )
        except BaseException:
            pipe.close()
            raise
        return cls(reader, transport)

    async def read_until(self, marker: str) -> None:
        while line := await self._reader.readline():
            self._lines.append(line.decode("utf-8", "replace"))
            if marker in self._lines[-1]:
                return

    async def read_rest(self) -> str:
        try:
            self._lines.append((await self._reader.read()).decode("utf-8", "replace"))
        finally:
            self.close()
        return "".join(self._lines)

    def close(self) -> None:
        self._transport.close()
