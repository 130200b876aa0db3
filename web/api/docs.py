"""The OpenAPI document says what each API operation really answers (issue 14).

Error statuses are derived from the handler, the same way for every operation, rather than
listed by hand: any request may be malformed (400) or meet a busy server (503); a guard
means 401 and 403; a request that names a record (a path or query parameter, a body) may
name one that does not exist (404); a body may be too large (413); a guarded act that
changes state may clash with the current state (409) or be refused by a trading rule (422).
An operation's own ``responses=`` adds its codes, and any status a handler raises without a
guard (a 401 for a public record's PDF). Every error answer is documented in the shape the
server sends (``web.core.errors.ErrorAnswer``).

Answers that are not JSON say their content types: event streams (``text/event-stream``)
by their return type, files by the handler's ``opt={"media_types": (...)}``.

Bodies and answers are typed by the handler's signature (``data:`` and the return type, from
``web.api.schemas``). Two kinds of handler cannot say it there, and name the type as a route
option instead: one that reads its body itself (JSON or multipart in one route, a signed
federation/1 message) says ``body=`` (its ``data`` for the document only: the request is
parsed by the handler as before), and one that answers a ``Response`` it builds (a signed
answer) says ``answer=``.
"""
from __future__ import annotations

from dataclasses import dataclass

from litestar import Litestar
from litestar.constants import RESERVED_KWARGS
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Schema
from litestar.response import ServerSentEvent
from litestar.typing import FieldDefinition

from web.core.errors import error_responses

EVENT_STREAM = "text/event-stream"
PDF = "application/pdf"
BINARY = "application/octet-stream"
# The spreadsheet exports, by their format parameter (Litestar adds "; charset=utf-8" to text/ types).
SPREADSHEETS = {"csv": "text/csv",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
CHANGES_STATE = {"POST", "PUT", "PATCH", "DELETE"}


def documented(path: str) -> bool:
    """The API's own paths: the pages (and their cookie-authenticated streams) are not part of it."""
    return path.startswith("/api/") or path == "/health"


def names_a_record(handler: HTTPRouteHandler) -> bool:
    """Whether the request says what it is about (a path or query parameter, a body): what it
    names may not exist. Only an operation that takes nothing (``GET /api/keys``) cannot 404."""
    injected = set(handler.resolve_dependencies()) | (RESERVED_KWARGS - {"data", "body"})
    return any(name not in injected for name in handler.parsed_fn_signature.parameters)


def error_statuses(handler: HTTPRouteHandler) -> tuple[int, ...]:
    statuses = [400]
    guarded = bool(handler.resolve_guards())
    if guarded:
        statuses += [401, 403]
    if names_a_record(handler):
        statuses.append(404)
    if "data" in handler.parsed_fn_signature.parameters:
        statuses.append(413)
    if guarded and CHANGES_STATE & set(handler.http_methods):
        statuses += [409, 422]
    return tuple(statuses)


def answer_media_types(handler: HTTPRouteHandler) -> tuple[str, ...]:
    if handler.parsed_fn_signature.return_type.is_subclass_of(ServerSentEvent):
        return (EVENT_STREAM,)
    return tuple(handler.opt.get("media_types", ()))


def _answers_in(media_types: tuple[str, ...]) -> type[Operation]:
    """An Operation whose success answers are documented in ``media_types`` (a file, a stream)."""

    @dataclass
    class AnswersIn(Operation):
        def __post_init__(self) -> None:
            for status, response in (self.responses or {}).items():
                if int(status) < 300:
                    response.content = {media_type: OpenAPIMediaType(schema=_body_schema(media_type))
                                        for media_type in media_types}

    return AnswersIn


def _body_schema(media_type: str) -> Schema:
    if media_type.startswith("text/"):
        return Schema(type=OpenAPIType.STRING)
    return Schema(type=OpenAPIType.STRING, format="binary")


def declare_body_and_answer(handler: HTTPRouteHandler) -> None:
    """The ``body=`` and ``answer=`` route options, in the document. The request is parsed as
    before: Litestar made the handler's signature model when the app was built."""
    if (body := handler.opt.get("body")) is not None and "data" not in handler.parsed_fn_signature.parameters:
        handler.parsed_fn_signature.parameters["data"] = FieldDefinition.from_kwarg(annotation=body, name="data")
    if (answer := handler.opt.get("answer")) is not None:
        handler.responses = {**(handler.responses or {}), handler.status_code: ResponseSpec(
            data_container=answer, generate_examples=False, description="Request fulfilled.")}


def document_api(app: Litestar) -> None:
    """Give every API operation its error answers and its answers' content types; pages leave
    the document. Call on the built app, before its OpenAPI document is first made."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler) or not handler.include_in_schema:
                continue
            if not documented(route.path):
                handler.include_in_schema = False
                continue
            declare_body_and_answer(handler)
            statuses = error_statuses(handler)
            handler.responses = {**error_responses(None, *statuses), **(handler.responses or {})}
            if media_types := answer_media_types(handler):
                handler.operation_class = _answers_in(media_types)
