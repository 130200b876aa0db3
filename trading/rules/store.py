"""Rule sets in the database: loaded from the shipped files, immutable once loaded.

A project pins a row of ``rule_sets`` by id; a version, once loaded, never changes (a
changed file under the same version is refused), so a pinned project keeps the exact
rules it was registered under.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Date, Integer, String, UniqueConstraint, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel
from sqlalchemy.ext.asyncio import AsyncSession

from trading.audit import record_event
from trading.columns import created_at_column
from trading.errors import ConfigurationError, NotFound
from trading.rules.ruleset import load_rule_sets

# The four trading categories of a city center, in the order the portal shows them.
TRADING_CATEGORIES: dict[str, str] = {
    "construction": "工程建设",
    "government_procurement": "政府采购",
    "land_mining": "土地和矿业权",
    "state_property": "国有产权",
}


class TradingCategory(SQLModel, table=True):
    __tablename__ = "trading_categories"

    code: str = Field(sa_column=Column(String(32), primary_key=True))
    name: str = Field(sa_column=Column(String(50), nullable=False))
    position: int = Field(sa_column=Column(Integer, nullable=False))

# ``RuleSetRecord.value`` without a default: the rule must be there.
_REQUIRED: Any = object()


class RuleSetRecord(SQLModel, table=True):
    __tablename__ = "rule_sets"
    __table_args__ = (UniqueConstraint("code", "version", name="rule_sets_code_version"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False))
    version: str = Field(sa_column=Column(String(32), nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    category: str = Field(sa_column=Column(String(32), nullable=False, index=True))
    method: str = Field(sa_column=Column(String(32), nullable=False))
    effective_from: date = Field(sa_column=Column(Date, nullable=False))
    effective_to: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    content: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    loaded_at: datetime = Field(sa_column=created_at_column())

    def entries(self) -> dict[str, dict[str, Any]]:
        """Every pinned rule by key, each a dict with its value, unit and legal source."""
        return self.content.get("rules", {})

    def entry(self, key: str) -> dict[str, Any] | None:
        """One pinned rule (value, unit, source), or None when the rule set has no such rule."""
        return self.entries().get(key)

    def rule(self, key: str) -> dict[str, Any]:
        """One rule with its key, value, unit and legal source; NotFound when it has none."""
        entry = self.entry(key)
        if entry is None:
            raise NotFound(f"规则集 {self.code} {self.version} 中没有规则「{key}」", rule=key)
        return {"key": key, **entry}

    def value(self, key: str, default: Any = _REQUIRED) -> Any:
        """A pinned rule's value; ``default`` when the rule set has no such rule (NotFound without one)."""
        entry = self.entry(key)
        if entry is None:
            return self.rule(key)["value"] if default is _REQUIRED else default
        return entry["value"]

    def values(self) -> dict[str, Any]:
        """Every pinned rule's value by key."""
        return {key: entry["value"] for key, entry in self.entries().items()}


async def sync_reference_data(session: AsyncSession, *, actor: str = "system", rule_set_dir: Path | None = None) -> list[RuleSetRecord]:
    """Load categories and every shipped rule set not yet in the database."""
    for position, (code, name) in enumerate(TRADING_CATEGORIES.items()):
        if await session.get(TradingCategory, code) is None:
            session.add(TradingCategory(code=code, name=name, position=position))
    loaded = []
    for rule_set in load_rule_sets(rule_set_dir):
        existing = await session.scalar(
            select(RuleSetRecord).where(RuleSetRecord.code == rule_set.code, RuleSetRecord.version == rule_set.version)
        )
        if existing is not None:
            if existing.sha256 != rule_set.sha256:
                raise ConfigurationError(
                    f"规则集 {rule_set.code} 版本 {rule_set.version} 已载入且内容不同：修改规则须发布新版本",
                    rule_set=rule_set.code, version=rule_set.version,
                )
            continue
        record = RuleSetRecord(
            code=rule_set.code, version=rule_set.version, title=rule_set.title, category=rule_set.category,
            method=rule_set.method, effective_from=rule_set.effective_from, effective_to=rule_set.effective_to,
            sha256=rule_set.sha256, content=rule_set.to_dict(),
        )
        session.add(record)
        await session.flush()
        await record_event(session, actor=actor, action="rule_set.loaded", subject=f"rule_set:{record.code}:{record.version}",
                           data={"sha256": record.sha256, "category": record.category, "method": record.method})
        loaded.append(record)
    await session.flush()
    return loaded


async def list_rule_sets(session: AsyncSession) -> list[RuleSetRecord]:
    return list((await session.scalars(select(RuleSetRecord).order_by(RuleSetRecord.category, RuleSetRecord.code, RuleSetRecord.effective_from))).all())


async def get_rule_set(session: AsyncSession, code: str, version: str) -> RuleSetRecord:
    record = await session.scalar(select(RuleSetRecord).where(RuleSetRecord.code == code, RuleSetRecord.version == version))
    if record is None:
        raise NotFound(f"未找到规则集 {code} 版本 {version}", rule_set=code, version=version)
    return record


async def rule_set_in_force(session: AsyncSession, category: str, method: str, on: date) -> RuleSetRecord:
    """The rule set to pin for a new project: the latest version in force on ``on``."""
    record = await session.scalar(
        select(RuleSetRecord)
        .where(RuleSetRecord.category == category, RuleSetRecord.method == method,
               RuleSetRecord.effective_from <= on,
               or_(RuleSetRecord.effective_to.is_(None), RuleSetRecord.effective_to >= on))
        .order_by(RuleSetRecord.effective_from.desc(), RuleSetRecord.id.desc())
        .limit(1)
    )
    if record is None:
        category_name = TRADING_CATEGORIES.get(category, category)
        raise NotFound(f"{on.isoformat()} 没有适用于「{category_name}」{method} 的交易规则", category=category, method=method)
    return record
