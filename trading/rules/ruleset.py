"""Versioned trading rule sets (统一交易规则) kept as validated TOML data files.

One file holds one version of one rule set: a ``[ruleset]`` table (code, version, title,
category, method, effective dates) and one ``[rules.<key>]`` table per rule with its
value, unit and legal source. Every key, unit and value type is checked against
:mod:`trading.rules.catalogue`; floats are refused everywhere, so money stays integer
fen and shares are basis points or exact fractions. A file that fails any check raises
:class:`~trading.errors.RuleSetInvalid` naming the file, the dotted key and the reason.

A version never changes once published: ``sha256`` (of the file's bytes) lets the store
refuse a file edited under an existing version.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

from trading.errors import NotFound, RuleSetInvalid
from trading.rules.catalogue import (
    BOOL,
    CATALOGUE,
    CATEGORIES,
    FRACTION,
    METHODS,
    ORDERED_PAIRS,
    UNITS,
    RuleSpec,
    required_keys,
)

DATA_DIR = Path(__file__).resolve().parent / "data"

RuleValue = int | bool | Fraction

_RULESET_FIELDS = ("code", "version", "title", "category", "method", "effective_from", "effective_to", "notes")
_REQUIRED_RULESET_FIELDS = ("code", "version", "title", "category", "method", "effective_from")
_RULE_FIELDS = ("value", "unit", "source", "unconfirmed", "note")
_CODE_PATTERN = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
_VERSION_PATTERN = re.compile(r"[0-9]+(\.[0-9]+)*")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


@dataclass(frozen=True)
class Rule:
    """One rule: its value in its unit, and the legal (or platform) source it comes from."""

    key: str
    value: RuleValue
    unit: str
    source: str
    label: str
    unconfirmed: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        value: Any = self.value
        if isinstance(value, Fraction):
            value = {"numerator": value.numerator, "denominator": value.denominator}
        return {"value": value, "unit": self.unit, "label": self.label, "source": self.source,
                "unconfirmed": self.unconfirmed, "note": self.note}


@dataclass(frozen=True)
class RuleSet:
    """One version of a rule set, as loaded and validated from its file."""

    code: str
    version: str
    title: str
    category: str
    method: str
    effective_from: date
    effective_to: date | None  # last day the version applies (inclusive), None if open
    rules: Mapping[str, Rule]
    sha256: str
    notes: str = ""

    def __hash__(self) -> int:
        return hash((self.code, self.version, self.sha256))

    def rule(self, key: str) -> Rule:
        try:
            return self.rules[key]
        except KeyError:
            raise NotFound(f"规则集 {self.code} 版本 {self.version} 中没有规则项「{key}」",
                           rule_set=self.code, version=self.version, rule=key) from None

    def value(self, key: str) -> RuleValue:
        return self.rule(key).value

    def applies_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy: dates as ISO strings, fractions as numerator/denominator."""
        return {
            "code": self.code,
            "version": self.version,
            "title": self.title,
            "category": self.category,
            "method": self.method,
            "effective_from": self.effective_from.isoformat(),
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "notes": self.notes,
            "sha256": self.sha256,
            "rules": {key: rule.to_dict() for key, rule in self.rules.items()},
        }


def load_rule_set(path: str | Path) -> RuleSet:
    """Load and validate one rule-set file."""
    path = Path(path)
    return parse_rule_set(path.read_bytes(), path.name)


def load_rule_sets(directory: str | Path | None = None) -> list[RuleSet]:
    """Load every ``*.toml`` rule set in ``directory`` (default: the shipped ones).

    Two files with the same code and version are refused. The list is sorted by code,
    then effective date.
    """
    directory = Path(directory) if directory is not None else DATA_DIR
    seen: dict[tuple[str, str], str] = {}
    rule_sets = []
    for path in sorted(directory.glob("*.toml")):
        rule_set = load_rule_set(path)
        identity = (rule_set.code, rule_set.version)
        if identity in seen:
            raise RuleSetInvalid(path.name, "ruleset.version",
                                 f"规则集 {rule_set.code} 版本 {rule_set.version} 已在文件 {seen[identity]} 中定义")
        seen[identity] = path.name
        rule_sets.append(rule_set)
    rule_sets.sort(key=lambda rs: (rs.code, rs.effective_from, _version_key(rs.version)))
    return rule_sets


