"""``trading calendar``: the working-day calendar for the center's staff.

``status`` lists each year as official (the State Council's notice loaded), provisional
(the statute alone) or missing; ``day DATE`` says whether a day is worked and why; ``add
DATE N`` gives the date N working days later and whether a provisional day was used;
``load FILE`` loads a year's notice and reckons every provisional deadline again.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import click

from bidding.clock.calendar_change import reckon_provisional_deadlines
from cli.support import cli_actor, in_transaction, one_line_errors
from trading.errors import InvalidInput
from trading.rules.calendar import (
    MISSING,
    OFFICIAL,
    PROVISIONAL_NOTE,
    STATUS_NAMES,
    center_calendar_dir,
    default_calendar,
    load_calendar_year,
)
from trading.timefmt import chinese_date


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"日期「{value}」无效，应写作 2027-02-09 这样的年-月-日", field="date") from None


@click.group("calendar")
def calendar_group() -> None:
    """工作日历：节假日与调休 (the working-day calendar)."""


@calendar_group.command("status")
@one_line_errors
def calendar_status() -> None:
    """Each year: official, provisional or missing, with its source."""
    calendar = default_calendar()
    this_year = date.today().year
    years = range(min(calendar.years[0], this_year), max(calendar.years[-1], this_year + 1) + 1)
    for year in years:
        data = calendar.year(year)
        click.echo(f"{year} 年  {STATUS_NAMES[data.status]}  {data.source}")
    if not calendar.covers(this_year + 1):
        click.echo(f"注意：{this_year + 1} 年节假日安排尚未载入；跨入该年的工作日期限{PROVISIONAL_NOTE}。"
                   f"通知公布后请运行 trading calendar load 文件。")


@calendar_group.command("day")
@click.argument("day")
@one_line_errors
def calendar_day(day: str) -> None:
    """Whether DAY (YYYY-MM-DD) is a working day, and why."""
    explained = default_calendar().explain(_date(day))
    kind = "工作日" if explained.working else "休息日"
    sureness = {OFFICIAL: "正式", MISSING: "无节假日数据，仅按周末"}.get(explained.status, PROVISIONAL_NOTE)
    click.echo(f"{chinese_date(explained.day)}：{kind}（{explained.reason}）；{sureness}；依据：{explained.source}")


@calendar_group.command("add")
@click.argument("day")
@click.argument("n", type=int)
@one_line_errors
def calendar_add(day: str, n: int) -> None:
    """The date N working days after DAY (YYYY-MM-DD)."""
    start = _date(day)
    reckoning = default_calendar().reckon_working_days(start, n)
    click.echo(f"{chinese_date(start)} 之后第 {n} 个工作日为 {chinese_date(reckoning.day)}")
    if reckoning.provisional:
        years = "、".join(f"{year} 年" for year in reckoning.provisional_years)
        click.echo(f"使用了暂定年份（{years}）的节假日：{PROVISIONAL_NOTE}")
    else:
        click.echo("所用年份均为国务院办公厅正式安排")


@calendar_group.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@one_line_errors
def calendar_load(path: Path) -> None:
    """Load a year's official notice (FILE named <year>.toml) and reckon provisional deadlines again."""
    data = load_calendar_year(path)
    target_dir = center_calendar_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{data.year}.toml"
    if path.resolve() != target.resolve():
        shutil.copyfile(path, target)
    default_calendar.cache_clear()
    actor = cli_actor()
    changes = in_transaction(lambda session: reckon_provisional_deadlines(
        session, actor=actor, reason=f"载入 {data.year} 年节假日安排（{data.source}）"))
    moved = [change for change in changes if change.moved]
    click.echo(f"已载入 {data.year} 年节假日安排（{data.source}），存于 {target}")
    click.echo(f"重新计算暂定期限 {len(changes)} 个，其中顺延 {len(moved)} 个（期限不会提前），已通知相关各方")
