"""Working-day calendar of mainland China, kept as yearly data files.

Each ``calendar_data/<year>.toml`` lists that year's public holidays (days off, weekend
days inside a holiday period included) and its make-up working days (调休上班: a Saturday
or Sunday worked in exchange for a day off), as published each year by the State Council
General Office. The center adds next year's file when the notice appears.

A working day is Monday to Friday unless it is a holiday, or a Saturday or Sunday listed
as a make-up working day.

A year without the State Council's notice is never a reason to stop: it is *provisional*,
built from the statute alone — the holidays of 全国年节及纪念日放假办法 第二条 (as revised in
2024, in force from 2025; lunar dates from the ``holidays`` package) and the weekday a
holiday falling on a weekend is made up on (第六条), with no moved days (调休). Every result
computed with a provisional day says so (:class:`Reckoning`), so that it can be shown as
provisional and recomputed when the official year is loaded.

Calendar-day periods follow 民法典 第二百零三条: when the last day is a statutory holiday,
the period ends on the first day after the holiday (:meth:`WorkingDayCalendar.period_last_day`).
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import holidays as statutory_holidays

from trading.errors import ConfigurationError, InvalidInput

CALENDAR_DIR = Path(__file__).resolve().parent / "calendar_data"
log = logging.getLogger(__name__)

# A year's standing: the State Council's notice is loaded, the statute alone, or not even that.
OFFICIAL, PROVISIONAL, MISSING = "official", "provisional", "missing"
STATUS_NAMES = MappingProxyType({OFFICIAL: "正式", PROVISIONAL: "暂定", MISSING: "缺失"})
# Shown beside every date computed with a provisional day (pages, API, notices).
PROVISIONAL_NOTE = "暂按法定节假日计算，待国务院公布调休安排后确认"
PROVISIONAL_SOURCE = "全国年节及纪念日放假办法第二条、第六条（暂按法定节假日推算，未含调休）"

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
    status: str = OFFICIAL


@dataclass(frozen=True)
class Reckoning:
    """A date computed from the calendar, and the provisional years it relied on."""

    day: date
    provisional_years: tuple[int, ...] = ()

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)


@dataclass(frozen=True)
class DayExplanation:
    """Whether a day is worked, why (in Chinese), and how sure the calendar is of it."""

    day: date
    working: bool
    reason: str
    status: str
    source: str


def provisional_year(year: int) -> CalendarYear:
    """A year from the statute alone: 第二条's holidays and 第六条's make-up weekdays, no 调休."""
    try:
        computed = statutory_holidays.China(years=year, language="zh_CN")
        days = dict(computed.items())
    except (NotImplementedError, ValueError, KeyError, OverflowError):
        days = None
    if days is None or not days:
        return CalendarYear(year=year, source=f"{year} 年无法按法定节假日推算，仅按周末计算", holidays=MappingProxyType({}),
                            make_up_working_days=MappingProxyType({}), status=MISSING)
    # The package also carries the notices it knows (调休 days off): those are not statute.
    statute = {day: _holiday_label(name) for day, name in days.items() if "调休" not in name}
    return CalendarYear(year=year, source=PROVISIONAL_SOURCE, holidays=MappingProxyType(statute),
                        make_up_working_days=MappingProxyType({}), status=PROVISIONAL)


def _holiday_label(name: str) -> str:
    # One label per day as in the official files: the Eve is part of the Spring Festival (第二条).
    return "；".join("春节" if part.strip() == "农历除夕" else part.strip() for part in name.split(";"))


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
    """Working days over every year: official where the notice is loaded, provisional elsewhere."""

    def __init__(self, years: Mapping[int, CalendarYear]) -> None:
        self._years = MappingProxyType(dict(years))
        self._provisional: dict[int, CalendarYear] = {}

    @classmethod
    def load(cls, *directories: str | Path | None, refused: list[ConfigurationError] | None = None
             ) -> WorkingDayCalendar:
        """Load every ``<year>.toml`` of ``directories`` (default: the shipped data); a later
        directory's file for a year replaces an earlier one's. A bad file raises, unless
        ``refused`` is given: then it is left out (its year stays provisional) and listed there."""
        paths = [Path(directory) for directory in directories if directory is not None] or [CALENDAR_DIR]
        years = {}
        for directory in paths:
            if not directory.is_dir():
                if directory == paths[0]:
                    raise ConfigurationError(f"工作日历目录 {directory} 不存在", directory=str(directory))
                continue
            for path in sorted(directory.glob("*.toml")):
                try:
                    data = load_calendar_year(path)
                except ConfigurationError as error:
                    if refused is None:
                        raise
                    refused.append(error)
                    continue
                years[data.year] = data
        if not years and refused is None:
            raise ConfigurationError(f"工作日历目录 {paths[0]} 中没有任何年份的节假日数据", directory=str(paths[0]))
        return cls(years)

    @property
    def years(self) -> tuple[int, ...]:
        """The years with the State Council's notice loaded."""
        return tuple(sorted(self._years))

    def covers(self, year: int) -> bool:
        """Whether ``year`` is official (its notice loaded)."""
        return year in self._years

    def year(self, year: int) -> CalendarYear:
        """The data of ``year``: the loaded notice, or the provisional year from the statute."""
        data = self._years.get(year)
        if data is None:
            data = self._provisional.get(year)
            if data is None:
                data = self._provisional[year] = provisional_year(year)
        return data

    def status(self, year: int) -> str:
        return self.year(year).status

    def is_provisional(self, year: int) -> bool:
        return self.status(year) != OFFICIAL

    def is_working_day(self, day: date) -> bool:
        data = self.year(_checked(day).year)
        if day in data.holidays:
            return False
        if day in data.make_up_working_days:
            return True
        return day.weekday() < _SATURDAY

    def holiday_name(self, day: date) -> str | None:
        """The holiday's Chinese name if ``day`` is a public holiday, else None."""
        return self.year(_checked(day).year).holidays.get(day)

    def explain(self, day: date) -> DayExplanation:
        """Whether ``day`` is a working day and why: weekend, holiday, moved working day."""
        data = self.year(_checked(day).year)
        if day in data.holidays:
            working, reason = False, f"法定节假日：{data.holidays[day]}"
        elif day in data.make_up_working_days:
            working, reason = True, f"调休上班日：{data.make_up_working_days[day]}"
        elif day.weekday() >= _SATURDAY:
            working, reason = False, "周末"
        else:
            working, reason = True, "工作日"
        return DayExplanation(day=day, working=working, reason=reason, status=data.status, source=data.source)

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after ``day`` (see :meth:`reckon_working_days`)."""
        return self.reckon_working_days(day, n).day

    def reckon_working_days(self, day: date, n: int) -> Reckoning:
        """The n-th working day after ``day``, with the provisional years it relied on.

        ``n = 0`` returns ``day`` itself when it is a working day, else the next working
        day: a step due "by working day 0" can be done on the day or, if that day is off,
        on the first working day after it.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InvalidInput(f"工作日数应为不小于零的整数，实为 {n!r}", code="invalid_day_count", field="n")
        _checked(day)
        seen = {day.year}
        if n == 0:
            while not self.is_working_day(day):
                day += _ONE_DAY
                seen.add(day.year)
            return self._reckoning(day, seen)
        seen = set()
        while n:
            day += _ONE_DAY
            seen.add(day.year)
            if self.is_working_day(day):
                n -= 1
        return self._reckoning(day, seen)

    def period_last_day(self, day: date, n: int) -> Reckoning:
        """The last day of a period of ``n`` calendar days from ``day`` (not counted): when it
        falls on a statutory holiday, the first day after the holiday (民法典 第二百零三条)."""
        last = self.add_days(_checked(day), n)
        seen = {last.year}
        while self.holiday_name(last) is not None:
            last += _ONE_DAY
            seen.add(last.year)
        return self._reckoning(last, seen)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``.

        So ``working_days_between(d, add_working_days(d, n)) == n`` for a working day d.
        When ``end`` is before ``start`` the count is negative.
        """
        _checked(start)
        _checked(end)
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
            raise InvalidInput(f"日数应为整数，实为 {n!r}", code="invalid_day_count", field="n")
        return day + timedelta(days=n)

    def add_period(self, day: date, n: int, unit: str) -> date:
        """Add a rule's period: ``unit`` is ``days`` (calendar days) or ``working_days``."""
        return self.reckon_period(day, n, unit).day

    def reckon_period(self, day: date, n: int, unit: str) -> Reckoning:
        """A rule's period's last day: ``days`` (民法典 第二百零三条 applied) or ``working_days``."""
        if unit == "days":
            return self.period_last_day(day, n)
        if unit == "working_days":
            return self.reckon_working_days(day, n)
        raise InvalidInput(f"单位 {unit} 不是期限单位（应为 days 或 working_days）", code="unknown_period_unit", field="unit")

    def _reckoning(self, day: date, years: set[int]) -> Reckoning:
        return Reckoning(day, tuple(sorted(year for year in years if self.is_provisional(year))))


