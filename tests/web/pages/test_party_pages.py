"""The tendering party's and agency's pages (/party) and the center's tender pages
(/center/tenders): every form succeeds, refuses in Chinese beside the field with the input
kept, and another party's project is refused."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from agency_pool.draws import agency_assignment
from bidding.award.award_notice import AwardNotice, WinnerChoice
from bidding.notice.clarifications import Question, ask_question
from bidding.award.contracts import Contract
from bidding.notice.objections import DocObjection, raise_doc_objection
from bidding.opening.proceedings import start_opening
from bidding.tender.party_projects import agency_mode_of
from bidding.draws.project_draws import draw_project_agency
from bidding.tender.projects import Project
from bidding.award.publicity import CandidateObjection, raise_candidate_objection
from bidding.notice.documents import TenderDocumentVersion
from cli.demo import DEMO_PASSWORD, load_demo_data
from tests.common import award_world
from tests.common import opening
from tests.common.party import DEMO_AGENCY, HOSPITAL, agency_drawn, hospital_project, new_code
from tests.common.portal import as_user, field_error, post_form
from trading.accounts import create_user
from trading.database import database_now, make_sessionmaker, transaction
from trading.errors import InvalidInput
from trading.money import yuan
from trading.keys import load_center_keys
from trading.organisations import Organisation
from trading.rooms import RoomBooking
from trading.rules.store import RuleSetRecord
from trading.settings import Settings
from trading.timefmt import CENTER_ZONE
from web.app import create_app
from trading.money import MAX_FEN, fen_of_yuan

CITY_INVEST = "11370800MB0000001E"  # another tendering party
_codes = itertools.count(1)  # usernames
OTHERS_PROJECT = "JN-2026-GC-0008"  # the demo project of CITY_INVEST


@pytest.fixture(scope="module")
async def client(settings: Settings, database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session)
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def sessions(engine: AsyncEngine):
    return make_sessionmaker(engine)


@pytest.fixture(autouse=True)
def anonymous(client: AsyncTestClient) -> None:
    client.cookies.clear()


@pytest.fixture(scope="module")
def keys(settings: Settings, client):
    return load_center_keys(settings)


# ----------------------------------------------------------------------------- workspace and guards


async def test_the_workspace_lists_the_partys_own_projects_with_state_and_next_step(client):
    await as_user(client, "tenderer")
    page = await client.get("/workspace")
    assert page.status_code == 200
    assert "JN-2026-GC-0007" in page.text and "JN-2026-CG-0031" in page.text
    assert OTHERS_PROJECT not in page.text  # the city investment centre's project
    assert "已进场登记" in page.text and "发布招标公告和招标文件" in page.text
    assert 'href="/party/projects/new"' in page.text


async def test_another_partys_project_is_refused_to_view_and_to_act(client):
    await as_user(client, "tenderer")
    for path in ("", "/announce", "/documents", "/questions", "/objections", "/rooms", "/opening", "/result"):
        assert (await client.get(f"/party/projects/{OTHERS_PROJECT}{path}")).status_code == 403
    refused = await post_form(client, f"/party/projects/{OTHERS_PROJECT}/announce", {"title": "x",
                              "bid_deadline": "2030-01-01T09:00"}, page="/party/projects/new",
                              files={"file": ("招标文件.pdf", b"%PDF-1.7", "application/pdf")})
    assert refused.status_code == 403 and "无权" in refused.text
    # The demo agency serves none of the demo projects (no draw named it).
    await as_user(client, "agency")
    assert (await client.get("/party/projects/JN-2026-GC-0007")).status_code == 403


async def test_other_roles_are_turned_away_from_the_party_and_center_pages(client):
    await as_user(client, "bidder1")
    assert (await client.get("/party/projects")).status_code == 403
    assert (await client.get("/center/tenders/")).status_code == 403
    await as_user(client, "tenderer")
    assert (await client.get("/center/tenders/JN-2026-GC-0007")).status_code == 403
    client.cookies.clear()
    assert (await client.get("/party/projects", follow_redirects=False)).status_code in (302, 303)


# ----------------------------------------------------------------------------- registration


async def test_a_party_registers_its_project_with_the_estimate_exact_to_the_fen(client, sessions):
    await as_user(client, "tenderer")
    code = new_code("REG")
    answer = await post_form(client, "/party/projects", {
        "code": code, "title": "济宁市第一人民医院住院楼改造工程", "category": "construction", "method": "open_tender",
        "region_code": "370800", "tendering_party": HOSPITAL, "estimate": "12,345,678.9", "agency_mode": "self"},
        page="/party/projects/new")
    assert answer.status_code in (302, 303), answer.text
    assert answer.headers["location"] == f"/party/projects/{code}"
    async with transaction(sessions) as session:
        project = await session.scalar(select(Project).where(Project.code == code))
        rule_set = await session.get(RuleSetRecord, project.rule_set_id)
        assert project.estimate_fen == 1_234_567_890 and project.state == "registered"
        assert rule_set.code == "construction-open-tender"
        assert await agency_mode_of(session, code) == "self"
    page = await client.get(f"/party/projects/{code}")
    assert page.status_code == 200 and "12,345,678.90 元" in page.text and "construction-open-tender@" in page.text
    assert "招标人自行招标" in page.text and "进场登记" in page.text


async def test_registration_errors_sit_beside_their_fields_and_keep_what_was_typed(client, sessions):
    await as_user(client, "tenderer")
    answer = await post_form(client, "/party/projects", {
        "code": "JN-2026-GC-0007", "title": "", "category": "construction", "method": "public_tender",
        "region_code": "370800", "tendering_party": HOSPITAL, "estimate": "86500000.123", "agency_mode": "draw"},
        page="/party/projects/new")
    assert answer.status_code == 400
    assert field_error(answer.text, "title") == "请填写项目名称"
    assert "没有交易方式" in field_error(answer.text, "method")
    assert "最多两位小数" in field_error(answer.text, "estimate")
    assert 'value="86500000.123"' in answer.text and 'value="JN-2026-GC-0007"' in answer.text
    # Fixed, the duplicate code is refused by the service beside its own field.
    again = await post_form(client, "/party/projects", {
        "code": "JN-2026-GC-0007", "title": "重复编号的项目", "category": "construction", "method": "open_tender",
        "region_code": "370800", "tendering_party": HOSPITAL, "estimate": "100", "agency_mode": "draw"},
        page="/party/projects/new")
    assert again.status_code == 400 and "已存在" in field_error(again.text, "code")
    assert 'value="重复编号的项目"' in again.text


async def test_a_party_cannot_register_a_project_for_another_party(client, sessions):
    await as_user(client, "tenderer")
    code = new_code("REG")
    answer = await post_form(client, "/party/projects", {
        "code": code, "title": "他人的项目", "category": "construction", "method": "open_tender",
        "region_code": "370800", "tendering_party": CITY_INVEST, "estimate": "100.00", "agency_mode": "draw"},
        page="/party/projects/new")
    assert answer.status_code == 400 and field_error(answer.text, "tendering_party") == "招标人只能为本单位登记项目"
    async with transaction(sessions) as session:
        assert await session.scalar(select(Project.id).where(Project.code == code)) is None


# ----------------------------------------------------------------------------- announcement and documents


async def test_the_party_announces_its_tender_with_the_documents(client, sessions, keys):
    code, _ = await hospital_project(sessions, keys)
    await as_user(client, "tenderer")
    form = await client.get(f"/party/projects/{code}/announce")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    async with transaction(sessions) as session:
        deadline = (await database_now(session) + timedelta(days=25)).astimezone(
            CENTER_ZONE)
    answer = await post_form(client, f"/party/projects/{code}/announce", {
        "title": "住院楼改造工程招标公告", "body": "欢迎投标。", "bid_deadline": deadline.strftime("%Y-%m-%dT%H:%M")},
        page=f"/party/projects/{code}/announce",
        files={"file": ("招标文件.pdf", b"%PDF-1.7 tender documents", "application/pdf")})
    assert answer.status_code in (302, 303), answer.text
    async with transaction(sessions) as session:
        project = await session.scalar(select(Project).where(Project.code == code))
        versions = (await session.scalars(select(TenderDocumentVersion)
                                          .where(TenderDocumentVersion.project_id == project.id))).all()
        assert project.state == "announced" and [v.filename for v in versions] == ["招标文件.pdf"]
        assert versions[0].sha256 == hashlib.sha256(b"%PDF-1.7 tender documents").hexdigest()
    page = await client.get(f"/party/projects/{code}")
    assert "已发布招标公告" in page.text and "第 1 版 招标文件.pdf" in page.text


async def test_a_deadline_the_rules_refuse_is_shown_beside_it_and_the_title_is_kept(client, sessions, keys):
    code, _ = await hospital_project(sessions, keys)
    await as_user(client, "tenderer")
    async with transaction(sessions) as session:
        soon = await database_now(session) + timedelta(days=5)
    answer = await post_form(client, f"/party/projects/{code}/announce", {
        "title": "过早截止的公告", "bid_deadline": soon.astimezone(
            CENTER_ZONE).strftime("%Y-%m-%dT%H:%M")},
        page=f"/party/projects/{code}/announce",
        files={"file": ("招标文件.pdf", b"%PDF-1.7", "application/pdf")})
    assert answer.status_code == 400
    assert "不得少于 20 日" in field_error(answer.text, "bid_deadline")
    assert 'value="过早截止的公告"' in answer.text
    missing = await post_form(client, f"/party/projects/{code}/announce", {"title": "无文件", "bid_deadline": ""},
                              page=f"/party/projects/{code}/announce")
    assert missing.status_code == 400
    assert field_error(missing.text, "file") == "请选择招标文件"
    assert field_error(missing.text, "bid_deadline") == "请填写投标截止时间"
    async with transaction(sessions) as session:
        assert (await session.scalar(select(Project.state).where(Project.code == code))) == "registered"


async def test_a_later_version_of_the_documents_goes_out_as_a_change(client, sessions, keys):
    code, _ = await hospital_project(sessions, keys, announced=True)
    await as_user(client, "tenderer")
    empty = await post_form(client, f"/party/projects/{code}/documents", {"title": "变更", "body": "说明"},
                            page=f"/party/projects/{code}/documents")
    assert empty.status_code == 400 and field_error(empty.text, "file") == "请选择新版本的招标文件"
    assert 'value="变更"' in empty.text
    answer = await post_form(client, f"/party/projects/{code}/documents", {"title": "招标文件第一次变更",
                             "body": "修改了工期要求。"}, page=f"/party/projects/{code}/documents",
                             files={"file": ("招标文件（变更）.pdf", b"%PDF-1.7 v2", "application/pdf")})
    assert answer.status_code in (302, 303), answer.text
    page = await client.get(f"/party/projects/{code}/documents")
    assert "第 2 版（现行）" in page.text and "招标文件（变更）.pdf" in page.text
    download = await client.get(f"/party/projects/{code}/documents/2")
    assert download.status_code == 200 and download.content == b"%PDF-1.7 v2"


# ----------------------------------------------------------------------------- clarifications and objections


async def test_questions_are_anonymous_and_a_clarification_answers_them(client, sessions, keys):
    code, bidders = await hospital_project(sessions, keys, bidders=1, announced=True)
    async with transaction(sessions) as session:
        question = await ask_question(session, actor="test", project_code=code,
                                      bidder_organisation_id=bidders[0].id, text="工期能否延长至 300 日？")
    await as_user(client, "tenderer")
    assert "1 个投标人提问待澄清" in (await client.get(f"/party/projects/{code}")).text
    page = await client.get(f"/party/projects/{code}/questions")
    assert "问题1" in page.text and "工期能否延长至 300 日？" in page.text
    assert bidders[0].name not in page.text and bidders[0].credit_code not in page.text
    refused = await post_form(client, f"/party/projects/{code}/clarifications",
                              {"title": "", "body": "工期不变。", "answers": str(question.id)},
                              page=f"/party/projects/{code}/questions")
    assert refused.status_code == 400 and field_error(refused.text, "title") == "请填写澄清/修改公告标题"
    assert "工期不变。" in refused.text
    answer = await post_form(client, f"/party/projects/{code}/clarifications",
                             {"title": "答疑一", "body": "工期不变。", "answers": str(question.id)},
                             page=f"/party/projects/{code}/questions")
    assert answer.status_code in (302, 303), answer.text
    async with transaction(sessions) as session:
        assert (await session.get(Question, question.id)).answered_by is not None
    assert "已答复" in (await client.get(f"/party/projects/{code}/questions")).text


async def test_the_party_answers_an_objection_to_the_documents(client, sessions, keys):
    code, bidders = await hospital_project(sessions, keys, bidders=1, announced=True)
    async with transaction(sessions) as session:
        objection = await raise_doc_objection(session, actor="test", project_code=code,
                                              bidder_organisation_id=bidders[0].id, text="资格条件排斥潜在投标人。")
    await as_user(client, "tenderer")
    page = await client.get(f"/party/projects/{code}/objections")
    assert "异议1" in page.text and bidders[0].name not in page.text
    path = f"/party/projects/{code}/objections/{objection.id}/answer"
    refused = await post_form(client, path, {"answer": "", "change_title": "修改资格条件"},
                              page=f"/party/projects/{code}/objections")
    assert refused.status_code == 400 and field_error(refused.text, "answer") == "请填写答复内容"
    assert 'value="修改资格条件"' in refused.text
    answer = await post_form(client, path, {"answer": "资格条件符合规定，不予修改。"},
                             page=f"/party/projects/{code}/objections")
    assert answer.status_code in (302, 303), answer.text
    async with transaction(sessions) as session:
        assert (await session.get(DocObjection, objection.id)).answer == "资格条件符合规定，不予修改。"


# ----------------------------------------------------------------------------- rooms


async def test_the_agency_books_a_room_and_an_overlap_is_refused_beside_the_time(client, sessions, keys):
    code, _ = await hospital_project(sessions, keys, agency=True)
    await as_user(client, "agency")
    workspace = await client.get("/workspace")
    assert code in workspace.text  # the drawn agency sees the project it serves
    async with transaction(sessions) as session:
        start = (await database_now(session) + timedelta(days=30)).astimezone(
            CENTER_ZONE).replace(hour=9, minute=0)
    fmt = "%Y-%m-%dT%H:%M"
    data = {"room": "KB02", "purpose": "开标", "starts_at": start.strftime(fmt),
            "ends_at": (start + timedelta(hours=2)).strftime(fmt)}
    booked = await post_form(client, f"/party/projects/{code}/rooms", data, page=f"/party/projects/{code}/rooms")
    assert booked.status_code in (302, 303), booked.text
    clash = await post_form(client, f"/party/projects/{code}/rooms",
                            {**data, "starts_at": (start + timedelta(hours=1)).strftime(fmt),
                             "ends_at": (start + timedelta(hours=3)).strftime(fmt)},
                            page=f"/party/projects/{code}/rooms")
    assert clash.status_code == 409
    assert "已被预约" in field_error(clash.text, "starts_at") and "不能重复预约" in field_error(clash.text, "starts_at")
    assert f'value="{(start + timedelta(hours=3)).strftime(fmt)}"' in clash.text
    backwards = await post_form(client, f"/party/projects/{code}/rooms",
                                {**data, "ends_at": (start - timedelta(hours=1)).strftime(fmt)},
                                page=f"/party/projects/{code}/rooms")
    assert backwards.status_code == 400 and field_error(backwards.text, "ends_at") == "结束时间须晚于开始时间"
    async with transaction(sessions) as session:
        assert len((await session.scalars(select(RoomBooking).where(RoomBooking.project_code == code))).all()) == 1
    # As in the API, the tendering party itself does not book rooms.
    await as_user(client, "tenderer")
    assert (await post_form(client, f"/party/projects/{code}/rooms", data,
                            page=f"/party/projects/{code}/rooms")).status_code == 403


# ----------------------------------------------------------------------------- result, award notice, contract


async def tender_in_publicity(sessions, keys, prices=(4_000_000_00, 4_100_000_00, 4_200_000_00)):
    async with transaction(sessions) as session:
        tender = await award_world.tender_in_publicity(session, keys, list(prices),
                                                       kind=award_world.PROCUREMENT, party_credit_code=HOSPITAL)
    return tender


async def test_the_party_confirms_the_winner_and_the_center_issues_the_notice(client, sessions, keys):
    tender = await tender_in_publicity(sessions, keys)
    code = tender.code
    await as_user(client, "tenderer")
    page = await client.get(f"/party/projects/{code}/result")
    assert page.status_code == 200 and "确定中标人" in page.text and tender.bidders[1].name in page.text
    refused = await post_form(client, f"/party/projects/{code}/result/choice", {"rank": "2", "reason": ""},
                              page=f"/party/projects/{code}/result")
    assert refused.status_code == 400 and field_error(refused.text, "reason") == "请填写确定中标人的理由"
    chosen = await post_form(client, f"/party/projects/{code}/result/choice",
                             {"rank": "2", "reason": "第二名售后服务网点在本市"}, page=f"/party/projects/{code}/result")
    assert chosen.status_code in (302, 303), chosen.text
    async with transaction(sessions) as session:
        project = await session.scalar(select(Project).where(Project.code == code))
        assert (await session.scalar(select(WinnerChoice).where(WinnerChoice.project_id == project.id))) is not None
        await award_world.let_time_pass(session, code, days=8)

    # The center issues the notice; the PDF downloads; the other bidder got a result notice.
    await as_user(client, "admin")
    center = await client.get(f"/center/tenders/{code}")
    assert center.status_code == 200 and "发出中标通知书" in center.text
    issued = await post_form(client, f"/center/tenders/{code}/award-notice", {}, page=f"/center/tenders/{code}")
    assert issued.status_code in (302, 303), issued.text
    center = await client.get(f"/center/tenders/{code}")
    assert "ZBTZ" in center.text and "中标结果通知" in center.text and tender.bidders[0].name in center.text
    pdf = await client.get(f"/center/tenders/{code}/award-notice.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["x-content-sha256"] == hashlib.sha256(pdf.content).hexdigest()
    again = await post_form(client, f"/center/tenders/{code}/award-notice", {}, page=f"/center/tenders/{code}")
    assert again.status_code == 409 and "不能重复发出" in again.text

    # The party downloads it too, and records the contract.
    await as_user(client, "tenderer")
    assert (await client.get(f"/party/projects/{code}/award-notice.pdf")).content == pdf.content
    async with transaction(sessions) as session:
        notice = await session.scalar(select(AwardNotice).where(AwardNotice.project_id == project.id))
        today = (await database_now(session)).astimezone(
            CENTER_ZONE).date().isoformat()
    assert notice.price_fen == tender.prices[1]
    differs = await post_form(client, f"/party/projects/{code}/contract",
                              {"amount": "4,000,000.00", "signed_on": today, "file_sha256": "a" * 64},
                              page=f"/party/projects/{code}/result")
    assert differs.status_code == 400 and "须说明理由" in field_error(differs.text, "amount_reason")
    assert 'value="4,000,000.00"' in differs.text
    recorded = await post_form(client, f"/party/projects/{code}/contract",
                               {"amount": "4100000", "signed_on": today, "file_sha256": "b" * 64},
                               page=f"/party/projects/{code}/result")
    assert recorded.status_code in (302, 303), recorded.text
    async with transaction(sessions) as session:
        contract = await session.scalar(select(Contract).where(Contract.project_id == project.id))
        assert contract.amount_fen == 4_100_000_00
    # Another party's notice is not theirs to download.
    async with transaction(sessions) as session:
        other = await award_world.tender_in_evaluation(session, keys, [1_000_00, 1_100_00, 1_200_00], kind=award_world.PROCUREMENT,
                                                       party_credit_code=CITY_INVEST)
    assert (await client.get(f"/party/projects/{other.code}/award-notice.pdf")).status_code == 403


async def test_the_center_draws_the_agency_for_a_project(client, sessions, keys):
    await as_user(client, "tenderer")
    code = new_code("DRW")
    await post_form(client, "/party/projects", {
        "code": code, "title": "委托代理的项目", "category": "construction", "method": "open_tender",
        "region_code": "370800", "tendering_party": HOSPITAL, "estimate": "5000000", "agency_mode": "draw"},
        page="/party/projects/new")
    await as_user(client, "admin")
    page = await client.get(f"/center/tenders/{code}")
    assert "抽取代理机构" in page.text and "由交易中心从代理机构库抽取" in page.text
    drawn = await post_form(client, f"/center/tenders/{code}/agency-draw", {}, page=f"/center/tenders/{code}")
    assert drawn.status_code in (302, 303), drawn.text
    page = await client.get(f"/center/tenders/{code}")
    assert "等待招标人提供见证值" in page.text and "交易中心不能代为见证" in page.text
    assert "当前代理机构" not in page.text
    # The tendering party is the draw's witness (sealed-draw/1: never the center alone).
    await as_user(client, "tenderer")
    page = await client.get(f"/party/projects/{code}")
    assert "代理机构抽取的见证" in page.text and "为代理机构抽取提供见证值" in page.text
    empty = await post_form(client, f"/party/projects/{code}/agency/witness", {"value": " "},
                            page=f"/party/projects/{code}")
    assert empty.status_code == 400 and field_error(empty.text, "value") == "请填写见证值"
    witnessed = await post_form(client, f"/party/projects/{code}/agency/witness", {"value": "院长现场报数 2741"},
                                page=f"/party/projects/{code}")
    assert witnessed.status_code in (302, 303), witnessed.text
    page = await client.get(f"/party/projects/{code}")
    assert "当前代理机构" in page.text and "代理机构抽取的见证" not in page.text
    await as_user(client, "admin")
    page = await client.get(f"/center/tenders/{code}")
    assert "当前代理机构" in page.text and "抽取记录" in page.text


async def test_a_supervisor_witnesses_an_agency_draw_on_its_page_only_when_the_party_asks(client, sessions, keys):
    code, _ = await hospital_project(sessions, keys)
    async with transaction(sessions) as session:
        draw = await draw_project_agency(session, keys, actor="test", project_code=code)
    supervision = f"/supervision/draws/{draw.draw_id}"
    await as_user(client, "supervisor")
    page = await client.get(supervision)
    assert "等待招标人提供见证值" in page.text and "witness-form" not in page.text
    unasked = await post_form(client, f"{supervision}/witness", {"value": "监督员 1"}, page=supervision)
    assert unasked.status_code == 403 and "招标人" in unasked.text
    await as_user(client, "tenderer")
    asked = await post_form(client, f"/party/projects/{code}/agency/witness-request", {},
                            page=f"/party/projects/{code}")
    assert asked.status_code in (302, 303), asked.text
    page = await client.get(f"/party/projects/{code}")
    assert "已请求监督人员见证" in page.text and f'action="/party/projects/{code}/agency/witness"' not in page.text
    await as_user(client, "supervisor")
    assert f'href="/supervision/draws/{draw.draw_id}">去见证' in (await client.get("/supervision")).text
    page = await client.get(supervision)
    assert "招标人已请求监督人员见证" in page.text and "witness-form" in page.text
    done = await post_form(client, f"{supervision}/witness", {"value": "监督员现场 5150"}, page=supervision)
    assert done.status_code in (302, 303), done.text
    assert await agency_of_project(sessions, code) is not None


# ----------------------------------------------------------------------------- opening record, publicity, agency


async def test_the_opening_record_shows_to_the_party_once_the_decryption_window_is_over(client, sessions, keys):
    async with transaction(sessions) as session:
        tender, bidders = await opening.tender_with_bids(session, keys, [5_000_000_00, 5_100_000_00])
        hospital = await session.scalar(select(Organisation.id).where(Organisation.credit_code == HOSPITAL))
        await session.execute(update(Project).where(Project.id == tender.id).values(tendering_party_id=hospital))
        await start_opening(session, keys, actor="test", project_code=tender.code)
        code, signing_key = bidders[0]
        await opening.hand_in_and_open(session, keys, tender.code, code,
                                       await opening.k_b_of(session, tender, code, signing_key))
    await as_user(client, "tenderer")
    during = await client.get(f"/party/projects/{tender.code}/opening")
    assert during.status_code == 200 and "仅供监督人员查看" in during.text and "5,000,000.00" not in during.text
    async with transaction(sessions) as session:
        await opening.window_passes(session, tender)
    after = await client.get(f"/party/projects/{tender.code}/opening")
    assert "5,000,000.00" in after.text and "仅供监督人员查看" not in after.text


async def test_the_party_answers_an_objection_to_the_result(client, sessions, keys):
    tender = await tender_in_publicity(sessions, keys)
    async with transaction(sessions) as session:
        objection = await raise_candidate_objection(session, actor="test", project_code=tender.code,
                                                    organisation_id=tender.bidders[2].id, text="第一名业绩造假。")
    await as_user(client, "tenderer")
    path = f"/party/projects/{tender.code}/result/objections/{objection.id}/answer"
    refused = await post_form(client, path, {"answer": "  "}, page=f"/party/projects/{tender.code}/result")
    assert refused.status_code == 400 and field_error(refused.text, "answer") == "请填写答复内容"
    answered = await post_form(client, path, {"answer": "经核查，业绩真实。"}, page=f"/party/projects/{tender.code}/result")
    assert answered.status_code in (302, 303), answered.text
    async with transaction(sessions) as session:
        assert (await session.get(CandidateObjection, objection.id)).answer == "经核查，业绩真实。"
    # The other party may not answer it.
    client.cookies.clear()
    username = f"city{next(_codes)}"
    async with transaction(sessions) as session:
        city = await session.scalar(select(Organisation.id).where(Organisation.credit_code == CITY_INVEST))
        await create_user(session, actor="test", username=username, display_name="城投 招标办",
                          role="tendering_party", password=DEMO_PASSWORD, organisation_id=city)
    await as_user(client, username)
    refused = await post_form(client, path, {"answer": "越权答复"}, page="/party/projects")
    assert refused.status_code == 403


async def test_the_agency_registers_for_a_party_and_publishes_the_candidates_of_a_project_it_serves(
        client, sessions, keys):
    await as_user(client, "agency")
    code = new_code("AGR")
    registered = await post_form(client, "/party/projects", {
        "code": code, "title": "代理机构登记的项目", "category": "construction", "method": "open_tender",
        "region_code": "370800", "tendering_party": HOSPITAL, "estimate": "300000", "agency_mode": "draw"},
        page="/party/projects/new")
    # Not yet drawn to serve it: the agency is told, and the project page stays closed to it.
    assert registered.headers["location"] == f"/party/projects?registered={code}"
    assert "已进场登记" in (await client.get(registered.headers["location"])).text
    assert (await client.get(f"/party/projects/{code}")).status_code == 403

    async with transaction(sessions) as session:
        tender = await award_world.tender_in_evaluation(session, keys, [1_000_00, 1_100_00, 1_200_00],
                                                        party_credit_code=HOSPITAL)
        await agency_drawn(session, keys, tender.code, [DEMO_AGENCY])
    refused = await post_form(client, f"/party/projects/{tender.code}/publicity", {},
                              page=f"/party/projects/{tender.code}/result")
    assert refused.status_code == 409 and "未推荐中标候选人" in refused.text
    async with transaction(sessions) as session:
        await award_world.report(session, tender)
    published = await post_form(client, f"/party/projects/{tender.code}/publicity", {},
                                page=f"/party/projects/{tender.code}/result")
    assert published.status_code in (302, 303), published.text
    page = await client.get(f"/party/projects/{tender.code}/result")
    assert "公示开始" in page.text and tender.bidders[0].name in page.text


# ----------------------------------------------------------------------------- money typed in yuan


@given(fen=st.integers(min_value=0, max_value=MAX_FEN))
def test_any_amount_shown_in_yuan_reads_back_to_the_same_fen(fen):
    shown = yuan(fen)
    assert fen_of_yuan(shown, field="estimate", label="金额") == fen
    assert fen_of_yuan(shown.replace(",", ""), field="estimate", label="金额") == fen


@pytest.mark.parametrize("typed", ["1.234", "-5", "1e6", "12,34.00", "壹万", "0.1.2", ""])
def test_amounts_that_are_not_yuan_are_refused_beside_the_field(typed):
    with pytest.raises(InvalidInput) as refused:
        fen_of_yuan(typed, field="estimate", label="估算价")
    assert refused.value.details["field"] == "estimate" and "估算价" in refused.value.message


async def test_the_center_publishes_the_candidates_and_books_a_room_for_a_tender(client, sessions, keys):
    async with transaction(sessions) as session:
        tender = await award_world.tender_in_evaluation(session, keys, [2_000_00, 2_100_00, 2_200_00],
                                                        party_credit_code=HOSPITAL)
    await as_user(client, "admin")
    page = f"/center/tenders/{tender.code}"
    refused = await post_form(client, f"{page}/publicity", {}, page=page)
    assert refused.status_code == 409 and "未推荐中标候选人" in refused.text
    async with transaction(sessions) as session:
        await award_world.report(session, tender)
    published = await post_form(client, f"{page}/publicity", {}, page=page)
    assert published.status_code in (302, 303), published.text
    assert "公示开始" in (await client.get(page)).text

    async with transaction(sessions) as session:
        start = (await database_now(session) + timedelta(days=40)).astimezone(CENTER_ZONE).replace(hour=14, minute=0)
    fmt = "%Y-%m-%dT%H:%M"
    data = {"room": "PB03", "purpose": "评标", "starts_at": start.strftime(fmt),
            "ends_at": (start + timedelta(hours=4)).strftime(fmt)}
    assert (await post_form(client, f"{page}/rooms", data, page=page)).status_code in (302, 303)
    clash = await post_form(client, f"{page}/rooms", data, page=page)
    assert clash.status_code == 409 and "不能重复预约" in field_error(clash.text, "starts_at")
    missing = await post_form(client, f"{page}/rooms", {**data, "room": ""}, page=page)
    assert missing.status_code == 400 and field_error(missing.text, "room") == "请填写场地"
    assert 'value="评标"' in missing.text


async def test_the_party_declines_the_drawn_agency_with_a_reason(client, sessions, keys):
    code, _ = await hospital_project(sessions, keys)
    async with transaction(sessions) as session:
        await agency_drawn(session, keys, code, [DEMO_AGENCY, "AG-001"])
    await as_user(client, "tenderer")
    page = await client.get(f"/party/projects/{code}")
    assert "拒绝抽中的代理机构" in page.text
    refused = await post_form(client, f"/party/projects/{code}/agency/decline", {"reason": ""},
                              page=f"/party/projects/{code}")
    assert refused.status_code == 400 and field_error(refused.text, "reason") == "请填写拒绝理由"
    before = await agency_of_project(sessions, code)
    declined = await post_form(client, f"/party/projects/{code}/agency/decline", {"reason": "该机构与本院存在诉讼纠纷"},
                               page=f"/party/projects/{code}")
    assert declined.status_code in (302, 303), declined.text
    after = await agency_of_project(sessions, code)
    assert before is not None and after is not None and after != before
    # The agency itself cannot decline.
    await as_user(client, "agency")
    assert (await post_form(client, f"/party/projects/{code}/agency/decline", {"reason": "x"},
                            page="/party/projects")).status_code == 403


async def agency_of_project(sessions, code: str) -> str | None:
    async with transaction(sessions) as session:
        assignment = await agency_assignment(session, code)
        return assignment.agency.code if assignment.agency else None
