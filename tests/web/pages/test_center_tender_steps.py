"""The four steps of a tender that had no page until now: the evaluation scheme (评标办法) on
the party's project page, and on the center's tender page the committee request (评标委员会
组建), the end of the opening and the start of the evaluation session. Each succeeds through
the page, refuses in Chinese beside the field (or above the form) with the input kept, and
is refused to a role that may not do it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bidding.evaluation.records import EvaluationSession
from bidding.evaluation.scheme import evaluation_scheme
from bidding.tender.lifecycle import apply_transition
from bidding.opening.proceedings import start_opening
from bidding.tender.projects import Project
from cli.demo import load_demo_data
from expert_pool.committees import CommitteeGroup, CommitteeRequest
from tests.common import committees
from tests.common import evaluation
from tests.common import opening
from tests.common.party import hospital_project
from tests.common.portal import as_user, field_error, post_form
from trading.database import database_now, make_sessionmaker, transaction
from trading.keys import load_center_keys
from trading.settings import Settings
from trading.timefmt import CENTER_ZONE
from web.app import create_app

SPECIALTY = "A0801"


@pytest.fixture(scope="module")
async def client(settings: Settings, database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session)
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def sessions(engine: AsyncEngine):
    return make_sessionmaker(engine)


@pytest.fixture(scope="module")
def keys(settings: Settings, client):
    return load_center_keys(settings)


@pytest.fixture(autouse=True)
def anonymous(client: AsyncTestClient) -> None:
    client.cookies.clear()


async def state_of(sessions, code: str) -> str:
    async with transaction(sessions) as session:
        return await session.scalar(select(Project.state).where(Project.code == code))


# ----------------------------------------------------------------------------- the evaluation scheme


async def test_the_party_sets_the_evaluation_scheme_on_its_project_page(client, sessions, keys):
    code, _ = await hospital_project(sessions, keys)
    await as_user(client, "tenderer")
    page = f"/party/projects/{code}"
    assert "规定评标办法" in (await client.get(page)).text
    path = f"/party/projects/{code}/evaluation-scheme"
    saved = await post_form(client, path, {"method": "comprehensive", "price_points": "40",
                                           "price_formula": "lowest_ratio", "items": "技术方案 45\n商务条款 15"},
                            page=page)
    assert saved.status_code in (302, 303), saved.text
    async with transaction(sessions) as session:
        scheme = (await evaluation_scheme(session, code)).to_json()
    assert scheme == {"method": "comprehensive", "price_points": "40", "price_formula": {"kind": "lowest_ratio"},
                      "items": [{"name": "技术方案", "max_points": "45"}, {"name": "商务条款", "max_points": "15"}]}
    shown = (await client.get(page)).text
    assert "综合评估法：价格分 40 分" in shown and "技术方案 45 分" in shown
    # The lowest evaluated price method needs nothing else.
    lowest = await post_form(client, path, {"method": "lowest_price"}, page=page)
    assert lowest.status_code in (302, 303), lowest.text
    async with transaction(sessions) as session:
        assert (await evaluation_scheme(session, code)).to_json() == {"method": "lowest_price"}


async def test_a_wrong_scheme_is_refused_beside_its_field_with_the_input_kept(client, sessions, keys):
    code, _ = await hospital_project(sessions, keys)
    await as_user(client, "tenderer")
    page, path = f"/party/projects/{code}", f"/party/projects/{code}/evaluation-scheme"
    refused = await post_form(client, path, {"method": "comprehensive", "price_points": "四十",
                                             "price_formula": "lowest_ratio", "items": "技术方案 60"}, page=page)
    assert refused.status_code == 400
    assert field_error(refused.text, "price_points") == "「price_points」应为不小于零的十进制数字，实为「四十」"
    assert 'value="四十"' in refused.text and ">技术方案 60</textarea>" in refused.text
    missing = await post_form(client, path, {"method": "comprehensive", "price_points": "40",
                                             "price_formula": "mean_deviation", "items": "技术方案"}, page=page)
    assert missing.status_code == 400
    assert field_error(missing.text, "k") == "请填写下浮系数 K"
    assert "应写作「名称 分值」" in field_error(missing.text, "items")
    too_fine = await post_form(client, path, {"method": "comprehensive", "price_points": "40",
                                              "price_formula": "lowest_ratio", "items": "技术方案 60.125"}, page=page)
    assert too_fine.status_code == 400 and field_error(too_fine.text, "items") == "「技术方案.max_points」最多保留 2 位小数"
    async with transaction(sessions) as session:
        assert await evaluation_scheme(session, code) is None


async def test_the_scheme_is_refused_to_a_bidder_and_frozen_once_bidding_starts(client, sessions, keys):
    code, _ = await hospital_project(sessions, keys, announced=True)
    async with transaction(sessions) as session:
        await apply_transition(session, actor="test", project_code=code, action="open_bidding")
    data = {"method": "lowest_price"}
    await as_user(client, "bidder1")
    assert (await post_form(client, f"/party/projects/{code}/evaluation-scheme", data,
                            page="/workspace")).status_code == 403
    await as_user(client, "tenderer")
    page = f"/party/projects/{code}"
    assert "保存评标办法" not in (await client.get(page)).text  # the form is gone once bidding starts
    frozen = await post_form(client, f"/party/projects/{code}/evaluation-scheme", data, page=page)
    assert frozen.status_code == 409 and "评标办法已固定" in frozen.text


# ----------------------------------------------------------------------------- the committee request


def _beijing(moment) -> str:
    return moment.astimezone(CENTER_ZONE).strftime("%Y-%m-%dT%H:%M")


async def test_the_center_requests_the_committee_on_the_tender_page(client, sessions, keys):
    code, _ = await hospital_project(sessions, keys, announced=True, bidders=1)
    async with transaction(sessions) as session:
        await committees.make_pool(session, 8, SPECIALTY)
        starts = (await database_now(session) + timedelta(days=2)).replace(second=0, microsecond=0)
    await as_user(client, "admin")
    page = f"/center/tenders/{code}"
    assert "申请抽取评标委员会" in (await client.get(page)).text
    data = {"evaluation_starts_at": _beijing(starts), "evaluation_ends_at": _beijing(starts + timedelta(hours=4)),
            "place": "济宁市公共资源交易中心 第2评标室", "specialty": SPECIALTY, "count": "5", "reserve_count": "2",
            "representatives": "0"}
    done = await post_form(client, f"/center/tenders/{code}/committee", data, page=page)
    assert done.status_code in (302, 303), done.text
    async with transaction(sessions) as session:
        request = await session.scalar(select(CommitteeRequest).where(CommitteeRequest.project_code == code))
        group = await session.scalar(select(CommitteeGroup).where(CommitteeGroup.request_id == request.id))
    assert request.starts_at == starts and request.ends_at == starts + timedelta(hours=4)
    assert request.place == "济宁市公共资源交易中心 第2评标室"
    assert (group.specialty_code, group.count, group.reserve_count) == (SPECIALTY, 5, 2)
    shown = (await client.get(page)).text
    assert f"已申请抽取评标委员会（编号 {request.id}）" in shown and "申请抽取评标委员会</button>" not in shown


async def test_a_wrong_committee_request_is_refused_beside_its_field_with_the_input_kept(client, sessions, keys):
    code, _ = await hospital_project(sessions, keys, announced=True)
    await as_user(client, "admin")
    page, path = f"/center/tenders/{code}", f"/center/tenders/{code}/committee"
    data = {"evaluation_starts_at": "2030-05-06T09:00", "evaluation_ends_at": "2030-05-06T08:00", "place": "第5评标室",
            "specialty": SPECIALTY, "count": "5", "reserve_count": "1", "representatives": "0"}
    refused = await post_form(client, path, data, page=page)
    assert refused.status_code == 400
    assert field_error(refused.text, "evaluation_ends_at") == "评标结束时间应晚于开始时间"
    assert 'value="第5评标室"' in refused.text and 'value="2030-05-06T09:00"' in refused.text
    wrong = await post_form(client, path, {**data, "evaluation_ends_at": "明天", "count": "0", "place": ""}, page=page)
    assert wrong.status_code == 400
    assert field_error(wrong.text, "evaluation_ends_at").startswith("评标结束时间格式有误")
    assert field_error(wrong.text, "count") == "抽取人数应为 1 至 50 的整数"
    assert field_error(wrong.text, "place") == "请填写评标地点"
    async with transaction(sessions) as session:
        assert await session.scalar(select(CommitteeRequest).where(CommitteeRequest.project_code == code)) is None


async def test_the_committee_request_is_refused_to_the_party_and_a_bidder(client, sessions, keys):
    code, _ = await hospital_project(sessions, keys, announced=True)
    data = {"evaluation_starts_at": "2030-05-06T09:00", "evaluation_ends_at": "2030-05-06T13:00", "place": "第5评标室",
            "specialty": SPECIALTY, "count": "5", "reserve_count": "1"}
    for username in ("tenderer", "bidder1"):
        await as_user(client, username)
        refused = await post_form(client, f"/center/tenders/{code}/committee", data, page="/workspace")
        assert refused.status_code == 403, username


# ----------------------------------------------------------------------------- the end of the opening


async def test_the_center_finishes_the_opening_once_the_window_has_closed(client, sessions, keys):
    async with transaction(sessions) as session:
        tender, bidders = await opening.tender_with_bids(session, keys, [5_000_000_00, 5_100_000_00, 5_200_000_00])
        await start_opening(session, keys, actor="test", project_code=tender.code)
        for code, signing_key in bidders:
            await opening.hand_in_and_open(session, keys, tender.code, code,
                                           await opening.k_b_of(session, tender, code, signing_key))
    await as_user(client, "admin")
    page, path = f"/center/tenders/{tender.code}", f"/center/tenders/{tender.code}/opening/finish"
    during = await client.get(page)
    assert "解密时限结束后可结束开标" in during.text and "结束开标</button>" not in during.text
    early = await post_form(client, path, {}, page=page)
    assert early.status_code == 422 and "尚未届满" in early.text  # the service's refusal, above the button
    assert await state_of(sessions, tender.code) == "opening"
    async with transaction(sessions) as session:
        await opening.window_passes(session, tender)
    assert "结束开标</button>" in (await client.get(page)).text
    await as_user(client, "tenderer")
    assert (await post_form(client, path, {}, page="/workspace")).status_code == 403
    await as_user(client, "admin")
    finished = await post_form(client, path, {}, page=page)
    assert finished.status_code in (302, 303), finished.text
    assert await state_of(sessions, tender.code) == "evaluating"
    assert "开标已结束" in (await client.get(page)).text


# ----------------------------------------------------------------------------- the evaluation session


async def test_the_center_starts_the_evaluation_session(client, sessions, keys):
    async with transaction(sessions) as session:
        tender, _, _ = await evaluation.opened_tender(session, keys, [5_000_000_00, 5_100_000_00, 5_200_000_00])
    page, path = f"/center/tenders/{tender.code}", f"/center/tenders/{tender.code}/evaluation"
    await as_user(client, "supervisor")
    assert (await post_form(client, path, {}, page="/workspace")).status_code == 403
    await as_user(client, "admin")
    assert "开始评标</button>" in (await client.get(page)).text
    started = await post_form(client, path, {}, page=page)
    assert started.status_code in (302, 303), started.text
    async with transaction(sessions) as session:
        rounds = (await session.scalars(select(EvaluationSession).where(
            EvaluationSession.project_id == tender.id))).all()
    assert [r.round for r in rounds] == [1]
    shown = (await client.get(page)).text
    assert "评标进行中" in shown and "开始评标</button>" not in shown
    again = await post_form(client, path, {}, page=page)  # a second start is refused above the button
    assert again.status_code == 409 and "第 1 轮评标尚未结束" in again.text
