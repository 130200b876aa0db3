"""Two deployments on loopback (issue 7): city A (济宁, 370800) borrows experts from city B
(济南, 370100). Two databases, two keys, two ``trading serve`` processes, real HTTP.

The whole exchange: registry, remote draw with B's key, witness from A's supervisor,
a decline relayed to B's reserves, the sealed reveal opened at A's session start, the
mixed committee, ``trading draw verify --partner``, attendance and ratings landing in B's
pool management; every refusal of a signed request; an unreachable partner (timeout,
idempotent retry, local fallback said so in the record); a cancellation.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx
import nacl.signing
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bidding.draws.partner_client import send
from cli.demo import DEMO_PASSWORD
from expert_pool.committees import avoided_bidders_digest
from expert_pool.models import Expert
from tests.conftest import create_database_from_template, with_settings
from tests.common.live_server import LiveServer
from trading.accounts import create_user
from trading.canonical import canon
from trading.database import make_engine, make_sessionmaker, run_as_server_admin, transaction
from trading.federation_wire import NONCE, sign_request, verify_response
from trading.keys import load_center_keys
from trading.organisations import Organisation
from trading.partners import Partner
from trading.settings import Settings
from adapters.partner_gateway import HttpPartnerGateway

A_CITY, B_CITY, DEAD_CITY = "370800", "370100", "370200"
PROJECT, OTHER_PROJECT = "JN-2026-GC-0007", "JN-2026-GC-0008"
TIMEOUT = 2
GATEWAY = HttpPartnerGateway()


class CityServer(LiveServer):
    """``trading serve --demo`` as one city: its own database, var/ (keys) and city code."""

    def __init__(self, settings: Settings, database_url: str, city: str, name: str) -> None:
        super().__init__(settings, database_url, demo=True)
        self.city, self.name = city, name

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(TRADING_CITY_CODE=self.city, TRADING_CITY_NAME=self.name,
                   TRADING_FEDERATION_TIMEOUT_SECONDS=str(TIMEOUT))
        return env


@dataclass
class Cities:
    a: CityServer
    b: CityServer
    a_settings: Settings
    b_settings: Settings
    a_engine: AsyncEngine
    b_engine: AsyncEngine
    tokens: dict[tuple[str, str], str]

    def headers(self, city: str, username: str) -> dict[str, str]:
        server = self.a if city == "a" else self.b
        key = (city, username)
        if key not in self.tokens:
            self.tokens[key] = server.token(username, DEMO_PASSWORD)
        return {"Authorization": f"Bearer {self.tokens[key]}"}

    def post(self, city: str, username: str, path: str, body: dict | None = None) -> httpx.Response:
        server = self.a if city == "a" else self.b
        return httpx.post(server.url + path, json=body or {}, headers=self.headers(city, username), timeout=30)

    def get(self, city: str, username: str, path: str) -> httpx.Response:
        server = self.a if city == "a" else self.b
        return httpx.get(server.url + path, headers=self.headers(city, username), timeout=30)


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a partner that hangs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


@pytest.fixture(scope="module")
async def cities(settings: Settings, database_url: str, server_url: str, template_url: str,
                 tmp_path_factory: pytest.TempPathFactory, silent_port: int) -> AsyncIterator[Cities]:
    b_url = await create_database_from_template(server_url, template_url, "federation_city_b")
    b_var = tmp_path_factory.mktemp("var_b")
    b_settings = with_settings(settings, var_dir=b_var, database_url=b_url, database_name=make_url(b_url).database,
                               signing_key_path=b_var / "keys" / "signing.key", kek_path=b_var / "keys" / "kek.key",
                               session_secret_path=b_var / "keys" / "session.key", city_code=B_CITY, city_name="济南市")
    a_settings = with_settings(settings, city_code=A_CITY)
    a = CityServer(settings, database_url, A_CITY, "济宁市").start()
    b = CityServer(b_settings, b_url, B_CITY, "济南市").start()
    a_engine, b_engine = make_engine(database_url), make_engine(b_url)
    found = Cities(a=a, b=b, a_settings=a_settings, b_settings=b_settings, a_engine=a_engine, b_engine=b_engine,
                   tokens={})
    try:
        # Each center registers the other from what the other publishes (keys checked out of band).
        a_info = httpx.get(f"{a.url}/api/federation/city", timeout=10).json()
        b_info = httpx.get(f"{b.url}/api/federation/city", timeout=10).json()
        assert a_info["city_code"] == A_CITY and b_info["city_code"] == B_CITY
        assert b_info["verify_key"] == load_center_keys(b_settings).verify_key_hex
        assert found.post("a", "admin", "/api/partners", b_info).status_code == 201
        assert found.post("b", "admin", "/api/partners", a_info).status_code == 201
        dead = {**b_info, "city_code": DEAD_CITY, "name": "青岛市", "base_url": f"http://127.0.0.1:{silent_port}"}
        assert found.post("a", "admin", "/api/partners", dead).status_code == 201
        yield found
    finally:
        a.stop()
        b.stop()
        await a_engine.dispose()
        await b_engine.dispose()
        await run_as_server_admin(server_url, f'DROP DATABASE IF EXISTS "{make_url(b_url).database}" WITH (FORCE)')


async def _now(engine: AsyncEngine) -> datetime:
    async with engine.connect() as connection:
        return await connection.scalar(text("SELECT now()"))


async def _committee(cities: Cities, project: str, starts_in: timedelta, specialty: str, count: int = 5) -> dict:
    start = await _now(cities.a_engine) + starts_in
    body = {"project_code": project, "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=4)).isoformat(),
            "place": "济宁市公共资源交易中心 第2评标室", "groups": [{"specialty": specialty, "count": count,
                                                                     "reserve_count": 1}]}
    made = cities.post("a", "admin", "/api/committees", body)
    assert made.status_code == 201, made.text
    return made.json()


async def _rows(engine: AsyncEngine, sql: str, **params) -> list:
    async with engine.connect() as connection:
        return list((await connection.execute(text(sql), params)).all())


async def _session_starts(engine: AsyncEngine, committee_ids: list[int]) -> None:
    """Move a session's start into the past (instead of waiting for it)."""
    async with engine.begin() as connection:
        for committee in committee_ids:
            await connection.execute(text(
                "UPDATE draws SET unseal_at = now() - interval '1 second' WHERE draw_id IN (SELECT d.draw_id FROM "
                "committee_draws d JOIN committee_groups g ON g.id = d.group_id WHERE g.request_id = :r)"), {"r": committee})
            await connection.execute(text(
                "UPDATE committee_requests SET starts_at = now() - interval '1 second' WHERE id = :r"), {"r": committee})


