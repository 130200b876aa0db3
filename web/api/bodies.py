"""Request bodies taken as plain JSON (where a route reads fields itself rather than a model)."""

from __future__ import annotations

from typing import Any

from trading.errors import InvalidInput


def json_object(data: Any, what: str = "请求") -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(f"{what}应为 JSON 对象")
    return data
