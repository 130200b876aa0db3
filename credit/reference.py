"""Departments, record kinds and the deposit negative list, kept as data under ``credit/data``.

Pure Python over TOML files, validated once when first read: a bad file raises
:class:`~trading.errors.ConfigurationError` naming the file and what is wrong, so a typo
can never become a silently ignored department, kind or list item.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from trading.errors import ConfigurationError, InvalidInput

DATA_DIR = Path(__file__).resolve().parent / "data"
DEPARTMENTS_FILE = DATA_DIR / "departments.toml"
KINDS_FILE = DATA_DIR / "record_kinds.toml"
NEGATIVE_LIST_FILE = DATA_DIR / "deposit_negative_list.toml"

SERIOUS = "serious"
MINOR = "minor"
SEVERITY_NAMES: Mapping[str, str] = MappingProxyType({SERIOUS: "严重失信", MINOR: "一般失信"})

# Kinds with rules of their own (credit/decisions.py, credit/queries.py).
BRIBERY_CRIME = "bribery_crime"
COURT_DEFAULTER = "court_defaulter"


@dataclass(frozen=True)
class Department:
    code: str
    short_name: str
    name: str


@dataclass(frozen=True)
class RecordKind:
    code: str
    name: str
    severity: str
    note: str = ""

    @property
    def severity_name(self) -> str:
        return SEVERITY_NAMES[self.severity]


@dataclass(frozen=True)
class NegativeListItem:
    kind: str
    sample: bool
    note: str


@dataclass(frozen=True)
class DepositNegativeList:
    """The kinds of minor dishonesty for which a bid deposit may be asked, and the look-back."""

    title: str
    kinds: frozenset[str]
    lookback_years: int
    items: tuple[NegativeListItem, ...] = ()
    sample: bool = False


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"信用数据文件 {path.name} 无法读取：{exc}", file=path.name) from None


def _bad(path: Path, reason: str) -> ConfigurationError:
    return ConfigurationError(f"信用数据文件 {path.name} 无效：{reason}", file=path.name, reason=reason)


def _text(entry: dict[str, Any], name: str, path: Path, where: str, *, required: bool = True) -> str:
    value = entry.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise _bad(path, f"{where} 的 {name} 应为非空字符串")
    return value.strip()


@cache
def departments(path: Path = DEPARTMENTS_FILE) -> Mapping[str, Department]:
    """Every department by code, in the file's order."""
    entries = _read(path).get("department")
    if not isinstance(entries, list) or not entries:
        raise _bad(path, "至少应有一个 [[department]]")
    found: dict[str, Department] = {}
    for position, entry in enumerate(entries, start=1):
        where = f"第 {position} 个部门"
        department = Department(_text(entry, "code", path, where), _text(entry, "short_name", path, where),
                                _text(entry, "name", path, where))
        if department.code in found:
            raise _bad(path, f"部门代码「{department.code}」重复")
        found[department.code] = department
    names = [d.short_name for d in found.values()] + [d.name for d in found.values()]
    if len(set(names)) != len(names):
        raise _bad(path, "部门简称或全称重复")
    return MappingProxyType(found)


@cache
def record_kinds(path: Path = KINDS_FILE) -> Mapping[str, RecordKind]:
    """Every record kind by code, in the file's order."""
    entries = _read(path).get("kind")
    if not isinstance(entries, list) or not entries:
        raise _bad(path, "至少应有一个 [[kind]]")
    found: dict[str, RecordKind] = {}
    for position, entry in enumerate(entries, start=1):
        where = f"第 {position} 个失信类型"
        kind = RecordKind(_text(entry, "code", path, where), _text(entry, "name", path, where),
                          _text(entry, "severity", path, where), _text(entry, "note", path, where, required=False))
        if kind.severity not in SEVERITY_NAMES:
            raise _bad(path, f"{where}「{kind.code}」的 severity 应为 serious 或 minor")
        if kind.code in found:
            raise _bad(path, f"失信类型代码「{kind.code}」重复")
        found[kind.code] = kind
    if len({kind.name for kind in found.values()}) != len(found):
        raise _bad(path, "失信类型名称重复")
    for code in (BRIBERY_CRIME, COURT_DEFAULTER):
        if code not in found or found[code].severity != SERIOUS:
            raise _bad(path, f"必须包含严重失信类型「{code}」")
    return MappingProxyType(found)


@cache
def deposit_negative_list(path: Path = NEGATIVE_LIST_FILE, kinds_path: Path = KINDS_FILE) -> DepositNegativeList:
    """The configured deposit negative list; every item must be a minor-dishonesty kind."""
    document = _read(path)
    header = document.get("list")
    if not isinstance(header, dict):
        raise _bad(path, "缺少 [list] 表")
    years = header.get("lookback_years")
    if isinstance(years, bool) or not isinstance(years, int) or years < 1:
        raise _bad(path, "[list] 的 lookback_years 应为正整数（年）")
    kinds = record_kinds(kinds_path)
    items = []
    for position, entry in enumerate(document.get("item") or [], start=1):
        where = f"第 {position} 个清单条目"
        code = _text(entry, "kind", path, where)
        kind = kinds.get(code)
        if kind is None:
            raise _bad(path, f"{where} 的失信类型「{code}」未在 {kinds_path.name} 中定义")
        if kind.severity != MINOR:
            raise _bad(path, f"{where} 的失信类型「{code}」不是一般失信行为")
        items.append(NegativeListItem(code, bool(entry.get("sample", False)), _text(entry, "note", path, where,
                                                                                 required=False)))
    if len({item.kind for item in items}) != len(items):
        raise _bad(path, "清单条目重复")
    return DepositNegativeList(title=_text(header, "title", path, "[list]"),
                               kinds=frozenset(item.kind for item in items), lookback_years=years,
                               items=tuple(items), sample=bool(header.get("sample", False)))


def find_department(value: str) -> Department:
    """A department by code, short name or full name; :class:`InvalidInput` if unknown."""
    text = (value or "").strip()
    for department in departments().values():
        if text in (department.code, department.short_name, department.name):
            return department
    if not text:
        raise InvalidInput("认定部门不能为空", code="department_required", field="department")
    names = "、".join(d.short_name for d in departments().values())
    raise InvalidInput(f"未知的认定部门「{text}」：应为{names}之一", code="unknown_department", field="department", found=text)


def find_kind(value: str) -> RecordKind:
    """A record kind by code or name; :class:`InvalidInput` if unknown."""
    text = (value or "").strip()
    for kind in record_kinds().values():
        if text in (kind.code, kind.name):
            return kind
    if not text:
        raise InvalidInput("失信类型不能为空", code="credit_kind_required", field="kind")
    raise InvalidInput(f"未知的失信类型「{text}」：请使用信用数据文件中定义的类型名称或代码", code="unknown_credit_kind", field="kind", found=text)