# ----------------------------------------------------------------------------- the registry


async def test_the_registry_through_the_api_and_the_command_line(cities, cli):
    listed = cities.get("a", "admin", "/api/partners").json()
    assert {p["city_code"] for p in listed} == {B_CITY, DEAD_CITY}
    assert cities.get("a", "bidder1", "/api/partners").status_code == 403
    again = cities.post("a", "admin", "/api/partners", {**listed[0]} | {"status": None})
    assert again.status_code == 409 and "已登记" in again.json()["error"]["message"]
    bad = cities.post("a", "admin", "/api/partners", {**listed[0], "city_code": "370300", "verify_key": "zz" * 32})
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "verify_key"

    key = nacl.signing.SigningKey.generate()
    added = await cli("partners", "add", "370400", "--name", "枣庄市", "--url", "http://127.0.0.1:9/",
                      "--verify-key", key.verify_key.encode().hex(),
                      "--exchange-key", key.verify_key.to_curve25519_public_key().encode().hex())
    assert added.exit_code == 0, added.output
    shown = await cli("partners", "list")
    assert "370400 枣庄市 http://127.0.0.1:9 [启用]" in shown.output and f"本中心：{A_CITY}" in shown.output
    disabled = await cli("partners", "disable", "370400", "--reason", "合作协议到期")
    assert disabled.exit_code == 0, disabled.output
    assert "370400 枣庄市 http://127.0.0.1:9 [已停用]" in (await cli("partners", "list")).output
    twice = await cli("partners", "disable", "370400", "--reason", "再次")
    assert twice.exit_code == 1 and "已停用" in twice.output
    audit = await _rows(cities.a_engine, "SELECT action FROM audit_log WHERE subject = 'partner:370400' ORDER BY seq")
    assert [row[0] for row in audit] == ["partner.added", "partner.disabled"]


