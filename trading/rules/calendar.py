"""Working-day calendar of mainland China, kept as yearly data files.

Each ``calendar_data/<year>.toml`` lists that year's public holidays (days off, weekend
days inside a holiday period included) and its make-up working days (调休上班: a Saturday
or Sunday worked in exchange for a day off), as published each year by the State Council
General Office. The center adds next year's file when the notice appears.

A working day is Monday to Friday unless it is a holiday, or a Saturday or Sunday listed
as a make-up working day. Legal deadlines are never guessed: asking about a date in a
year without a file raises :class:`~trading.errors.ConfigurationError` naming the year.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from trading.errors import ConfigurationError, InvalidInput

CALENDAR_DIR = Path(__file__).resolve().parent / "calendar_data"

_YEAR_FILE = re.compile(r"[0-9]{4}")
_ONE_DAY = timedelta(days=1)
_SATURDAY = 5


@dataclass(frozen=True)
class CalendarYear:
    """One year of holiday data: ``holidays`` and ``make_up_working_days`` map a date to
    the holiday's Chinese name."""

    year: int
    source: str
    holidays: Mapping[date, str]
    make_up_working_days: Mapping[date, str]


def load_calendar_year(path: str | Path) -> CalendarYear:
    """Load and validate one ``<year>.toml`` file."""
    path = Path(path)
    file = path.name
    if not _YEAR_FILE.fullmatch(path.stem) or path.suffix != ".toml":
        raise _invalid(file, "<file>", "文件名应为四位年份，例如 2026.toml")
    year = int(path.stem)
    try:
        document = tomllib.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise _invalid(file, "<toml>", f"无法解析：{error}") from None

    for name in document:
        if name not in ("year", "source", "holidays", "make_up_working_days"):
            raise _invalid(file, name, "未知字段")
    if isinstance(document.get("year"), bool) or document.get("year") != year:
        raise _invalid(file, "year", f"year 应为 {year}，与文件名一致")
    source = document.get("source")
    if not isinstance(source, str) or not source.strip():
        raise _invalid(file, "source", "须注明来源（国务院办公厅当年节假日安排通知）")

    holidays = _entries(document, "holidays", "name", year, file)
    make_up = _entries(document, "make_up_working_days", "holiday", year, file)
    both = sorted(set(holidays) & set(make_up))
    if both:
        raise _invalid(file, f"make_up_working_days ({both[0].isoformat()})", "同一天不能既是节假日又是调休上班日")
    for day in sorted(make_up):
        if day.weekday() < _SATURDAY:
            raise _invalid(file, f"make_up_working_days ({day.isoformat()})", "调休上班日应为星期六或星期日，该日本为工作日")
    return CalendarYear(year=year, source=source.strip(), holidays=MappingProxyType(holidays),
                        make_up_working_days=MappingProxyType(make_up))


