"""The working-day calendar: holidays and make-up working days as yearly data, no guessing."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.errors import ConfigurationError, InvalidInput
from trading.rules import CALENDAR_DIR, WorkingDayCalendar, default_calendar, load_calendar_year

calendar = default_calendar()


def days_of(year: int):
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


# --- Known days ---------------------------------------------------------------------------

def test_the_shipped_years_are_covered() -> None:
    assert calendar.years == (2024, 2025, 2026)
    assert calendar.covers(2026) and not calendar.covers(2023) and not calendar.covers(2027)
    assert default_calendar() is calendar


def test_national_day_2026_is_off_and_saturday_10_october_is_worked() -> None:
    for day in range(1, 8):
        assert not calendar.is_working_day(date(2026, 10, day))
        assert calendar.holiday_name(date(2026, 10, day)) == "国庆节"
    assert calendar.is_working_day(date(2026, 10, 8))  # Thursday after the holiday
    assert calendar.is_working_day(date(2026, 10, 10))  # Saturday, make-up working day
    assert not calendar.is_working_day(date(2026, 10, 11))  # an ordinary Sunday
    assert calendar.is_working_day(date(2026, 9, 20))  # Sunday, make-up for National Day


def test_spring_festival_2026() -> None:
    for day in range(15, 24):
        assert not calendar.is_working_day(date(2026, 2, day))
        assert calendar.holiday_name(date(2026, 2, day)) == "春节"
    assert calendar.is_working_day(date(2026, 2, 14))  # Saturday before, worked
    assert calendar.is_working_day(date(2026, 2, 24))
    assert calendar.is_working_day(date(2026, 2, 28))  # Saturday after, worked


def test_ordinary_weeks_and_new_year_2026() -> None:
    assert not calendar.is_working_day(date(2026, 1, 1)) and calendar.holiday_name(date(2026, 1, 1)) == "元旦"
    assert calendar.is_working_day(date(2026, 1, 4))  # Sunday, make-up for New Year's Day
    assert calendar.is_working_day(date(2026, 3, 4))  # a Wednesday
    assert not calendar.is_working_day(date(2026, 3, 7))  # a Saturday
    assert calendar.holiday_name(date(2026, 3, 4)) is None


def test_earlier_years() -> None:
    assert calendar.is_working_day(date(2024, 2, 4))  # Sunday worked before Spring Festival 2024
    assert not calendar.is_working_day(date(2024, 2, 15))
    assert not calendar.is_working_day(date(2025, 1, 28))  # Spring Festival's Eve 2025
    assert calendar.is_working_day(date(2025, 2, 8))  # Saturday worked after it


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_shipped_years_agree_with_the_chinese_calendar_package(year: int) -> None:
    for day in days_of(year):
        assert calendar.is_working_day(day) == chinese_calendar.is_workday(day), day


def test_adding_working_days_over_national_day_2026() -> None:
    assert calendar.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert calendar.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert calendar.add_working_days(date(2026, 9, 30), 4) == date(2026, 10, 12)
    assert calendar.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4
    assert calendar.working_days_between(date(2026, 10, 12), date(2026, 9, 30)) == -4


def test_zero_working_days_is_the_day_itself_or_the_next_working_day() -> None:
    assert calendar.add_working_days(date(2026, 9, 30), 0) == date(2026, 9, 30)
    assert calendar.add_working_days(date(2026, 10, 1), 0) == date(2026, 10, 8)
    assert calendar.add_working_days(date(2026, 3, 7), 0) == date(2026, 3, 9)


def test_five_working_days_for_a_deposit_refund_over_spring_festival() -> None:
    # Contract signed on Friday 2026-02-13: five working days skip the whole holiday.
    assert calendar.add_working_days(date(2026, 2, 13), 5) == date(2026, 2, 27)


def test_calendar_days_and_periods() -> None:
    assert calendar.add_days(date(2026, 9, 11), 20) == date(2026, 10, 1)
    assert calendar.add_days(date(2031, 1, 1), -1) == date(2030, 12, 31)  # no holiday data needed
    assert calendar.add_period(date(2026, 9, 30), 1, "days") == date(2026, 10, 1)
    assert calendar.add_period(date(2026, 9, 30), 1, "working_days") == date(2026, 10, 8)
    with pytest.raises(InvalidInput):
        calendar.add_period(date(2026, 9, 30), 1, "minutes")


@pytest.mark.parametrize("n", [-1, True, 1.5])
def test_working_days_must_be_a_non_negative_integer(n: object) -> None:
    with pytest.raises(InvalidInput):
        calendar.add_working_days(date(2026, 3, 4), n)  # type: ignore[arg-type]


# --- Missing years are refused, never guessed -------------------------------------------

def test_a_date_in_a_year_without_data_is_refused_naming_the_year() -> None:
    with pytest.raises(ConfigurationError) as caught:
        calendar.is_working_day(date(2030, 5, 6))
    assert "2030" in caught.value.message and "节假日数据" in caught.value.message
    assert caught.value.code == "calendar_year_missing" and caught.value.details["year"] == 2030


def test_a_deadline_running_into_a_year_without_data_is_refused() -> None:
    with pytest.raises(ConfigurationError) as caught:
        calendar.add_working_days(date(2026, 12, 28), 10)
    assert caught.value.details["year"] == 2027
    with pytest.raises(ConfigurationError):
        calendar.working_days_between(date(2026, 12, 1), date(2027, 1, 10))
    with pytest.raises(ConfigurationError):
        calendar.add_working_days(date(2023, 12, 29), 0)


# --- Bad calendar files ------------------------------------------------------------------

GOOD = """\
year = 2027
source = "国务院办公厅关于2027年部分节假日安排的通知"
holidays = [
  { date = 2027-01-01, name = "元旦" },
]
make_up_working_days = [
  { date = 2027-01-02, holiday = "元旦" },
]
"""


def write_year(tmp_path: Path, text: str, name: str = "2027.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str, entry: str, reason: str, name: str = "2027.toml") -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_calendar_year(write_year(tmp_path, text, name))
    assert caught.value.details["file"] == name
    assert entry in caught.value.details["entry"]
    assert reason in caught.value.details["reason"]
    assert name in caught.value.message


def test_a_good_year_file_loads(tmp_path: Path) -> None:
    year = load_calendar_year(write_year(tmp_path, GOOD))
    assert year.year == 2027 and year.holidays == {date(2027, 1, 1): "元旦"}
    own = WorkingDayCalendar.load(tmp_path)
    assert own.covers(2027) and not own.covers(2026)
    assert own.is_working_day(date(2027, 1, 2))  # Saturday, make-up
    with pytest.raises(ConfigurationError):
        own.is_working_day(date(2026, 12, 31))


def test_a_date_in_the_wrong_years_file(tmp_path: Path) -> None:
    refused(tmp_path, GOOD.replace("2027-01-01", "2026-10-01"), "holidays[0] (2026-10-01)", "2026.toml")


def test_a_day_both_holiday_and_working_day(tmp_path: Path) -> None:
    refused(tmp_path, GOOD.replace("2027-01-02", "2027-01-01"), "2027-01-01", "既是节假日又是调休上班日")


def test_a_weekday_listed_as_make_up_working_day(tmp_path: Path) -> None:
    refused(tmp_path, GOOD.replace("2027-01-02", "2027-01-04"), "make_up_working_days (2027-01-04)", "星期六或星期日")


def test_a_duplicate_holiday(tmp_path: Path) -> None:
    text = GOOD.replace('  { date = 2027-01-01, name = "元旦" },\n',
                        '  { date = 2027-01-01, name = "元旦" },\n  { date = 2027-01-01, name = "元旦" },\n')
    refused(tmp_path, text, "holidays[1] (2027-01-01)", "重复")


def test_an_entry_without_a_name(tmp_path: Path) -> None:
    refused(tmp_path, GOOD.replace('name = "元旦"', 'name = ""'), "holidays[0]", "不能为空")
    refused(tmp_path, GOOD.replace('name = "元旦"', 'title = "元旦"'), "holidays[0]", "每项应为")


def test_a_year_that_does_not_match_the_file_name(tmp_path: Path) -> None:
    refused(tmp_path, GOOD.replace("year = 2027", "year = 2028"), "year", "文件名")


def test_a_file_name_that_is_not_a_year(tmp_path: Path) -> None:
    refused(tmp_path, GOOD, "<file>", "四位年份", name="holidays-2027.toml")


def test_a_missing_source(tmp_path: Path) -> None:
    refused(tmp_path, GOOD.replace('source = "国务院办公厅关于2027年部分节假日安排的通知"', ""), "source", "来源")


def test_bad_toml(tmp_path: Path) -> None:
    refused(tmp_path, "year = \n", "<toml>", "无法解析")


def test_a_directory_without_data_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        WorkingDayCalendar.load(tmp_path)
    with pytest.raises(ConfigurationError):
        WorkingDayCalendar.load(tmp_path / "missing")


def test_the_shipped_files_load_one_by_one() -> None:
    for path in sorted(CALENDAR_DIR.glob("*.toml")):
        year = load_calendar_year(path)
        assert year.year == int(path.stem) and year.source.startswith("国务院办公厅")


# --- Properties -----------------------------------------------------------------------------

start_days = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 6, 30))
counts = st.integers(min_value=0, max_value=100)


@settings(database=None, max_examples=200)
@given(day=start_days, n=counts)
def test_adding_working_days_lands_on_a_working_day_n_working_days_later(day: date, n: int) -> None:
    end = calendar.add_working_days(day, n)
    assert calendar.is_working_day(end) and end >= day
    if calendar.is_working_day(day) or n > 0:
        assert calendar.working_days_between(day, end) == n
    if n > 0:
        # The day before the result is still short of n: no working day was skipped.
        assert calendar.working_days_between(day, end - timedelta(days=1)) == n - 1


@settings(database=None, max_examples=200)
@given(day=start_days, n=counts, more=st.integers(min_value=1, max_value=30))
def test_adding_working_days_is_increasing_in_n(day: date, n: int, more: int) -> None:
    earlier, later = calendar.add_working_days(day, n), calendar.add_working_days(day, n + more)
    assert earlier <= later
    # Only from a day off are 0 and 1 working days the same day (the next working day).
    if n > 0 or calendar.is_working_day(day):
        assert earlier < later
    else:
        assert (earlier == later) == (more == 1)


@settings(database=None, max_examples=200)
@given(a=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)),
       b=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)))
def test_working_days_between_is_antisymmetric_and_bounded(a: date, b: date) -> None:
    count = calendar.working_days_between(a, b)
    assert count == -calendar.working_days_between(b, a)
    assert abs(count) <= abs((b - a).days)


@settings(database=None, max_examples=100)
@given(day=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
def test_every_date_outside_the_data_is_refused(day: date) -> None:
    if calendar.covers(day.year):
        calendar.is_working_day(day)
    else:
        with pytest.raises(ConfigurationError):
            calendar.is_working_day(day)