# ----------------------------------------------------------------------------- the whole exchange


async def test_a_committee_with_experts_from_a_partner_is_formed_verified_and_rated_back(cities, cli, tmp_path):
    committee = await _committee(cities, PROJECT, timedelta(days=3), "A08")
    asked = cities.post("a", "admin", f"/api/committees/{committee['id']}/partner-draws",
                        {"partner": B_CITY, "groups": [{"specialty": "A08", "count": 2, "reserve_count": 2}]})
    assert asked.status_code == 201, asked.text
    remote = asked.json()
    request_id = remote["request_id"]
    assert remote["status"] == "committed" and remote["members"] is None
    [bundle] = remote["draws"]
    record = bundle["commit"]["record"]
    b_key = load_center_keys(cities.b_settings).verify_key_hex
    assert bundle["verify_key"] == b_key and bundle["witness"] is None
    # B drew over its own pool, with A's tendering party and bidders avoided.
    assert record["criteria"]["specialties"] == ["A08"] and record["project_code"] == f"{A_CITY}:{PROJECT}"
    b_draw = await _rows(cities.b_engine, "SELECT status FROM draws WHERE draw_id = :d", d=record["draw_id"])
    assert b_draw == [("committed",)]

    # Only A's supervisors witness; the value flows to B, whose experts are then booked and invited.
    assert cities.post("a", "admin", f"/api/partner-draws/{request_id}/witness",
                       {"draw_id": record["draw_id"], "value": "x"}).status_code == 403
    local_draw = committee["groups"][0]["draws"][0]
    assert cities.post("a", "supervisor", f"/api/draws/{local_draw}/witness", {"value": "本地见证 1"}).status_code == 201
    witnessed = cities.post("a", "supervisor", f"/api/partner-draws/{request_id}/witness",
                            {"draw_id": record["draw_id"], "value": "异地见证 7f3a"})
    assert witnessed.status_code == 201, witnessed.text
    assert witnessed.json()["draws"][0]["witness"]["value"] == "异地见证 7f3a"
    assert witnessed.json()["draws"][0]["reveal"] is None  # still sealed
    invited = await _rows(cities.b_engine,
                          "SELECT e.code, m.status FROM committee_members m JOIN experts e ON e.id = m.expert_id "
                          "WHERE m.draw_id = :d ORDER BY m.id", d=record["draw_id"])
    assert [status for _, status in invited] == ["invited", "invited"]  # reserves are no rows until called
    bookings = await _rows(cities.b_engine, "SELECT count(*) FROM expert_bookings b JOIN committee_members m "
                           "ON m.id = b.member_id WHERE m.draw_id = :d AND b.released_at IS NULL", d=record["draw_id"])
    assert bookings == [(2,)]
    outbox = await _rows(cities.b_engine, "SELECT body FROM outbox WHERE recipient = :r", r=f"expert:{invited[0][0]}")
    assert outbox and "济宁市" in outbox[0][0]  # B tells its own expert where A's session is

    # Before the session A can see counts, not names; a decline relayed by A calls B's first reserve.
    status = cities.post("a", "admin", f"/api/partner-draws/{request_id}/refresh").json()
    assert status["groups"][0]["invited"] == 2 and "code" not in json.dumps(status["groups"])
    early = cities.post("a", "admin", f"/api/partner-draws/{request_id}/open")
    assert early.status_code == 422 and "评标开始前" in early.json()["error"]["message"]
    declined = cities.post("a", "admin", f"/api/partner-draws/{request_id}/declines",
                           {"expert_code": invited[0][0], "reason": "临时出差"})
    assert declined.status_code == 201, declined.text
    after = await _rows(cities.b_engine,
                        "SELECT e.code, m.status, m.reason FROM committee_members m JOIN experts e ON e.id = m.expert_id "
                        "WHERE m.draw_id = :d ORDER BY m.id", d=record["draw_id"])
    assert [s for _, s, _ in after] == ["declined", "invited", "invited"]
    assert "济宁市" in after[0][2] and "临时出差" in after[0][2]
    serving = [code for code, s, _ in after if s == "invited"]

    # B's expert confirms on B's own platform; A sees the count, still no name.
    async with transaction(make_sessionmaker(cities.b_engine)) as session:
        expert = await session.scalar(select(Expert).where(Expert.code == serving[0]))
        employer = await session.scalar(select(Organisation.id).where(
            Organisation.roles.contains(["expert_employer"])).limit(1))  # the expert's own may not be registered
        await create_user(session, actor="test", username="lent-expert", display_name="异地专家", role="expert",
                          password=DEMO_PASSWORD, organisation_id=employer, id_number=expert.id_number)
    expert_headers = {"Authorization": f"Bearer {cities.b.token('lent-expert', DEMO_PASSWORD)}"}
    [invitation] = httpx.get(f"{cities.b.url}/api/me/invitations", headers=expert_headers, timeout=10).json()
    assert "济宁市" in invitation["place"]
    confirmed = httpx.post(f"{cities.b.url}/api/me/invitations/{invitation['id']}", json={"accept": True},
                           headers=expert_headers, timeout=10)
    assert confirmed.status_code == 201, confirmed.text
    counts = cities.post("a", "supervisor", f"/api/partner-draws/{request_id}/refresh").json()["groups"][0]
    assert (counts["confirmed"], counts["invited"]) == (1, 1)

    # At A's session start the sealed reveal comes over and is opened with A's key.
    await _session_starts(cities.a_engine, [committee["id"]])
    b_committee = (await _rows(cities.b_engine, "SELECT committee_request_id FROM lent_committees "
                               "WHERE request_id = :r", r=request_id))[0][0]
    await _session_starts(cities.b_engine, [b_committee])
    opened = cities.post("a", "supervisor", f"/api/partner-draws/{request_id}/open")
    assert opened.status_code == 201, opened.text
    members = opened.json()["members"]
    assert sorted(m["code"] for m in members) == sorted(serving) and all(m["city"] == B_CITY for m in members)
    stored = await _rows(cities.a_engine, "SELECT sealed_result, opened FROM partner_draw_requests WHERE request_id = :r",
                         r=request_id)
    assert stored[0][0] and all(m["phone"] for m in stored[0][1]["members"])  # contact details, sealed in transit
    # (A's worker may have unsealed the local draws already: both are fine.)
    assert cities.post("a", "admin", f"/api/committees/{committee['id']}/unseal").status_code in (201, 409)
    mixed = cities.get("a", "supervisor", f"/api/committees/{committee['id']}/partner-draws").json()
    assert len(mixed["members"]) == 5 and len(mixed["partner_draws"][0]["members"]) == 2

    # Anyone with B's key checks B's draw; A's own key does not verify it.
    revealed = opened.json()["draws"][0]
    # B called its drawn experts in pool order (step 7: the call order tells nothing of the drawn order).
    assert sorted(revealed["reveal"]["record"]["selected"]) == [invited[0][0], invited[1][0]]
    path = tmp_path / "remote-draw.json"
    path.write_text(json.dumps(revealed, ensure_ascii=False), encoding="utf-8")
    verified = await cli("draw", "verify", str(path), "--partner", B_CITY)
    assert verified.exit_code == 0, verified.output
    assert invited[0][0] in verified.output
    assert (await cli("draw", "verify", str(path), "--key", b_key)).exit_code == 0
    by_id = await cli("draw", "verify", record["draw_id"], "--partner", B_CITY)
    assert by_id.exit_code == 0 and "抽中" in by_id.output, by_id.output
    assert (await cli("draw", "verify", str(path))).exit_code != 0  # A's own key

    # Afterwards: attendance and ratings land in B's pool management.
    attended = cities.post("a", "admin", f"/api/partner-draws/{request_id}/attendance", {"records": [
        {"expert_code": serving[0], "attended": True}, {"expert_code": serving[1], "attended": False, "note": "未到场"}]})
    assert attended.status_code == 201, attended.text
    rows = await _rows(cities.b_engine, "SELECT e.code, a.attended FROM lent_attendance a JOIN experts e "
                       "ON e.id = a.expert_id ORDER BY e.code")
    assert dict(rows) == {serving[0]: True, serving[1]: False}
    assert cities.post("a", "bidder1", f"/api/partner-draws/{request_id}/ratings",
                       {"expert_code": serving[0], "score": 90}).status_code == 403
    good = cities.post("a", "supervisor", f"/api/partner-draws/{request_id}/ratings",
                       {"expert_code": serving[0], "score": 92, "comment": "专业扎实"})
    assert good.status_code == 201, good.text
    poor = cities.post("a", "supervisor", f"/api/partner-draws/{request_id}/ratings",
                       {"expert_code": serving[1], "score": 30, "comment": "缺席"})
    assert poor.status_code == 201 and poor.json()["suspended"] == [serving[1]]
    ratings = await _rows(cities.b_engine, "SELECT e.code, r.score, r.rater_role FROM partner_expert_ratings r "
                          "JOIN experts e ON e.id = r.expert_id ORDER BY r.id")
    assert ratings == [(serving[0], 92, "supervisor"), (serving[1], 30, "supervisor")]
    statuses = await _rows(cities.b_engine, "SELECT code, status FROM experts WHERE code IN (:x, :y) ORDER BY code",
                           x=serving[0], y=serving[1])
    assert dict(statuses) == {serving[0]: "active", serving[1]: "suspended"}
    b_audit = await _rows(cities.b_engine, "SELECT action FROM audit_log WHERE actor LIKE 'partner:370800%'")
    assert {"committee.requested_by_partner", "draw.witnessed", "committee.member_declined",
            "committee.revealed_to_partner", "expert.rated_by_partner", "expert.auto_suspended"} <= {r[0] for r in b_audit}