def parse_rule_set(data: bytes, file: str) -> RuleSet:
    """Validate the bytes of a rule-set file; ``file`` names it in errors."""
    sha256 = hashlib.sha256(data).hexdigest()
    document = _parse_toml(data, file)
    _refuse_floats(document, file, "")

    unknown = sorted(set(document) - {"ruleset", "rules"})
    if unknown:
        raise RuleSetInvalid(file, unknown[0], "未知的顶层表（只允许 [ruleset] 与 [rules.*]）")
    header = _table(document, "ruleset", file, "ruleset")
    _refuse_unknown(header, _RULESET_FIELDS, file, "ruleset")
    for name in _REQUIRED_RULESET_FIELDS:
        if name not in header:
            raise RuleSetInvalid(file, f"ruleset.{name}", "缺少必填字段")

    code = _text(header, "code", file, "ruleset")
    if not _CODE_PATTERN.fullmatch(code):
        raise RuleSetInvalid(file, "ruleset.code", "代码只能由小写字母、数字和连字符组成，例如 construction-open-tender")
    version = _text(header, "version", file, "ruleset")
    if not _VERSION_PATTERN.fullmatch(version):
        raise RuleSetInvalid(file, "ruleset.version", "版本号应为以点分隔的数字，例如 \"2019.1\"")
    title = _text(header, "title", file, "ruleset")
    category = _text(header, "category", file, "ruleset")
    if category not in CATEGORIES:
        raise RuleSetInvalid(file, "ruleset.category", f"未知的交易类别「{category}」，可选：{'、'.join(CATEGORIES)}")
    method = _text(header, "method", file, "ruleset")
    if method not in METHODS[category]:
        raise RuleSetInvalid(file, "ruleset.method",
                             f"交易类别 {category} 不支持交易方式「{method}」，可选：{'、'.join(METHODS[category])}")
    effective_from = _date(header, "effective_from", file)
    effective_to = _date(header, "effective_to", file) if "effective_to" in header else None
    if effective_to is not None and effective_to < effective_from:
        raise RuleSetInvalid(file, "ruleset.effective_to", "失效日期早于生效日期")
    notes = _text(header, "notes", file, "ruleset", allow_empty=True) if "notes" in header else ""

    rule_tables = _table(document, "rules", file, "rules")
    for key in rule_tables:
        if key not in CATALOGUE:
            raise RuleSetInvalid(file, f"rules.{key}", "未知的规则项（规则目录中未声明）")
    for key in sorted(required_keys(category, method)):
        if key not in rule_tables:
            raise RuleSetInvalid(file, f"rules.{key}", f"缺少必需的规则项「{CATALOGUE[key].label}」")
    # Catalogue order, so that every rule set lists its rules the same way.
    rules = {spec.key: _rule(spec, rule_tables[spec.key], file)
             for spec in CATALOGUE.values() if spec.key in rule_tables}
    for smaller, larger in ORDERED_PAIRS:
        if smaller in rules and larger in rules and rules[smaller].value > rules[larger].value:
            raise RuleSetInvalid(file, f"rules.{smaller}.value", f"不得大于 rules.{larger}.value")

    return RuleSet(code=code, version=version, title=title, category=category, method=method,
                   effective_from=effective_from, effective_to=effective_to,
                   rules=MappingProxyType(rules), sha256=sha256, notes=notes)


def _parse_toml(data: bytes, file: str) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RuleSetInvalid(file, "<file>", "文件不是 UTF-8 编码") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        position = _TOML_POSITION.search(message)
        if position:
            where = f"第 {position.group(1)} 行第 {position.group(2)} 列"
            message = message[: position.start()]
        else:
            where = "文件末尾"
        raise RuleSetInvalid(file, "<toml>", f"TOML 语法错误（{where}）：{message}") from None


