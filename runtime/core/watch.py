"""Watching one invocation: what it printed so far, then (following) its output as it runs, then
its final record.

What a watcher may see is what ``Invocations.get`` shows it: another agent's invocation is
NOT_FOUND, a viewer gets no output of others', a result held for approval shows only once
released. The final record is the authority: output the live view did not carry (held for
approval, past its limit, or printed before a late watcher came) is sent from it, after what was.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from runtime.auth.roles import Principal
from runtime.core.invocation import Finished, OutputChunk
from runtime.core.invoke import Invocations
from runtime.core.live import STREAMS
from runtime.core.records import InvocationRecord, State, reads_output

__all__ = ["watch"]

_PIECE = 65536  # the most one chunk of the final record's output carries


async def watch(
    invocations: Invocations, invocation_id: str, principal: Principal, *, follow: bool
) -> AsyncIterator[OutputChunk | Finished]:
    """Output chunks, and ``Finished`` once the invocation has finished (at once for one that
    has; with ``follow``, when it does; never without ``follow`` for one that has not)."""
    runs = invocations.runner.live
    sent = dict.fromkeys(STREAMS, 0)
    # A place first: what a watcher is sent waits in the daemon until it reads, and even a
    # refused one would cost a record read with its output.
    with runs.watcher(principal.name):
        record = await invocations.get(invocation_id, principal)  # NOT_FOUND before any wait
        while record.state is not State.FINISHED:
            with runs.next_change(invocation_id) as change:  # taken first: no change is missed
                record = await invocations.get(invocation_id, principal)
                if record.state is State.FINISHED:
                    break
                run = runs.get(invocation_id)
                if run is not None and reads_output(record, principal):
                    async for chunk in run.output(sent, follow=follow):
                        yield chunk
                if not follow:
                    return
                await change.wait()  # it starts, ends its run, or settles
        for chunk in _rest(record, sent):
            yield chunk
        yield Finished(record)


def _rest(record: InvocationRecord, sent: dict[str, int]) -> Iterator[OutputChunk]:
    if record.result is None:
        return
    for stream in STREAMS:
        data: bytes = getattr(record.result, stream)
        for start in range(sent[stream], len(data), _PIECE):
            yield OutputChunk(stream, data[start : start + _PIECE])
