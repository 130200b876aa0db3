"""A year without the State Council's holiday notice never stops the platform: deadlines are
reckoned on the provisional year (全国年节及纪念日放假办法 第二条、第六条), marked provisional
wherever they are shown, and reckoned again — never earlier — when the official year is loaded.

The tests do not depend on today's date: they give the services a calendar in which every
year is provisional (as next year is each December), then "load" an official one.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType

import pytest
from sqlalchemy import select, update

from bidding.award.award_notice import issue_award_notice, choose_winner
from bidding.clock.calendar_change import CalendarWatch, reckon_provisional_deadlines
from bidding.tender.chronograph import run_due_steps
from bidding.award.complaints import accept_complaint, file_complaint
from bidding.tender.deadlines import Deadline, set_deadline
from bidding.tender.deadline_watch import open_cards
from bidding.tender.lifecycle import apply_transition
from bidding.tender.projects import Project
from bidding.award.publicity import publish_candidates
from bidding.tender.states import local_date
from tests.common import award_world as world
from tests.common import bids
from tests.common.settlement import pay_deposit
from tests.common.tenders import tender_project
from trading.audit import AuditEntry
from trading.database import database_now, make_sessionmaker, transaction
from trading.ledger import LedgerRefund
from trading.notifications import OutboxMessage
from trading.timefmt import CENTER_ZONE
from trading.rules.calendar import CalendarYear, WorkingDayCalendar, default_calendar

PRICES = [98_765_432_10, 99_000_000_00, 101_000_000_00]
PUBLIC_URL = "https://ggzy.example.cn"
CALENDAR_USERS = ("bidding.tender.periods", "bidding.tender.states", "bidding.clock.calendar_change")


def use_calendar(monkeypatch: pytest.MonkeyPatch, calendar: WorkingDayCalendar) -> None:
    for module in CALENDAR_USERS:
        monkeypatch.setattr(f"{module}.default_calendar", lambda: calendar)


@pytest.fixture
def no_notice_yet(monkeypatch) -> WorkingDayCalendar:
    """Every year provisional: what late December looks like for the next year."""
    calendar = WorkingDayCalendar({})
    use_calendar(monkeypatch, calendar)
    return calendar


def official(years: range, *, extra_holidays: dict[date, str] | None = None,
             make_up: dict[date, str] | None = None) -> WorkingDayCalendar:
    """The statute's years as if the notice had been published, with its 调休 days."""
    provisional = WorkingDayCalendar({})
    loaded = {}
    for year in years:
        days = dict(provisional.year(year).holidays)
        days.update({day: name for day, name in (extra_holidays or {}).items() if day.year == year})
        moved = {day: name for day, name in (make_up or {}).items() if day.year == year}
        loaded[year] = CalendarYear(year=year, source=f"国务院办公厅关于{year}年部分节假日安排的通知（测试）",
                                    holidays=MappingProxyType(days), make_up_working_days=MappingProxyType(moved))
    return WorkingDayCalendar(loaded)


def weekdays_after(day: date, count: int, skip: int = 3) -> list[date]:
    found, day = [], day + timedelta(days=skip)
    while len(found) < count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            found.append(day)
    return found


async def in_publicity(session, keys, kind=world.CONSTRUCTION) -> world.Tender:
    return await world.tender_in_publicity(session, keys, PRICES, kind=kind)


async def complaint_decision_clock(session, keys) -> tuple[world.Tender, Deadline]:
    """A complaint by the second candidate, accepted: its 30-working-day decision clock."""
    tender = await in_publicity(session, keys)
    complaint = await file_complaint(session, actor="bidder", project_code=tender.code,
                                     organisation_id=tender.bidders[1].id, grounds="第一名存在串通投标")
    await accept_complaint(session, actor="supervisor", project_code=tender.code, complaint_id=complaint.id,
                           reason="予以受理")
    return tender, await clock(session, "complaint_answer", f"complaint:{complaint.id}")


