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
from trading.rules.calendar import missing_year_card

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
    assert default_calendar().years == calendar.years


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
    assert calendar.add_period(date(2026, 9, 29), 1, "days") == date(2026, 9, 30)
    assert calendar.add_period(date(2026, 9, 30), 1, "working_days") == date(2026, 10, 8)
    with pytest.raises(InvalidInput):
        calendar.add_period(date(2026, 9, 30), 1, "minutes")


@pytest.mark.parametrize("n", [-1, True, 1.5])
def test_working_days_must_be_a_non_negative_integer(n: object) -> None:
    with pytest.raises(InvalidInput):
        calendar.add_working_days(date(2026, 3, 4), n)  # type: ignore[arg-type]


# --- Years without the State Council's notice: provisional, from the statute ---------------

def test_a_year_without_the_notice_is_provisional_not_refused() -> None:
    assert calendar.status(2027) == "provisional" and calendar.is_provisional(2027)
    assert calendar.status(2026) == "official" and not calendar.is_provisional(2026)
    assert calendar.year(2027).source.startswith("全国年节及纪念日放假办法")


def test_2027_provisional_holidays_follow_article_2_of_the_holiday_measures() -> None:
    # 全国年节及纪念日放假办法 第二条 (2024 revision): 元旦 1, 春节 4 (除夕 to 初三), 清明 1,
    # 劳动节 2, 端午 1, 中秋 1, 国庆 3.
    statutory = [date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8),
                 date(2027, 4, 5), date(2027, 5, 1), date(2027, 5, 2), date(2027, 6, 9), date(2027, 9, 15),
                 date(2027, 10, 1), date(2027, 10, 2), date(2027, 10, 3)]
    for day in statutory:
        assert not calendar.is_working_day(day) and calendar.holiday_name(day), day
    assert calendar.holiday_name(date(2027, 2, 5)) == "春节"  # the Eve is part of the Spring Festival


def test_2027_holidays_on_a_weekend_are_made_up_on_weekdays_by_article_6() -> None:
    # 第六条: a holiday of all citizens falling on a Saturday or Sunday is made up on a working day.
    for day in (date(2027, 2, 9), date(2027, 2, 10), date(2027, 5, 3), date(2027, 5, 4),
                date(2027, 10, 4), date(2027, 10, 5)):
        assert not calendar.is_working_day(day), day
        assert "补假" in calendar.holiday_name(day)
    assert calendar.is_working_day(date(2027, 2, 11))


def test_a_provisional_year_has_no_moved_working_days() -> None:
    # No 调休 until the notice: every Saturday and Sunday of 2027 is a day off.
    assert not calendar.year(2027).make_up_working_days
    assert all(not calendar.is_working_day(day) for day in days_of(2027) if day.weekday() >= 5)


def test_a_deadline_running_into_a_provisional_year_is_marked_provisional() -> None:
    reckoning = calendar.reckon_working_days(date(2026, 12, 28), 10)
    assert reckoning.day == date(2027, 1, 12) and reckoning.provisional and reckoning.provisional_years == (2027,)
    inside = calendar.reckon_working_days(date(2026, 12, 1), 5)
    assert inside.day == date(2026, 12, 8) and not inside.provisional
    assert calendar.working_days_between(date(2026, 12, 1), date(2027, 1, 10)) > 0


def test_explaining_a_day() -> None:
    assert calendar.explain(date(2026, 10, 10)).reason == "调休上班日：国庆节"
    assert calendar.explain(date(2026, 10, 10)).working
    assert calendar.explain(date(2026, 10, 11)).reason == "周末"
    assert calendar.explain(date(2027, 2, 9)).status == "provisional"
    assert calendar.explain(date(2026, 3, 4)).reason == "工作日"


# --- 民法典 第二百零三条: a calendar-day period ending on a holiday -------------------------

def test_civil_code_article_203_a_period_ending_on_a_holiday_ends_after_it() -> None:
    # Five days from 27 September 2026 would end on 2 October, inside National Day (1–7 October).
    assert calendar.period_last_day(date(2026, 9, 27), 5).day == date(2026, 10, 8)
    # Ending on Mid-Autumn (25–27 September 2026): the first day after is Monday 28.
    assert calendar.period_last_day(date(2026, 9, 20), 5).day == date(2026, 9, 28)
    # An ordinary weekend is not a statutory holiday: the period ends on it.
    assert calendar.period_last_day(date(2026, 3, 2), 5).day == date(2026, 3, 7)
    assert calendar.add_period(date(2026, 9, 30), 1, "days") == date(2026, 10, 8)


def test_civil_code_article_203_on_a_provisional_holiday_is_provisional() -> None:
    reckoning = calendar.period_last_day(date(2026, 12, 29), 3)  # 1 January 2027
    assert reckoning.day == date(2027, 1, 2) and reckoning.provisional


# --- The supervisors' card for next year's notice -----------------------------------------

def test_next_years_notice_missing_is_yellow_from_november_and_red_from_december(tmp_path: Path) -> None:
    assert missing_year_card(calendar, date(2026, 10, 31)) is None
    assert missing_year_card(calendar, date(2026, 11, 1)).card == "yellow"
    card = missing_year_card(calendar, date(2026, 12, 1))
    assert card.card == "red" and card.year == 2027 and "2027 年节假日安排" in card.message
    write_year(tmp_path, GOOD)
    with_2027 = WorkingDayCalendar.load(CALENDAR_DIR, tmp_path)
    assert missing_year_card(with_2027, date(2026, 12, 20)) is None
    assert missing_year_card(with_2027, date(2027, 6, 1)) is None
    assert missing_year_card(calendar, date(2027, 3, 1)).card == "red"  # this very year missing


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
    assert own.status(2026) == "provisional" and own.is_working_day(date(2026, 12, 31))


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


@settings(database=None, max_examples=100, deadline=None)  # each provisional year is built on first use
@given(day=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
def test_every_date_has_an_answer_provisional_outside_the_notices(day: date) -> None:
    calendar.is_working_day(day)
    # Before the People's Republic's holiday measures there is nothing to reckon from: weekends only.
    expected = "official" if calendar.covers(day.year) else "provisional" if day.year >= 1950 else "missing"
    assert calendar.explain(day).status == expected


@settings(database=None, max_examples=200, deadline=None)
@given(day=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)), n=st.integers(0, 60))
def test_a_calendar_day_period_never_ends_on_a_holiday_nor_before_its_n_days(day: date, n: int) -> None:
    last = calendar.period_last_day(day, n).day
    assert last >= day + timedelta(days=n) and calendar.holiday_name(last) is None
    # Only holidays lie between the nominal last day and the real one.
    nominal = day + timedelta(days=n)
    assert all(calendar.holiday_name(nominal + timedelta(days=k)) for k in range((last - nominal).days))


def test_a_bad_file_among_the_centers_is_left_out_not_fatal(tmp_path: Path) -> None:
    write_year(tmp_path, "year = \n", name="2028.toml")
    write_year(tmp_path, GOOD)
    refused: list[ConfigurationError] = []
    loaded = WorkingDayCalendar.load(CALENDAR_DIR, tmp_path, refused=refused)
    assert loaded.covers(2027) and loaded.status(2028) == "provisional"
    assert [error.details["file"] for error in refused] == ["2028.toml"]
    with pytest.raises(ConfigurationError):
        WorkingDayCalendar.load(CALENDAR_DIR, tmp_path)
