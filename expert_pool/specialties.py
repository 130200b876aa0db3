"""The specialty taxonomy of the expert pool (评标专家专业分类), shipped as data.

Codes are hierarchical: a category letter and two digits per level (``A08`` → ``A0801`` →
``A080101``). A request for a specialty is served by every expert holding that code or
any code below it; :func:`subtree_codes` expands requested codes along the stored
``parent_code`` links so the expert query can use plain equality on an index.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from trading.audit import record_event
from trading.columns import any_of
from trading.errors import ConfigurationError, InvalidInput

DATA_FILE = Path(__file__).resolve().parent / "data" / "specialties.toml"
CODE_PATTERN = re.compile(r"[ABC][0-9]{2}(?:[0-9]{2})*")


class Specialty(SQLModel, table=True):
    __tablename__ = "specialties"
    __table_args__ = (CheckConstraint("level >= 1", name="specialties_level_positive"),)

    code: str = Field(sa_column=Column(String(16), primary_key=True))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    parent_code: str | None = Field(
        default=None, sa_column=Column(String(16), ForeignKey("specialties.code"), nullable=True, index=True))
    level: int = Field(sa_column=Column(Integer, nullable=False))


@dataclass(frozen=True)
class SpecialtyEntry:
    code: str
    name: str
    parent_code: str | None
    level: int


def level_of(code: str) -> int:
    return (len(code) - 1) // 2


def parent_of(code: str) -> str | None:
    return code[:-2] if level_of(code) > 1 else None


def load_specialty_file(path: Path | None = None) -> list[SpecialtyEntry]:
    """Read and check the taxonomy file; a bad file is refused naming the code and reason."""
    path = path or DATA_FILE
    name = path.name
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"专业分类文件 {name} 无法读取：{error}", file=name) from None
    table = document.get("specialties")
    if not isinstance(table, dict) or not table:
        raise ConfigurationError(f"专业分类文件 {name} 缺少 [specialties] 表", file=name)
    entries: list[SpecialtyEntry] = []
    seen: set[str] = set()
    for code, label in table.items():
        if not CODE_PATTERN.fullmatch(code):
            raise ConfigurationError(f"专业分类文件 {name}：代码「{code}」格式错误（应为 A/B/C 加每级两位数字）",
                                     file=name, code=code)
        if not isinstance(label, str) or not label.strip():
            raise ConfigurationError(f"专业分类文件 {name}：代码 {code} 缺少名称", file=name, code=code)
        parent = parent_of(code)
        if parent is not None and parent not in seen:
            raise ConfigurationError(f"专业分类文件 {name}：代码 {code} 的上级代码 {parent} 不存在或排在其后",
                                     file=name, code=code)
        seen.add(code)
        entries.append(SpecialtyEntry(code=code, name=label.strip(), parent_code=parent, level=level_of(code)))
    return entries


async def sync_specialties(session: AsyncSession, *, actor: str = "system", path: Path | None = None) -> int:
    """Load the taxonomy file into ``specialties``: add new codes, rename changed ones.

    Codes are never deleted (experts may hold them). Returns how many rows changed; one
    audit entry records the change when there is one. Idempotent.
    """
    entries = load_specialty_file(path)
    existing = {row.code: row for row in (await session.scalars(select(Specialty))).all()}
    added, renamed = [], []
    for entry in entries:  # parents come first in the file, and rows are inserted in this order
        row = existing.get(entry.code)
        if row is None:
            session.add(Specialty(code=entry.code, name=entry.name, parent_code=entry.parent_code, level=entry.level))
            added.append(entry.code)
        elif row.name != entry.name:
            row.name = entry.name
            renamed.append(entry.code)
    await session.flush()
    if added or renamed:
        await record_event(session, actor=actor, action="specialties.synced", subject="specialties",
                           data={"file": (path or DATA_FILE).name, "added": len(added), "renamed": renamed})
    return len(added) + len(renamed)


def split_codes(text: str) -> list[str]:
    """Specialty codes as typed in a cell: separated by ; , 、 or spaces, any width."""
    parts = re.split(r"[;；,，、\s]+", text.strip().upper())
    codes: list[str] = []
    for part in parts:
        if part and part not in codes:
            codes.append(part)
    return codes


async def known_codes(session: AsyncSession, codes: Iterable[str]) -> set[str]:
    wanted = list(set(codes))
    if not wanted:
        return set()
    return set((await session.scalars(select(Specialty.code).where(any_of(Specialty.code, wanted)))).all())


async def check_codes(session: AsyncSession, codes: Sequence[str], field: str = "specialties") -> list[str]:
    """Normalised, de-duplicated codes, each of which must exist; at least one."""
    normalised = []
    for code in codes:
        code = str(code).strip().upper()
        if code and code not in normalised:
            normalised.append(code)
    if not normalised:
        raise InvalidInput("至少应填写一个专业代码", code="specialty_required", field=field)
    known = await known_codes(session, normalised)
    unknown = [code for code in normalised if code not in known]
    if unknown:
        raise InvalidInput(f"专业代码不存在：{'、'.join(unknown)}", code="unknown_specialty", field=field, unknown=unknown)
    return normalised


def subtree_codes(codes: Sequence[str]):
    """A CTE of the requested codes and all their descendants (by ``parent_code``)."""
    top = select(Specialty.code).where(Specialty.code.in_(list(codes))).cte("subtree", recursive=True)
    child = select(Specialty.code).join(top, Specialty.parent_code == top.c.code)
    return top.union(child)


async def specialty_names(session: AsyncSession) -> Mapping[str, str]:
    return dict((await session.execute(select(Specialty.code, Specialty.name))).all())
