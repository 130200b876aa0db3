"""Evaluation (评标) from an opened tender: the scheme frozen with the documents, the committee
from the sealed draw unsealed at the start, the chair elected by more than half, reviews
with the mandatory rejection grounds decided by majority, scores and the ranking, the
report signed (Ed25519 or confirmation) or dissented, silent members deemed to agree, the
candidates recorded, a second round after an upheld complaint, and who sees what."""

from __future__ import annotations

from collections.abc import AsyncIterator
from fractions import Fraction

import nacl.signing
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from bidding.evaluation.candidates import Candidate, ranked_candidates
from bidding.evaluation.expert_keys import register_expert_key
from bidding.evaluation.grounds import REJECTION_GROUNDS
from bidding.evaluation.records import EvaluationMember
from bidding.evaluation.report import complete_report, record_dissent, sign_report
from bidding.evaluation.review import close_stage, record_review, record_scores
from bidding.evaluation.scheme import set_evaluation_scheme
from bidding.evaluation.sitting import start_evaluation_session, vote_for_chair
from bidding.evaluation.stages import COMPLETED, DETAILED, PRELIMINARY, QUALIFICATION, REPORT
from bidding.evaluation.views import evaluation_rounds, evaluation_view
from bidding.tender.lifecycle import apply_transition
from bidding.evaluation.scoring import render
from cli.demo import DEMO_PASSWORD
from tests.common import factories
from tests.common.evaluation import LOWEST_PRICE, SCHEME, all_review, elect, opened_tender
from tests.common.portal import bearer
from tests.common.tenders import tender_project
from trading.accounts import create_user
from trading.audit import AuditEntry
from trading.canonical import canon
from trading.database import make_sessionmaker, transaction
from trading.errors import Conflict, InvalidInput, PermissionDenied
from trading.organisations import Organisation
from trading.settings import Settings
from web.app import create_app