class WorkingDayCalendar:
    """Working days over the years the calendar has data for."""

    def __init__(self, years: Mapping[int, CalendarYear]) -> None:
        self._years = MappingProxyType(dict(years))
        self._holidays: dict[date, str] = {}
        self._make_up: dict[date, str] = {}
        for data in self._years.values():
            self._holidays.update(data.holidays)
            self._make_up.update(data.make_up_working_days)

    @classmethod
    def load(cls, directory: str | Path | None = None) -> WorkingDayCalendar:
        """Load every ``<year>.toml`` in ``directory`` (default: the shipped data)."""
        directory = Path(directory) if directory is not None else CALENDAR_DIR
        if not directory.is_dir():
            raise ConfigurationError(f"工作日历目录 {directory} 不存在", directory=str(directory))
        years = {}
        for path in sorted(directory.glob("*.toml")):
            data = load_calendar_year(path)
            years[data.year] = data
        if not years:
            raise ConfigurationError(f"工作日历目录 {directory} 中没有任何年份的节假日数据", directory=str(directory))
        return cls(years)

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(sorted(self._years))

    def covers(self, year: int) -> bool:
        return year in self._years

    def is_working_day(self, day: date) -> bool:
        self._require(day)
        if day in self._holidays:
            return False
        if day in self._make_up:
            return True
        return day.weekday() < _SATURDAY

    def holiday_name(self, day: date) -> str | None:
        """The holiday's Chinese name if ``day`` is a public holiday, else None."""
        self._require(day)
        return self._holidays.get(day)

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after ``day``.

        ``n = 0`` returns ``day`` itself when it is a working day, else the next working
        day: a step due "by working day 0" can be done on the day or, if that day is off,
        on the first working day after it.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InvalidInput(f"工作日数应为不小于零的整数，实为 {n!r}", field="n")
        if n == 0:
            while not self.is_working_day(day):
                day += _ONE_DAY
            return day
        while n:
            day += _ONE_DAY
            if self.is_working_day(day):
                n -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``.

        So ``working_days_between(d, add_working_days(d, n)) == n`` for a working day d.
        When ``end`` is before ``start`` the count is negative.
        """
        self._require(start)
        self._require(end)
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start
        while day < end:
            day += _ONE_DAY
            if self.is_working_day(day):
                count += 1
        return count

    @staticmethod
    def add_days(day: date, n: int) -> date:
        """``day`` plus ``n`` calendar days (no holiday data needed)."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise InvalidInput(f"日数应为整数，实为 {n!r}", field="n")
        return day + timedelta(days=n)

    def add_period(self, day: date, n: int, unit: str) -> date:
        """Add a rule's period: ``unit`` is ``days`` (calendar days) or ``working_days``."""
        if unit == "days":
            return self.add_days(day, n)
        if unit == "working_days":
            return self.add_working_days(day, n)
        raise InvalidInput(f"单位 {unit} 不是期限单位（应为 days 或 working_days）", field="unit")

    def _require(self, day: date) -> None:
        if isinstance(day, datetime) or not isinstance(day, date):
            raise InvalidInput(f"应为日期（date），实为 {day!r}", field="date")
        if day.year not in self._years:
            raise ConfigurationError(
                f"工作日历缺少 {day.year} 年的节假日数据，无法计算工作日；"
                f"请在节假日数据目录中添加 {day.year}.toml（依据国务院办公厅当年节假日安排通知）",
                code="calendar_year_missing", year=day.year,
            )


@cache
def default_calendar() -> WorkingDayCalendar:
    """The center's calendar, loaded once: ``TRADING_CALENDAR_DIR`` or the shipped files."""
    from trading.settings import get_settings

    return WorkingDayCalendar.load(get_settings().calendar_dir)


def _invalid(file: str, entry: str, reason: str) -> ConfigurationError:
    return ConfigurationError(f"工作日历文件 {file} 无效：{entry}：{reason}", file=file, entry=entry, reason=reason)


def _entries(document: dict[str, Any], list_name: str, label_field: str, year: int, file: str) -> dict[date, str]:
    raw = document.get(list_name, [])
    if not isinstance(raw, list):
        raise _invalid(file, list_name, "应为数组")
    entries: dict[date, str] = {}
    for index, item in enumerate(raw):
        entry = f"{list_name}[{index}]"
        if not isinstance(item, dict) or set(item) != {"date", label_field}:
            raise _invalid(file, entry, f"每项应为 {{ date = ..., {label_field} = \"...\" }}")
        day, label = item["date"], item[label_field]
        if isinstance(day, datetime) or not isinstance(day, date):
            raise _invalid(file, entry, "date 应为日期（如 2026-10-01，不带引号和时间）")
        entry = f"{list_name}[{index}] ({day.isoformat()})"
        if day.year != year:
            raise _invalid(file, entry, f"日期不属于 {year} 年，应放入 {day.year}.toml")
        if not isinstance(label, str) or not label.strip():
            raise _invalid(file, entry, f"{label_field} 不能为空")
        if day in entries:
            raise _invalid(file, entry, "日期重复")
        entries[day] = label.strip()
    return entries
