"""A tender's states and the steps between them, as data (openprocurement's state classes).

The transition table names, for each action, the states it may start from, the state it
leads to, the facts the caller must give and a guard. Guards are small pure functions of
(the pinned rule set's values, the facts, the database time): they return a
:class:`Refusal` naming the rule key where the law has a number, or None. The database
work (locking, writing, auditing) is in :mod:`bidding.tender.lifecycle`; nothing here touches it.

Periods in days follow the Chinese way of counting (民法典 第二百零一条): the starting day
is not counted, so a period of n days from a moment ends at midnight (Asia/Shanghai) after
the n-th following day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType

from trading.rules.calendar import PROVISIONAL_NOTE, Reckoning, default_calendar
from trading.timefmt import CENTER_ZONE, chinese_date, local_time
from trading.transitions import Facts, Guard, Refusal, RuleValues
from trading.transitions import Transition as TableTransition


class TenderState(StrEnum):
    REGISTERED = "registered"
    ANNOUNCED = "announced"
    BIDDING = "bidding"
    OPENING = "opening"
    EVALUATING = "evaluating"
    PUBLICITY = "publicity"
    AWARDED = "awarded"
    CONTRACTED = "contracted"
    CLOSED = "closed"
    FAILED = "failed"
    TERMINATED = "terminated"
    SUSPENDED = "suspended"


S = TenderState

STATE_NAMES: Mapping[str, str] = MappingProxyType({
    S.REGISTERED: "已进场登记",
    S.ANNOUNCED: "已发布招标公告",
    S.BIDDING: "投标中",
    S.OPENING: "开标中",
    S.EVALUATING: "评标中",
    S.PUBLICITY: "中标候选人公示中",
    S.AWARDED: "已定标",
    S.CONTRACTED: "已签订合同",
    S.CLOSED: "已结束",
    S.FAILED: "流标",
    S.TERMINATED: "已终止",
    S.SUSPENDED: "已暂停（异议或投诉处理中）",
})

# Nothing leaves these: a failed tender is re-tendered as a new project.
TERMINAL_STATES = frozenset({S.CLOSED, S.FAILED, S.TERMINATED})
# A complaint may suspend the tender from these; it resumes where it stopped.
SUSPENDABLE_STATES = frozenset({S.ANNOUNCED, S.BIDDING, S.OPENING, S.EVALUATING, S.PUBLICITY, S.AWARDED})
NON_TERMINAL_STATES = frozenset(S) - TERMINAL_STATES


@dataclass(frozen=True)
class Transition(TableTransition[TenderState]):
    action: str
    name: str
    sources: frozenset[TenderState]
    # None: the state remembered when the tender was suspended (resume).
    target: TenderState | None
    guard: Guard | None = None
    # Facts the caller must give, with their type.
    needs: Mapping[str, type] = field(default_factory=dict)
    # Facts the caller may give.
    accepts: Mapping[str, type] = field(default_factory=dict)
    # Facts that default to the step's time when not given.
    now_by_default: tuple[str, ...] = ()
    # Facts the step writes to the project's columns of the same name.
    records: tuple[str, ...] = ()
    # The project's columns the step sets to its time.
    stamps: tuple[str, ...] = ()
    # What follows the step, by effect name (bidding.tender.effects; each implemented by the
    # subpackage that owns it): ``during`` runs once the new state is written, before the
    # step's audit entry (an effect may add to it); ``then`` runs after it, in order.
    during: tuple[str, ...] = ()
    then: tuple[str, ...] = ()

    @property
    def effects(self) -> tuple[str, ...]:
        return self.during + self.then


# --------------------------------------------------------------------------- periods


def local_date(moment: datetime) -> date:
    return moment.astimezone(CENTER_ZONE).date()


def days_between(start: datetime, end: datetime) -> int:
    """Days counted from ``start`` to ``end`` (start day not counted, end day counted)."""
    return (local_date(end) - local_date(start)).days


@dataclass(frozen=True)
class PeriodEnd:
    """When a period is over, and whether a provisional calendar year was used to say so."""

    at: datetime
    provisional: bool = False

    @property
    def note(self) -> str:
        """What to show beside the moment: nothing, or that it is provisional."""
        return f"（{PROVISIONAL_NOTE}）" if self.provisional else ""


def end_of_day(reckoning: Reckoning) -> PeriodEnd:
    """A period whose last day is ``reckoning.day`` is over at the midnight after it."""
    return PeriodEnd(datetime.combine(reckoning.day + timedelta(days=1), time(0), tzinfo=CENTER_ZONE),
                     reckoning.provisional)


def period_end(start: datetime, days: int) -> PeriodEnd:
    """A period of ``days`` calendar days from ``start`` (the starting day not counted, 民法典
    第二百零一条); a last day on a statutory holiday moves past the holiday (第二百零三条)."""
    return end_of_day(default_calendar().period_last_day(local_date(start), days))


def period_ends_at(start: datetime, days: int) -> datetime:
    """The moment a period of ``days`` days from ``start`` is over: midnight after its last day."""
    return period_end(start, days).at


def decryption_closes_at(bid_deadline: datetime, minutes: int) -> datetime:
    return bid_deadline + timedelta(minutes=minutes)


# --------------------------------------------------------------------------- guards


def announce_guard(rules: RuleValues, facts: Facts, now: datetime) -> Refusal | None:
    """The bid deadline at least the rule's days after the documents are first issued."""
    issued, deadline = facts["documents_issued_at"], facts["bid_deadline"]
    if issued < now - timedelta(minutes=1):
        return Refusal("招标文件发出时间不得早于公告发布时间", details={"documents_issued_at": issued.isoformat()})
    key = "tender_docs_to_bid_deadline_min_days"
    minimum = rules.get(key)
    days = days_between(issued, deadline)
    if deadline <= issued:
        return Refusal("投标截止时间应晚于招标文件发出时间", details={"bid_deadline": deadline.isoformat()})
    shortfall = docs_period_shortfall(issued, deadline, minimum)
    if shortfall is not None:
        return Refusal(shortfall, rule=key, details={"days": days, "minimum": minimum})
    return None