async def test_a_whole_comprehensive_evaluation_with_five_members(demo, session, keys):
    # A 1,000,000; B 950,000; C 900,000; D 1,200,000 yuan, above the 1,100,000 maximum price.
    tender, [a, b, c, d], experts = await opened_tender(
        session, keys, [100_000_000, 95_000_000, 90_000_000, 120_000_000], max_price_fen=110_000_000)
    code = tender.code
    evaluation = await start_evaluation_session(session, keys, actor="admin", project_code=code)
    assert evaluation.round == 1 and evaluation.max_candidates == 3
    with pytest.raises(Conflict, match="尚未结束"):
        await start_evaluation_session(session, keys, actor="admin", project_code=code)
    view = await evaluation_view(session, code, role="supervisor")
    assert sorted(m["expert"] for m in view["members"]) == sorted(e.code for e in experts)
    by_bidder = {bid["bidder_credit_code"]: bid for bid in view["bids"]}
    assert by_bidder[d]["proposed_ground"] == 5 and "高于最高投标限价" in by_bidder[d]["proposed_reason"]
    assert by_bidder[a]["price_fen"] == 100_000_000 and by_bidder[a]["duration_days"] == 180
    assert len(view["grounds"]) == 7 and view["grounds"][4]["text"] == REJECTION_GROUNDS[5]

    # Nobody reviews before there is a chair; a chair needs more than half the votes.
    with pytest.raises(Conflict, match="推选评标委员会组长"):
        await record_review(session, actor="x", project_code=code, expert_id=experts[0].id, bidder_credit_code=a,
                            verdict="pass")
    chair = experts[1]
    for voter, choice in ((0, 1), (1, 1), (2, 2)):
        evaluation = await vote_for_chair(session, actor="x", project_code=code, expert_id=experts[voter].id,
                                          candidate_code=experts[choice].code)
        assert evaluation.chair_member_id is None
    with pytest.raises(Conflict, match="重复投票"):
        await vote_for_chair(session, actor="x", project_code=code, expert_id=experts[0].id, candidate_code=chair.code)
    evaluation = await vote_for_chair(session, actor="x", project_code=code, expert_id=experts[3].id,
                                      candidate_code=chair.code)
    assert evaluation.stage == QUALIFICATION and evaluation.chair_member_id is not None

    # Qualification: two of five reject C — the minority does not reject.
    with pytest.raises(InvalidInput, match="否决理由"):
        await record_review(session, actor="x", project_code=code, expert_id=experts[0].id, bidder_credit_code=c,
                            verdict="reject", ground=3)
    with pytest.raises(InvalidInput, match="第五十一条"):
        await record_review(session, actor="x", project_code=code, expert_id=experts[0].id, bidder_credit_code=c,
                            verdict="reject", ground=8, reason="其他")
    await all_review(session, code, experts[:4], [a, b, c, d],
                     {(0, c): (3, "项目经理注册证书已过期"), (2, c): (3, "项目经理证书过期")})
    with pytest.raises(Conflict, match="尚未完成"):
        await close_stage(session, actor="x", project_code=code, expert_id=chair.id)
    await all_review(session, code, experts[4:], [a, b, c, d])
    with pytest.raises(PermissionDenied, match="组长"):
        await close_stage(session, actor="x", project_code=code, expert_id=experts[0].id)
    evaluation = await close_stage(session, actor="x", project_code=code, expert_id=chair.id)
    assert evaluation.stage == PRELIMINARY

    # Preliminary: three of five reject D on ground 5 (above the maximum price) — D is out.
    above = (5, "投标报价高于最高投标限价")
    await all_review(session, code, experts, [a, b, c, d], {(i, d): above for i in (0, 1, 3)})
    await close_stage(session, actor="x", project_code=code, expert_id=chair.id)
    view = await evaluation_view(session, code, role="admin")
    rejected = next(bid for bid in view["bids"] if bid["bidder_credit_code"] == d)
    assert (rejected["status"], rejected["rejected_stage"], rejected["ground"]) == ("rejected", PRELIMINARY, 5)
    assert rejected["reason"] == "投标报价高于最高投标限价"

    # Detailed review: technical items per member; the rejected bid takes no scores.
    with pytest.raises(Conflict, match="已被评标委员会否决"):
        await record_scores(session, actor="x", project_code=code, expert_id=chair.id, bidder_credit_code=d,
                            scores={"施工组织设计": "30", "项目管理机构": "20"})
    with pytest.raises(InvalidInput, match="不得超过"):
        await record_scores(session, actor="x", project_code=code, expert_id=chair.id, bidder_credit_code=a,
                            scores={"施工组织设计": "41", "项目管理机构": "20"})
    items = {a: ("35", "25"), c: ("30", "20")}
    b_design = ["39", "40", "38", "40", "38"]  # mean 39
    for i, expert in enumerate(experts):
        for bidder, (design, team) in {**items, b: (b_design[i], "26")}.items():
            await record_scores(session, actor="x", project_code=code, expert_id=expert.id, bidder_credit_code=bidder,
                                scores={"施工组织设计": design, "项目管理机构": team})
        if i == 3:
            with pytest.raises(Conflict, match="尚未完成"):
                await close_stage(session, actor="x", project_code=code, expert_id=chair.id)
    # one member also proposes to disqualify A in the detailed review: a minority, A stays
    await record_review(session, actor="x", project_code=code, expert_id=experts[4].id, bidder_credit_code=a,
                        verdict="reject", ground=6, reason="工期不满足招标文件要求")
    evaluation = await close_stage(session, actor="x", project_code=code, expert_id=chair.id)
    assert evaluation.stage == REPORT
    report = evaluation.report
    # Price scores (lowest_ratio, benchmark 900,000): A 27.00, B 28.42, C 30.00; finals = price + mean items.
    expected_b = Fraction(90, 95) * 30 + 39 + 26
    assert [(c_["bidder_credit_code"], c_["score"]) for c_ in report["candidates"]] == \
        [(b, "93.42"), (a, "87.00"), (c, "80.00")]
    assert render(expected_b) == "93.42"
    assert next(x for x in report["bids"] if x["bidder_credit_code"] == d)["ground_text"] == REJECTION_GROUNDS[5]

    # The report: an Ed25519 signature, a confirmation, a dissent, and one silent member.
    signing_key = nacl.signing.SigningKey.generate()
    await register_expert_key(session, actor="x", expert_id=experts[0].id,
                              verify_key=signing_key.verify_key.encode().hex())
    forged = nacl.signing.SigningKey.generate().sign(canon(report)).signature.hex()
    with pytest.raises(InvalidInput, match="无法用您登记的公钥验证"):
        await sign_report(session, actor="x", project_code=code, expert_id=experts[0].id, signature=forged)
    with pytest.raises(Conflict, match="尚未登记签名公钥"):
        await sign_report(session, actor="x", project_code=code, expert_id=experts[2].id, signature=forged)
    signed = await sign_report(session, actor="x", project_code=code, expert_id=experts[0].id,
                               signature=signing_key.sign(canon(report)).signature.hex())
    assert signed.signature_key_id
    await sign_report(session, actor="x", project_code=code, expert_id=chair.id)
    await sign_report(session, actor="x", project_code=code, expert_id=experts[3].id)
    with pytest.raises(Conflict, match="已签署"):
        await sign_report(session, actor="x", project_code=code, expert_id=experts[3].id)
    with pytest.raises(InvalidInput):
        await record_dissent(session, actor="x", project_code=code, expert_id=experts[2].id, reasons="  ")
    await record_dissent(session, actor="x", project_code=code, expert_id=experts[2].id,
                         reasons="C 的项目经理证书已过期，应在资格审查中否决")
    with pytest.raises(PermissionDenied, match="组长"):
        await complete_report(session, actor="x", project_code=code, expert_id=experts[0].id)
    evaluation = await complete_report(session, actor="x", project_code=code, expert_id=chair.id)
    assert evaluation.stage == COMPLETED and evaluation.outcome == "candidates"

    members = {m.expert_id: m for m in (await session.scalars(select(EvaluationMember).where(
        EvaluationMember.session_id == evaluation.id))).all()}
    assert [e.code for e in experts if members[e.id].deemed_agreed] == [experts[4].code]
    candidates = await ranked_candidates(session, tender.id)
    assert [(c_.rank, c_.price_fen, c_.score) for c_ in candidates] == \
        [(1, 95_000_000, "93.42"), (2, 100_000_000, "87.00"), (3, 90_000_000, "80.00")]
    await session.refresh(tender)
    assert tender.state == "evaluating"  # publicity is the next step, not taken here
    completed = await session.scalar(select(AuditEntry).where(AuditEntry.subject == f"project:{code}",
                                                              AuditEntry.action == "evaluation.report_completed"))
    assert completed.data["deemed_agreed"] == [experts[4].code]
    assert completed.data["dissent"][0]["member"] == experts[2].code
    # Once the candidates are published, a bidder sees them and its own bid's outcome — no one else's.
    with pytest.raises(PermissionDenied, match="公示前"):
        await evaluation_view(session, code, role="bidder", organisation_id=0)
    await apply_transition(session, actor="agency", project_code=code, action="publish_candidates",
                           facts={"candidates": 3})
    d_org = await session.scalar(select(Organisation.id).where(Organisation.credit_code == d))
    seen = await evaluation_view(session, code, role="bidder", organisation_id=d_org)
    assert [c_["score"] for c_ in seen["candidates"]] == ["93.42", "87.00", "80.00"]
    assert (seen["own_bid"]["status"], seen["own_bid"]["ground"]) == ("rejected", 5)
    assert "bids" not in seen and "members" not in seen
    actions = set((await session.scalars(select(AuditEntry.action).where(
        AuditEntry.subject == f"project:{code}", AuditEntry.action.like("evaluation.%")))).all())
    assert {"evaluation.scheme_set", "evaluation.started", "evaluation.chair_vote", "evaluation.chair_elected",
            "evaluation.reviewed", "evaluation.stage_closed", "evaluation.scored", "evaluation.report_drawn_up",
            "evaluation.report_signed", "evaluation.dissent_recorded"} <= actions