# ----------------------------------------------------------------------------- what B publishes


async def test_a_partner_draw_publishes_our_bidders_and_agency_only_as_a_salted_digest(cities):
    """招标投标法 第二十二条: before the opening nobody may learn who registered. B filters its
    pool with our avoidance list but publishes only the digest our local draws publish."""
    bidder, agency = "91370800MA1234567Q", "91370800MA3C5K8E74"
    start = await _now(cities.a_engine) + timedelta(days=13)
    made = cities.post("a", "admin", "/api/committees", {
        "project_code": OTHER_PROJECT, "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=4)).isoformat(), "place": "济宁市公共资源交易中心 第3评标室",
        "agency_code": agency, "bidder_codes": [bidder],
        "groups": [{"specialty": "A04", "count": 5, "reserve_count": 1}]})
    assert made.status_code == 201, made.text
    asked = cities.post("a", "admin", f"/api/committees/{made.json()['id']}/partner-draws",
                        {"partner": B_CITY, "groups": [{"specialty": "B02", "count": 2, "reserve_count": 0}]})
    assert asked.status_code == 201, asked.text
    [bundle] = asked.json()["draws"]
    draw_id = bundle["commit"]["record"]["draw_id"]
    [(message,)] = await _rows(cities.a_engine, "SELECT message FROM partner_draw_requests WHERE request_id = :r",
                               r=asked.json()["request_id"])
    assert message["avoid"] == sorted([bidder, agency])
    criteria = bundle["commit"]["record"]["criteria"]
    assert criteria["exclude_bidders_sha256"] == avoided_bidders_digest(message["avoid_salt"], [bidder, agency])
    public = [httpx.get(f"{cities.b.url}{path}", timeout=10) for path in
              (f"/draws/{draw_id}", f"/api/draws/{draw_id}", f"/api/draws?project={A_CITY}:{OTHER_PROJECT}")]
    assert all(r.status_code == 200 for r in public)
    for answer in public:
        assert bidder not in answer.text and agency not in answer.text
    assert httpx.get(f"{cities.b.url}/api/draws/{draw_id}/avoided-bidders", timeout=10).status_code == 404
    audit = await _rows(cities.b_engine, "SELECT data::text FROM audit_log WHERE action = 'committee.requested_by_partner'")
    assert audit and all(bidder not in row[0] and agency not in row[0] for row in audit)


