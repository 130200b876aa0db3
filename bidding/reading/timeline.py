"""A tender's timeline for the center's and the parties' pages: its own steps, read from the
audit log (the actions on ``project:{code}``), with the state each tender step led to and the
reason given."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.tender.projects import Project
from bidding.tender.states import STATE_NAMES
from trading.audit import AuditEntry
from trading.timefmt import local_time

# The tender's own steps, as the timeline names them (audit actions on project:{code}).
TIMELINE_ACTIONS = {
    "project.registered": "进场登记", "project.agency_mode": "确定代理方式", "tender.announce": "发布招标公告",
    "tender_documents.published": "发布招标文件", "clarification.published": "发布澄清/修改",
    "tender.open_bidding": "开始投标", "tender.start_opening": "开标", "tender.start_evaluation": "开始评标",
    "tender.fail": "流标", "tender.publish_candidates": "公示中标候选人", "tender.suspend": "暂停招标投标活动",
    "tender.resume": "恢复招标投标活动", "tender.reevaluate": "重新评审", "tender.award": "定标",
    "award.winner_chosen": "招标人确定中标人", "award.notice_issued": "发出中标通知书",
    "tender.record_contract": "登记合同", "tender.close": "结束项目", "tender.terminate": "终止招标",
    "tender.deadline_extended": "投标截止时间顺延", "docs_objection.raised": "收到对招标文件的异议",
    "docs_objection.answered": "答复对招标文件的异议",
}


async def timeline(session: AsyncSession, project: Project) -> list[dict[str, Any]]:
    entries = (await session.scalars(select(AuditEntry).where(
        AuditEntry.subject == f"project:{project.code}", AuditEntry.action.in_(list(TIMELINE_ACTIONS)))
        .order_by(AuditEntry.seq))).all()
    return [{"at": local_time(e.at, "%Y-%m-%d %H:%M:%S"), "name": TIMELINE_ACTIONS[e.action],
             "to": STATE_NAMES.get(e.data.get("to"), "") if e.action.startswith("tender.") else "",
             "reason": (e.data.get("facts") or {}).get("reason") if isinstance(e.data.get("facts"), dict) else None}
            for e in entries]
