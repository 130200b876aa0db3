"""What a bidder sees of the opening (sealed-bid.md "Opening", revision 2), asked over HTTP as
a bidder's own client would: during the decryption window its own entry and how many bidders
have handed in, never a rival's name, price or objection (the API, the opening page and its
fragment, the live stream); once the window has closed, the whole record, for every bidder
and the public. Also the two refusals whose wording revision 2 fixes (「已已被替换」,
「已未解密」)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bidding.opening.proceedings import (
    close_window,
    hand_in_bidder_half,
    raise_objection,
    record_other_failure,
    start_opening,
)
from tests.common import bids
from tests.common.portal import bearer, log_in
from tests.common.opening import hand_in_and_open, k_b_of, window_passes
from tests.common.tenders import tender_project
from trading.database import make_sessionmaker, transaction
from trading.errors import Conflict
from trading.event_hub import EventHub
from trading.keys import CenterKeys, load_center_keys
from trading.organisations import Organisation
from trading.settings import Settings
from web.app import create_app
from web.pages.bidder_opening import opening_events

TAIHE = "91370802MA3456789Q"  # demo bidder3: no credit records


@pytest.fixture(scope="module")
async def client(demo, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def center(settings: Settings, client) -> CenterKeys:
    return load_center_keys(settings)  # the app's own keys


async def as_user(client: AsyncTestClient, username: str) -> None:
    client.cookies.clear()
    assert (await log_in(client, username)).status_code in (302, 303)


async def three_bids_in_the_window(engine: AsyncEngine, center: CenterKeys):
    """bidder1 (LUJIAN), bidder3 (TAIHE) and a third bidder without an account bid; the opening
    starts; the third hands in and is opened, TAIHE hands in (pending), LUJIAN has not yet."""
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_project(session, center, "bidding")
        bidders = {}
        for credit_code, price in ((bids.LUJIAN, 98_000_000), (TAIHE, 97_654_300), (None, 99_876_500)):
            code, signing_key = await bids.bidder(session, tender.code, credit_code)
            _, ciphertext, envelope = await bids.sealed(session, tender.code, code, signing_key, price_fen=price)
            await bids.submit(session, center, tender.code, code, envelope, ciphertext)
            bidders[credit_code or "third"] = (code, signing_key)
        await bids.deadline_passes(session, tender.code)
        await start_opening(session, center, actor="admin", project_code=tender.code)
        third, third_key = bidders["third"]
        await hand_in_and_open(session, center, tender.code, third, await k_b_of(session, tender, third, third_key))
        await hand_in_bidder_half(session, center, actor=TAIHE, project_code=tender.code, bidder_credit_code=TAIHE,
                                  k_b_hex=await k_b_of(session, tender, TAIHE, bidders[TAIHE][1]))
        await raise_objection(session, actor="bidder3", project_code=tender.code, text="泰和对唱标顺序有异议",
                              bidder_credit_code=TAIHE)
        names = dict((await session.execute(select(Organisation.credit_code, Organisation.name).where(
            Organisation.credit_code.in_([TAIHE, third])))).all())
    return tender, bidders, names


def rivals_absent(text: str, rivals: dict[str, str]) -> None:
    for code, name in rivals.items():
        assert code not in text and name not in text, (code, name)
    for price in ("97654300", "976,543.00", "99876500", "998,765.00"):
        assert price not in text, price
    assert "泰和对唱标顺序有异议" not in text


async def test_during_the_window_a_bidder_sees_its_own_entry_and_the_count_and_after_it_the_whole_record(
        client, center, engine):
    tender, bidders, rivals = await three_bids_in_the_window(engine, center)
    path = f"/api/projects/{tender.code}/opening"
    bidder1 = await bearer(client, "bidder1")

    # The API: its own entry and how many have handed in (2: the third, opened, and TAIHE, pending).
    mine = await client.get(f"{path}/mine", headers=bidder1)
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert set(body) == {"project", "window_ends_at", "window_closed", "max_price_fen", "handed_in", "entry"}
    assert (body["handed_in"], body["window_closed"]) == (2, False)
    assert body["entry"]["bidder_credit_code"] == bids.LUJIAN and body["entry"]["state"] == "pending"
    rivals_absent(mine.text, rivals)
    assert (await client.get(path, headers=bidder1)).status_code == 403  # the record: supervisors only, for now
    assert (await client.get(path)).status_code == 401

    # The opening page and the fragment its script re-reads on every live event.
    await as_user(client, "bidder1")
    for page_path in (f"/bidder/tenders/{tender.code}/opening", f"/bidder/tenders/{tender.code}/opening/state"):
        page = await client.get(page_path)
        assert page.status_code == 200
        assert '<span id="handed-in-count">2</span> 家投标人' in page.text
        rivals_absent(page.text, rivals)
        assert 'class="list opening-record"' not in page.text

    # The window closes: every bidder sees the whole record, as the public does.
    async with transaction(make_sessionmaker(engine)) as session:
        await window_passes(session, tender)
        await close_window(session, actor="admin", project_code=tender.code, keys=center)
    body = (await client.get(f"{path}/mine", headers=bidder1)).json()
    assert body["window_closed"] is True
    record = await client.get(path, headers=bidder1)
    assert record.status_code == 200
    prices = {entry["bidder_credit_code"]: entry["price_fen"] for entry in record.json()["entries"]}
    assert prices == {bids.LUJIAN: None, TAIHE: 97_654_300, bidders["third"][0]: 99_876_500}
    assert (await client.get(path)).status_code == 200  # published
    state = (await client.get(f"/bidder/tenders/{tender.code}/opening/state")).text
    for code, name in rivals.items():
        assert name in state
    assert "976,543.00 元" in state and "998,765.00 元" in state and "泰和对唱标顺序有异议" in state
    public = (await client.get(f"/tenders/{tender.code}")).text
    assert rivals[TAIHE] in public and "976,543.00" in public


async def test_the_live_stream_passes_on_kinds_only(client, center, engine, database_url):
    tender, bidders, rivals = await three_bids_in_the_window(engine, center)
    hub = EventHub.for_url(database_url, health_seconds=1.0)
    await hub.start()
    await hub.wait_connected()
    stream = opening_events(hub, f"opening:{tender.code}")
    try:
        first = await asyncio.wait_for(anext(stream), 5)
        assert first.event == "ready"
        # A failure is announced with the bidder's code in the event's data ...
        async with transaction(make_sessionmaker(engine)) as session:
            await record_other_failure(session, actor="admin", project_code=tender.code,
                                       bidder_credit_code=bids.LUJIAN, reason="平台故障")
        message = await asyncio.wait_for(anext(stream), 5)
        # ... and reaches the bidder's stream as its kind alone.
        assert message.event == "opening.not_decrypted"
        assert json.loads(message.data) == {"kind": "opening.not_decrypted"}
    finally:
        await stream.aclose()
        await hub.stop()


async def test_a_settled_entry_refuses_a_hand_in_in_a_sentence_that_reads(demo, session, keys):
    tender, [(opened, opened_key), (failed, failed_key)] = await _two_in_the_window(session, keys)
    await hand_in_and_open(session, keys, tender.code, opened, await k_b_of(session, tender, opened, opened_key))
    await record_other_failure(session, actor="admin", project_code=tender.code, bidder_credit_code=failed,
                               reason="平台故障")
    with pytest.raises(Conflict) as again:
        await hand_in_bidder_half(session, keys, actor=failed, project_code=tender.code, bidder_credit_code=failed,
                                  k_b_hex=await k_b_of(session, tender, failed, failed_key))
    assert again.value.message == "该投标文件已按未解密处理，不能再次解密"  # not 「已未解密」
    with pytest.raises(Conflict) as decrypted:
        await hand_in_bidder_half(session, keys, actor=opened, project_code=tender.code, bidder_credit_code=opened,
                                  k_b_hex=await k_b_of(session, tender, opened, opened_key))
    assert decrypted.value.message == "该投标文件已解密，不能再次解密"  # not 「已已解密」
    with pytest.raises(Conflict) as settled:
        await record_other_failure(session, actor="admin", project_code=tender.code, bidder_credit_code=failed,
                                   reason="再次")
    assert settled.value.message == "该投标文件已按未解密处理"
    with pytest.raises(Conflict) as settled:
        await record_other_failure(session, actor="admin", project_code=tender.code, bidder_credit_code=opened,
                                   reason="再次")
    assert settled.value.message == "该投标文件已解密"


async def _two_in_the_window(session, keys):
    from tests.common.opening import tender_with_bids

    tender, bidders = await tender_with_bids(session, keys, [100_000_000, 100_500_000])
    await start_opening(session, keys, actor="admin", project_code=tender.code)
    return tender, bidders
