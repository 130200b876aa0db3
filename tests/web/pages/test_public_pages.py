"""The public pages (信息公开): the home, the announcement list with its filters, Chinese
substring search and keyset pages, the Atom feeds, and a tender's page that shows only what
is public at that moment — before the opening, nothing about bids or bidders."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import unescape
from xml.etree import ElementTree

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from bidding.notice.announcements import publish_announcement
from bidding.award.award_notice import issue_award_notice
from bidding.notice.clarifications import ask_question, publish_clarification
from bidding.opening.proceedings import start_opening
from bidding.tender.projects import Project, register_project
from bidding.award.publicity import publish_candidates
from bidding.tender.chronograph import run_due_steps
from bidding.reading.listing import day_start
from cli.demo import PROJECTS, load_demo_data
from tests.common import award_world as world
from tests.common import factories
from tests.common import bids
from tests.common import opening
from tests.common.portal import log_in
from tests.common.tenders import tender_project
from trading.database import database_now, make_sessionmaker, transaction
from trading.keys import load_center_keys
from trading.organisations import Organisation, register_region
from trading.settings import Settings
from trading.timefmt import CENTER_ZONE
from web.app import create_app

ATOM = "{http://www.w3.org/2005/Atom}"
ROW_TITLE = re.compile(r'<a class="listing-title" href="([^"]+)">\s*<span class="kind[^"]*">[^<]*</span>([^<]*)</a>')
NEXT = re.compile(r'<a class="next" rel="next" href="([^"]+)"')
PAGED = 25


@dataclass
class World:
    road: str  # construction in 任城区 (370811), 1,234,567.89 yuan
    hospital: str  # procurement in 兖州区 (370812)
    land: str
    paging: str
    sealed: str  # in bidding with two sealed bids
    sealed_bidders: list[tuple[str, str]]  # (name, credit code)
    question: str
    opened: str  # opening started, window open
    opened_bidders: list[tuple[str, str]]
    awarded: str
    award_number: str
    winner: str
    today: str  # opens today


async def named_bidder(session, name: str) -> tuple[str, str]:
    organisation = await factories.organisation(session, "bidder", name=name)
    return name, organisation.credit_code


async def sealed_bid(session, keys, code: str, credit_code: str, price: int = 123_456_700) -> None:
    _, signing_key = await bids.bidder(session, code, credit_code)
    _, ciphertext, envelope = await bids.sealed(session, code, credit_code, signing_key, price_fen=price)
    await bids.submit(session, keys, code, credit_code, envelope, ciphertext)


async def project(session, code: str, title: str, category: str, method: str, region: str, fen: int,
                  party_id: int) -> Project:
    registered = await register_project(session, actor="test", code=code, title=title, category=category, method=method,
                                        region_code=region, tendering_party_id=party_id, estimate_fen=fen)
    await publish_announcement(session, actor="test", project=registered, kind="tender", title=f"{title}招标公告",
                               body=f"项目编号：{code}。")
    return registered


@pytest.fixture(scope="module")
async def world_(settings: Settings, engine) -> World:
    keys = load_center_keys(settings)  # the app's own keys
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        await load_demo_data(session, pools=False)
        await register_region(session, actor="test", code="370811", name="任城区", parent_code="370800")
        await register_region(session, actor="test", code="370812", name="兖州区", parent_code="370800")
        party = await factories.organisation(session, "tendering_party", name="济宁市城乡建设管理处")
        road = await project(session, "JN-2026-GC-P001", "任城区长青路道路改造工程", "construction", "open_tender",
                             "370811", 1_234_567_89, party.id)
        hospital = await project(session, "JN-2026-CG-P002", "兖州区人民医院CT设备采购", "government_procurement",
                                 "public_tender", "370812", 3_000_000_00, party.id)
        # (Only construction and procurement have rule sets so far: the other categories wait for theirs.)
        land = await project(session, "JN-2026-GC-P003", "太白湖新区污水处理厂工程", "construction",
                             "open_tender", "370800", 50_000_000_00, party.id)
        paging = await register_project(session, actor="test", code="JN-2026-GC-P004", title="分页测试工程",
                                        category="construction", method="open_tender", region_code="370800",
                                        tendering_party_id=party.id, estimate_fen=1_00)
        for number in range(1, PAGED + 1):
            await publish_announcement(session, actor="test", project=paging, kind="change",
                                       title=f"分页测试工程变更公告第{number:02d}号", body="变更")
        today = await register_project(session, actor="test", code="JN-2026-GC-P005", title="今日开标的泵站工程",
                                       category="construction", method="open_tender", region_code="370800",
                                       tendering_party_id=party.id, estimate_fen=9_00)
        local_today = (await database_now(session)).astimezone(CENTER_ZONE).date()
        await session.execute(update(Project).where(Project.id == today.id).values(
            bid_deadline=day_start(local_today) + timedelta(hours=12)))

        # In bidding: two sealed bids and an answered question.
        sealed = await tender_project(session, keys, "bidding")
        sealed_bidders = [await named_bidder(session, "秘密投标甲建设有限公司"),
                          await named_bidder(session, "秘密投标乙工程有限公司")]
        for _, credit_code in sealed_bidders:
            await sealed_bid(session, keys, sealed.code, credit_code)
        asker = await session.scalar(select(Organisation.id).where(Organisation.credit_code == sealed_bidders[0][1]))
        question = await ask_question(session, actor="user:bidder", project_code=sealed.code,
                                      bidder_organisation_id=asker, text="第三章工程量清单第12项的单位是否有误？")
        await publish_clarification(session, actor="test", project_code=sealed.code, title="关于工程量清单的澄清",
                                    body="第12项单位为立方米。", answers=[question.id])

        # At the opening: the window still open.
        opened = await tender_project(session, keys, "bidding")
        opened_bidders = [await named_bidder(session, "开标投标丙建设有限公司"),
                          await named_bidder(session, "开标投标丁建设有限公司")]
        for index, (_, credit_code) in enumerate(opened_bidders):
            await sealed_bid(session, keys, opened.code, credit_code, price=100_000_00 + index)
        await bids.deadline_passes(session, opened.code)
        await start_opening(session, keys, actor="admin", project_code=opened.code)

        # Awarded, with the signed award notice.
        names = [await named_bidder(session, name)
                 for name in ("中标候选甲建设集团有限公司", "中标候选乙建设有限公司", "中标候选丙建设有限公司")]
        tender = await world.tender_in_evaluation(session, keys, [98_765_432_10, 99_000_000_00, 101_000_000_00],
                                                  credit_codes=[code for _, code in names])
        await world.report(session, tender, ["92.50", "90.10", "85.00"])
        await publish_candidates(session, actor="admin", project_code=tender.code)
        await world.let_time_pass(session, tender.code, days=4)
        assert (tender.code, "award") in await run_due_steps(session)
        notice = await issue_award_notice(session, keys, actor="admin", project_code=tender.code,
                                          public_url=settings.public_url)
    return World(road=road.code, hospital=hospital.code, land=land.code, paging=paging.code, sealed=sealed.code,
                 sealed_bidders=sealed_bidders, question="第三章工程量清单第12项的单位是否有误？", opened=opened.code,
                 opened_bidders=opened_bidders, awarded=tender.code, award_number=notice.number, winner=names[0][0],
                 today=today.code)


@pytest.fixture(scope="module")
async def client(world_: World, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def anonymous(client: AsyncTestClient) -> None:
    client.cookies.clear()


def titles(page_text: str) -> list[str]:
    return [unescape(title).strip() for _, title in ROW_TITLE.findall(page_text)]


async def listed(client: AsyncTestClient, **params: str) -> list[str]:
    page = await client.get("/tenders", params=params)
    assert page.status_code == 200, page.text[:500]
    return titles(page.text)


# ----------------------------------------------------------------------------- home


async def test_the_home_shows_each_categorys_latest_todays_openings_and_key_figures(client, world_):
    page = await client.get("/")
    assert page.status_code == 200
    text = page.text
    for category in ("工程建设", "政府采购", "土地和矿业权", "国有产权"):
        assert category in text
    assert "兖州区人民医院CT设备采购招标公告" in text and "济宁市测试综合楼工程中标结果公告" in text
    assert text.count("暂无公告") == 2  # no land or state property announcement yet
    openings = text.split('id="todays-openings"')[1].split("</section>")[0]
    assert "今日开标的泵站工程" in openings and "12:00" in openings
    assert "本年度进场项目" in text and "本年度中标金额" in text
    for header_link in ('href="/tenders"', 'href="/credit"', 'href="/verify"'):
        assert header_link in text
    assert 'href="/feeds/construction.atom"' in text


# ----------------------------------------------------------------------------- the list


async def test_the_list_filters_by_category_region_state_kind_and_date(client, world_):
    assert titles((await client.get("/tenders", params={"category": "government_procurement"})).text) == [
        "兖州区人民医院CT设备采购招标公告", f"{PROJECTS[2][1]}招标公告"]
    # 370800 takes in its districts; 370811 only itself.
    in_city = await listed(client, region="370800", kind="tender")
    assert "任城区长青路道路改造工程招标公告" in in_city and "兖州区人民医院CT设备采购招标公告" in in_city
    assert await listed(client, region="370811") == ["任城区长青路道路改造工程招标公告"]
    assert "分页测试工程变更公告第25号" not in await listed(client, kind="tender")
    assert await listed(client, state="awarded", kind="result") != []
    today = datetime.now(CENTER_ZONE).date()  # the database clock is this machine's
    assert "任城区长青路道路改造工程招标公告" in await listed(client, date_from=today.isoformat(),
                                                              date_to=today.isoformat(), q="长青路")
    assert await listed(client, date_from=(today + timedelta(days=1)).isoformat()) == []


async def test_amounts_are_typed_in_yuan_and_compared_in_exact_fen(client, world_):
    # The road's estimate is 1,234,567.89 yuan: one fen either way decides.
    assert await listed(client, q="长青路", min_amount="1234567.89") == ["任城区长青路道路改造工程招标公告"]
    assert await listed(client, q="长青路", min_amount="1,234,567.90") == []
    assert await listed(client, q="长青路", max_amount="１２３４５６７.８９元") == ["任城区长青路道路改造工程招标公告"]
    assert await listed(client, q="长青路", max_amount="1234567.88") == []


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"min_amount": "12.345"}, "min_amount", "最低金额应为以元为单位的数字，最多两位小数"),
    ({"max_amount": "一百万"}, "max_amount", "最高金额应为以元为单位的数字"),
    ({"min_amount": "500", "max_amount": "100"}, "max_amount", "最高金额不能低于最低金额"),
    ({"date_from": "2026-13-01"}, "date_from", "开始日期格式应为 年-月-日"),
    ({"date_from": "2026-11-23", "date_to": "2026-11-01"}, "date_to", "结束日期不能早于开始日期"),
    ({"category": "weapons"}, "category", "未知的交易类别"),
])
async def test_a_wrong_filter_is_refused_in_chinese_beside_its_field_and_kept_as_typed(client, params, field, message):
    page = await client.get("/tenders", params={"q": "长青路", **params})
    assert page.status_code == 400
    error = re.search(rf'<p class="field-error" id="e-{field}">([^<]*)</p>', page.text)
    assert error and message in error.group(1), page.text[:3000]
    typed = params[field]
    if field != "category":
        assert f'value="{typed}"' in page.text  # nothing typed is lost
    assert 'value="长青路"' in page.text
    assert titles(page.text) == []


async def test_chinese_substrings_of_titles_and_parties_are_found(client, world_):
    # Three characters or more: the trigram index; any substring, not only words.
    assert await listed(client, q="长青路") == ["任城区长青路道路改造工程招标公告"]
    assert await listed(client, q="青路道路改") == ["任城区长青路道路改造工程招标公告"]
    # The tendering party's name finds its tenders (no title carries it).
    assert set(await listed(client, q="城乡建设管理处", kind="tender")) >= {
        "任城区长青路道路改造工程招标公告", "兖州区人民医院CT设备采购招标公告"}
    # The project code, case-insensitively; LIKE's own characters are taken literally.
    assert await listed(client, q="jn-2026-cg-p002") == ["兖州区人民医院CT设备采购招标公告"]
    assert await listed(client, q="100%") == [] and await listed(client, q="P00_") == []
    # The winner is named by the result announcement: searchable once published.
    assert any("结果" in title for title in await listed(client, q=world_.winner))


async def test_one_and_two_character_searches_are_exact_and_say_they_may_be_slower(client, world_):
    page = await client.get("/tenders", params={"q": "医院"})
    assert "少于 3 个字" in page.text
    found = titles(page.text)
    assert "兖州区人民医院CT设备采购招标公告" in found and f"{PROJECTS[0][1]}招标公告" in found
    assert await listed(client, q="湖", kind="tender") == ["太白湖新区污水处理厂工程招标公告"]
    assert "少于" not in (await client.get("/tenders", params={"q": "长青路"})).text


async def test_pages_follow_one_another_newest_first_without_repeats(client, world_):
    first = await client.get("/tenders", params={"q": "分页测试工程变更"})
    assert titles(first.text) == [f"分页测试工程变更公告第{n:02d}号" for n in range(PAGED, PAGED - 20, -1)]
    next_url = unescape(NEXT.search(first.text).group(1))
    assert "q=" in next_url and "before=" in next_url
    second = await client.get(next_url)
    assert titles(second.text) == [f"分页测试工程变更公告第{n:02d}号" for n in range(PAGED - 20, 0, -1)]
    assert NEXT.search(second.text) is None and "第一页" in second.text
    wrong = await client.get("/tenders", params={"before": "999999999"})
    assert wrong.status_code == 400 and "分页位置无效" in wrong.text


async def test_the_list_works_without_javascript_and_links_each_row_to_its_tender(client, world_):
    page = await client.get("/tenders", params={"q": "长青路"})
    assert '<form class="listing-filters" method="get" action="/tenders"' in page.text
    (href, _), = ROW_TITLE.findall(page.text)
    assert href.startswith(f"/tenders/{world_.road}#announcement-")
    tender = await client.get(href.split("#")[0])
    assert tender.status_code == 200 and "任城区长青路道路改造工程" in tender.text
    assert href.split("#")[1] in tender.text  # the anchor exists


# ----------------------------------------------------------------------------- feeds


async def test_each_category_has_a_valid_atom_feed_linking_to_tender_pages(client, world_, settings):
    answer = await client.get("/feeds/government_procurement.atom")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(answer.content)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{required}").text
    assert feed.find(f"{ATOM}author/{ATOM}name").text
    assert feed.find(f"{ATOM}link[@rel='self']").get("href").endswith("/feeds/government_procurement.atom")
    entries = feed.findall(f"{ATOM}entry")
    assert [entry.find(f"{ATOM}title").text for entry in entries] == [
        "【招标公告】兖州区人民医院CT设备采购招标公告", f"【招标公告】{PROJECTS[2][1]}招标公告"]
    ids = set()
    for entry in entries:
        ids.add(entry.find(f"{ATOM}id").text)
        assert entry.find(f"{ATOM}updated").text
        link = entry.find(f"{ATOM}link").get("href")
        assert link.startswith(f"{settings.public_url}/tenders/")
        page = await client.get(link.removeprefix(settings.public_url))
        assert page.status_code == 200
    assert len(ids) == len(entries)
    assert (await client.get("/feeds/weapons.atom")).status_code == 404
    assert (await client.get("/feeds/construction.rss")).status_code == 404


# ----------------------------------------------------------------------------- the tender page


async def test_before_the_opening_the_tender_page_shows_no_bid_and_no_bidder(client, world_, engine):
    page = await client.get(f"/tenders/{world_.sealed}")
    assert page.status_code == 200
    text = page.text
    assert "济宁市测试道路工程" in text and "招标公告与招标文件" in text
    assert f'href="/tenders/{world_.sealed}/documents/1"' in text  # the documents' versions
    assert "关于工程量清单的澄清" in text and world_.question in text and "问题1" in text  # asker not named
    for name, credit_code in world_.sealed_bidders:
        assert name not in text and credit_code not in text
    assert "开标记录" not in text and "投标报价" not in text
    assert "开标前不公开任何投标信息" in text
    # Signed in as one of the bidders, a supervisor or the center: the public page is the same.
    await log_in(client, "supervisor")
    again = await client.get(f"/tenders/{world_.sealed}")
    for name, credit_code in world_.sealed_bidders:
        assert name not in again.text and credit_code not in again.text


async def test_the_opening_record_is_public_only_once_the_decryption_window_closes(client, world_, engine):
    during = await client.get(f"/tenders/{world_.opened}")
    assert during.status_code == 200 and "开标进行中" in during.text
    for name, credit_code in world_.opened_bidders:
        assert name not in during.text and credit_code not in during.text
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await session.scalar(select(Project).where(Project.code == world_.opened))
        await opening.window_passes(session, tender)
    after = await client.get(f"/tenders/{world_.opened}")
    assert "开标记录" in after.text
    for name, _ in world_.opened_bidders:
        assert name in after.text
    assert "未解密" in after.text or "待解密" in after.text


async def test_an_awarded_tender_shows_candidates_the_winner_and_the_notice_verification(client, world_):
    page = await client.get(f"/tenders/{world_.awarded}")
    text = page.text
    assert "中标候选人公示" in text and "中标候选甲建设集团有限公司" in text and "中标候选乙建设有限公司" in text
    assert "98,765,432.10" in text and "92.50" in text
    assert f'href="/verify/award-notices/{world_.award_number}"' in text
    verification = await client.get(f"/verify/award-notices/{world_.award_number}")
    assert verification.status_code == 200 and world_.winner in verification.text


async def test_document_files_go_to_logged_in_users_only_published_versions(client, world_):
    path = f"/tenders/{world_.sealed}/documents/1"
    anonymous = await client.get(path, follow_redirects=False)
    assert anonymous.status_code in (302, 303) and anonymous.headers["location"].startswith("/login?next=")
    await log_in(client, "bidder3")
    answer = await client.get(path)
    assert answer.status_code == 200 and answer.content == factories.tender_documents().content
    assert "attachment" in answer.headers["content-disposition"]
    assert (await client.get(f"/tenders/{world_.sealed}/documents/2")).status_code == 404
    assert (await client.get(f"/tenders/{world_.today}/documents/1")).status_code == 409  # never announced


async def test_an_unknown_tender_is_a_chinese_404(client):
    page = await client.get("/tenders/NO-SUCH-CODE")
    assert page.status_code == 404 and "未找到项目" in page.text


async def test_the_verification_index_sends_a_number_to_its_page(client):
    page = await client.get("/verify")
    assert page.status_code == 200 and "中标通知书" in page.text and 'name="award_notice"' in page.text
    for params, target in (({"award_notice": " ZBTZ2026000001 "}, "/verify/award-notices/ZBTZ2026000001"),
                           ({"receipt": "R1/2"}, "/verify/receipts/R1%2F2"), ({"draw": "D-1"}, "/draws/D-1")):
        answer = await client.get("/verify", params=params, follow_redirects=False)
        assert answer.status_code in (302, 303) and answer.headers["location"] == target
