"""Following one call of the pipeline as a stream of events, for the streaming RPCs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from runtime.core.invocation import Event, EventSink, Finished, OutputChunk
from runtime.core.records import InvocationRecord
from runtime.errors import BadRequest
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb

__all__ = ["follow", "output_to_proto", "required"]

_STREAMS = {
    "stdout": pb.InvocationEvent.Output.STREAM_STDOUT,
    "stderr": pb.InvocationEvent.Output.STREAM_STDERR,
}


async def follow(
    run: Callable[[EventSink], Coroutine[Any, Any, InvocationRecord]],
) -> AsyncIterator[Event]:
    """The events of ``run`` as they come, up to its end. If it fails before it finishes, its
    error is raised after the events it sent; a caller that stops listening cancels it."""
    events: asyncio.Queue[Event] = asyncio.Queue()
    task = asyncio.create_task(run(events.put))
    try:
        while True:
            getter = asyncio.create_task(events.get())
            done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                task.result()  # the call ended without a Finished event: raise its error
                while not events.empty():
                    yield events.get_nowait()
                return
            event = getter.result()
            yield event
            if isinstance(event, Finished):
                await task
                return
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def output_to_proto(chunk: OutputChunk) -> pb.InvocationEvent.Output:
    return pb.InvocationEvent.Output(stream=_STREAMS[chunk.stream], data=chunk.data)


def required(value: str, field: str) -> str:
    if not value:
        raise BadRequest(f"{field}: required")
    return value