async def clock(session, kind: str, subject: str) -> Deadline:
    return await session.scalar(select(Deadline).where(Deadline.kind == kind, Deadline.subject == subject))


async def test_a_procurement_award_notice_and_its_refunds_when_next_years_notice_is_missing(
        demo, session, keys, no_notice_yet):
    """Late December, no notice for next year: the award notice is issued, refunds are
    instructed with their five working days reckoned provisionally (no error), marked."""
    tender = await world.tender_in_evaluation(session, keys, PRICES, kind=world.PROCUREMENT)
    await world.report(session, tender)
    await publish_candidates(session, actor="admin", project_code=tender.code)
    await session.execute(update(Project).where(Project.code == tender.code)
                          .values(next_due_at=(await database_now(session)) - timedelta(seconds=1)))
    assert (tender.code, "award") in await run_due_steps(session)
    award_clock = await clock(session, "award_notice", f"project:{tender.code}")
    assert award_clock.provisional and award_clock.due_at > await database_now(session)
    await choose_winner(session, actor="tenderer", project_code=tender.code, rank=1, reason="综合评分第一")
    notice = await issue_award_notice(session, keys, actor="admin", project_code=tender.code, public_url=PUBLIC_URL)
    assert notice.organisation_id == tender.bidders[0].id
    refunds = (await session.scalars(select(LedgerRefund).where(LedgerRefund.project_code == tender.code))).all()
    for refund in refunds:
        assert refund.due_provisional and refund.as_dict()["due_provisional"] is True
        deadline = await clock(session, "refund", f"deposit:{refund.deposit_id}")
        assert deadline.provisional and deadline.due_at == refund.due_at
        assert (deadline.period_value, deadline.period_unit) == (5, "working_days")


async def test_a_complaint_in_december_gets_its_decision_clock_provisionally(demo, session, keys, no_notice_yet):
    """Procurement complaints from mid-December used to fail: the 30-working-day clock reached
    a year without data. Now it is set, provisional, and the yellow card can come."""
    tender = await in_publicity(session, keys)
    complaint = await file_complaint(session, actor="bidder", project_code=tender.code,
                                     organisation_id=tender.bidders[1].id, grounds="第一名存在串通投标")
    acceptance = await clock(session, "complaint_acceptance", f"complaint:{complaint.id}")
    assert acceptance is not None and acceptance.provisional
    await accept_complaint(session, actor="supervisor", project_code=tender.code, complaint_id=complaint.id,
                           reason="予以受理")
    answer = await clock(session, "complaint_answer", f"complaint:{complaint.id}")
    assert answer is not None and answer.provisional and answer.rule == "complaint_decision_working_days"
    assert not await session.scalar(select(AuditEntry.seq).where(AuditEntry.action == "deadline.not_set"))
    # The watch shows the card with the mark once it is near.
    await session.execute(update(Deadline).where(Deadline.id == answer.id)
                          .values(card="yellow"))
    cards = [card for card in await open_cards(session) if card["id"] == answer.id]
    assert cards and cards[0]["provisional"] is True


async def test_loading_the_official_year_moves_a_provisional_deadline_later_and_tells_the_parties(
        demo, session, keys, no_notice_yet):
    tender, answer = await complaint_decision_clock(session, keys)
    announced = answer.due_at
    today = local_date(await database_now(session))
    # The notice gives three more weekdays off inside the 30 working days (a longer Spring Festival).
    extra = {day: "春节" for day in weekdays_after(today, 3)}
    notice = official(range(today.year - 1, today.year + 3), extra_holidays=extra)
    changes = await reckon_provisional_deadlines(session, actor="admin", reason="载入节假日安排", calendar=notice)
    await session.refresh(answer)
    assert not answer.provisional
    assert local_date(answer.due_at) == notice.add_working_days(today, 30) + timedelta(days=1)
    assert answer.due_at > announced
    mine = [change for change in changes if change.deadline_id == answer.id]
    assert mine and mine[0].moved and mine[0].was == announced
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "calendar.deadlines_reckoned")
                                 .order_by(AuditEntry.seq.desc()).limit(1))
    assert any(item["deadline_id"] == answer.id and item["moved"] for item in entry.data["deadlines"])
    told = (await session.scalars(select(OutboxMessage).where(OutboxMessage.subject == f"deadline:{answer.id}"))).all()
    recipients = {message.recipient for message in told}
    assert f"organisation:{tender.bidders[1].credit_code}" in recipients  # the complainant
    assert "role:supervisor" in recipients and len(recipients) == 3  # and the tendering party
    assert all("顺延" in message.body and "不会提前" in message.body for message in told)


