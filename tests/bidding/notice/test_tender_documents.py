"""Tender documents (招标文件) and their versions: version 1 goes out with the tender
announcement, every change publishes the next version with its change announcement (and
moves the deadline when the rules ask), versions are listed for everyone with number,
SHA-256, size, publication time and announcement, and any logged-in user fetches them."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bidding.notice.announce import announce_tender, publish_documents
from bidding.notice.announcements import Announcement
from bidding.notice.clarifications import Clarification
from bidding.tender.lifecycle import apply_transition
from bidding.tender.projects import Project
from bidding.tender.registrations import register_bidder
from bidding.notice.documents import DocumentFile, TenderDocumentVersion, document_version, document_versions
from cli.demo import load_demo_data
from tests.common import factories
from tests.common.tenders import tender_project
from tests.common.portal import bearer
from trading.audit import AuditEntry
from trading.database import database_now, make_sessionmaker, transaction
from trading.errors import Conflict, InvalidInput, RuleViolation
from trading.notifications import OutboxMessage
from trading.settings import Settings
from web.app import create_app

V1 = DocumentFile("招标文件.pdf", b"%PDF-1.7 first version " * 100, "application/pdf")
V2 = DocumentFile("招标文件（修改一）.pdf", b"%PDF-1.7 second version " * 120, "application/pdf")


async def registered(session: AsyncSession) -> Project:
    return await tender_project(session, None, "registered", prefix="JN-2026-GC-D", title="济宁市招标文件测试工程",
                                estimate_fen=10_000_000_00)


async def reload(session: AsyncSession, code: str) -> Project:
    return await session.scalar(select(Project).where(Project.code == code).execution_options(populate_existing=True))


async def age(session: AsyncSession, code: str, days_left: float) -> None:
    """Move the tender's times so that ``days_left`` days remain to the deadline (announced with 21)."""
    shift = timedelta(days=21 - days_left)
    await session.execute(update(Project).where(Project.code == code).values(
        documents_issued_at=Project.documents_issued_at - shift, bid_deadline=Project.bid_deadline - shift,
        next_due_at=Project.next_due_at - shift))


async def test_version_1_goes_out_with_the_tender_announcement(session, keys):
    project = await registered(session)
    deadline = await database_now(session) + timedelta(days=21)
    await announce_tender(session, keys, actor="agency", project_code=project.code, bid_deadline=deadline,
                          documents=V1, title="门诊楼施工招标公告", body="详见招标文件。")
    [listed] = await document_versions(session, project.code)
    assert listed["number"] == 1 and listed["current"] is True
    assert (listed["sha256"], listed["size"]) == (hashlib.sha256(V1.content).hexdigest(), len(V1.content))
    assert listed["announcement"]["kind"] == "tender" and listed["announcement"]["title"] == "门诊楼施工招标公告"
    assert "content" not in listed
    announcement = await session.get(Announcement, listed["announcement"]["id"])
    assert listed["sha256"] in announcement.body
    stored = await document_version(session, project.code, 1)
    assert stored.content == V1.content and stored.filename == "招标文件.pdf" and stored.media_type == "application/pdf"
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.subject == f"project:{project.code}",
                                                          AuditEntry.action == "tender_documents.published"))
    assert entry.data["version"] == 1 and entry.data["sha256"] == listed["sha256"]


async def test_a_change_publishes_version_2_with_its_change_announcement_and_moves_a_close_deadline(session, keys):
    project = await registered(session)
    bidder = await factories.organisation(session, "bidder")
    await register_bidder(session, actor="test", project_code=project.code, bidder_credit_code=bidder.credit_code)
    await announce_tender(session, keys, actor="agency", project_code=project.code,
                          bid_deadline=await database_now(session) + timedelta(days=21), documents=V1)
    await apply_transition(session, actor="test", project_code=project.code, action="open_bidding")
    await age(session, project.code, days_left=10)

    version = await publish_documents(session, actor="agency", project_code=project.code, document=V2,
                                      title="招标文件修改（一）", body="修改工程量清单。")
    assert version.number == 2 and version.clarification_id is not None
    clarification = await session.get(Clarification, version.clarification_id)
    announcement = await session.get(Announcement, version.announcement_id)
    assert announcement.kind == "change" and clarification.announcement_id == announcement.id
    assert "第 2 版" in announcement.body and version.sha256 in announcement.body
    project = await reload(session, project.code)
    # 10 days were left: the change moves the deadline to 15 days after its publication.
    assert clarification.deadline_after == clarification.published_at + timedelta(days=15)
    assert project.bid_deadline == clarification.deadline_after
    told = (await session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == f"organisation:{bidder.credit_code}"))).all()
    assert any("招标文件修改（一）" in message.body for message in told)

    listed = await document_versions(session, project.code)
    assert [(v["number"], v["current"], v["announcement"]["kind"]) for v in listed] == [
        (1, False, "tender"), (2, True, "change")]
    assert (await document_version(session, project.code)).content == V2.content  # the current one
    assert (await document_version(session, project.code, 1)).content == V1.content  # never replaced


