"""Server interceptors: a request id for every call, and the one place errors become statuses.

A ``SkillRuntimeError`` becomes its own gRPC status with its one-line message. Anything else is
a bug: it is logged with its traceback under the request id and the caller gets INTERNAL with
only that id, never the exception text.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import grpc
import structlog

from runtime.errors import SkillRuntimeError

log = structlog.get_logger("skillrt.rpc")

# The stubs make these generic; at run time they are plain classes, hence the strings.
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable["Handler | None"]]


class ErrorMappingInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _unary(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _streaming(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


def _unary(method: str, behavior: Any) -> Any:
    async def wrapped(request: Any, context: Context) -> Any:
        request_id = _bind(method, context)
        try:
            return await behavior(request, context)
        except SkillRuntimeError as exc:
            await _abort(context, exc, request_id)
        except Exception:
            await _internal(context, request_id)
        finally:
            structlog.contextvars.clear_contextvars()

    return wrapped


def _streaming(method: str, behavior: Any) -> Any:
    async def wrapped(request: Any, context: Context) -> AsyncIterator[Any]:
        request_id = _bind(method, context)
        try:
            async for item in behavior(request, context):
                yield item
        except SkillRuntimeError as exc:
            await _abort(context, exc, request_id)
        except Exception:
            await _internal(context, request_id)
        finally:
            structlog.contextvars.clear_contextvars()

    return wrapped


def _bind(method: str, context: Context) -> str:
    request_id = f"req_{secrets.token_hex(8)}"
    structlog.contextvars.bind_contextvars(request_id=request_id, method=method)
    context.set_trailing_metadata((("x-request-id", request_id),))
    return request_id


async def _abort(context: Context, exc: SkillRuntimeError, request_id: str) -> None:
    log.info("rpc failed", code=exc.status.name, error=exc.message)
    await context.abort(exc.status, exc.message)


async def _internal(context: Context, request_id: str) -> None:
    log.exception("rpc crashed")
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error (request id {request_id})")