async def test_the_scheme_is_frozen_once_bidding_starts(demo, session, keys):
    tender = await tender_project(session, keys, "announced")
    await set_evaluation_scheme(session, actor="agency", project_code=tender.code, scheme=LOWEST_PRICE)
    await set_evaluation_scheme(session, actor="agency", project_code=tender.code, scheme=SCHEME)  # still announced
    await apply_transition(session, actor="test", project_code=tender.code, action="open_bidding")
    with pytest.raises(Conflict, match="评标办法已固定") as refused:
        await set_evaluation_scheme(session, actor="agency", project_code=tender.code, scheme=LOWEST_PRICE)
    assert "第四十条" in refused.value.message


async def test_lowest_price_ranks_by_price_then_earlier_bid_and_a_second_round_follows_an_upheld_complaint(
        demo, session, keys):
    tender, [first, second, third], experts = await opened_tender(
        session, keys, [96_000_000, 95_000_000, 95_000_000], scheme=LOWEST_PRICE)
    code = tender.code
    await start_evaluation_session(session, keys, actor="admin", project_code=code)
    await elect(session, code, experts, experts[0])
    for stage in (QUALIFICATION, PRELIMINARY, DETAILED):
        if stage == DETAILED:
            with pytest.raises(Conflict, match="不设技术"):
                await record_scores(session, actor="x", project_code=code, expert_id=experts[0].id,
                                    bidder_credit_code=first, scores={})
        await all_review(session, code, experts, [first, second, third])
        evaluation = await close_stage(session, actor="x", project_code=code, expert_id=experts[0].id)
    assert [(c_["bidder_credit_code"], c_["score"]) for c_ in evaluation.report["candidates"]] == \
        [(second, None), (third, None), (first, None)]  # equal prices: the earlier bid first
    for expert in experts:  # every member signs: the report completes by itself
        await sign_report(session, actor="x", project_code=code, expert_id=expert.id)
    assert [c_.price_fen for c_ in await ranked_candidates(session, tender.id)] == [95_000_000] * 2 + [96_000_000]
    with pytest.raises(Conflict, match="投诉成立"):
        await start_evaluation_session(session, keys, actor="admin", project_code=code)

    # An upheld complaint sends the tender back to evaluation: round 2, round 1 stays on record.
    await apply_transition(session, actor="supervisor", project_code=code, action="suspend", facts={"reason": "投诉受理"})
    await apply_transition(session, actor="supervisor", project_code=code, action="reevaluate",
                           facts={"reason": "投诉成立，责令重新评审"})
    evaluation = await start_evaluation_session(session, keys, actor="admin", project_code=code)
    assert evaluation.round == 2
    await elect(session, code, experts, experts[2])
    await all_review(session, code, experts, [first, second, third],
                     {(i, second): (7, "与第三名投标人报价雷同，串通投标") for i in range(3)})
    await close_stage(session, actor="x", project_code=code, expert_id=experts[2].id)
    for _ in (PRELIMINARY, DETAILED):
        await all_review(session, code, experts, [first, third])
        evaluation = await close_stage(session, actor="x", project_code=code, expert_id=experts[2].id)
    await complete_report(session, actor="admin", project_code=code)  # the center closes it: all deemed
    rounds = await evaluation_rounds(session, code)
    assert [(r["round"], r["stage"]) for r in rounds] == [(1, COMPLETED), (2, COMPLETED)]
    current = await ranked_candidates(session, tender.id)
    assert [c_.price_fen for c_ in current] == [95_000_000, 96_000_000] and current[0].round == 2
    superseded = (await session.scalars(select(Candidate).where(Candidate.project_id == tender.id,
                                                                Candidate.superseded_at.is_not(None)))).all()
    assert len(superseded) == 3