# ----------------------------------------------------------------------------- idempotent retries


async def _drawn_at_b(cities: Cities, starts_in: timedelta) -> dict:
    """A committee here (A04) asking B for two B02 experts, drawn there: our API's answer."""
    committee = await _committee(cities, OTHER_PROJECT, starts_in, "A04")
    asked = cities.post("a", "admin", f"/api/committees/{committee['id']}/partner-draws",
                        {"partner": B_CITY, "groups": [{"specialty": "B02", "count": 2, "reserve_count": 0}]})
    assert asked.status_code == 201, asked.text
    return asked.json()


async def test_the_same_request_id_gets_the_same_answer_and_draws_nothing_new(cities):
    asked = await _drawn_at_b(cities, timedelta(days=5))
    request_id = asked["request_id"]
    [row] = await _rows(cities.a_engine, "SELECT message FROM partner_draw_requests WHERE request_id = :r", r=request_id)
    a_keys = load_center_keys(cities.a_settings)
    async with cities.a_engine.connect() as connection:
        partner_row = (await connection.execute(text("SELECT * FROM partners WHERE city_code = :c"), {"c": B_CITY})).first()
    partner = Partner(**partner_row._mapping)
    first = await send(GATEWAY, a_keys, cities.a_settings, partner, "POST", "/api/federation/draw-requests", row[0])
    second = await send(GATEWAY, a_keys, cities.a_settings, partner, "POST", "/api/federation/draw-requests", row[0])
    assert first == second and [d["bundle"] for d in first["draws"]] == asked["draws"]
    assert await _rows(cities.b_engine, "SELECT count(*) FROM lent_committees WHERE request_id = :r",
                       r=request_id) == [(1,)]
    changed = {**row[0], "groups": [{"specialty": "B02", "count": 1, "reserve_count": 0}]}
    with pytest.raises(Exception) as refused:
        await send(GATEWAY, a_keys, cities.a_settings, partner, "POST", "/api/federation/draw-requests", changed)
    assert getattr(refused.value, "code", None) == "partner_refused"
    assert refused.value.details["partner_error"]["code"] == "conflict"
    retried = cities.post("a", "admin", f"/api/partner-draws/{request_id}/retry")
    assert retried.status_code == 201 and retried.json()["status"] == "committed"

    # A cancellation frees B's bookings and voids what still waits for a witness.
    cancelled = cities.post("a", "admin", f"/api/partner-draws/{request_id}/cancel", {"reason": "项目终止"})
    assert cancelled.status_code == 201 and cancelled.json()["status"] == "cancelled"
    b_request = (await _rows(cities.b_engine, "SELECT committee_request_id FROM lent_committees WHERE request_id = :r",
                             r=request_id))[0][0]
    assert await _rows(cities.b_engine, "SELECT status FROM committee_requests WHERE id = :r", r=b_request) == [
        ("cancelled",)]
    draw_id = asked["draws"][0]["commit"]["record"]["draw_id"]
    assert await _rows(cities.b_engine, "SELECT status, void_reason FROM draws WHERE draw_id = :d", d=draw_id) == [
        ("voided", "合作城市取消：项目终止")]