async def test_a_first_version_too_close_to_the_deadline_is_refused_naming_article_24(session, keys):
    project = await registered(session)
    await announce_tender(session, keys, actor="agency", project_code=project.code,
                          bid_deadline=await database_now(session) + timedelta(days=21))
    await age(session, project.code, days_left=15)
    with pytest.raises(RuleViolation) as refused:
        await publish_documents(session, actor="agency", project_code=project.code, document=V1)
    assert refused.value.details["rule"] == "tender_docs_to_bid_deadline_min_days"
    assert "第二十四条" in refused.value.message
    assert await document_versions(session, project.code) == []


async def test_documents_are_fetched_only_once_issued_and_an_empty_file_is_refused(session, keys):
    project = await registered(session)
    with pytest.raises(Conflict):
        await document_version(session, project.code)
    now = await database_now(session)
    await announce_tender(session, keys, actor="agency", project_code=project.code, documents=V1,
                          bid_deadline=now + timedelta(days=25), documents_issued_at=now + timedelta(days=2))
    with pytest.raises(Conflict, match="起发出"):
        await document_version(session, project.code)
    with pytest.raises(InvalidInput):
        await publish_documents(session, actor="agency", project_code=project.code,
                                document=DocumentFile("空.pdf", b""))
    assert await session.scalar(select(TenderDocumentVersion.number).where(
        TenderDocumentVersion.project_id == project.id)) == 1


# ------------------------------------------------------------------------------- API

HOSPITAL = "JN-2026-GC-0007"  # tendering party: the demo tenderer (第一人民医院)


@pytest.fixture(scope="module")
async def client(settings: Settings, database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session, pools=False)
        now = await database_now(session)
        await apply_transition(session, actor="test", project_code=HOSPITAL, action="announce",
                               facts={"bid_deadline": now + timedelta(days=30)})
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def test_over_the_api_the_party_publishes_and_any_logged_in_user_fetches(client):
    path = f"/api/projects/{HOSPITAL}/documents"
    files = {"file": ("招标文件.pdf", V1.content, "application/pdf")}
    form = {"title": "门诊楼施工招标文件", "body": "请下载。"}
    assert (await client.post(path, data=form, files=files, headers=await bearer(client, "bidder1"))).status_code == 403
    published = await client.post(path, data=form, files=files, headers=await bearer(client, "tenderer"))
    assert published.status_code == 201, published.text
    assert published.json()["number"] == 1 and published.json()["sha256"] == V1.sha256

    listed = await client.get(path)  # the list is public
    assert listed.status_code == 200 and [v["number"] for v in listed.json()] == [1]
    assert (await client.get(f"{path}/1")).status_code == 401  # the file needs a platform account
    # No registration for the project is needed (电子招标投标办法 第二十五条).
    fetched = await client.get(f"{path}/1", headers=await bearer(client, "bidder2"))
    assert fetched.status_code == 200 and fetched.content == V1.content
    assert fetched.headers["x-content-sha256"] == V1.sha256
    assert "filename*=UTF-8''" in fetched.headers["content-disposition"]
    assert (await client.get(f"{path}/9", headers=await bearer(client, "bidder2"))).status_code == 404

    changed = await client.post(path, data={"title": "招标文件修改（一）", "body": "修改图纸。"},
                                files={"file": ("招标文件v2.pdf", V2.content, "application/pdf")},
                                headers=await bearer(client, "tenderer"))
    assert changed.status_code == 201, changed.text
    assert changed.json()["number"] == 2 and changed.json()["announcement"]["kind"] == "change"
    current = await client.get(f"{path}/current", headers=await bearer(client, "bidder1"))
    assert current.content == V2.content and current.headers["x-document-version"] == "2"


async def test_announced_without_documents_the_tender_waits_for_version_1_before_bidding(session, keys):
    from bidding.tender.chronograph import run_due_steps

    project = await registered(session)
    await announce_tender(session, keys, actor="agency", project_code=project.code,
                          bid_deadline=await database_now(session) + timedelta(days=25))
    project = await reload(session, project.code)
    assert (project.state, project.documents_issued_at, project.next_due_at) == ("announced", None, None)
    assert project.code not in [code for code, _ in await run_due_steps(session)]  # nothing to open without documents
    with pytest.raises(Conflict, match="招标文件尚未开始发出"):
        await apply_transition(session, actor="test", project_code=project.code, action="open_bidding")

    await publish_documents(session, actor="agency", project_code=project.code, document=V1)
    project = await reload(session, project.code)
    assert project.documents_issued_at is not None and project.next_due_at == project.documents_issued_at
    assert (project.code, "open_bidding") in await run_due_steps(session)
    assert (await reload(session, project.code)).state == "bidding"