async def test_when_every_bid_is_rejected_the_tender_fails(demo, session, keys):
    tender, bidders, experts = await opened_tender(session, keys, [95_000_000, 96_000_000, 97_000_000],
                                                   scheme=LOWEST_PRICE)
    await start_evaluation_session(session, keys, actor="admin", project_code=tender.code)
    await elect(session, tender.code, experts, experts[0])
    await all_review(session, tender.code, experts, bidders,
                     {(i, bidder): (6, "未响应工期要求") for i in range(5) for bidder in bidders})
    evaluation = await close_stage(session, actor="x", project_code=tender.code, expert_id=experts[0].id)
    assert (evaluation.stage, evaluation.outcome) == (COMPLETED, "all_rejected")
    await session.refresh(tender)
    assert tender.state == "failed"


async def test_a_step_out_of_turn_is_refused_naming_the_stage_it_needs(demo, session, keys):
    tender, [a, _, _], experts = await opened_tender(session, keys, [95_000_000, 96_000_000, 97_000_000])
    code, member = tender.code, experts[1]
    await start_evaluation_session(session, keys, actor="admin", project_code=code)
    acts = {
        "review": lambda: record_review(session, actor="x", project_code=code, expert_id=member.id,
                                        bidder_credit_code=a, verdict="pass"),
        "scores": lambda: record_scores(session, actor="x", project_code=code, expert_id=member.id,
                                        bidder_credit_code=a, scores=[]),
        "sign": lambda: sign_report(session, actor="x", project_code=code, expert_id=member.id),
        "complete": lambda: complete_report(session, actor="admin", project_code=code),
        "vote": lambda: vote_for_chair(session, actor="x", project_code=code, expert_id=member.id,
                                       candidate_code=member.code),
    }
    refused = {
        "推选评标委员会组长": ("review", "scores", "sign", "complete"),
        "资格审查": ("scores", "sign", "complete", "vote"),
    }
    needs = {"review": "资格审查、初步评审、详细评审", "scores": "详细评审", "sign": "评标报告签署",
             "complete": "评标报告签署", "vote": "推选评标委员会组长"}
    for stage, names in refused.items():
        if stage == "资格审查":
            await elect(session, code, experts, experts[0])
        for name in names:
            with pytest.raises(Conflict) as out_of_turn:
                await acts[name]()
            assert out_of_turn.value.message == f"评标当前处于「{stage}」阶段，不能进行{needs[name]}"
            assert out_of_turn.value.code == "evaluation_stage"


