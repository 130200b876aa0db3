"""One construction open tender, the whole way, as its users run it: the real server
(``trading serve``) over HTTP and the bidders' command line (``trading bid``), from the
project's registration to the refunds and the project's closing.

Only two things are not done through the API or the command line, and both are said
where they happen:
- the clock: the tender's periods (20 days to the deadline, the decryption window, the
  committee's session, 3 days of publicity) are moved into the past in the database, as
  tests/common/bids.py ``deadline_passes`` and tests/common/opening.py ``window_passes`` do (a
  controllable clock); the server's own chronograph then takes the time-driven steps;
- user accounts for the pool's experts: the platform has no route or command that creates
  a user account (module fixture ``world``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any

import anyio
import httpx
import nacl.signing
import pytest
from click.testing import Result
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bidding.bids import sealed_bid
from cli.demo import ACCOUNTS, DEMO_PASSWORD, load_demo_data
from expert_pool.models import Expert, ExpertSpecialty
from tests.conftest import invoke_cli
from tests.common.live_server import LiveServer
from tests.common.portal import CSRF_INPUT
from trading.accounts import create_user
from trading.canonical import canon
from trading.database import make_sessionmaker, transaction
from trading.keys import load_center_keys, verify_signature
from trading.timefmt import CENTER_ZONE
from trading.organisations import Organisation

CODE = "JN-2026-GC-W0001"
HOSPITAL = "12370800MB12345670"  # the demo tendering party (account "tenderer")
ESTIMATE_FEN = 10_000_000_00  # 10 million yuan
MAX_PRICE_FEN = 9_990_000_00
BIDDERS = {  # demo account → (organisation, price in fen)
    "bidder1": ("91370800MA1234567Q", 9_600_000_00),
    "bidder2": ("91370811MA23456788", 9_750_000_00),  # on the deposit negative list: pays a deposit
    "bidder3": ("91370802MA3456789Q", 9_880_000_00),
}
DEMO_EXPERT_ID = next(account.id_number for account in ACCOUNTS if account.username == "expert")
SPECIALTY = "A08"  # 工程施工: the pool's construction experts
SCHEME = {"method": "comprehensive", "price_points": "30", "price_formula": {"kind": "lowest_ratio"},
          "items": [{"name": "施工组织设计", "max_points": "40"}, {"name": "项目管理机构", "max_points": "30"}]}


# --------------------------------------------------------------------------- the world


class FastLiveServer(LiveServer):
    """The real server, its chronograph and deadline watch ticking every second."""

    def env(self) -> dict[str, str]:
        return {**super().env(), "TRADING_CHRONOGRAPH_SECONDS": "1", "TRADING_DEADLINE_WATCH_SECONDS": "1"}


@pytest.fixture(scope="module")
async def world(engine: AsyncEngine, settings) -> dict[str, str]:
    """The demo city with its pools; a user account for every construction expert of the pool
    (matched by ID number, as an expert logs in): there is no API or command to create accounts.
    Answers expert code → username."""
    load_center_keys(settings)  # made here first; the server loads the same files
    experts = {}
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session, pools=True)
        employer = await session.scalar(select(Organisation).where(Organisation.credit_code == "12370800MB2345678H"))
        construction = select(ExpertSpecialty.expert_id).where(ExpertSpecialty.specialty_code.startswith(SPECIALTY))
        for expert in (await session.scalars(select(Expert).where(Expert.id.in_(construction))
                                             .order_by(Expert.id))).all():
            if expert.id_number == DEMO_EXPERT_ID:
                experts[expert.code] = "expert"  # the demo expert account (李明)
                continue
            username = f"pb-{expert.code.lower()}"
            await create_user(session, actor="test", username=username, display_name=expert.name, role="expert",
                              password=DEMO_PASSWORD, organisation_id=employer.id, id_number=expert.id_number)
            experts[expert.code] = username
    return experts


@pytest.fixture(scope="module")
def server(world, settings, database_url) -> Iterator[FastLiveServer]:
    live = FastLiveServer(settings, database_url).start()
    yield live
    live.stop()


async def sql(engine: AsyncEngine, statement: str, **params: Any) -> None:
    """The controllable clock: move a stored time, committed, as time passing would."""
    async with engine.begin() as conn:
        await conn.execute(text(statement), params)


@dataclass
class Api:
    """The platform over real HTTP, as each account."""

    url: str
    tokens: dict[str, str] = field(default_factory=dict)

    def login(self, username: str) -> str:
        if username not in self.tokens:
            answer = httpx.post(f"{self.url}/api/auth/token", timeout=30,
                                json={"username": username, "password": DEMO_PASSWORD, "name": "全流程测试"})
            assert answer.status_code == 201, answer.text
            self.tokens[username] = answer.json()["token"]
        return self.tokens[username]

    def headers(self, username: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.login(username)}"} if username else {}

    def call(self, method: str, path: str, as_: str | None = None, expect: int | None = None,
             **kwargs) -> httpx.Response:
        answer = httpx.request(method, f"{self.url}{path}", headers=self.headers(as_), timeout=60, **kwargs)
        if expect is not None:
            assert answer.status_code == expect, f"{method} {path} as {as_}: {answer.status_code} {answer.text}"
        return answer

    def get(self, path: str, as_: str | None = None, **kwargs) -> Any:
        return self.call("GET", path, as_, expect=200, **kwargs).json()

    def post(self, path: str, as_: str, expect: int = 201, **kwargs) -> Any:
        answer = self.call("POST", path, as_, expect=expect, **kwargs)
        return answer.json() if answer.headers.get("content-type", "").startswith("application/json") else answer

    def wait_for(self, what: str, check, seconds: float = 20.0) -> Any:
        """Poll until ``check()`` gives something true (the server's workers act on their own)."""
        deadline = time.monotonic() + seconds
        while True:
            value = check()
            if value:
                return value
            assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
            time.sleep(0.25)

    def state(self) -> str:
        return self.get(f"/api/projects/{CODE}")["state"]


async def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    """``trading …`` as a user runs it (in a thread: some commands run their own event loop)."""
    return await anyio.to_thread.run_sync(lambda: invoke_cli(list(args), env or {}))


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


# --------------------------------------------------------------------------- the tender


async def test_a_construction_tender_from_registration_to_refund_and_closing(
        world, server, engine, settings, tmp_path):
    api = Api(server.url)
    project = f"/api/projects/{CODE}"
    center_key = api.get("/api/keys")["signing"]["verify_key"]
    assert center_key == load_center_keys(settings).verify_key_hex

    # 1. Registration (进场登记), the agency draw, the scheme, the announcement and documents.
    registered = api.post("/api/projects/", "tenderer", json={
        "code": CODE, "title": "济宁市第一人民医院科研楼施工总承包", "category": "construction", "method": "open_tender",
        "region_code": "370800", "tendering_party_credit_code": HOSPITAL, "estimate_fen": ESTIMATE_FEN})
    assert registered["state"] == "registered" and registered["rule_set"].startswith("construction-open-tender@")
    drawn = api.post("/api/agency-draws/", "admin", json={"project_code": CODE})
    # The tendering party is the agency draw's witness (never the center alone): revealed then.
    api.post(f"/api/draws/{drawn['commit']['record']['draw_id']}/witness", "tenderer", json={"value": "招标人见证 5309"})
    agency = api.get(f"/api/agency-draws/{CODE}")
    assert agency["agency"] is not None and len(agency["agency"]["credit_code"]) == 18, agency
    assert drawn["commit"]["record"]["draw_id"] == agency["draw_id"], drawn
    api.call("PUT", f"{project}/evaluation/scheme", "tenderer", expect=200, json=SCHEME)
    assert api.get(f"{project}/evaluation/scheme")["method"] == "comprehensive"

    now = datetime.fromisoformat(api.get(project)["registered_at"])
    today = now.astimezone(CENTER_ZONE).date().isoformat()  # the center's calendar day
    deadline = (now + timedelta(days=25)).replace(microsecond=0)
    documents = "第一章 招标公告\n第二章 投标人须知\n第三章 评标办法（综合评估法）\n".encode()
    undated = api.call("POST", f"{project}/announce", "tenderer", files={"file": ("招标文件.txt", documents)})
    assert undated.status_code == 400 and "bid_deadline" in undated.text, undated.text
    announced = api.post(f"{project}/announce", "tenderer", data={
        "bid_deadline": deadline.isoformat(), "title": "科研楼施工总承包招标公告", "body": "欢迎符合条件的投标人参加投标。"},
        files={"file": ("招标文件.txt", documents, "text/plain")})
    opening_public_key = announced["opening_public_key"]
    assert announced["state"] in ("announced", "bidding")  # the chronograph may be quick
    [version] = api.get(f"{project}/documents/")
    assert version["number"] == 1 and version["announcement"]["kind"] == "tender", version
    assert api.call("GET", f"{project}/documents/current", "bidder1", expect=200).content == documents
    # The documents are out: the chronograph opens the bidding by itself.
    api.wait_for("bidding", lambda: api.state() == "bidding")
    published = api.get(f"/api/projects/{CODE}/opening-key")
    assert published["public_key"] == published["record"]["public_key"] == opening_public_key

    # 2. Bidders register, deposits are confirmed, each seals and submits on the command line.
    deposits: dict[str, int] = {}
    folders: dict[str, Path] = {}
    for account, (credit_code, price) in BIDDERS.items():
        registration = api.post(f"{project}/registrations", account)
        assert registration["status"] == "admitted", registration
        if registration["deposit_required"]:
            amount = registration["deposit_required_fen"]
            assert 0 < amount <= ESTIMATE_FEN * 2 // 100
            paid = api.post("/api/ledger/deposits", "finance", json={
                "project_code": CODE, "bidder_credit_code": credit_code, "amount_fen": amount,
                "account": f"6222 0216 0000 {len(deposits):04d}", "account_name": credit_code,
                "bank_reference": f"DEP-{credit_code[-6:]}", "value_date": today})
            deposits[credit_code] = amount
            assert paid["amount_fen"] == amount
        folder = folders[account] = tmp_path / account
        folder.mkdir()
        made = ok(await cli("bid", "keygen", "--out", str(folder / "bidder.key"), "--center-key", center_key))
        verify_key = sealed_bid.load_key_file(folder / "bidder.key").verify_key.encode().hex()
        assert verify_key in made
        api.post(f"{project}/bidder-key", account, json={"verify_key": verify_key})
        (folder / "offer.json").write_text(json.dumps({"price_fen": price, "duration_days": 540}))
        ok(await cli("bid", "seal", str(folder / "offer.json"), "--tender", CODE, "--bidder", credit_code,
                     "--server", server.url, "--key", str(folder / "bidder.key"), "--out", str(folder / "offer")))
        submitted = ok(await cli("bid", "submit", str(folder / "offer.envelope.json"), "--center-key", center_key,
                                 env={"TRADING_SERVER": server.url, "TRADING_TOKEN": api.login(account)}))
        assert "核验通过" in submitted
        kept = json.loads((folder / "offer.receipt.json").read_text(encoding="utf-8"))
        envelope = json.loads((folder / "offer.envelope.json").read_text(encoding="utf-8"))
        sealed_bid.verify_receipt(kept["receipt"], kept["signature"], center_key, envelope)
        assert (kept["receipt"]["tender_code"], kept["receipt"]["bidder_code"]) == (CODE, credit_code)
    assert deposits, "the bidder on the deposit negative list pays a deposit"

    # 3. The deadline passes (controllable clock): the chronograph starts the opening by itself
    # (state, the center's halves opened, the decryption window from now).
    await sql(engine, "UPDATE projects SET bid_deadline = clock_timestamp() - interval '1 second', "
                      "next_due_at = clock_timestamp() - interval '1 second' WHERE code = :c", c=CODE)
    api.wait_for("the deadline step", lambda: api.state() == "opening")
    (folders["bidder3"] / "late.json").write_text(json.dumps({"price_fen": 9_000_000_00, "duration_days": 500}))
    ok(await cli("bid", "seal", str(folders["bidder3"] / "late.json"), "--tender", CODE,
                 "--bidder", BIDDERS["bidder3"][0], "--server", server.url,
                 "--key", str(folders["bidder3"] / "bidder.key")))
    late = await cli("bid", "submit", str(folders["bidder3"] / "late.envelope.json"),
                     env={"TRADING_SERVER": server.url, "TRADING_TOKEN": api.login("bidder3")})
    assert late.exit_code == 1 and "截止" in late.output, late.output  # refused by the database clock
    opening = api.get(f"{project}/opening", "supervisor")
    assert len(opening["entries"]) == len(BIDDERS) and all(e["center_half_opened"] for e in opening["entries"])
    assert api.call("POST", f"{project}/opening", "admin").status_code == 409  # started once, by the clock
    for account, (credit_code, price) in BIDDERS.items():
        api.post(f"{project}/opening/sign-in", account)
        k_b = ok(await cli("bid", "decrypt", str(folders[account] / "offer.envelope.json"),
                           "--key", str(folders[account] / "bidder.key"))).strip()
        handed = api.post(f"{project}/opening/hand-in", account, json={"k_b": k_b})
        assert handed["state"] == "pending" and "price_fen" not in handed, handed  # answered at once

    def all_opened() -> list | None:  # the app's batch opener decrypts them within about a second
        entries = api.get(f"{project}/opening", "supervisor")["entries"]
        return entries if all(e["state"] != "pending" for e in entries) else None

    opened = api.wait_for("the batch opener", all_opened)
    assert [(e["bidder_credit_code"], e["state"], e["price_fen"]) for e in opened] == [
        (code, "decrypted", price) for code, price in BIDDERS.values()]
    api.post(f"{project}/opening/max-price", "admin", json={"max_price_fen": MAX_PRICE_FEN})
    # The decryption window ends (controllable clock); the chronograph closes it by itself.
    await sql(engine, "UPDATE opening_sessions SET window_ends_at = clock_timestamp() - interval '1 second' "
                      "WHERE project_id = (SELECT id FROM projects WHERE code = :c)", c=CODE)
    await sql(engine, "UPDATE projects SET bid_deadline = clock_timestamp() - interval '31 minutes', "
                      "next_due_at = clock_timestamp() - interval '1 second' WHERE code = :c", c=CODE)
    def closed_record() -> dict | None:  # public once the window is over; closed_at: the chronograph closed it
        answer = api.call("GET", f"{project}/opening", "bidder1")
        return answer.json() if answer.status_code == 200 and answer.json()["closed_at"] else None

    record = api.wait_for("the window closed", closed_record)
    finished = api.post(f"{project}/opening/finish", "admin")
    assert api.state() == "evaluating", finished
    assert [(e["bidder_credit_code"], e["state"], e["price_fen"]) for e in record["entries"]] == [
        (code, "decrypted", price) for code, price in BIDDERS.values()]
    assert record["max_price_fen"] == MAX_PRICE_FEN

    # 4. The committee: drawn sealed, witnessed by the supervisor, confirmed by the experts.
    registered_at = datetime.fromisoformat(api.get(project)["registered_at"])
    starts = datetime.now(tz=registered_at.tzinfo) + timedelta(hours=2)
    committee = api.post("/api/committees/", "admin", json={
        "project_code": CODE, "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=4)).isoformat(),
        "place": "济宁市公共资源交易中心 第1评标室", "groups": [{"specialty": SPECIALTY, "count": 5, "reserve_count": 1}]})
    # The agency serving the project is avoided without being named (and the bidders who registered).
    assert committee["status"] == "drawing" and committee["members"] is None, committee
    for draw_id in committee["groups"][0]["draws"]:
        api.post(f"/api/draws/{draw_id}/witness", "supervisor", json={"value": "监督员现场掷骰 4-2-6"})
    confirmed_by: dict[str, str] = {}
    for expert_code, account in world.items():
        for invitation in api.get("/api/me/invitations", account):
            if invitation["status"] == "invited":
                api.post(f"/api/me/invitations/{invitation['id']}", account, json={"accept": True})
                confirmed_by[expert_code] = account
    assert len(confirmed_by) == 5, confirmed_by
    view = api.get(f"/api/committees/{committee['id']}", "supervisor")
    assert view["groups"][0]["confirmed"] == 5 and view["members"] is None  # still sealed
    # The session starts (controllable clock), then the committee is unsealed.
    await sql(engine, "UPDATE committee_requests SET starts_at = now() - interval '1 minute', "
                      "ends_at = now() + interval '3 hours' WHERE id = :r", r=committee["id"])
    await sql(engine, "UPDATE draws SET unseal_at = now() - interval '1 minute' WHERE draw_id IN (SELECT cd.draw_id "
                      "FROM committee_draws cd JOIN committee_groups g ON g.id = cd.group_id WHERE g.request_id = :r)",
              r=committee["id"])
    unsealed = api.call("POST", f"/api/committees/{committee['id']}/unseal", "supervisor")
    if unsealed.status_code != 201:  # the app's own worker may have been first
        assert unsealed.status_code == 409, unsealed.text
    view = api.get(f"/api/committees/{committee['id']}", "supervisor")
    assert view["status"] == "unsealed" and {m["code"] for m in view["members"]} == set(confirmed_by), view

    # The evaluation: chair, three review stages, scores, the report signed.
    evaluation = f"{project}/evaluation"
    api.post(evaluation, "admin")
    members = list(confirmed_by.values())
    chair_code = next(iter(confirmed_by))
    chair = confirmed_by[chair_code]
    for account in members[:3]:  # more than half
        voted = api.post(f"{evaluation}/chair-votes", account, json={"candidate": chair_code})
    assert voted == {"stage": "qualification", "chair_elected": True}, voted
    technical = {"bidder1": {"施工组织设计": "36", "项目管理机构": "27"},
                 "bidder2": {"施工组织设计": "33", "项目管理机构": "25"},
                 "bidder3": {"施工组织设计": "30", "项目管理机构": "24"}}
    for stage in ("qualification", "preliminary", "detailed"):
        for account in members:
            for bidder, (credit_code, _) in BIDDERS.items():
                api.post(f"{evaluation}/reviews", account, json={"bidder_credit_code": credit_code, "verdict": "pass"})
                if stage == "detailed":
                    api.post(f"{evaluation}/scores", account,
                             json={"bidder_credit_code": credit_code, "scores": technical[bidder]})
        closed = api.post(f"{evaluation}/close-stage", chair)
    report = closed["report"]
    assert closed["stage"] == "report"
    assert [c["bidder_credit_code"] for c in report["candidates"]] == [code for code, _ in BIDDERS.values()], report
    signing_key = nacl.signing.SigningKey.generate()
    api.post("/api/me/expert-key", chair, json={"verify_key": signing_key.verify_key.encode().hex()})
    signed = api.post(f"{evaluation}/signatures", chair,
                      json={"signature": signing_key.sign(canon(report)).signature.hex()})
    assert signed["by"] == "signature"
    for account in members[1:]:
        api.post(f"{evaluation}/signatures", account, json={"confirm": True})
    done = api.get(evaluation, "admin")  # every member signed: the report completes by itself
    assert (done["stage"], done["outcome"]) == ("completed", "candidates"), done

    # 5. Publicity, the period passes (controllable clock), the chronograph awards.
    api.post(f"{project}/publicity", "admin")
    assert api.state() == "publicity"
    publicity = api.get(f"{project}/publicity")  # public
    assert [c["rank"] for c in publicity["candidates"]] == [1, 2, 3], publicity
    await sql(engine, "UPDATE projects SET publicity_started_at = publicity_started_at - interval '5 days', "
                      "next_due_at = clock_timestamp() - interval '1 second' WHERE code = :c", c=CODE)
    api.wait_for("the award", lambda: api.state() == "awarded")
    notice = api.post(f"{project}/award-notice", "admin")
    winner_code, winner_price = BIDDERS["bidder1"]
    assert (notice["winner"]["credit_code"], notice["price_fen"]) == (winner_code, winner_price), notice
    assert notice["verify_url"] == f"{server.url}/verify/award-notices/{notice['number']}"  # the QR code's address
    pdf = api.call("GET", f"/api/award-notices/{notice['number']}/pdf", "bidder1", expect=200).content
    assert pdf.startswith(b"%PDF")
    api.call("GET", f"/api/award-notices/{notice['number']}/pdf", "bidder2", expect=403)  # not the winner's
    (tmp_path / "notice.pdf").write_bytes(pdf)
    (tmp_path / "notice.json").write_text(json.dumps(api.get(f"/api/award-notices/{notice['number']}")),
                                          encoding="utf-8")
    verified = ok(await cli("award", "verify", str(tmp_path / "notice.pdf"), "--bundle", str(tmp_path / "notice.json"),
                            "--key", center_key))
    assert notice["number"] in verified, verified
    (tmp_path / "forged.pdf").write_bytes(pdf.replace(b"%PDF", b"%PDF ", 1))
    forged = await cli("award", "verify", str(tmp_path / "forged.pdf"), "--bundle", str(tmp_path / "notice.json"),
                       "--key", center_key)
    assert forged.exit_code == 2, forged.output
    # At the center, without the bundle file: looked up by the PDF's SHA-256 in the database.
    center_env = {"DATABASE_URL": server.database_url, "TRADING_VAR_DIR": str(settings.var_dir),
                  "TRADING_SIGNING_KEY": None, "TRADING_KEK": None}
    assert notice["number"] in ok(await cli("award", "verify", str(tmp_path / "notice.pdf"), env=center_env))
    with httpx.Client(base_url=server.url, timeout=30) as browser:  # the public page, as a browser uses it
        page = browser.get(f"/verify/award-notices/{notice['number']}")
        assert page.status_code == 200 and "✔ 签名有效" in page.text
        csrf = CSRF_INPUT.search(page.text).group(1)
        checked = browser.post(f"/verify/award-notices/{notice['number']}", data={"_csrf_token": csrf},
                               files={"file": ("notice.pdf", pdf, "application/pdf")})
        assert checked.status_code == 200 and "✔ 文件相符" in checked.text, checked.text

    # 6. The contract; the refunds (instructed by the contract), paid; the receipts.
    today = datetime.now(CENTER_ZONE).date().isoformat()  # signed today, the day the notice was issued
    contract = api.post(f"{project}/contract", "tenderer", json={
        "amount_fen": winner_price, "signed_on": today, "file_sha256": sha256(b"contract").hexdigest()})
    assert api.state() == "contracted" and contract["amount_fen"] == winner_price
    refunds = api.get("/api/ledger/refunds", "finance", params={"project": CODE})
    assert {r["bidder_credit_code"]: r["principal_fen"] for r in refunds} == deposits, refunds
    for refund in refunds:  # the deposit plus its interest (deposit_refund_with_interest), within 5 days
        assert refund["event"] == "contract" and refund["rule"] == "deposit_refund_after_contract_days", refund
        assert refund["interest"]["rule"] == "deposit_refund_with_interest", refund
        assert refund["amount_fen"] == refund["principal_fen"] + refund["interest_fen"] >= refund["principal_fen"]
        paid = api.post(f"/api/ledger/refunds/{refund['id']}/paid", "finance", expect=200, json={
            "bank_reference": f"REF-{refund['id']}", "value_date": today})
        assert paid["paid"] is not None
    assert api.get("/api/ledger/refunds", "finance", params={"project": CODE}) == []
    # The winner's service fee from the published schedule, paid: a receipt too.
    fee = api.post("/api/ledger/fees", "finance", json={"project_code": CODE})
    assert fee["payer_credit_code"] == winner_code and fee["amount_fen"] > 0, fee
    api.post(f"/api/ledger/fees/{fee['id']}/paid", "finance", expect=200, json={
        "bank_reference": "FEE-0001", "value_date": today, "account": "6222 0216 0000 9999",
        "account_name": "济宁鲁建建设集团有限公司"})
    issued = api.get("/api/ledger/receipts", "finance", params={"project": CODE})
    assert sorted((r["kind"], r["party_credit_code"], r["amount_fen"]) for r in issued) == sorted(
        [("deposit", code, amount) for code, amount in deposits.items()]
        + [("refund", r["bidder_credit_code"], r["amount_fen"]) for r in refunds]
        + [("fee", winner_code, fee["amount_fen"])]), issued
    for receipt in issued:
        assert verify_signature(receipt["record"], receipt["signature"], center_key)
        holder = next(a for a, (c, _) in BIDDERS.items() if c == receipt["party_credit_code"])
        receipt_pdf = api.call("GET", f"/api/ledger/receipts/{receipt['number']}/pdf", holder, expect=200).content
        assert receipt_pdf.startswith(b"%PDF") and sha256(receipt_pdf).hexdigest() == receipt["pdf_sha256"]
        check = api.get(f"/api/ledger/receipts/{receipt['number']}/verification")
        assert check["signature_valid"], check
        assert "✔ 验证通过" in api.call("GET", f"/verify/receipts/{receipt['number']}", expect=200).text
    own = api.get("/api/ledger/receipts", "bidder2", params={"project": CODE})  # a bidder sees its own
    assert sorted(r["kind"] for r in own) == ["deposit", "refund"], own
    assert all(r["paid"] for r in api.get("/api/ledger/refunds", "finance",
                                          params={"project": CODE, "include_paid": "true"}))
    # The deadline watch: the contract and refund clocks were set and met in time (the construction
    # rule set gives no period for the award notice, so it has no clock here).
    time.sleep(1.5)  # one more round of the deadline watch
    cards = api.get("/api/supervision/deadline-cards", "supervisor", params={"include_met": "true"})["cards"]
    assert not [c for c in cards if c["project"] == CODE and c["card"] == "red"], cards
    async with engine.connect() as conn:
        clocks = (await conn.execute(text(
            "SELECT kind, met_at IS NOT NULL AND met_at <= due_at AS in_time FROM deadlines "
            "WHERE project_id = (SELECT id FROM projects WHERE code = :c)"), {"c": CODE})).all()
    assert {kind for kind, _ in clocks} >= {"contract", "refund"} and all(in_time for _, in_time in clocks), clocks

    # 7. Ratings, the closing, the audit chain.
    for expert_code in confirmed_by:
        api.post(f"{project}/ratings/experts/{expert_code}", "tenderer", json={"score": 90, "comment": "评审认真"})
    api.post(f"{project}/ratings/agency", "tenderer", json={"score": 88, "comment": "服务规范"})
    closed_project = api.post(f"{project}/close", "admin")
    assert closed_project["state"] == "closed"
    audit = api.get("/api/audit/verify", "supervisor")
    assert audit["ok"] is True and audit["entries"] > 0, audit