def _refuse_floats(node: Any, file: str, path: str) -> None:
    if isinstance(node, float):
        raise RuleSetInvalid(file, path, "不允许使用浮点数：金额用整数分、比例用基点或分数表示，版本号等文本须加引号")
    if isinstance(node, dict):
        for key, child in node.items():
            _refuse_floats(child, file, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            _refuse_floats(child, file, f"{path}[{index}]")


def _refuse_unknown(table: dict[str, Any], allowed: tuple[str, ...], file: str, path: str) -> None:
    for name in table:
        if name not in allowed:
            raise RuleSetInvalid(file, f"{path}.{name}", f"未知字段，允许的字段：{'、'.join(allowed)}")


def _table(parent: dict[str, Any], name: str, file: str, path: str) -> dict[str, Any]:
    if name not in parent:
        raise RuleSetInvalid(file, path, f"缺少 [{path}] 表")
    value = parent[name]
    if not isinstance(value, dict):
        raise RuleSetInvalid(file, path, "应为表（table）")
    return value


def _text(table: dict[str, Any], name: str, file: str, path: str, *, allow_empty: bool = False) -> str:
    value = table[name]
    if not isinstance(value, str):
        raise RuleSetInvalid(file, f"{path}.{name}", "应为字符串（请加引号）")
    if not allow_empty and not value.strip():
        raise RuleSetInvalid(file, f"{path}.{name}", "不能为空")
    return value.strip()


def _date(table: dict[str, Any], name: str, file: str) -> date:
    value = table[name]
    # datetime is a subclass of date: a time of day has no place in an effective date.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise RuleSetInvalid(file, f"ruleset.{name}", "应为日期（如 2019-03-02，不带引号和时间）")
    return value


def _rule(spec: RuleSpec, table: Any, file: str) -> Rule:
    path = f"rules.{spec.key}"
    if not isinstance(table, dict):
        raise RuleSetInvalid(file, path, "应为表（table），包含 value、unit、source")
    _refuse_unknown(table, _RULE_FIELDS, file, path)
    for name in ("value", "unit", "source"):
        if name not in table:
            raise RuleSetInvalid(file, f"{path}.{name}", "缺少必填字段")

    unit = table["unit"]
    if not isinstance(unit, str) or unit not in UNITS:
        raise RuleSetInvalid(file, f"{path}.unit", f"未知的单位「{unit}」，可选：{'、'.join(UNITS)}")
    if unit != spec.unit:
        raise RuleSetInvalid(file, f"{path}.unit",
                             f"单位应为 {spec.unit}（{UNITS[spec.unit].label}），实为 {unit}（{UNITS[unit].label}）")
    source = table["source"]
    if not isinstance(source, str) or not source.strip():
        raise RuleSetInvalid(file, f"{path}.source", "必须注明依据（法律法规条款或交易中心运营规则）")

    unconfirmed = table.get("unconfirmed", False)
    if not isinstance(unconfirmed, bool):
        raise RuleSetInvalid(file, f"{path}.unconfirmed", "应为 true 或 false")
    note = table.get("note", "")
    if not isinstance(note, str):
        raise RuleSetInvalid(file, f"{path}.note", "应为字符串")
    if unconfirmed and not note.strip():
        raise RuleSetInvalid(file, f"{path}.note", "待核实（unconfirmed）的规则须在 note 中说明原因")

    value = _value(spec, table["value"], file, f"{path}.value")
    return Rule(key=spec.key, value=value, unit=unit, source=source.strip(), label=spec.label,
                unconfirmed=unconfirmed, note=note.strip())


def _value(spec: RuleSpec, raw: Any, file: str, path: str) -> RuleValue:
    kind = UNITS[spec.unit].kind
    if kind == BOOL:
        if not isinstance(raw, bool):
            raise RuleSetInvalid(file, path, "应为 true 或 false")
        return raw
    if kind == FRACTION:
        return _fraction(raw, file, path)
    bounds = [bound for bound in (UNITS[spec.unit].maximum, spec.maximum) if bound is not None]
    return _integer(raw, file, path, minimum=spec.minimum, maximum=min(bounds) if bounds else None)


def _integer(raw: Any, file: str, path: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    # bool is a subclass of int in Python; true/false is not a number of days.
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise RuleSetInvalid(file, path, "应为整数")
    if raw < 0:
        raise RuleSetInvalid(file, path, "不能为负数")
    if raw < minimum:
        raise RuleSetInvalid(file, path, f"不得小于 {minimum}")
    if maximum is not None and raw > maximum:
        raise RuleSetInvalid(file, path, f"不得大于 {maximum}")
    return raw


def _fraction(raw: Any, file: str, path: str) -> Fraction:
    if not isinstance(raw, dict):
        raise RuleSetInvalid(file, path, "分数应写作 {numerator = 2, denominator = 3}")
    _refuse_unknown(raw, ("numerator", "denominator"), file, path)
    for name in ("numerator", "denominator"):
        if name not in raw:
            raise RuleSetInvalid(file, f"{path}.{name}", "缺少必填字段")
    numerator = _integer(raw["numerator"], file, f"{path}.numerator")
    denominator = raw["denominator"]
    if isinstance(denominator, bool) or not isinstance(denominator, int):
        raise RuleSetInvalid(file, f"{path}.denominator", "应为整数")
    if denominator <= 0:
        raise RuleSetInvalid(file, f"{path}.denominator", "分母必须为正整数")
    if numerator > denominator:
        raise RuleSetInvalid(file, path, "分子不得大于分母（比例不得超过 1）")
    return Fraction(numerator, denominator)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))
