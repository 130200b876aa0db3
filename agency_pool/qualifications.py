"""Qualification levels of agencies, kept as data in ``qualification_levels.toml``."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from trading.errors import ConfigurationError, InvalidInput

LEVELS_FILE = Path(__file__).with_name("qualification_levels.toml")


@cache
def qualification_levels(path: Path = LEVELS_FILE) -> tuple[str, ...]:
    """The level names of the data file, highest first."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        names = tuple(str(level["name"]).strip() for level in data["level"])
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"资质等级文件 {path.name} 无效：{exc}", file=str(path)) from None
    if not names or any(not name for name in names) or len(set(names)) != len(names):
        raise ConfigurationError(f"资质等级文件 {path.name} 无效：等级名称不能为空或重复", file=str(path))
    return names


def validate_qualification_level(value: str) -> str:
    """The level name, stripped; one of :func:`qualification_levels`."""
    level = (value or "").strip()
    levels = qualification_levels()
    if not level:
        raise InvalidInput("资质等级不能为空", code="qualification_required", field="qualification_level")
    if level not in levels:
        raise InvalidInput(f"未知的资质等级「{level}」：应为{'、'.join(levels)}之一", code="unknown_qualification",
                           field="qualification_level", found=level, expected=list(levels))
    return level
