"""Supervisors' and experts' pages: the dashboard and the live views only for supervisors (and
the center), an expert only in the committees it sits on, the evaluation's steps as forms
with refusals in Chinese beside their fields and the input kept, the draw witnessed and
complaints decided from the pages, and every evaluation step announced live on the
project's topic without a verdict, a score or a reason."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import nacl.signing
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from bidding.award.complaints import Complaint, file_complaint
from bidding.evaluation.expert_keys import register_expert_key
from bidding.evaluation.report import complete_report, record_dissent, sign_report
from bidding.evaluation.review import close_stage, record_review, record_scores
from bidding.evaluation.rounds import LIVE_KINDS
from bidding.evaluation.sitting import start_evaluation_session, vote_for_chair
from bidding.draws.project_draws import request_project_committee
from bidding.award.publicity import publish_candidates
from expert_pool.committees import GroupSpec
from expert_pool.models import Expert
from tests.common import award_world as world
from tests.common import factories
from tests.common import committees
from tests.common import evaluation
from tests.common.evaluation import evaluation_with_accounts, seat_accounts
from tests.common.portal import csrf_token_from, log_in
from tests.common.tenders import tender_project
from trading.canonical import canon
from trading.database import make_sessionmaker, transaction
from trading.draws import Draw
from trading.event_hub import EventHub
from trading.keys import load_center_keys
from trading.settings import Settings
from web.app import create_app

FIELD_ERROR = re.compile(r'<p class="field-error" id="e-(?:[\w-]+-)?(\w+)">([^<]*)</p>')  # a repeated form's prefix


@pytest.fixture(scope="module")
def keys(settings: Settings):
    return load_center_keys(settings)


@pytest.fixture(scope="module")
async def client(demo, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def anonymous(client: AsyncTestClient) -> None:
    client.cookies.clear()


async def as_user(client: AsyncTestClient, username: str) -> None:
    client.cookies.clear()
    answer = await log_in(client, username)
    assert answer.status_code in (302, 303), answer.text


def field_errors(html: str) -> dict[str, str]:
    return dict(FIELD_ERROR.findall(html))


# ----------------------------------------------------------------------------- who may see what


async def test_only_supervisors_and_the_center_open_the_dashboard(client, engine, keys):
    async with transaction(make_sessionmaker(engine)) as session:
        tender, *_ = await evaluation_with_accounts(session, keys, [95_000_000, 99_000_000, 101_000_000])
    away = await client.get("/supervision", follow_redirects=False)
    assert away.status_code in (302, 303) and away.headers["location"].startswith("/login")
    for refused in ("bidder1", "expert", "tenderer"):
        await as_user(client, refused)
        page = await client.get("/supervision")
        assert page.status_code == 403 and "您的角色无权执行此操作" in page.text
        assert (await client.get(f"/supervision/evaluations/{tender.code}")).status_code == 403
        assert (await client.get(f"/supervision/evaluations/{tender.code}/state")).status_code == 403
    await as_user(client, "supervisor")
    page = await client.get("/supervision")
    assert page.status_code == 200 and "今日实时场次" in page.text and "期限预警" in page.text
    assert f'href="/supervision/evaluations/{tender.code}"' in page.text
    live = await client.get(f"/supervision/evaluations/{tender.code}")
    assert live.status_code == 200
    assert f'data-live-stream="/live/project/{tender.code}"' in live.text and "evaluation.scored" in live.text
    assert "<noscript>" in live.text and "需要启用 JavaScript" in live.text
    fragment = await client.get(f"/supervision/evaluations/{tender.code}/state")
    assert fragment.status_code == 200 and "<html" not in fragment.text and "推选评标委员会组长" in fragment.text
    workspace = await client.get("/workspace")
    assert "电子监察" in workspace.text and "今日评标" in workspace.text
    await as_user(client, "admin")
    assert (await client.get("/supervision")).status_code == 200


async def test_an_expert_sees_only_the_committees_it_sits_on(client, engine, keys):
    async with transaction(make_sessionmaker(engine)) as session:
        tender, _, experts, names = await evaluation_with_accounts(session, keys, [95_000_000, 99_000_000, 101_000_000])
        outsider = await factories.expert(session, specialties=["A0801"])
        [other] = await seat_accounts(session, tender.code + "-x", [outsider])
    await as_user(client, names[0])
    home = await client.get("/expert")
    assert home.status_code == 200 and f'href="/expert/evaluations/{tender.code}"' in home.text
    page = await client.get(f"/expert/evaluations/{tender.code}")
    assert page.status_code == 200 and "推选评标委员会组长" in page.text
    assert all(expert.code in page.text for expert in experts)
    await as_user(client, other)
    assert f"/expert/evaluations/{tender.code}" not in (await client.get("/expert")).text
    refused = await client.get(f"/expert/evaluations/{tender.code}")
    assert refused.status_code == 403 and "您不是本项目本轮评标委员会的成员" in refused.text
    await as_user(client, "supervisor")
    assert (await client.get(f"/expert/evaluations/{tender.code}")).status_code == 403
    await as_user(client, "expert")  # the demo expert has no entry in this module's pool
    assert "未关联专家库" in (await client.get("/workspace")).text


# ----------------------------------------------------------------------------- the evaluation as forms


async def test_an_expert_evaluates_through_the_forms_and_a_refusal_keeps_what_was_typed(client, engine, keys):
    async with transaction(make_sessionmaker(engine)) as session:
        tender, [a, b, c], experts, names = await evaluation_with_accounts(session, keys, [95_000_000, 99_000_000, 101_000_000])
    code, path = tender.code, f"/expert/evaluations/{tender.code}"
    for name in names[:3]:  # three of five elect the first member
        await as_user(client, name)
        token = await csrf_token_from(client, path)
        voted = await client.post(f"{path}/chair-vote", data={"candidate": experts[0].code, "_csrf_token": token},
                                  follow_redirects=False)
        assert voted.status_code in (302, 303), voted.text
    await as_user(client, names[1])
    token = await csrf_token_from(client, path)
    # A rejection without reasons: refused beside the field, the verdict and the ground kept.
    refused = await client.post(f"{path}/reviews", data={
        "bidder_credit_code": b, "verdict": "reject", "ground": "3", "reason": "", "_csrf_token": token})
    assert refused.status_code == 400
    assert field_errors(refused.text) == {"reason": "须填写否决理由"}
    form = refused.text[refused.text.index(f'id="review-{b}"'):]
    form = form[:form.index("</form>")]
    assert 'value="reject" checked' in form and '<option value="3" selected>' in form
    # A score above the item's maximum: beside the item, the number kept.
    async with transaction(make_sessionmaker(engine)) as session:
        for stage in range(2):  # qualification and preliminary pass by the services
            await evaluation.all_review(session, code, experts, [a, b, c])
            await close_stage(session, actor="chair", project_code=code, expert_id=experts[0].id)
    token = await csrf_token_from(client, path)
    too_high = await client.post(f"{path}/scores", data={"bidder_credit_code": a, "item_0": "61",
                                                         "_csrf_token": token})
    assert too_high.status_code == 400 and "不得超过 60 分" in field_errors(too_high.text)["item_0"]
    assert 'value="61"' in too_high.text
    saved = await client.post(f"{path}/scores", data={"bidder_credit_code": a, "item_0": "52.5",
                                                      "_csrf_token": token}, follow_redirects=False)
    assert saved.status_code in (302, 303)
    page = await client.get(path)
    assert 'value="52.50"' in page.text and "已保存" in page.text
    # Only the chair closes a stage.
    closed = await client.post(f"{path}/close-stage", data={"_csrf_token": token})
    assert closed.status_code == 403 and "只有评标委员会组长" in closed.text


async def test_the_report_is_signed_with_the_experts_key_or_confirmed(client, engine, keys):
    async with transaction(make_sessionmaker(engine)) as session:
        tender, bidders, experts, names = await evaluation_with_accounts(session, keys, [95_000_000, 99_000_000, 101_000_000])
        code = tender.code
        await evaluation.elect(session, code, experts, experts[0])
        for stage in range(3):
            await evaluation.all_review(session, code, experts, bidders)
            if stage == 2:
                for expert in experts:
                    for bidder in bidders:
                        await record_scores(session, actor="x", project_code=code, expert_id=expert.id,
                                            bidder_credit_code=bidder, scores={"技术方案": "50"})
            await close_stage(session, actor="chair", project_code=code, expert_id=experts[0].id)
    path = f"/expert/evaluations/{code}"
    key = nacl.signing.SigningKey.generate()
    await as_user(client, names[0])
    token = await csrf_token_from(client, "/expert")
    bad_key = await client.post("/expert/key", data={"verify_key": "abc", "_csrf_token": token})
    assert bad_key.status_code == 400 and "verify_key" in field_errors(bad_key.text)
    assert 'value="abc"' in bad_key.text
    registered = await client.post("/expert/key", data={"verify_key": key.verify_key.encode().hex(),
                                                        "_csrf_token": token}, follow_redirects=False)
    assert registered.status_code in (302, 303)
    page = await client.get(path)
    canonical = re.search(r'<textarea id="report-canon" hidden readonly>(.*?)</textarea>', page.text, re.S).group(1)
    import html

    report_bytes = html.unescape(canonical).encode()
    signature = key.sign(report_bytes).signature.hex()
    wrong = await client.post(f"{path}/signature", data={"signature": "00" * 64, "_csrf_token": token})
    assert wrong.status_code == 400 and "签名无法用您登记的公钥验证" in wrong.text
    signed = await client.post(f"{path}/signature", data={"signature": signature, "_csrf_token": token},
                               follow_redirects=False)
    assert signed.status_code in (302, 303), signed.text
    after = await client.get(path)
    assert "您已签署评标报告（数字签名）" in after.text, after.text[after.text.find("<main"):]
    await as_user(client, names[1])
    token = await csrf_token_from(client, path)
    nothing = await client.post(f"{path}/signature", data={"_csrf_token": token})
    assert nothing.status_code == 400 and "勾选确认" in nothing.text
    confirmed = await client.post(f"{path}/signature", data={"confirm": "yes", "_csrf_token": token},
                                  follow_redirects=False)
    assert confirmed.status_code in (302, 303)
    assert "您已签署评标报告（账号确认）" in (await client.get(path)).text
    # The canonical text the page shows is exactly what the service verifies.
    async with make_sessionmaker(engine)() as session:
        from bidding.evaluation.records import EvaluationSession

        stored = await session.scalar(select(EvaluationSession).where(EvaluationSession.project_id == tender.id))
        assert canon(stored.report) == report_bytes


# ----------------------------------------------------------------------------- witness and complaints


async def test_a_supervisor_witnesses_a_draw_from_its_live_view(client, engine, keys):
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_project(session, keys, "bidding")
        for _ in range(8):
            await factories.expert(session, specialties=["A0601"])
        starts_at, ends_at = await committees.session_window(session)
        request = await request_project_committee(
            session, keys, actor="admin", project_code=tender.code, starts_at=starts_at, ends_at=ends_at,
            place="第1评标室", groups=[GroupSpec("A0601", 5, 1)])
        [draw] = await committees.draws_of(session, request.id)
    path = f"/supervision/draws/{draw.draw_id}"
    await as_user(client, "bidder1")
    assert (await client.get(path)).status_code == 403
    await as_user(client, "admin")  # the center watches, but only a supervisor witnesses
    assert "提交见证值" not in (await client.get(path)).text
    await as_user(client, "supervisor")
    page = await client.get(path)
    assert page.status_code == 200 and "等待监督人员提供见证值" in page.text
    assert f'data-live-stream="/live/draw/{draw.draw_id}"' in page.text
    token = await csrf_token_from(client, path)
    empty = await client.post(f"{path}/witness", data={"value": "   ", "_csrf_token": token})
    assert empty.status_code == 400 and field_errors(empty.text) == {"value": "见证值不能为空：请输入或生成一个见证值"}
    witnessed = await client.post(f"{path}/witness", data={"value": "监督员 7391", "_csrf_token": token},
                                  follow_redirects=False)
    assert witnessed.status_code in (302, 303)
    state = await client.get(f"{path}/state")
    assert "监督员 7391" in state.text and "已见证，结果密封中" in state.text
    async with make_sessionmaker(engine)() as session:
        assert (await session.scalar(select(Draw.status).where(Draw.draw_id == draw.draw_id))) == "witnessed"


async def test_an_expert_answers_a_summons_seeing_only_time_and_place(client, engine, keys):
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_project(session, keys, "bidding")
        for _ in range(7):
            await factories.expert(session, specialties=["A0602"])
        starts_at, ends_at = await committees.session_window(session)
        request = await request_project_committee(
            session, keys, actor="admin", project_code=tender.code, starts_at=starts_at, ends_at=ends_at,
            place="济宁市公共资源交易中心 第2评标室", groups=[GroupSpec("A0602", 5, 1)])
        await committees.witness_all(session, keys, request.id)
        invited = [m for m in await committees.members(session, request.id) if m.status == "invited"]
        [name] = await seat_accounts(session, f"{tender.code}-s", [await session.get(Expert, invited[0].expert_id)])
    await as_user(client, name)
    home = await client.get("/expert")
    assert "第2评标室" in home.text and "已通知" in home.text
    assert tender.code not in home.text and tender.title not in home.text  # sealed until the session starts
    assert "1</strong> 条评标通知待确认" in (await client.get("/workspace")).text
    token = await csrf_token_from(client, "/expert")
    action = f"/expert/summonses/{invited[0].id}"
    refused = await client.post(action, data={"answer": "decline", "reason": "  ", "_csrf_token": token})
    assert refused.status_code == 400 and field_errors(refused.text) == {"reason": "谢绝参加评标必须说明理由"}
    confirmed = await client.post(action, data={"answer": "confirm", "reason": "", "_csrf_token": token},
                                  follow_redirects=False)
    assert confirmed.status_code in (302, 303)
    assert "已确认" in (await client.get("/expert")).text
    again = await client.post(action, data={"answer": "decline", "reason": "临时出差", "_csrf_token": token})
    assert again.status_code == 409 and "不能再答复" in again.text


async def test_supervisors_decide_complaints_with_reasons_beside_the_fields(client, engine, keys,
                                                                          calendar_with_next_year):
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await world.tender_in_evaluation(session, keys, [100_000_000_00, 101_000_000_00, 102_000_000_00])
        await world.report(session, tender)
        await publish_candidates(session, actor="admin", project_code=tender.code)
        complaint = await file_complaint(session, actor="bidder", project_code=tender.code,
                                         organisation_id=tender.bidders[2].id, grounds="评分标准适用错误")
    await as_user(client, "supervisor")
    assert "待处理投诉（" in (await client.get("/supervision")).text
    page = await client.get("/supervision/complaints")
    assert "评分标准适用错误" in page.text
    token = await csrf_token_from(client, "/supervision/complaints")
    action = f"/supervision/complaints/{tender.code}/{complaint.id}/acceptance"
    refused = await client.post(action, data={"decision": "reject", "reason": "", "_csrf_token": token})
    assert refused.status_code == 400 and field_errors(refused.text) == {"reason": "不予受理的理由不能为空"}
    assert 'value="reject" checked' in refused.text
    await as_user(client, "admin")
    assert (await client.post(action, data={"decision": "reject", "reason": "x", "_csrf_token": token})).status_code == 403
    await as_user(client, "supervisor")
    token = await csrf_token_from(client, "/supervision/complaints")
    done = await client.post(action, data={"decision": "reject", "reason": "投诉超出本机关职责范围",
                                           "_csrf_token": token}, follow_redirects=False)
    assert done.status_code in (302, 303)
    async with make_sessionmaker(engine)() as session:
        stored = await session.get(Complaint, complaint.id)
        assert (stored.status, stored.acceptance_reason) == ("rejected", "投诉超出本机关职责范围")
    assert "评分标准适用错误" not in (await client.get("/supervision/complaints")).text

    # Another complaint accepted (the tender is suspended), then dismissed (it resumes).
    async with transaction(make_sessionmaker(engine)) as session:
        second = await file_complaint(session, actor="bidder", project_code=tender.code,
                                      organisation_id=tender.bidders[1].id, grounds="第一中标候选人业绩造假")
    token = await csrf_token_from(client, "/supervision/complaints")
    accepted = await client.post(f"/supervision/complaints/{tender.code}/{second.id}/acceptance", data={
        "decision": "accept", "reason": "投诉事项明确，属于受理范围", "_csrf_token": token}, follow_redirects=False)
    assert accepted.status_code in (302, 303), accepted.text
    page = await client.get("/supervision/complaints")
    assert "已受理：投诉事项明确" in page.text and "处理决定" in page.text
    decision = f"/supervision/complaints/{tender.code}/{second.id}/decision"
    unchosen = await client.post(decision, data={"outcome": "", "reason": "经调查业绩属实", "_csrf_token": token})
    assert unchosen.status_code == 400 and field_errors(unchosen.text) == {"outcome": "请选择处理决定"}
    assert "经调查业绩属实" in unchosen.text
    dismissed = await client.post(decision, data={"outcome": "dismiss", "reason": "经调查业绩属实",
                                                  "_csrf_token": token}, follow_redirects=False)
    assert dismissed.status_code in (302, 303), dismissed.text
    async with make_sessionmaker(engine)() as session:
        stored = await session.get(Complaint, second.id)
        assert (stored.status, stored.outcome) == ("dismissed", "dismiss")


# ----------------------------------------------------------------------------- live events


async def test_every_evaluation_step_is_announced_on_the_project_topic_without_verdicts_or_scores(
        demo, engine, keys, database_url):
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        tender, bidders, experts, _ = await evaluation_with_accounts(session, keys, [95_000_000, 99_000_000, 101_000_000],
                                                                     started=False)
    code = tender.code
    hub = EventHub.for_url(database_url)
    await hub.start()
    try:
        await hub.wait_connected()
        watcher = hub.subscribe(f"project:{code}")

        async def step(act) -> None:
            async with transaction(sessions) as session:
                await act(session)

        await step(lambda s: start_evaluation_session(s, keys, actor="admin", project_code=code))
        for expert, choice in zip(experts, (1, 2, 3, 4, 0)):  # nobody has more than half: a new round
            await step(lambda s, e=expert, c=choice: vote_for_chair(s, actor="x", project_code=code, expert_id=e.id,
                                                                     candidate_code=experts[c].code))
        for expert in experts[:3]:
            await step(lambda s, e=expert: vote_for_chair(s, actor="x", project_code=code, expert_id=e.id,
                                                          candidate_code=experts[0].code))
        for stage in range(3):
            for expert in experts:
                for bidder in bidders:
                    # One member alone rejects: a minority, the bid stays.
                    lone = expert == experts[0] and bidder == bidders[1] and stage == 0
                    await step(lambda s, e=expert, b=bidder, r=lone: record_review(
                        s, actor="x", project_code=code, expert_id=e.id, bidder_credit_code=b,
                        verdict="reject" if r else "pass", ground=3 if r else None,
                        reason="资质证书过期" if r else None))
                    if stage == 2:
                        await step(lambda s, e=expert, b=bidder: record_scores(
                            s, actor="x", project_code=code, expert_id=e.id, bidder_credit_code=b,
                            scores={"技术方案": "47.5"}))
            await step(lambda s: close_stage(s, actor="x", project_code=code, expert_id=experts[0].id))
        key = nacl.signing.SigningKey.generate()
        await step(lambda s: register_expert_key(s, actor="x", expert_id=experts[0].id,
                                                 verify_key=key.verify_key.encode().hex()))

        async def sign_with_key(s) -> None:
            from bidding.evaluation.rounds import current_session
            from bidding.tender.projects import get_project

            report = (await current_session(s, await get_project(s, code))).report
            await sign_report(s, actor="x", project_code=code, expert_id=experts[0].id,
                              signature=key.sign(canon(report)).signature.hex())

        await step(sign_with_key)
        await step(lambda s: sign_report(s, actor="x", project_code=code, expert_id=experts[1].id))
        await step(lambda s: record_dissent(s, actor="x", project_code=code, expert_id=experts[2].id,
                                            reasons="技术方案评分过宽"))
        await step(lambda s: complete_report(s, actor="x", project_code=code, expert_id=experts[0].id))

        events = []
        while not events or events[-1].kind != "evaluation.report_completed":
            events.append(await asyncio.wait_for(watcher.next_event(), 10))
    finally:
        await hub.stop()
    kinds = [event.kind for event in events if event.kind.startswith("evaluation.")]
    assert set(kinds) == set(LIVE_KINDS) - {"evaluation.all_rejected"}
    assert kinds.count("evaluation.chair_vote") == 8 and kinds.count("evaluation.stage_closed") == 3
    assert kinds.count("evaluation.reviewed") == 5 * 3 * 3 and kinds.count("evaluation.scored") == 5 * 3
    first_closed = next(e for e in events if e.kind == "evaluation.stage_closed")
    assert first_closed.data == {"round": 1, "stage": "qualification", "rejected": 0, "remaining": 3}
    reviewed = next(e for e in events if e.kind == "evaluation.reviewed")
    assert set(reviewed.data) == {"round", "stage", "member", "bidder"}
    scored = next(e for e in events if e.kind == "evaluation.scored")
    assert set(scored.data) == {"round", "member", "bidder"}
    signed = [e.data["by"] for e in events if e.kind == "evaluation.report_signed"]
    assert signed == ["signature", "confirmation"]
    text = repr([event.data for event in events])
    for secret in ("47.5", "资质证书过期", "技术方案评分过宽", "'reject'", "'verdict'", "95000000"):
        assert secret not in text


async def test_an_evaluation_rejecting_every_bid_announces_it(demo, engine, keys, database_url):
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        tender, bidders, experts, _ = await evaluation_with_accounts(session, keys, [95_000_000, 99_000_000, 101_000_000])
        await evaluation.elect(session, tender.code, experts, experts[0])
        reasons = {(i, bidder): (6, "未响应招标文件的实质性要求") for i in range(5) for bidder in bidders}
        await evaluation.all_review(session, tender.code, experts, bidders, reasons)
    hub = EventHub.for_url(database_url)
    await hub.start()
    try:
        await hub.wait_connected()
        watcher = hub.subscribe(f"project:{tender.code}")
        async with transaction(sessions) as session:
            await close_stage(session, actor="chair", project_code=tender.code, expert_id=experts[0].id)
        events = [await asyncio.wait_for(watcher.next_event(), 10) for _ in range(3)]
    finally:
        await hub.stop()
    assert [(e.kind, e.data.get("stage")) for e in events] == [
        ("evaluation.stage_closed", "qualification"), ("evaluation.all_rejected", "completed"), ("tender.fail", None)]
    assert events[0].data["rejected"] == 3 and events[0].data["remaining"] == 0


# ----------------------------------------------------------------------------- the calendar


async def test_the_dashboard_cards_a_missing_holiday_notice_and_marks_provisional_deadlines(
        client, engine, keys, monkeypatch):
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import select

    from bidding.tender.deadlines import set_deadline
    from trading.database import database_now
    from bidding.tender.projects import Project
    from bidding.tender.states import local_date
    from trading.rules.calendar import CALENDAR_DIR, CalendarYear, WorkingDayCalendar

    # Whatever today is (in Beijing): a calendar without next year's notice, then one with every year.
    today = local_date(datetime.now(timezone.utc))
    without = WorkingDayCalendar.load(CALENDAR_DIR)
    monkeypatch.setattr("web.pages.supervision.default_calendar", lambda: without)
    async with transaction(make_sessionmaker(engine)) as session:
        project = await session.scalar(select(Project).limit(1))
        now = await database_now(session)
        deadline = await set_deadline(session, project=project, kind="award_notice", subject=f"project:{project.code}",
                                      due_at=now + timedelta(hours=5), rule="award_notice_working_days",
                                      actor="test", provisional=True, starts_at=now, period=(5, "working_days"))
        deadline.card = "yellow"
    await as_user(client, "supervisor")
    page = await client.get("/supervision")
    expected = "red" if today.month == 12 or not without.covers(today.year) else "yellow" if today.month == 11 else None
    if expected:
        assert f'card card-{expected}"><strong>{"红牌" if expected == "red" else "黄牌"}</strong>' in page.text
        assert "节假日安排（国务院办公厅通知）尚未载入工作日历" in page.text
    assert "应于" in page.text and "（暂按法定节假日计算，待国务院公布调休安排后确认）" in page.text
    covered = WorkingDayCalendar({year: CalendarYear(year=year, source="通知", holidays=without.year(year).holidays,
                                                     make_up_working_days={})
                                  for year in range(today.year - 1, today.year + 2)})
    monkeypatch.setattr("web.pages.supervision.default_calendar", lambda: covered)
    page = await client.get("/supervision")
    assert "尚未载入工作日历" not in page.text