# ----------------------------------------------------------------------------- every refusal


def _signed_post(cities: Cities, key: nacl.signing.SigningKey, path: str, body: dict, *, city: str = A_CITY,
                 to: str = B_CITY, timestamp: str | None = None, headers: dict | None = None) -> httpx.Response:
    content = canon(body)
    signed = headers or sign_request(key, method="POST", path=path, from_city=city, to_city=to, body=content,
                                     timestamp=timestamp)
    return httpx.post(cities.b.url + path, content=content, headers=signed, timeout=30)


async def test_every_refusal_has_a_code_a_chinese_message_a_signed_answer_and_an_audit_entry(cities):
    a_key = load_center_keys(cities.a_settings).signing_key
    b_key_hex = load_center_keys(cities.b_settings).verify_key_hex
    path = "/api/federation/draw-requests/no-such-request/cancel"
    body = {"message": "cancel", "reason": "测试"}
    stranger = nacl.signing.SigningKey.generate()
    stale = (datetime.now(timezone.utc) - timedelta(minutes=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    good_headers = sign_request(a_key, method="POST", path=path, from_city=A_CITY, to_city=B_CITY, body=canon(body))
    cases = {
        "federation_missing_headers": httpx.post(cities.b.url + path, json=body, timeout=30,
                                                 headers=cities.headers("b", "admin")),
        "federation_unknown_partner": _signed_post(cities, stranger, path, body, city="370900"),
        "federation_bad_signature": _signed_post(cities, stranger, path, body),
        "federation_wrong_recipient": _signed_post(cities, a_key, path, body, to="370200"),
        "federation_stale_timestamp": _signed_post(cities, a_key, path, body, timestamp=stale),
    }
    first = _signed_post(cities, a_key, path, body, headers=good_headers)
    assert first.status_code == 404 and first.json()["error"]["code"] == "not_found"  # passed the checks
    cases["federation_replayed_nonce"] = _signed_post(cities, a_key, path, body, headers=good_headers)
    tampered = _signed_post(cities, a_key, path, {**body, "reason": "改过"}, headers=sign_request(
        a_key, method="POST", path=path, from_city=A_CITY, to_city=B_CITY, body=canon(body)))
    assert tampered.json()["error"]["code"] == "federation_bad_signature"
    for code, answer in cases.items():
        assert answer.status_code == 401, (code, answer.text)
        error = answer.json()["error"]
        assert error["code"] == code, (code, error)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), error
    # Every answer, refusals included, is signed by B and bound to the request's nonce.
    replayed = cases["federation_replayed_nonce"]
    assert verify_response(b_key_hex, status=401, request_nonce=good_headers[NONCE], headers=replayed.headers,
                           body=replayed.content)
    assert not verify_response(b_key_hex, status=401, request_nonce="00" * 16, headers=replayed.headers,
                               body=replayed.content)
    refusals = await _rows(cities.b_engine, "SELECT data->>'code' FROM audit_log WHERE action = 'federation.refused'")
    assert set(cases) | {"federation_bad_signature"} <= {row[0] for row in refusals}

    # A disabled partner is refused from then on.
    assert cities.post("b", "admin", f"/api/partners/{A_CITY}/disable", {"reason": "暂停合作"}).status_code == 201
    try:
        refused = _signed_post(cities, a_key, path, body)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "federation_partner_disabled"
    finally:
        async with cities.b_engine.begin() as connection:
            await connection.execute(text("UPDATE partners SET status = 'active', disabled_at = NULL "
                                          "WHERE city_code = :c"), {"c": A_CITY})


# ----------------------------------------------------------------------------- an unreachable partner


async def test_an_unreachable_partner_times_out_clearly_and_the_committee_falls_back_to_local_experts(cities):
    committee = await _committee(cities, OTHER_PROJECT, timedelta(days=7), "A04")
    asked = cities.post("a", "admin", f"/api/committees/{committee['id']}/partner-draws",
                        {"partner": DEAD_CITY, "groups": [{"specialty": "B02", "count": 2, "reserve_count": 1}]})
    assert asked.status_code == 409, asked.text
    error = asked.json()["error"]
    assert error["code"] == "partner_unreachable" and f"{TIMEOUT} 秒内没有应答" in error["message"]
    [(request_id, status, last_error)] = await _rows(
        cities.a_engine, "SELECT request_id, status, last_error FROM partner_draw_requests WHERE committee_request_id = :c",
        c=committee["id"])
    assert status == "pending" and "没有应答" in last_error
    retried = cities.post("a", "admin", f"/api/partner-draws/{request_id}/retry")
    assert retried.status_code == 409 and retried.json()["error"]["code"] == "partner_unreachable"
    assert await _rows(cities.a_engine, "SELECT count(*) FROM partner_draw_requests WHERE committee_request_id = :c",
                       c=committee["id"]) == [(1,)]  # the retry reused the request

    fell_back = cities.post("a", "admin", f"/api/partner-draws/{request_id}/fallback", {"reason": "青岛平台无应答"})
    assert fell_back.status_code == 201, fell_back.text
    assert fell_back.json()["status"] == "fallen_back"
    # The partner could not be told to cancel (it may have drawn): said so, to be sent later.
    assert fell_back.json()["last_error"].startswith("未能通知对方取消")
    groups = fell_back.json()["committee"]["groups"]
    assert [g["specialty"] for g in groups] == ["A04", "B02"] and groups[1]["count"] == 2
    [draw_id] = groups[1]["draws"]
    bundle = httpx.get(f"{cities.a.url}/api/draws/{draw_id}", timeout=10).json()
    replaces = bundle["commit"]["record"]["criteria"]["fallback_for"]
    assert replaces["partner"] == DEAD_CITY and replaces["request_id"] == request_id
    assert replaces["rule"] == "expert_remote_fallback_allowed (default)"
    again = cities.post("a", "admin", f"/api/partner-draws/{request_id}/fallback", {"reason": "再来"})
    assert again.status_code == 409

    # A disabled partner is sent nothing new.
    assert cities.post("a", "admin", f"/api/partners/{DEAD_CITY}/disable", {"reason": "平台下线"}).status_code == 201
    refused = cities.post("a", "admin", f"/api/committees/{committee['id']}/partner-draws",
                          {"partner": DEAD_CITY, "groups": [{"specialty": "B02", "count": 2}]})
    assert refused.status_code == 409 and "已停用" in refused.json()["error"]["message"]


async def test_a_fallback_tells_a_partner_whose_answer_was_lost_to_release_its_experts(cities):
    request_id = (await _drawn_at_b(cities, timedelta(days=9)))["request_id"]
    # B drew and booked its experts, but its answer never reached us (as after a timeout).
    async with cities.a_engine.begin() as connection:
        await connection.execute(text("UPDATE partner_draw_requests SET status = 'pending', last_error = '超时' "
                                      "WHERE request_id = :r"), {"r": request_id})
    fell_back = cities.post("a", "admin", f"/api/partner-draws/{request_id}/fallback", {"reason": "对方无应答"})
    assert fell_back.status_code == 201, fell_back.text
    assert fell_back.json()["status"] == "fallen_back" and fell_back.json()["last_error"] is None
    [(b_request,)] = await _rows(cities.b_engine, "SELECT committee_request_id FROM lent_committees WHERE request_id = :r",
                                 r=request_id)
    assert await _rows(cities.b_engine, "SELECT status FROM committee_requests WHERE id = :r", r=b_request) == [
        ("cancelled",)]
    assert await _rows(cities.b_engine, "SELECT count(*) FROM expert_bookings b JOIN committee_members m "
                       "ON m.id = b.member_id WHERE m.request_id = :r AND b.released_at IS NULL", r=b_request) == [(0,)]
    assert await _rows(cities.a_engine, "SELECT data->>'reason' FROM audit_log WHERE action = "
                       "'committee.partner_draw_cancelled' AND data->>'request_id' = :r", r=request_id) == [
        ("改抽本地专家：对方无应答",)]


# ----------------------------------------------------------------------------- opened on time by itself


async def test_the_sealed_names_are_fetched_and_opened_by_themselves_when_the_session_starts(cities):
    committee = await _committee(cities, OTHER_PROJECT, timedelta(days=9), "A08")
    asked = cities.post("a", "admin", f"/api/committees/{committee['id']}/partner-draws",
                        {"partner": B_CITY, "groups": [{"specialty": "B01", "count": 2, "reserve_count": 0}]})
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["request_id"]
    draw_id = asked.json()["draws"][0]["commit"]["record"]["draw_id"]
    assert cities.post("a", "supervisor", f"/api/partner-draws/{request_id}/witness",
                       {"draw_id": draw_id, "value": "见证 42"}).status_code == 201
    b_committee = (await _rows(cities.b_engine, "SELECT committee_request_id FROM lent_committees "
                               "WHERE request_id = :r", r=request_id))[0][0]
    await _session_starts(cities.b_engine, [b_committee])
    await _session_starts(cities.a_engine, [committee["id"]])
    deadline = asyncio.get_running_loop().time() + 40
    while True:
        view = cities.get("a", "supervisor", f"/api/partner-draws/{request_id}").json()
        if view["status"] == "opened" or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.5)
    assert view["status"] == "opened" and len(view["members"]) == 2
    assert all("phone" not in m for m in view["members"])
    staff = cities.get("a", "admin", f"/api/partner-draws/{request_id}").json()
    assert all(m["phone"] for m in staff["members"])
    audit = await _rows(cities.a_engine, "SELECT actor FROM audit_log WHERE action = 'committee.partner_draw_opened' "
                        "AND data->>'request_id' = :r", r=request_id)
    assert audit == [("system",)]
