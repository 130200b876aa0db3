"""Bribery-record checks (行贿犯罪记录核查) per registration, with a pluggable source.

The procuratorates stopped answering bribery-record queries (行贿犯罪档案查询) on
2018-08-01; centers now look up published court judgments for the bidder and take
written pledges. So a check asks a :class:`BriberyRecordSource` and keeps what it
answered, with evidence, as one row of ``credit_bribery_checks`` and an audit entry:

* :class:`PlatformRecordSource` (local, used at every registration): the platform's own
  bribery-crime records within the look-back period;
* :class:`ManualBriberyResult` (local): a result the credit staff found by hand — a
  court-judgment lookup (which may find a judgment: it is then entered as a
  bribery-crime record, so that eligibility refuses from now on) or a written pledge —
  always with evidence.

Another source (a future live integration) implements the protocol and is passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from credit.evidence import EvidenceFile, check_evidence, store_evidence
from credit.facts import years_before
from credit.models import BriberyCheck, CreditRecord
from credit.records import facts_of, record_values, records_of_subject, save_new_record
from credit.reference import BRIBERY_CRIME
from credit.subjects import Subject
from credit.validation import validate_document
from trading.audit import record_event
from trading.errors import InvalidInput

CLEAR, FOUND = "clear", "found"
PLATFORM_RECORDS = "platform_records"
COURT_JUDGMENT_LOOKUP = "court_judgment_lookup"
WRITTEN_PLEDGE = "written_pledge"
METHOD_NAMES = {PLATFORM_RECORDS: "平台信用记录核查", COURT_JUDGMENT_LOOKUP: "裁判文书查询", WRITTEN_PLEDGE: "书面承诺"}
OUTCOME_NAMES = {CLEAR: "未发现行贿犯罪记录", FOUND: "发现行贿犯罪记录"}
NOTE_MAX_LENGTH = 2000


@dataclass(frozen=True)
class BriberyFinding:
    """What a source answered for one subject."""

    outcome: str  # CLEAR or FOUND
    method: str
    note: str = ""
    record_ids: tuple[int, ...] = ()
    document_number: str | None = None
    judgment_date: date | None = None
    evidence: tuple[EvidenceFile, ...] = field(default=())


class BriberyRecordSource(Protocol):
    """Where a bribery-record check gets its answer."""

    name: str

    async def check(self, session: AsyncSession, *, subject: Subject, since: datetime | None,
                    at: datetime) -> BriberyFinding:
        """Bribery-crime findings for ``subject`` that took effect after ``since`` (None: ever)."""
        ...


class PlatformRecordSource:
    """The platform's own bribery-crime records (entered, imported or pushed)."""

    name = PLATFORM_RECORDS

    async def check(self, session: AsyncSession, *, subject: Subject, since: datetime | None,
                    at: datetime) -> BriberyFinding:
        found = tuple(
            facts.id for facts in map(facts_of, await records_of_subject(session, subject.type, subject.key))
            if facts.kind == BRIBERY_CRIME and facts.in_force(at) and (since is None or facts.took_effect_since(since))
        )
        note = "平台信用记录中未发现追溯期内的行贿犯罪记录" if not found else "平台信用记录中有追溯期内的行贿犯罪记录"
        return BriberyFinding(FOUND if found else CLEAR, PLATFORM_RECORDS, note, found)