def docs_period_shortfall(issued: datetime, deadline: datetime, minimum: int | None) -> str | None:
    """Why the time from the documents to the bid deadline is too short, or None: fewer than
    ``minimum`` days, or the period's last day a statutory holiday and the deadline before the
    first day after it (民法典 第二百零三条)."""
    if minimum is None:
        return None
    days = days_between(issued, deadline)
    if days < minimum:
        return f"自招标文件开始发出之日起至投标截止之日止仅 {days} 日，不得少于 {minimum} 日"
    last = default_calendar().period_last_day(local_date(issued), minimum)
    if local_date(deadline) >= last.day:
        return None
    note = f"（{PROVISIONAL_NOTE}）" if last.provisional else ""
    return (f"自招标文件开始发出之日起 {minimum} 日的期间最后一日为法定节假日，顺延至节假日后的第一日"
            f"（{chinese_date(last.day, weekday=False)}），投标截止不得早于该日（民法典第二百零三条）{note}")


def open_bidding_guard(rules: RuleValues, facts: Facts, now: datetime) -> Refusal | None:
    issued = facts["documents_issued_at"]
    if issued is None or now < issued:
        return Refusal("招标文件尚未开始发出，不能开始投标", conflict=True)
    return None


def start_opening_guard(rules: RuleValues, facts: Facts, now: datetime) -> Refusal | None:
    """Opening happens at the bid deadline itself, never before."""
    deadline = facts["bid_deadline"]
    if deadline is None or now < deadline:
        return Refusal("投标截止时间未到，不能开标", rule="opening_at_deadline")
    return None


def _valid_bids_below_minimum(rules: RuleValues, facts: Facts) -> bool:
    minimum = rules.get("min_valid_bids")
    return minimum is not None and facts["valid_bids"] < minimum