async def test_loading_the_official_year_never_moves_a_deadline_earlier(demo, session, keys, no_notice_yet):
    """The notice's 调休 makes weekends working days: the reckoned day would be earlier, and
    the announced one stays (nobody loses time they were promised)."""
    tender, answer = await complaint_decision_clock(session, keys)
    announced = answer.due_at
    today = local_date(await database_now(session))
    weekends = {today + timedelta(days=k): "春节" for k in range(4, 40) if (today + timedelta(days=k)).weekday() >= 5}
    notice = official(range(today.year - 1, today.year + 3), make_up=weekends)
    assert notice.add_working_days(today, 30) + timedelta(days=1) < local_date(announced)
    await reckon_provisional_deadlines(session, actor="admin", reason="载入节假日安排", calendar=notice)
    await session.refresh(answer)
    assert answer.due_at == announced and not answer.provisional
    assert not (await session.scalars(select(OutboxMessage).where(OutboxMessage.subject == f"deadline:{answer.id}"))).all()


async def test_a_refund_copy_moves_with_its_deadline(demo, session, keys, no_notice_yet):
    tender = await tender_project(session, keys, "bidding")
    code, _ = await bids.bidder(session, tender.code)
    await pay_deposit(session, tender.code, code, amount_fen=12_345_600)
    await apply_transition(session, actor="test", project_code=tender.code, action="terminate",
                           facts={"reason": "项目取消"})
    [refund] = (await session.scalars(select(LedgerRefund).where(LedgerRefund.project_code == tender.code))).all()
    assert refund.due_provisional
    today = local_date(await database_now(session))
    # Whatever the refund period's unit, a notice making every day up to it a holiday moves it.
    last_day = local_date(refund.due_at - timedelta(seconds=1))
    notice = official(range(today.year - 1, today.year + 3), extra_holidays={
        today + timedelta(days=k): "国庆节" for k in range(1, (last_day - today).days + 1)})
    await reckon_provisional_deadlines(session, actor="admin", reason="载入节假日安排", calendar=notice)
    await session.refresh(refund)
    deadline = await clock(session, "refund", f"deposit:{refund.deposit_id}")
    assert refund.due_at == deadline.due_at and not refund.due_provisional and not deadline.provisional
    told = (await session.scalars(select(OutboxMessage).where(OutboxMessage.subject == f"deadline:{deadline.id}"))).all()
    assert f"organisation:{code}" in {message.recipient for message in told}


async def test_the_server_notices_a_new_year_file_and_reckons_again(demo, session, keys, tmp_path, monkeypatch):
    """A center that drops ``<year>.toml`` into its calendar directory needs no command."""
    default_calendar.cache_clear()
    monkeypatch.setenv("TRADING_CALENDAR_DIR", str(tmp_path))
    from trading.settings import get_settings

    get_settings.cache_clear()
    try:
        watch = CalendarWatch()
        await watch(session)  # start-up round
        assert await watch(session) == []  # nothing changed
        today = date.today()
        (tmp_path / f"{today.year + 5}.toml").write_text(
            f'year = {today.year + 5}\nsource = "国务院办公厅关于{today.year + 5}年部分节假日安排的通知"\nholidays = []\n',
            encoding="utf-8")
        await watch(session)
        assert default_calendar().covers(today.year + 5)
    finally:
        get_settings.cache_clear()
        default_calendar.cache_clear()



# ----------------------------------------------------------------------------- the command line