class ManualBriberyResult:
    """A result the credit staff obtained by hand, with its evidence.

    A court-judgment lookup may be clear or find a judgment (then ``document_number``,
    the judgment's number, and ``judgment_date``, the day it took effect, are needed);
    a written pledge is always clear. At least one evidence file is required.
    """

    name = "manual"

    def __init__(self, *, outcome: str, method: str, note: str, evidence: Sequence[EvidenceFile],
                 document_number: str | None = None, judgment_date: date | None = None) -> None:
        if method not in (COURT_JUDGMENT_LOOKUP, WRITTEN_PLEDGE):
            raise InvalidInput(f"未知的核查方式「{method}」：应为裁判文书查询或书面承诺", code="unknown_check_method", field="method")
        if outcome not in (CLEAR, FOUND):
            raise InvalidInput(f"未知的核查结果「{outcome}」：应为 clear 或 found", code="unknown_check_outcome", field="outcome")
        if method == WRITTEN_PLEDGE and outcome == FOUND:
            raise InvalidInput("书面承诺只能作为未发现行贿犯罪记录的依据", code="pledge_cannot_find", field="outcome")
        note = (note or "").strip()
        if not note or len(note) > NOTE_MAX_LENGTH:
            raise InvalidInput(f"核查说明不能为空且不超过{NOTE_MAX_LENGTH}个字符", code="invalid_check_note", field="note")
        if not evidence:
            raise InvalidInput("人工核查结果须附证明材料（裁判文书查询截图或书面承诺书）", code="evidence_required", field="evidence")
        document_number = validate_document(document_number)
        if outcome == FOUND and (document_number is None or judgment_date is None):
            raise InvalidInput("发现行贿犯罪记录时须填写判决书文号和生效日期", code="judgment_required", field="document_number")
        self.finding = BriberyFinding(outcome, method, note, (), document_number, judgment_date,
                                      tuple(check_evidence(file) for file in evidence))

    async def check(self, session: AsyncSession, *, subject: Subject, since: datetime | None,
                    at: datetime) -> BriberyFinding:
        return self.finding


async def _judgment_record(session: AsyncSession, actor: str, subject: Subject, finding: BriberyFinding) -> int:
    """The bribery-crime record of a judgment found by hand: entered once, from the court."""
    values = record_values(subject_type=subject.type, subject_key=subject.key, subject_name=subject.name,
                           department="court", kind=BRIBERY_CRIME, act=finding.note,
                           decision_number=finding.document_number or "", effective_from=finding.judgment_date)
    existing = await session.scalar(select(CreditRecord.id).where(
        CreditRecord.department_code == values.department, CreditRecord.decision_number == values.decision_number,
        CreditRecord.subject_type == values.subject_type, CreditRecord.subject_key == values.subject_key,
        CreditRecord.kind == values.kind))
    if existing is not None:
        return existing
    return (await save_new_record(session, actor=actor, values=values, channel="bribery_check")).id


async def run_bribery_check(
    session: AsyncSession, *, actor: str, project_code: str, subject: Subject, source: BriberyRecordSource,
    lookback_years: int | None, at: datetime,
) -> BriberyCheck:
    """Ask ``source`` about ``subject`` for a registration on ``project_code`` and keep the answer."""
    since = years_before(at, lookback_years) if lookback_years is not None else None
    finding = await source.check(session, subject=subject, since=since, at=at)
    record_ids = finding.record_ids
    if finding.outcome == FOUND and not record_ids and finding.document_number:
        record_ids = (await _judgment_record(session, actor, subject, finding),)
    check = BriberyCheck(project_code=project_code, subject_type=subject.type, subject_key=subject.key,
                         source=source.name, method=finding.method, outcome=finding.outcome, note=finding.note,
                         document_number=finding.document_number, lookback_from=since,
                         found_record_ids=list(record_ids), checked_by=actor)
    session.add(check)
    await session.flush()
    digests = []
    for file in finding.evidence:
        digests.append((await store_evidence(session, actor=actor, file=file, bribery_check_id=check.id)).sha256)
    await record_event(session, actor=actor, action="credit.bribery_checked", subject=f"bribery_check:{check.id}",
                       data={"project_code": project_code, "subject_type": subject.type,
                             "subject_key": subject.public_key(), "source": source.name, "method": finding.method,
                             "outcome": finding.outcome, "record_ids": list(record_ids),
                             "lookback_from": since.isoformat() if since else None, "evidence_sha256": digests})
    return check


async def bribery_checks_of(session: AsyncSession, project_code: str, subject: Subject) -> list[BriberyCheck]:
    """The audit trail of bribery checks for one registration, oldest first."""
    return list((await session.scalars(select(BriberyCheck).where(
        BriberyCheck.project_code == project_code, BriberyCheck.subject_type == subject.type,
        BriberyCheck.subject_key == subject.key).order_by(BriberyCheck.id))).all())
