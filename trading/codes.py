"""Codes that users choose for what they register: projects, rooms, agencies.

A code travels in URLs, file names, bank remarks, audit subjects and published draw pools,
so it holds letters, digits, "-" and "_" only and starts with a letter or a digit: a space,
"/", "?", "#" or a leading "=" would make the thing unreachable or the code a formula. One
pattern, one message; each kind of code sets only its length (and agencies, whose codes
may be Chinese, ideographs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from trading.errors import InvalidInput

_LETTERS = "A-Za-z0-9"
_IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff"


@dataclass(frozen=True)
class CodeRule:
    label: str  # what users call it: 项目编号
    max_length: int
    ideographs: bool = False
    example: str = ""

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        chars = _LETTERS + (_IDEOGRAPHS if self.ideographs else "")
        return re.compile(rf"[{chars}][{chars}_-]{{0,{self.max_length - 1}}}")

    def check(self, value: object, *, field: str = "code") -> str:
        """``value`` if it is a valid code (compared as given: no trimming, no case change),
        else :class:`InvalidInput` naming ``field``."""
        if not isinstance(value, str) or not value:
            raise InvalidInput(f"{self.label}不能为空", code="code_required", field=field)
        if not self.pattern.fullmatch(value):
            kinds = "字母、数字、汉字" if self.ideographs else "字母、数字"
            starts = "字母、数字或汉字" if self.ideographs else "字母或数字"
            example = f"，例如 {self.example}" if self.example else ""
            raise InvalidInput(f"{self.label}「{value[:self.max_length]}」格式不正确：只能由{kinds}、连字符（-）"
                               f"和下划线（_）组成，以{starts}开头，最长{self.max_length}个字符{example}", code="invalid_code_format",
                               field=field, found=value[:80])
        return value


PROJECT_CODE = CodeRule("项目编号", 40, example="JN-2026-GC-0007")
ROOM_CODE = CodeRule("场地编号", 20, example="KB-01")
AGENCY_CODE = CodeRule("机构编号", 40, ideographs=True)
