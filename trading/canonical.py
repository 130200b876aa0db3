"""Canonical JSON as sealed-draw/1 defines it (coincides with RFC 8785 for our values).

Only strings, integers, booleans, null, lists and objects with ASCII keys are allowed;
floats are refused because money is integer fen and a float has no single spelling.
Within those limits the spec's definition (sorted keys, no whitespace, UTF-8 as itself)
is byte for byte RFC 8785, which the tests check against the ``rfc8785`` package; the
standard library's encoder is used because it is many times faster on large pools.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


# RFC 8785 writes numbers as IEEE doubles: integers beyond this lose their exact spelling.
MAX_SAFE_INTEGER = 2**53 - 1


def _check(value: Any, path: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise TypeError(f"integer at {path or '$'} exceeds 2^53-1 and has no canonical JSON form")
        return
    if isinstance(value, float):
        raise TypeError(f"float at {path or '$'}: canonical JSON here takes integers only")
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise TypeError(f"key {key!r} at {path or '$'}: keys must be ASCII strings")
            _check(item, f"{path}.{key}")
        return
    raise TypeError(f"{type(value).__name__} at {path or '$'} has no canonical JSON form")


def canon(obj: Any) -> bytes:
    """UTF-8 canonical JSON bytes of ``obj``."""
    _check(obj, "")
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