@pytest.fixture
def fresh_calendar_after():
    yield
    default_calendar.cache_clear()


def year_file(directory, year: int, extra: dict[date, str]) -> Path:
    """``<year>.toml`` as the center would transcribe the notice: the statute's days plus ``extra``."""
    days = dict(WorkingDayCalendar({}).year(year).holidays) | {day: name for day, name in extra.items() if day.year == year}
    lines = [f"year = {year}", f'source = "国务院办公厅关于{year}年部分节假日安排的通知"', "holidays = ["]
    lines += [f'  {{ date = {day.isoformat()}, name = "{name}" }},' for day, name in sorted(days.items())]
    path = directory / f"{year}.toml"
    path.write_text("\n".join([*lines, "]", ""]), encoding="utf-8")
    return path


async def test_calendar_commands_say_what_each_year_and_day_is(cli, fresh_calendar_after):
    today = date.today()
    status = await cli("calendar", "status")
    assert status.exit_code == 0
    assert "2026 年  正式  国务院办公厅关于2026年部分节假日安排的通知" in status.output
    assert f"{today.year + 1} 年  暂定  全国年节及纪念日放假办法第二条、第六条" in status.output
    day = await cli("calendar", "day", "2026-10-10")
    assert "2026年10月10日（星期六）：工作日（调休上班日：国庆节）；正式" in day.output
    provisional = await cli("calendar", "day", "2099-01-01")
    assert "休息日（法定节假日：元旦）" in provisional.output and "暂按法定节假日计算" in provisional.output
    added = await cli("calendar", "add", "2026-09-30", "1")
    assert "2026年10月8日（星期四）" in added.output and "所用年份均为国务院办公厅正式安排" in added.output
    later = await cli("calendar", "add", "2098-12-28", "10")
    assert "使用了暂定年份（2098 年、2099 年）" in later.output
    bad = await cli("calendar", "day", "2026-02-30")
    assert bad.exit_code == 1 and "日期「2026-02-30」无效" in bad.output


async def test_calendar_load_checks_the_file_and_reckons_provisional_deadlines_again(
        demo, engine, cli, settings, tmp_path, fresh_calendar_after):
    today = date.today()
    async with transaction(make_sessionmaker(engine)) as session:
        project = await session.scalar(select(Project).limit(1))
        now = await database_now(session)
        start = now
        reckoned = WorkingDayCalendar({}).reckon_working_days(local_date(now), 300)
        due = datetime.combine(reckoned.day + timedelta(days=1), time(0), tzinfo=CENTER_ZONE)
        deadline = await set_deadline(session, project=project, kind="contract", subject=f"project:{project.code}",
                                      due_at=due, rule="contract_days", actor="test", provisional=True,
                                      starts_at=start, period=(300, "working_days"))
        deadline_id, announced = deadline.id, deadline.due_at
    refused = await cli("calendar", "load", str(_bad_file(tmp_path)))
    assert refused.exit_code == 1 and "文件名应为四位年份" in refused.output
    # The notice for each year the deadline spans, with ten more weekdays off in the first.
    extra = {day: "春节" for day in weekdays_after(local_date(start), 10)}
    for year in range(today.year, reckoned.day.year + 1):
        result = await cli("calendar", "load", str(year_file(tmp_path, year, extra)))
        assert result.exit_code == 0, result.output
        assert f"已载入 {year} 年节假日安排" in result.output
    assert (settings.var_dir / "calendar" / f"{reckoned.day.year}.toml").exists()
    async with transaction(make_sessionmaker(engine)) as session:
        deadline = await session.get(Deadline, deadline_id)
        assert not deadline.provisional and deadline.due_at > announced
        entries = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "calendar.deadlines_reckoned")
                                         )).all()
        assert any(item["deadline_id"] == deadline_id and item["moved"]
                   for entry in entries for item in entry.data["deadlines"])


def _bad_file(directory) -> Path:
    path = directory / "holidays.toml"
    path.write_text('year = 2031\nsource = "x"\n', encoding="utf-8")
    return path
