"""The server interceptor: request id, authentication, authorization, and error mapping.

Every call gets a request id (bound to the logs, returned in the ``x-request-id`` trailer), is
authenticated into a Principal, and is checked against the one RPC-to-roles table. This is also
the one place errors become statuses: a ``SkillRuntimeError`` becomes its own gRPC status with its
one-line message; anything else is a bug, logged with its traceback under the request id, and the
caller gets INTERNAL with only that id. Request bytes that do not decode are refused here too, as
INVALID_ARGUMENT: left to grpc they answer UNKNOWN and print a traceback.
"""

from __future__ import annotations

import inspect
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import grpc
import structlog

from runtime.api.status import status_message, status_of
from runtime.auth.authenticate import Authenticator
from runtime.auth.roles import ANONYMOUS, Principal, allowed_roles, current_principal
from runtime.errors import BadRequest, NotAllowed, OverLimit, SkillRuntimeError
from runtime.state.db import Database

__all__ = ["CallHook", "Context", "Continuation", "Handler", "ServerInterceptor"]

log = structlog.get_logger("skillrt.rpc")

# The stubs make these generic; at run time they are plain classes, hence the strings.
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable["Handler | None"]]
CallHook = Callable[[str, Principal, bool], None]  # (method, who, allowed): for the audit log


class ServerInterceptor(grpc.aio.ServerInterceptor):
    def __init__(
        self, authenticator: Authenticator, database: Database, on_call: CallHook | None = None
    ) -> None:
        self._authenticator = authenticator
        self._sql = database.call  # token look-ups read SQLite: off the event loop
        self._on_call = on_call

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, handler.unary_unary),
                request_deserializer=_lenient(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(method, handler.unary_stream),
                request_deserializer=_lenient(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(
                self._streaming(method, handler.stream_stream),
                request_deserializer=_lenient(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        return None  # a shape the API does not use is refused (UNIMPLEMENTED)

    async def _admit(self, method: str, context: Context) -> None:
        """Authenticate and authorize the call, or raise."""
        roles = allowed_roles(method)
        if roles == ANONYMOUS:
            return
        principal = await self._sql(
            self._authenticator.authenticate, context.invocation_metadata() or (), context.peer()
        )
        current_principal.set(principal)
        structlog.contextvars.bind_contextvars(principal=principal.name, role=principal.role.value)
        allowed = principal.role in roles
        if self._on_call is not None:
            self._on_call(method, principal, allowed)
        if not allowed:
            raise NotAllowed(f"may not call {method}")

    def _unary(self, method: str, behavior: Any) -> Any:
        async def wrapped(request: Any, context: Context) -> Any:
            request_id = _bind(method, context)
            try:
                await self._admit(method, context)
                return await behavior(_decoded(request), context)
            except SkillRuntimeError as exc:
                await _abort(context, exc, request_id)
            except NotImplementedError:
                await _unimplemented(context, method)
            except grpc.aio.AbortError:
                raise  # the handler's own context.abort(): its status is the answer
            except Exception:
                await _internal(context, request_id)
            finally:
                structlog.contextvars.clear_contextvars()

        return wrapped

    def _streaming(self, method: str, behavior: Any) -> Any:
        if not inspect.isasyncgenfunction(behavior):
            # A handler that answers with context.write() (grpc's own Health.Watch) is a
            # coroutine, not an async iterator: it is wrapped like a unary one.
            return self._unary(method, behavior)

        async def wrapped(request: Any, context: Context) -> AsyncIterator[Any]:
            request_id = _bind(method, context)
            try:
                await self._admit(method, context)
                async for item in behavior(_decoded(request), context):
                    yield item
            except SkillRuntimeError as exc:
                await _abort(context, exc, request_id)
            except NotImplementedError:
                await _unimplemented(context, method)
            except grpc.aio.AbortError:
                raise  # the handler's own context.abort(): its status is the answer
            except Exception:
                await _internal(context, request_id)
            finally:
                structlog.contextvars.clear_contextvars()

        return wrapped


# What a request deserializer returns for bytes that are not a message of the method's type.
_UNDECODABLE = object()


def _lenient(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception:  # protobuf's DecodeError, or whatever else hostile bytes provoke
            return _UNDECODABLE

    return deserialize


def _decoded(request: Any) -> Any:
    """``request``, or BadRequest when it did not decode; a stream of requests is checked as it
    is read."""
    if request is _UNDECODABLE:
        raise BadRequest("request: not a valid protobuf message of this method's type")
    if isinstance(request, AsyncIterable):
        return _decoded_stream(request)
    return request


async def _decoded_stream(requests: AsyncIterable[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        yield _decoded(request)


def _bind(method: str, context: Context) -> str:
    request_id = f"req_{secrets.token_hex(8)}"
    structlog.contextvars.bind_contextvars(request_id=request_id, method=method)
    context.set_trailing_metadata((("x-request-id", request_id),))
    return request_id


async def _abort(context: Context, exc: SkillRuntimeError, request_id: str) -> None:
    code = status_of(exc)
    message = status_message(exc)
    if isinstance(exc, NotAllowed):
        message = _naming_the_caller(message)
    log.info("rpc failed", code=code.name, error=message)
    trailers = [("x-request-id", request_id)]
    if isinstance(exc, OverLimit) and exc.retry_after_seconds is not None:
        trailers.append(("retry-after", str(exc.retry_after_seconds)))
    context.set_trailing_metadata(tuple(trailers))
    await context.abort(code, message)


def _naming_the_caller(message: str) -> str:
    """A refusal says who the call was taken to be, with what role and on what credential:
    what a caller needs to see which credential to use instead."""
    who = current_principal.get(None)
    if who is None:
        return message
    return f"{who.name!r} (role {who.role.value}, by {who.authenticated_by}): {message}"


async def _unimplemented(context: Context, method: str) -> None:
    # A generated servicer base (grpc's aio Health has no List) raises this for a method that
    # its service declares and nothing implements: the caller's answer is UNIMPLEMENTED.
    log.info("rpc failed", code="UNIMPLEMENTED")
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented")


async def _internal(context: Context, request_id: str) -> None:
    log.exception("rpc crashed")
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error (request id {request_id})")
