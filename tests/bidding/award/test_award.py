"""Candidate publicity, the award notice and the contract: candidates published with rank,
name, price and score; objections answered against their clock; the chronograph awards
after the publicity; only the center issues the award notice, a Chinese PDF signed over
its own SHA-256 and verifiable online and offline; result notices reach every other
bidder; the contract is recorded (late ones too, with the red card left to the watch) and
a price change must say why; government procurement lets the purchaser choose among the
candidates with a reason and publishes the contract."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import nacl.signing
import pytest
from litestar.testing import AsyncTestClient
from pypdf import PdfReader
from sqlalchemy import select, update

from bidding.notice.announcements import Announcement
from bidding.award.award_notice import award_notice_bundle, choose_winner, issue_award_notice
from bidding.award.verification import verify_award_notice
from bidding.tender.chronograph import run_due_steps
from bidding.award.contracts import record_contract
from bidding.tender.deadlines import Deadline
from bidding.tender.projects import Project
from bidding.award.publicity import answer_candidate_objection, publicity_of, publish_candidates, raise_candidate_objection
from bidding.tender.states import local_date, period_ends_at
from tests.common import award_world as world
from tests.common import factories
from tests.common import bids
from tests.common.pdfs import assert_only_the_bundled_font
from tests.common.portal import bearer
from trading.audit import AuditEntry
from trading.canonical import sha256_hex
from trading.database import database_now, make_sessionmaker, transaction
from trading.errors import Conflict, PermissionDenied, RuleViolation
from trading.keys import load_center_keys
from trading.notifications import OutboxMessage
from trading.settings import Settings
from web.app import create_app

PUBLIC_URL = "https://ggzy.example.cn"
PRICES = [98_765_432_10, 99_000_000_00, 101_000_000_00]
FILE_SHA256 = "ab" * 32


async def deadline(session, kind: str, subject: str) -> Deadline | None:
    return await session.scalar(select(Deadline).where(Deadline.kind == kind, Deadline.subject == subject)
                                 .order_by(Deadline.id.desc()).limit(1))


async def awarded(session, keys, *, kind=world.CONSTRUCTION) -> world.Tender:
    tender = await world.tender_in_publicity(session, keys, PRICES, kind=kind, scores=["92.50", "90.10", "85.00"])
    if kind == world.CONSTRUCTION:
        await world.let_time_pass(session, tender.code, days=4)
        assert (tender.code, "award") in await run_due_steps(session)
    return tender


# ----------------------------------------------------------------------------- publicity


async def test_candidates_are_published_with_rank_name_price_and_score_and_objections_get_answers(
        demo, session, keys):
    tender = await world.tender_in_evaluation(session, keys, PRICES)
    with pytest.raises(Conflict, match="未推荐中标候选人"):
        await publish_candidates(session, actor="admin", project_code=tender.code)
    await world.report(session, tender, ["92.50", "90.10", None])
    announcement = await publish_candidates(session, actor="admin", project_code=tender.code)
    project = await session.scalar(select(Project).where(Project.code == tender.code))
    assert project.state == "publicity"
    assert project.next_due_at == period_ends_at(project.publicity_started_at, 3)
    assert announcement.kind == "candidates"
    first, second, third = tender.bidders
    assert f"第1名：{first.name}，投标报价 98,765,432.10 元，综合得分 92.50" in announcement.body
    assert f"第3名：{third.name}，投标报价 101,000,000.00 元" in announcement.body
    assert "第五十四条" in announcement.body
    public = await publicity_of(session, tender.code)
    assert [(c["rank"], c["name"], c["price_fen"], c["score"]) for c in public["candidates"]] == [
        (1, first.name, PRICES[0], "92.50"), (2, second.name, PRICES[1], "90.10"), (3, third.name, PRICES[2], None)]

    outsider = await factories.organisation(session, "bidder")
    with pytest.raises(PermissionDenied):
        await raise_candidate_objection(session, actor="x", project_code=tender.code, organisation_id=outsider.id,
                                        text="评标结果有误")
    objection = await raise_candidate_objection(session, actor="bidder", project_code=tender.code,
                                                organisation_id=third.id, text="第一名的业绩证明材料不实")
    clock = await deadline(session, "candidate_objection_answer", f"candidate-objection:{objection.id}")
    assert clock.rule == "candidate_objection_answer_days"
    assert clock.due_at == period_ends_at(objection.raised_at, 3) and clock.met_at is None
    answered = await answer_candidate_objection(session, actor="tenderer", project_code=tender.code,
                                                objection_id=objection.id, answer="经核查，业绩证明材料真实有效")
    assert answered.answer.startswith("经核查")
    await session.refresh(clock)
    assert clock.met_at is not None
    with pytest.raises(Conflict, match="已答复"):
        await answer_candidate_objection(session, actor="tenderer", project_code=tender.code,
                                         objection_id=objection.id, answer="再答")
    actions = set((await session.scalars(select(AuditEntry.action).where(
        AuditEntry.subject == f"project:{tender.code}"))).all())
    assert {"tender.publish_candidates", "publicity.started", "publicity.objection_raised",
            "publicity.objection_answered", "announcement.published"} <= actions


# ----------------------------------------------------------------------------- award notice


async def test_the_center_issues_a_signed_chinese_award_notice_to_the_first_candidate(demo, session, keys, tmp_path):
    tender = await world.tender_in_evaluation(session, keys, PRICES)
    await world.report(session, tender, ["92.50", "90.10", "85.00"])
    await publish_candidates(session, actor="admin", project_code=tender.code)
    with pytest.raises(RuleViolation) as refused:  # the publicity has not run its three days
        await issue_award_notice(session, keys, actor="admin", project_code=tender.code, public_url=PUBLIC_URL)
    assert refused.value.details["rule"] == "candidate_publicity_min_days"
    with pytest.raises(RuleViolation) as refused:  # state-funded: only the first candidate may win
        await choose_winner(session, actor="tenderer", project_code=tender.code, rank=2, reason="报价更合理")
    assert refused.value.details["rule"] == "state_funded_award_first_candidate"
    assert "第五十五条" in refused.value.message

    await world.let_time_pass(session, tender.code, days=4)
    assert (tender.code, "award") in await run_due_steps(session)
    notice = await issue_award_notice(session, keys, actor="admin", project_code=tender.code, public_url=PUBLIC_URL)
    winner, *others = tender.bidders
    assert notice.number.startswith("ZBTZ2026") and notice.organisation_id == winner.id
    assert notice.record["basis"] == "first_candidate" and notice.record["price_fen"] == PRICES[0]
    assert notice.record["verify_url"] == f"{PUBLIC_URL}/verify/award-notices/{notice.number}"
    assert notice.pdf.startswith(b"%PDF") and notice.pdf_sha256 == sha256_hex(notice.pdf)

    path = tmp_path / "notice.pdf"
    path.write_bytes(notice.pdf)
    reader = PdfReader(path)
    text = "".join(page.extract_text() for page in reader.pages)
    assert "中标通知书" in text and winner.name in text and "98,765,432.10" in text and notice.number in text
    assert_only_the_bundled_font(notice.pdf)  # no system font: reads the same on any machine

    # The signature covers the record and the PDF's hash; anything changed fails.
    bundle = award_notice_bundle(notice)
    assert verify_award_notice(notice.pdf, bundle, keys.verify_key_hex).ok
    changed = verify_award_notice(notice.pdf + b"\n%", bundle, keys.verify_key_hex)
    assert (changed.ok, changed.failed_check) == (False, "pdf_sha256")
    forged = {**bundle, "record": {**bundle["record"], "price_fen": 1}}
    assert verify_award_notice(notice.pdf, forged, keys.verify_key_hex).failed_check == "signature"
    stranger = nacl.signing.SigningKey.generate().verify_key.encode().hex()  # another center's key
    assert verify_award_notice(notice.pdf, bundle, stranger).failed_check == "key"

    messages = (await session.scalars(select(OutboxMessage).where(
        OutboxMessage.subject == f"award-notice:{notice.number}").order_by(OutboxMessage.id))).all()
    assert {m.recipient for m in messages} == {f"organisation:{o.credit_code}" for o in tender.bidders}
    assert all("中标结果通知" in m.body and winner.name in m.body
               for m in messages if m.recipient != f"organisation:{winner.credit_code}")
    contract_clock = await deadline(session, "contract", f"project:{tender.code}")
    assert contract_clock.rule == "contract_within_days_of_award_notice"
    assert contract_clock.due_at == period_ends_at(notice.issued_at, 30)
    result = await session.scalar(select(Announcement).where(Announcement.project_id == tender.project.id,
                                                             Announcement.kind == "result"))
    assert winner.name in result.body
    with pytest.raises(Conflict, match="不能重复发出"):
        await issue_award_notice(session, keys, actor="admin", project_code=tender.code, public_url=PUBLIC_URL)
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "award.notice_issued",
                                                          AuditEntry.subject == f"project:{tender.code}"))
    assert entry.data["pdf_sha256"] == notice.pdf_sha256 and entry.data["number"] == notice.number
    assert sorted(entry.data["result_notices"]) == sorted(o.credit_code for o in others)


async def test_the_contract_is_recorded_late_ones_too_and_a_price_change_must_say_why(demo, session, keys):
    tender = await awarded(session, keys)
    with pytest.raises(Conflict, match="尚未发出中标通知书"):
        await record_contract(session, actor="tenderer", project_code=tender.code, amount_fen=PRICES[0],
                              signed_on=local_date(await database_now(session)), file_sha256=FILE_SHA256)
    notice = await issue_award_notice(session, keys, actor="admin", project_code=tender.code, public_url=PUBLIC_URL)
    today = local_date(await database_now(session))
    with pytest.raises(RuleViolation, match="须说明理由") as refused:
        await record_contract(session, actor="tenderer", project_code=tender.code, amount_fen=PRICES[0] - 100,
                              signed_on=today, file_sha256=FILE_SHA256)
    assert "第四十六条" in refused.value.details["source"]
    # The contract deadline has passed: the contract is still recorded, marked late.
    await session.execute(update(Deadline).where(Deadline.kind == "contract", Deadline.subject == f"project:{tender.code}")
                          .values(due_at=notice.issued_at - timedelta(seconds=1)))
    contract = await record_contract(session, actor="tenderer", project_code=tender.code,
                                     amount_fen=PRICES[0] - 100, signed_on=today.isoformat(),
                                     file_sha256=FILE_SHA256.upper(), amount_reason="经双方协商核减暂列金额 1 元")
    assert contract.late and contract.file_sha256 == FILE_SHA256 and contract.announcement_id is None
    project = await session.scalar(select(Project).where(Project.code == tender.code))
    assert project.state == "contracted"
    clock = await deadline(session, "contract", f"project:{tender.code}")
    assert clock.met_at is not None and clock.met_at > clock.due_at
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "contract.recorded",
                                                          AuditEntry.subject == f"project:{tender.code}"))
    assert entry.data["late"] is True and entry.data["amount_reason"].startswith("经双方协商")


async def test_in_procurement_the_purchaser_chooses_with_a_reason_and_the_contract_is_published(demo, session, keys):
    tender = await awarded(session, keys, kind=world.PROCUREMENT)
    # No publicity period in this rule set: the chronograph, once due, awards and starts the notice clock.
    await session.execute(update(Project).where(Project.code == tender.code)
                          .values(next_due_at=(await database_now(session)) - timedelta(seconds=1)))
    assert (tender.code, "award") in await run_due_steps(session)
    clock = await deadline(session, "award_notice", f"project:{tender.code}")
    assert clock.rule == "award_notice_working_days" and clock.met_at is None

    with pytest.raises(Conflict, match="尚未在中标候选人中确定"):
        await issue_award_notice(session, keys, actor="admin", project_code=tender.code, public_url=PUBLIC_URL)
    await choose_winner(session, actor="tenderer", project_code=tender.code, rank=2,
                        reason="第一名供应商放弃中标，依次确定排名第二的供应商")
    notice = await issue_award_notice(session, keys, actor="admin", project_code=tender.code, public_url=PUBLIC_URL)
    assert notice.organisation_id == tender.bidders[1].id and notice.price_fen == PRICES[1]
    assert notice.record["basis"] == "tendering_party_choice" and "放弃中标" in notice.record["choice_reason"]
    await session.refresh(clock)
    assert clock.met_at is not None
    today = local_date(await database_now(session))
    contract = await record_contract(session, actor="tenderer", project_code=tender.code, amount_fen=PRICES[1],
                                     signed_on=today, file_sha256=FILE_SHA256)
    published = await session.get(Announcement, contract.announcement_id)
    assert published.kind == "contract" and "政府采购法实施条例 第五十条" in published.body
    assert not contract.late


# ----------------------------------------------------------------------------- the API and the command line

TAIHE = "91370802MA3456789Q"  # demo bidder3
HOSPITAL = "12370800MB12345670"  # the demo tendering party's organisation


@pytest.fixture
async def client(demo, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def test_publicity_award_notice_verification_and_contract_over_the_api(client, settings, engine, cli, tmp_path):
    center = load_center_keys(settings)  # the app's own keys
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        tender = await world.tender_in_evaluation(session, center, PRICES, credit_codes=[bids.LUJIAN, TAIHE],
                                                  party_credit_code=HOSPITAL)
        await world.report(session, tender, ["93.00", "91.00", "80.00"])
    base = f"/api/projects/{tender.code}"
    admin, agency, tenderer, supervisor = [await bearer(client, name)
                                           for name in ("admin", "agency", "tenderer", "supervisor")]
    bidder1, bidder3 = await bearer(client, "bidder1"), await bearer(client, "bidder3")

    assert (await client.post(f"{base}/publicity", headers=bidder1)).status_code == 403
    assert (await client.post(f"{base}/publicity", headers=agency)).status_code == 403  # not this project's agency
    published = await client.post(f"{base}/publicity", headers=admin)
    assert published.status_code == 201, published.text
    public = await client.get(f"{base}/publicity")
    assert public.status_code == 200 and [c["rank"] for c in public.json()["candidates"]] == [1, 2, 3]
    assert public.json()["candidates"][0]["credit_code"] == bids.LUJIAN

    objection = await client.post(f"{base}/publicity/objections", json={"text": "第一名项目经理有在建工程"},
                                  headers=bidder3)
    assert objection.status_code == 201, objection.text
    answer_path = f"{base}/publicity/objections/{objection.json()['id']}/answer"
    assert (await client.post(answer_path, json={"answer": "x"}, headers=agency)).status_code == 403
    answered = await client.post(answer_path, json={"answer": "经核查，该项目经理无在建工程"}, headers=tenderer)
    assert answered.status_code == 201, answered.text
    assert (await client.get(f"{base}/publicity/objections")).status_code == 401
    assert (await client.get(f"{base}/publicity/objections", headers=bidder1)).json() == []
    assert len((await client.get(f"{base}/publicity/objections", headers=tenderer)).json()) == 1

    async with transaction(sessions) as session:
        await world.let_time_pass(session, tender.code, days=4)
        assert (tender.code, "award") in await run_due_steps(session)
    assert (await client.post(f"{base}/award-notice", headers=tenderer)).status_code == 403
    assert (await client.post(f"{base}/award-notice", headers=supervisor)).status_code == 403
    issued = await client.post(f"{base}/award-notice", headers=admin)
    assert issued.status_code == 201, issued.text
    number = issued.json()["number"]
    assert issued.json()["verify_url"] == f"{settings.public_url}/verify/award-notices/{number}"

    bundle = await client.get(f"/api/award-notices/{number}")
    assert bundle.status_code == 200 and bundle.json()["winner"]["credit_code"] == bids.LUJIAN
    pdf_path = f"/api/award-notices/{number}/pdf"
    assert (await client.get(pdf_path)).status_code == 401
    assert (await client.get(pdf_path, headers=bidder3)).status_code == 403  # not the winner
    pdf = await client.get(pdf_path, headers=bidder1)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    # Not a page: no script policy in the way of the browser's PDF viewer, only the framing rule.
    assert pdf.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert sha256_hex(pdf.content) == bundle.json()["pdf_sha256"]

    page = await client.get(f"/verify/award-notices/{number}")
    assert page.status_code == 200 and "签名有效" in page.text and tender.bidders[0].name in page.text
    good = await client.get(f"/verify/award-notices/{number}", params={"sha256": sha256_hex(pdf.content)})
    assert "文件相符" in good.text
    bad = await client.get(f"/verify/award-notices/{number}", params={"sha256": "0" * 64})
    assert "文件不符" in bad.text
    from tests.common.portal import csrf_token_from

    token = await csrf_token_from(client, f"/verify/award-notices/{number}")
    uploaded = await client.post(f"/verify/award-notices/{number}", data={"_csrf_token": token},
                                 files={"file": ("notice.pdf", pdf.content + b"%", "application/pdf")})
    assert uploaded.status_code == 200 and "文件不符" in uploaded.text, uploaded.text[:500]

    # Offline: the PDF and the bundle from the API, checked with the center's public key.
    notice_file, bundle_file = tmp_path / "notice.pdf", tmp_path / "bundle.json"
    notice_file.write_bytes(pdf.content)
    bundle_file.write_text(json.dumps(bundle.json(), ensure_ascii=False), encoding="utf-8")
    checked = await cli("award", "verify", str(notice_file), "--bundle", str(bundle_file),
                        "--key", center.verify_key_hex)
    assert checked.exit_code == 0 and "验证通过" in checked.output, checked.output
    looked_up = await cli("award", "verify", str(notice_file))  # no bundle: this center's database
    assert looked_up.exit_code == 0 and number in looked_up.output, looked_up.output
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(pdf.content.replace(b"%PDF-1.7", b"%PDF-1.6", 1) + b"\n")
    refused = await cli("award", "verify", str(tampered), "--bundle", str(bundle_file))
    assert refused.exit_code == 2 and "pdf_sha256" in refused.output

    contract = {"amount_fen": PRICES[0], "signed_on": None, "file_sha256": "cd" * 32}
    async with sessions() as session:
        contract["signed_on"] = local_date(await database_now(session)).isoformat()
    assert (await client.post(f"{base}/contract", json=contract, headers=bidder1)).status_code == 403
    assert (await client.post(f"{base}/contract", json=contract, headers=agency)).status_code == 403
    recorded = await client.post(f"{base}/contract", json=contract, headers=tenderer)
    assert recorded.status_code == 201 and recorded.json()["late"] is False, recorded.text
    assert (await client.get(f"{base}/contract")).json()["amount_fen"] == PRICES[0]
