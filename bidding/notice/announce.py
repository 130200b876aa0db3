"""Announcing a tender (统一信息发布): the ``announce`` step and the tender's opening key,
in the caller's one transaction, so no announced tender is ever without its public key;
with the tender documents (招标文件), the announcement (招标公告) and version 1 of the
documents go out in the same transaction (:mod:`bidding.notice.documents`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.notice.announcements import publish_announcement
from bidding.notice.clarifications import OPEN_STATES, publish_clarification
from bidding.tender.lifecycle import apply_transition
from bidding.bids.opening_keys import TenderOpeningKey, make_opening_key
from bidding.tender.projects import Project, get_project
from bidding.tender.states import STATE_NAMES, TenderState, days_between, docs_period_shortfall
from bidding.notice.documents import (
    DocumentFile,
    TenderDocumentVersion,
    add_document_version,
    checked_document,
    latest_version_number,
)
from trading.database import database_now
from trading.errors import Conflict, RuleViolation
from trading.keys import CenterKeys
from trading.rules.store import RuleSetRecord

DOCS_PERIOD_RULE = "tender_docs_to_bid_deadline_min_days"


async def announce_tender(session: AsyncSession, keys: CenterKeys, *, actor: str, project_code: str,
                          bid_deadline: datetime, documents_issued_at: datetime | None = None,
                          documents: DocumentFile | None = None, title: str | None = None, body: str = ""
                          ) -> tuple[Project, TenderOpeningKey]:
    """Apply ``announce`` (rule-checked, locked, audited) and make the opening key; with
    ``documents``, publish the tender announcement and version 1 of the documents."""
    facts = {"bid_deadline": bid_deadline, "documents_issued_at": documents_issued_at}
    project = await apply_transition(session, actor=actor, project_code=project_code, action="announce", facts=facts)
    key = await make_opening_key(session, keys, actor=actor, project_code=project.code)
    if documents is not None:
        await _first_version(session, actor=actor, project=project, document=documents, title=title, body=body)
    elif documents_issued_at is None:
        # No documents yet: bidding waits for version 1 (publish_documents), never opens without them.
        project.documents_issued_at = project.next_due_at = None
        await session.flush()
    return project, key


async def _first_version(session: AsyncSession, *, actor: str, project: Project, document: DocumentFile,
                         title: str | None, body: str) -> TenderDocumentVersion:
    document = checked_document(document)
    text = (body or "").strip()
    text += (("\n\n" if text else "") + f"招标文件：{document.filename}（SHA-256 {document.sha256}），"
             f"投标截止时间 {project.bid_deadline.isoformat()}。")
    announcement = await publish_announcement(session, actor=actor, project=project, kind="tender",
                                              title=(title or "").strip() or f"{project.title}招标公告", body=text)
    return await add_document_version(session, actor=actor, project=project, announcement=announcement,
                                      document=document)


async def publish_documents(session: AsyncSession, *, actor: str, project_code: str, document: DocumentFile,
                            title: str | None = None, body: str = "") -> TenderDocumentVersion:
    """Publish a version of the tender documents of an announced tender.

    The first version goes out with the tender announcement (招标公告) and must leave the
    rule ``tender_docs_to_bid_deadline_min_days`` before the bid deadline (refused naming
    it otherwise); every later one is a change (变更) published as a clarification, which
    moves the bid deadline when fewer than ``clarification_min_days_before_deadline`` days
    remain.
    """
    project = await get_project(session, project_code, lock=True)
    if await latest_version_number(session, project) > 0:
        clarification = await publish_clarification(
            session, actor=actor, project_code=project_code, title=(title or "").strip() or "招标文件变更",
            body=(body or "").strip() or "招标文件已变更，请以最新版本为准。", document=document)
        return await session.scalar(select(TenderDocumentVersion)
                                    .where(TenderDocumentVersion.clarification_id == clarification.id))
    if project.state not in OPEN_STATES:
        state = STATE_NAMES.get(project.state, project.state)
        raise Conflict(f"项目 {project.code} 当前状态为「{state}」，不能发布招标文件", code="state_conflict",
                       project=project.code, state=project.state)
    now = await database_now(session)
    rule_set = await session.get(RuleSetRecord, project.rule_set_id)
    rule = rule_set.entry(DOCS_PERIOD_RULE)
    days = days_between(now, project.bid_deadline)
    minimum = rule_set.value(DOCS_PERIOD_RULE, None)
    shortfall = docs_period_shortfall(now, project.bid_deadline, minimum)
    if now >= project.bid_deadline or shortfall is not None:
        source = rule.get("source") if rule else None
        shortfall = shortfall or "投标截止时间已过"
        raise RuleViolation(f"{shortfall}（{source}）", code="documents_period_too_short",
                            rule=DOCS_PERIOD_RULE, source=source, value=minimum,
                            unit=rule.get("unit") if rule else None,
                            rule_set=f"{rule_set.code}@{rule_set.version}", project=project.code, days=days)
    version = await _first_version(session, actor=actor, project=project, document=document, title=title, body=body)
    if project.state == TenderState.ANNOUNCED and project.documents_issued_at is None:
        # The documents go out now: the chronograph opens bidding (bidding.tender.states.next_due_at).
        project.documents_issued_at = project.next_due_at = now
        await session.flush()
    return version