def fail_guard(rules: RuleValues, facts: Facts, now: datetime) -> Refusal | None:
    """A tender fails (流标) only when the valid bids are fewer than the rules' minimum."""
    if not _valid_bids_below_minimum(rules, facts):
        return Refusal(f"有效投标 {facts['valid_bids']} 个，不少于规定的 {rules.get('min_valid_bids')} 个，不能流标",
                       rule="min_valid_bids", details={"valid_bids": facts["valid_bids"]})
    return None


def start_evaluation_guard(rules: RuleValues, facts: Facts, now: datetime) -> Refusal | None:
    if _valid_bids_below_minimum(rules, facts):
        return Refusal(f"有效投标仅 {facts['valid_bids']} 个，少于规定的 {rules['min_valid_bids']} 个，应当流标并重新招标",
                       rule="min_valid_bids", details={"valid_bids": facts["valid_bids"]})
    minutes = rules.get("decryption_window_minutes")
    deadline = facts["bid_deadline"]
    if minutes is not None and deadline is not None and now < decryption_closes_at(deadline, minutes):
        return Refusal(f"解密时限（{minutes} 分钟）尚未结束，不能开始评标", rule="decryption_window_minutes",
                       details={"closes_at": decryption_closes_at(deadline, minutes).isoformat()})
    return None


def publish_candidates_guard(rules: RuleValues, facts: Facts, now: datetime) -> Refusal | None:
    """At most the rules' number of ranked candidates, published within days of the report."""
    candidates = facts["candidates"]
    if candidates < 1:
        return Refusal("评标报告未推荐中标候选人，不能公示", conflict=True)
    maximum = rules.get("max_ranked_candidates")
    if maximum is not None and candidates > maximum:
        return Refusal(f"中标候选人 {candidates} 名，不得超过 {maximum} 名", rule="max_ranked_candidates",
                       details={"candidates": candidates})
    report_at, within = facts.get("report_at"), rules.get("candidate_publicity_within_days")
    if report_at is not None and within is not None and now >= period_ends_at(report_at, within):
        return Refusal(f"应自收到评标报告之日起 {within} 日内公示中标候选人", rule="candidate_publicity_within_days",
                       details={"report_at": report_at.isoformat()})
    return None


def award_guard(rules: RuleValues, facts: Facts, now: datetime) -> Refusal | None:
    """No award before the candidate publicity has run its full period."""
    started, days = facts["publicity_started_at"], rules.get("candidate_publicity_min_days")
    if started is None:
        return Refusal("未公示中标候选人，不能定标", conflict=True)
    if days is not None and now < (end := period_end(started, days)).at:
        return Refusal(f"中标候选人公示期不得少于 {days} 日，公示期至 {local_time(end.at)} 届满{end.note}",
                       rule="candidate_publicity_min_days", details={"ends_at": end.at.isoformat()})
    return None


def reevaluate_guard(rules: RuleValues, facts: Facts, now: datetime) -> Refusal | None:
    """An upheld complaint sends the tender back to evaluation only from evaluation or publicity."""
    if facts["suspended_from"] not in (S.EVALUATING, S.PUBLICITY):
        return Refusal(f"暂停前的状态为「{STATE_NAMES.get(facts['suspended_from'], facts['suspended_from'])}」，不能重新评审",
                       conflict=True)
    return None


# --------------------------------------------------------------------------- the table

_REASON = MappingProxyType({"reason": str})