def _checked(day: date) -> date:
    if isinstance(day, datetime) or not isinstance(day, date):
        raise InvalidInput(f"应为日期（date），实为 {day!r}", code="invalid_date", field="date")
    return day


@cache
def default_calendar() -> WorkingDayCalendar:
    """The center's calendar, loaded once: the shipped files and the center's own
    (``TRADING_CALENDAR_DIR``, default ``var/calendar``), where the center's files win.

    A bad file never stops the platform: it is logged and left out (its year stays
    provisional); ``trading calendar load`` checks a file before it is put in place."""
    refused: list[ConfigurationError] = []
    calendar = WorkingDayCalendar.load(CALENDAR_DIR, center_calendar_dir(), refused=refused)
    for error in refused:
        log.error("calendar file left out: %s", error.message)
    return calendar


@dataclass(frozen=True)
class CalendarCard:
    """A supervisor's card for a year whose holiday notice is not loaded in time."""

    card: str  # "yellow" | "red"
    year: int
    message: str


def missing_year_card(calendar: WorkingDayCalendar, today: date) -> CalendarCard | None:
    """Next year's notice is due: a yellow card from 1 November, red from 1 December (and red
    whenever this year itself is not official)."""
    if not calendar.covers(today.year):
        year, card = today.year, "red"
    elif calendar.covers(today.year + 1) or today < date(today.year, 11, 1):
        return None
    else:
        year, card = today.year + 1, "red" if today >= date(today.year, 12, 1) else "yellow"
    return CalendarCard(card=card, year=year, message=(
        f"{year} 年节假日安排（国务院办公厅通知）尚未载入工作日历：涉及该年的工作日期限{PROVISIONAL_NOTE}。"
        f"通知公布后请由交易中心运行 trading calendar load 载入。"))


def center_calendar_dir() -> Path:
    """Where the center puts the years it loads (``trading calendar load``)."""
    from trading.settings import get_settings

    settings = get_settings()
    return settings.calendar_dir or settings.var_dir / "calendar"


def calendar_files_signature() -> tuple[tuple[str, int], ...]:
    """The calendar files as they are now (name, mtime): a change means reload."""
    files = []
    for directory in (CALENDAR_DIR, center_calendar_dir()):
        if directory.is_dir():
            files += [(str(path), path.stat().st_mtime_ns) for path in sorted(directory.glob("*.toml"))]
    return tuple(files)


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
