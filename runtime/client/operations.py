"""The clients' calls for following invocations and running the daemon: watch one invocation's
output, usage over a window, reload the configuration, the trusted signers (mixed into
``Client`` and ``AsyncClient``, which provide the stubs and the call metadata)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb

__all__ = ["AsyncOperatorCalls", "OperatorCalls", "usage_request"]

_GROUPINGS = {"skill": pb.USAGE_GROUPING_SKILL, "principal": pb.USAGE_GROUPING_PRINCIPAL}


def usage_request(since_ms: int, by: str) -> pb.GetUsageRequest:
    """``by``: skill or principal."""
    if by not in _GROUPINGS:
        raise ValueError(f"by: one of {', '.join(_GROUPINGS)}, not {by!r}")
    return pb.GetUsageRequest(since_ms=since_ms, by=_GROUPINGS[by])


class OperatorCalls:
    _stub: Any
    _admin: Any
    _meta: tuple[tuple[str, str], ...]

    def watch_invocation(
        self, invocation_id: str, *, follow: bool = False, timeout: float | None = None
    ) -> Iterator[pb.InvocationEvent]:
        """Its output so far (with ``follow``, then as it comes), and ``finished`` once it has."""
        yield from self._stub.WatchInvocation(
            pb.WatchInvocationRequest(id=invocation_id, follow=follow),
            timeout=timeout,
            metadata=self._meta,
        )

    def usage(self, *, since_ms: int = 0, by: str = "skill", timeout: float = 30) -> pb.UsageReport:
        """Calls and what they used since ``since_ms``, per skill or per principal."""
        report: pb.UsageReport = self._admin.GetUsage(
            usage_request(since_ms, by), timeout=timeout, metadata=self._meta
        )
        return report

    def reload(self, *, timeout: float = 30) -> list[str]:
        """Have the daemon re-read its configuration file; the settings that changed."""
        response = self._admin.Reload(pb.ReloadRequest(), timeout=timeout, metadata=self._meta)
        return list(response.changed)

    def trust_signer(self, name: str, public_key_pem: str, *, timeout: float = 30) -> pb.Signer:
        """Have the daemon accept the key's signatures of skills, shown under ``name``."""
        request = pb.TrustSignerRequest(name=name, public_key_pem=public_key_pem)
        signer: pb.Signer = self._admin.TrustSigner(request, timeout=timeout, metadata=self._meta)
        return signer

    def distrust_signer(self, name: str, *, timeout: float = 30) -> pb.Signer:
        request = pb.DistrustSignerRequest(name=name)
        signer: pb.Signer = self._admin.DistrustSigner(
            request, timeout=timeout, metadata=self._meta
        )
        return signer

    def list_signers(self, *, timeout: float = 30) -> list[pb.Signer]:
        response = self._admin.ListSigners(
            pb.ListSignersRequest(), timeout=timeout, metadata=self._meta
        )
        return list(response.signers)


class AsyncOperatorCalls:
    _stub: Any
    _admin: Any
    _meta: tuple[tuple[str, str], ...]

    async def list_invocations(
        self, request: pb.ListInvocationsRequest, *, timeout: float = 30
    ) -> pb.ListInvocationsResponse:
        """One page; pass its ``next_page_token`` back for the next."""
        page: pb.ListInvocationsResponse = await self._stub.ListInvocations(
            request, timeout=timeout, metadata=self._meta
        )
        return page

    async def watch_invocation(
        self, invocation_id: str, *, follow: bool = False, timeout: float | None = None
    ) -> AsyncIterator[pb.InvocationEvent]:
        """Its output so far (with ``follow``, then as it comes), and ``finished`` once it has."""
        request = pb.WatchInvocationRequest(id=invocation_id, follow=follow)
        async for event in self._stub.WatchInvocation(
            request, timeout=timeout, metadata=self._meta
        ):
            yield event

    async def usage(
        self, *, since_ms: int = 0, by: str = "skill", timeout: float = 30
    ) -> pb.UsageReport:
        """Calls and what they used since ``since_ms``, per skill or per principal."""
        report: pb.UsageReport = await self._admin.GetUsage(
            usage_request(since_ms, by), timeout=timeout, metadata=self._meta
        )
        return report

    async def reload(self, *, timeout: float = 30) -> list[str]:
        """Have the daemon re-read its configuration file; the settings that changed."""
        response = await self._admin.Reload(
            pb.ReloadRequest(), timeout=timeout, metadata=self._meta
        )
        return list(response.changed)
