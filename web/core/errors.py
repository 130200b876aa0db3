"""Domain errors and HTTP errors as answers: JSON for the API, a Chinese page for people.

Every error answer of the API has one shape, ``{"error": {"code", "message", "details"}}``
(:class:`ErrorAnswer`); :func:`error_responses` documents it in the OpenAPI document for
the statuses an operation can answer (web.api.docs derives them for every operation), in
place of the shape Litestar would show by default (which the server never sends).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.response import Redirect, Template
from sqlalchemy.exc import DataError as SQLAlchemyDataError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from trading import errors

STATUS_OF: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: HTTP_400_BAD_REQUEST,
    errors.NotAuthenticated: HTTP_401_UNAUTHORIZED,
    errors.PermissionDenied: HTTP_403_FORBIDDEN,
    errors.NotFound: HTTP_404_NOT_FOUND,
    errors.Conflict: HTTP_409_CONFLICT,
    errors.RuleViolation: HTTP_422_UNPROCESSABLE_ENTITY,
    errors.RateLimited: HTTP_429_TOO_MANY_REQUESTS,
    errors.Unavailable: HTTP_503_SERVICE_UNAVAILABLE,
    errors.ConfigurationError: HTTP_500_INTERNAL_SERVER_ERROR,
    errors.IntegrityFailure: HTTP_500_INTERNAL_SERVER_ERROR,
}

HTTP_MESSAGES = {
    400: "请求有误",
    401: "请先登录",
    403: "您无权访问此页面",
    404: "页面不存在",
    405: "不支持此请求方式",
    409: "与当前状态冲突",
    413: "请求内容超过服务器允许的大小",
    422: "不符合交易规则",
    429: "请求过于频繁，请稍后再试",
    500: "服务器内部错误，请稍后再试",
    503: "服务器繁忙，本次请求未被处理，请稍后重试",
}


@dataclass
class ErrorBody:
    """What went wrong: ``code`` for programs (stable), ``message`` for people (Simplified
    Chinese), ``details`` naming the rule, record or field concerned (keys vary by code)."""

    code: str
    message: str
    details: dict[str, Any]


@dataclass
class ErrorAnswer:
    """The body of every error answer of the API."""

    error: ErrorBody


# What each status means in this API (the OpenAPI descriptions; the codes are per operation).
STATUS_MEANINGS = {
    400: "The request is malformed or fails a check of its content (invalid_input, invalid_request, "
         "or a more specific code). For invalid_request, details.fields lists {key, message} per field.",
    401: "No valid bearer token (not_authenticated, http_401): get one with POST /api/auth/token.",
    403: "The account's role or organisation may not do this (permission_denied, http_403).",
    404: "The tender, bid or record named does not exist (not_found, http_404).",
    409: "The request clashes with the current state (conflict, or a more specific code).",
    413: "The request body exceeds the server's limit (http_413).",
    422: "A trading rule refuses the step (rule_violation, or a more specific code).",
    429: "Too many attempts (rate_limited); wait for details.retry_after seconds.",
    503: "The server is busy and did nothing (busy, unavailable); retry after the Retry-After header's "
         "seconds (also details.retry_after). A retried bid upload answers the stored receipt.",
}


# The code an example shows when an operation names none (guards answer http_401 / http_403).
EXAMPLE_CODES = {400: "invalid_input", 404: "not_found", 409: "conflict", 422: "rule_violation", 429: "rate_limited",
                 503: "busy"}


def error_responses(codes: Mapping[int, str] | None = None, *statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI responses in the real error shape (:class:`ErrorAnswer`): for each status of
    ``codes`` (status -> the error codes this operation answers with it, comma-separated)
    and of ``statuses``, plus 503 (busy), which any request may meet."""
    wanted = {**{status: "" for status in statuses}, **(codes or {}), 503: (codes or {}).get(503, "")}
    return {status: ResponseSpec(
        data_container=ErrorAnswer, generate_examples=False,
        description=STATUS_MEANINGS.get(status, "Error.") + (f" Codes here: {text}." if text else ""),
        examples=[Example(summary=f"HTTP {status}", value={"error": {
            "code": text.split(",")[0].strip() if text else EXAMPLE_CODES.get(status, f"http_{status}"),
            "message": HTTP_MESSAGES.get(status, "请求无法处理"), "details": {}}})])
        for status, text in sorted(wanted.items())}


