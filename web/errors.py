"""Domain errors and HTTP errors as answers: JSON for the API, a Chinese page for people."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect, Template
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
    429: "请求过于频繁，请稍后再试",
    500: "服务器内部错误，请稍后再试",
}


def status_of(exc: errors.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return HTTP_400_BAD_REQUEST


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or request.url.path == "/health"


def _answer(request: Request, status: int, body: dict[str, Any]) -> Response:
    headers = {}
    if "retry_after" in body.get("details", {}):
        headers["Retry-After"] = str(body["details"]["retry_after"])
    if wants_json(request):
        return Response({"error": body}, status_code=status, headers=headers)
    return Template("error.html", context={"error": body, "status": status}, status_code=status, headers=headers)


def domain_error_handler(request: Request, exc: errors.DomainError) -> Response:
    return _answer(request, status_of(exc), exc.as_dict())


def http_error_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if isinstance(exc, NotAuthorizedException) and not wants_json(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"/login?next={quote(target)}")
    if isinstance(exc, ValidationException):
        details = {"fields": [{"key": item.get("key"), "message": item.get("message")} for item in (exc.extra or []) if isinstance(item, dict)]}
        return _answer(request, status, {"code": "invalid_request", "message": "请求参数不合法", "details": details})
    message = exc.detail if exc.detail and not exc.detail.isascii() else HTTP_MESSAGES.get(status, "请求无法处理")
    return _answer(request, status, {"code": f"http_{status}", "message": message, "details": {}})


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


exception_handlers = {
    SQLAlchemyTimeout: busy_handler,
    errors.DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