TRANSITIONS: Mapping[str, Transition] = MappingProxyType({t.action: t for t in (
    Transition("announce", "发布招标公告", frozenset({S.REGISTERED}), S.ANNOUNCED, announce_guard,
               needs={"bid_deadline": datetime}, accepts={"documents_issued_at": datetime},
               # the documents go out with the announcement unless a later time is given
               now_by_default=("documents_issued_at",), records=("documents_issued_at", "bid_deadline")),
    Transition("open_bidding", "开始投标", frozenset({S.ANNOUNCED}), S.BIDDING, open_bidding_guard),
    # With the center's keys (the chronograph, the opening desk) the center's halves open at once.
    Transition("start_opening", "开标", frozenset({S.BIDDING}), S.OPENING, start_opening_guard,
               then=("open_center_halves",)),
    # 统一费用收取退付: failure, termination and the contract make deposit refunds due.
    Transition("fail", "流标", frozenset({S.OPENING, S.EVALUATING}), S.FAILED, fail_guard,
               needs={"valid_bids": int, "reason": str}, then=("refund_deposits_after_failure",)),
    Transition("start_evaluation", "开始评标", frozenset({S.OPENING}), S.EVALUATING, start_evaluation_guard,
               needs={"valid_bids": int}, then=("record_opening_outcomes",)),
    Transition("publish_candidates", "公示中标候选人", frozenset({S.EVALUATING}), S.PUBLICITY, publish_candidates_guard,
               needs={"candidates": int}, accepts={"report_at": datetime}, stamps=("publicity_started_at",)),
    Transition("suspend", "暂停招标投标活动", SUSPENDABLE_STATES, S.SUSPENDED, needs=_REASON, accepts={"complaint": str}),
    # An opening resumed keeps the decryption time it had left.
    Transition("resume", "恢复", frozenset({S.SUSPENDED}), None, needs=_REASON, during=("resume_decryption_window",)),
    Transition("reevaluate", "投诉成立，重新评审", frozenset({S.SUSPENDED}), S.EVALUATING, reevaluate_guard, needs=_REASON),
    # The award notice is due within the rule's working days of the award.
    Transition("award", "定标", frozenset({S.PUBLICITY}), S.AWARDED, award_guard, then=("start_award_notice_clock",)),
    Transition("record_contract", "登记合同", frozenset({S.AWARDED}), S.CONTRACTED,
               then=("refund_deposits_after_contract",)),
    Transition("close", "结束项目", frozenset({S.CONTRACTED}), S.CLOSED),
    Transition("terminate", "终止招标", NON_TERMINAL_STATES, S.TERMINATED, needs=_REASON,
               then=("refund_deposits_after_termination",)),
)})

# What follows events that are not steps of the tender, by event name (the same hooks).
EVENTS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    # A bid withdrawn before the deadline: its deposit goes back within the rule's period.
    "bid_withdrawn": ("refund_withdrawn_deposits",),
})

# The steps the chronograph takes by itself when a tender's next due time comes.
TIME_DRIVEN: Mapping[str, str] = MappingProxyType({
    S.ANNOUNCED: "open_bidding",
    S.BIDDING: "start_opening",
    S.PUBLICITY: "award",
})


# Time-driven steps that are not transitions (the state stays): the chronograph runs the
# effect named here when the tender's next due time comes (bidding/tender/chronograph.py), e.g.
# in ``opening`` the decryption window closes at the opening session's window end (the opening
# sets that time itself).
TIME_DRIVEN_TASKS: Mapping[str, str] = MappingProxyType({
    S.OPENING: "close_decryption_window",
})


def next_due_at(state: str, rules: RuleValues, facts: Facts) -> datetime | None:
    """When the chronograph should next act on a tender in ``state`` (None: it waits for people)."""
    if state == S.ANNOUNCED:
        return facts.get("documents_issued_at")
    if state == S.BIDDING:
        return facts.get("bid_deadline")
    if state == S.PUBLICITY:
        started, days = facts.get("publicity_started_at"), rules.get("candidate_publicity_min_days")
        return period_ends_at(started, days) if started is not None and days is not None else None
    return None


def target_of(transition: Transition, suspended_from: str | None) -> TenderState:
    if transition.target is not None:
        return transition.target
    if suspended_from is None:
        raise ValueError("a suspended tender always remembers the state to resume")
    return TenderState(suspended_from)


def reachable_states(start: TenderState = S.REGISTERED) -> frozenset[TenderState]:
    """Every state reachable from ``start`` through the table (resume goes back where it was)."""
    seen, frontier = {start}, [start]
    while frontier:
        state = frontier.pop()
        for transition in TRANSITIONS.values():
            if state not in transition.sources:
                continue
            targets = SUSPENDABLE_STATES if transition.target is None else {transition.target}
            for target in targets - seen:
                seen.add(target)
                frontier.append(target)
    return frozenset(seen)