# --------------------------------------------------------------------------- the API


@pytest.fixture
async def client(demo, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def test_an_evaluation_over_the_api_with_experts_as_their_own_accounts(client, settings, engine):
    from trading.keys import load_center_keys

    center = load_center_keys(settings)
    scheme = {"method": "comprehensive", "price_points": "40",
              "price_formula": {"kind": "mean_deviation", "k": "0.97", "deduct_above": "2", "deduct_below": "1"},
              "items": [{"name": "技术方案", "max_points": "60"}]}
    async with transaction(make_sessionmaker(engine)) as session:
        tender, bidders, experts = await opened_tender(session, center, [97_000_000, 100_000_000, 103_000_000],
                                                       scheme=scheme)
        employer = await factories.organisation(session, "expert_employer")
        for i, expert in enumerate(experts):
            await create_user(session, actor="test", username=f"pb-{tender.code.lower()}-{i}", display_name=expert.name,
                              role="expert", password=DEMO_PASSWORD, organisation_id=employer.id, id_number=expert.id_number)
    code = tender.code
    path = f"/api/projects/{code}/evaluation"
    admin, bidder1, tenderer, expert_demo = [await bearer(client, n) for n in ("admin", "bidder1", "tenderer", "expert")]
    members = [await bearer(client, f"pb-{code.lower()}-{i}") for i in range(len(experts))]

    assert (await client.get(f"{path}/scheme")).json()["price_formula"]["k"] == "0.97"
    frozen = await client.put(f"{path}/scheme", json={"method": "lowest_price"}, headers=admin)
    assert frozen.status_code == 409 and "评标办法已固定" in frozen.json()["error"]["message"]
    assert (await client.post(path, headers=bidder1)).status_code == 403
    assert (await client.post(path, headers=members[0])).status_code == 403
    started = await client.post(path, headers=admin)
    assert started.status_code == 201, started.text

    # Bidders see nothing before the candidates are published; an expert not on the committee neither.
    assert (await client.get(path, headers=bidder1)).status_code == 403
    assert (await client.get(path, headers=expert_demo)).status_code == 403
    assert (await client.get(path, headers=tenderer)).status_code == 403  # not this project's party

    for token in members[:3]:  # three of five: more than half
        voted = await client.post(f"{path}/chair-votes", json={"candidate": experts[0].code}, headers=token)
        assert voted.status_code == 201, voted.text
    assert voted.json() == {"stage": QUALIFICATION, "chair_elected": True}
    for stage in (QUALIFICATION, PRELIMINARY, DETAILED):
        for i, token in enumerate(members):
            for bidder in bidders:
                reviewed = await client.post(f"{path}/reviews", json={"bidder_credit_code": bidder, "verdict": "pass"},
                                             headers=token)
                assert reviewed.status_code == 201, reviewed.text
                if stage == DETAILED:
                    scored = await client.post(f"{path}/scores", json={"bidder_credit_code": bidder,
                                                                       "scores": {"技术方案": "50"}}, headers=token)
                    assert scored.status_code == 201, scored.text
        assert (await client.post(f"{path}/close-stage", headers=members[1])).status_code == 403  # not the chair
        closed = await client.post(f"{path}/close-stage", headers=members[0])
        assert closed.status_code == 201, closed.text
    view = closed.json()
    assert view["stage"] == REPORT
    # mean 1,000,000 × 0.97 = 970,000 yuan: 970,000 full 40; 1,000,000 is 3.09 % above (−6.19); 1,030,000 6.19 %.
    assert [(c_["price_fen"], c_["score"]) for c_ in view["report"]["candidates"]] == \
        [(97_000_000, "90.00"), (100_000_000, "83.81"), (103_000_000, "77.63")]

    key = nacl.signing.SigningKey.generate()
    registered = await client.post("/api/me/expert-key", json={"verify_key": key.verify_key.encode().hex()},
                                   headers=members[0])
    assert registered.status_code == 201, registered.text
    signature = key.sign(canon(view["report"])).signature.hex()
    signed = await client.post(f"{path}/signatures", json={"signature": signature}, headers=members[0])
    assert signed.status_code == 201 and signed.json()["by"] == "signature", signed.text
    assert (await client.post(f"{path}/signatures", json={}, headers=members[1])).status_code == 400
    confirmed = await client.post(f"{path}/signatures", json={"confirm": True}, headers=members[1])
    assert confirmed.json()["by"] == "confirmation"
    dissent = await client.post(f"{path}/dissent", json={"reasons": "技术方案评分标准过宽"}, headers=members[2])
    assert dissent.status_code == 201
    done = await client.post(f"{path}/complete", headers=admin)
    assert done.status_code == 201 and done.json()["outcome"] == "candidates", done.text

    watched = (await client.get(path, headers=admin)).json()
    deemed = {m["expert"] for m in watched["members"] if m["deemed_agreed"]}
    assert deemed == {experts[3].code, experts[4].code}
    assert (await client.get(path, headers=bidder1)).status_code == 403  # still before publicity
    own = (await client.get(path, headers=members[3])).json()
    assert all(r["member"] == experts[3].code for bid in own["bids"] for r in bid["reviews"])