def status_of(exc: errors.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return HTTP_400_BAD_REQUEST


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path == "/api" or path.startswith("/api/") or path == "/health"


def _answer(request: Request, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    headers = dict(headers or {})
    if "retry_after" in body.get("details", {}):
        headers["Retry-After"] = str(body["details"]["retry_after"])
    if wants_json(request):
        return Response({"error": body}, status_code=status, headers=headers)
    return Template("error.html", context={"error": body, "status": status}, status_code=status, headers=headers)


# What the validators (msgspec, pydantic) say, in Chinese: the first pattern that matches.
_PROBLEMS = [
    (re.compile(r"Expected `[^`]*` >= (-?[0-9.]+)"), "应不小于 {0}"),
    (re.compile(r"Expected `[^`]*` <= (-?[0-9.]+)"), "应不大于 {0}"),
    (re.compile(r"Expected `[^`]*` > (-?[0-9.]+)"), "应大于 {0}"),
    (re.compile(r"Expected `[^`]*` < (-?[0-9.]+)"), "应小于 {0}"),
    (re.compile(r"of length <= ([0-9]+)|at most ([0-9]+) characters"), "长度应不超过 {0} 个字符"),
    (re.compile(r"of length >= ([0-9]+)|at least ([0-9]+) characters?"), "长度应不少于 {0} 个字符"),
    (re.compile(r"missing required field|Field required", re.I), "必须填写"),
    (re.compile(r"regex|pattern", re.I), "格式不符合要求"),
    (re.compile(r"enum|Input should be '", re.I), "取值不在允许的范围内"),
    (re.compile(r"Expected `(?:int|integer)|valid integer", re.I), "应为整数"),
    (re.compile(r"Expected `(?:float|number)|valid number", re.I), "应为数字"),
    (re.compile(r"Expected `bool|valid boolean", re.I), "应为布尔值"),
    (re.compile(r"date|time", re.I), "日期或时间格式有误"),
    (re.compile(r"Expected `(?:object|dict)|valid dictionary", re.I), "应为 JSON 对象"),
    (re.compile(r"Expected `(?:array|list)|valid list", re.I), "应为 JSON 数组"),
    (re.compile(r"Expected `str|valid string", re.I), "应为文本"),
]


def field_problem(message: str) -> str:
    """A validator's message about one field, for people (already Chinese: kept as is)."""
    if not message.isascii():
        return message
    for pattern, text in _PROBLEMS:
        if match := pattern.search(message):
            return text.format(*(group for group in match.groups() if group))
    return "取值不合法"


def public_name(request: Request, key: str) -> str:
    """A parameter as the client names it (``?date=``), not as the handler does (``on_date``)."""
    handler = request.scope.get("route_handler")
    field = handler.parsed_fn_signature.parameters.get(key) if handler is not None else None
    definition = getattr(field, "kwarg_definition", None)
    return getattr(definition, "query", None) or key


_MISSING = re.compile(r"missing required field `([^`]+)`")


def field_name(request: Request, item: Mapping[str, Any]) -> str:
    """The field a validation error is about, as the client names it: a field missing from a
    typed body is named itself (not the body, ``data`` to Litestar, that lacks it)."""
    key = str(item.get("key") or "body")
    key = "body" if key == "data" else public_name(request, key)
    if missing := _MISSING.search(str(item.get("message") or "")):
        return missing.group(1) if key == "body" else f"{key}.{missing.group(1)}"
    return key


def domain_error_handler(request: Request, exc: errors.DomainError) -> Response:
    return _answer(request, status_of(exc), exc.as_dict())


def http_error_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if isinstance(exc, NotAuthorizedException) and not wants_json(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"/login?next={quote(target)}")
    if isinstance(exc, ValidationException):
        fields = [{"key": field_name(request, item), "message": field_problem(str(item.get("message") or ""))}
                  for item in (exc.extra or []) if isinstance(item, dict)]
        named = "；".join(f"{field['key']}：{field['message']}" for field in fields)
        return _answer(request, status, {"code": "invalid_request", "message": f"请求参数不合法（{named}）" if named
                                         else "请求参数不合法", "details": {"fields": fields}})
    message = exc.detail if exc.detail and not exc.detail.isascii() else HTTP_MESSAGES.get(status, "请求无法处理")
    # Litestar's own headers stay (a 405 says which methods the path allows, as RFC 9110 asks).
    return _answer(request, status, {"code": f"http_{status}", "message": message, "details": {}}, exc.headers)


def internal_error_handler(request: Request, exc: Exception) -> Response:
    request.logger.exception("unhandled error on %s", request.url.path)
    return _answer(request, HTTP_500_INTERNAL_SERVER_ERROR,
                   {"code": "internal_error", "message": HTTP_MESSAGES[500], "details": {}})


# How long a client should wait before retrying when every database connection is busy.
BUSY_RETRY_AFTER_SECONDS = 5


def busy_handler(request: Request, exc: SQLAlchemyTimeout) -> Response:
    """Every pooled connection stayed busy (a deadline rush): nothing was done, try again.

    A retry is safe: a bid sent again with the same envelope answers its stored receipt."""
    request.logger.warning("database pool exhausted on %s", request.url.path)
    return _answer(request, HTTP_503_SERVICE_UNAVAILABLE,
                   {"code": "busy", "message": "服务器繁忙，本次请求未被处理，请稍后重试",
                    "details": {"retry_after": BUSY_RETRY_AFTER_SECONDS}})


def _out_of_range(exc: BaseException) -> bool:
    """Whether the error, or one it came from, is a value PostgreSQL or Python cannot hold."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, (OverflowError, SQLAlchemyDataError, asyncpg.exceptions.DataError)):
            return True
        pending += [getattr(error, "orig", None), error.__cause__, error.__context__]
    return False


def database_error_handler(request: Request, exc: Exception) -> Response:
    """A number or date beyond what PostgreSQL or Python holds (an id of 2147483648, the year
    1 or 9999 in a filter) is the request's fault: a Chinese 400. Anything else is ours."""
    if not _out_of_range(exc):
        return internal_error_handler(request, exc)
    return _answer(request, HTTP_400_BAD_REQUEST,
                   {"code": "out_of_range", "message": "请求中的数字或日期超出可处理的范围", "details": {}})


exception_handlers = {
    SQLAlchemyTimeout: busy_handler,
    DBAPIError: database_error_handler,
    OverflowError: database_error_handler,
    errors.DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
