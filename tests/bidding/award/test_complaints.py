"""Complaints (投诉) against the evaluation result: filed by a bidder within the rule's period
from the start of the publicity; supervisors accept (the tender is suspended) or refuse
(nothing is suspended), each with reasons and against the acceptance clock; an accepted
complaint is decided within its clock: upheld sends the tender back to evaluation or
terminates it, dismissed resumes it; every step audited, every refusal naming its rule."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from bidding.evaluation.candidates import ranked_candidates
from bidding.award.complaints import Complaint, accept_complaint, decide_complaint, file_complaint, reject_complaint
from bidding.tender.deadlines import Deadline
from bidding.tender.projects import Project
from bidding.award.publicity import publish_candidates
from bidding.tender.states import local_date
from tests.common import award_world as world
from tests.common import factories
from tests.common import bids
from tests.common.portal import bearer
from trading.audit import AuditEntry
from trading.database import make_sessionmaker, transaction
from trading.errors import Conflict, DomainError, InvalidInput, PermissionDenied, RuleViolation
from trading.keys import load_center_keys
from trading.settings import Settings
from trading.timefmt import CENTER_ZONE
from web.app import create_app

TAIHE = "91370802MA3456789Q"  # demo bidder3
PRICES = [100_000_000_00, 101_000_000_00, 102_000_000_00]


async def in_publicity(session, keys) -> world.Tender:
    return await world.tender_in_publicity(session, keys, PRICES)


async def state_of(session, code: str) -> Project:
    return await session.scalar(select(Project).where(Project.code == code).execution_options(populate_existing=True))


async def clock(session, kind: str, complaint_id: int) -> Deadline | None:
    return await session.scalar(select(Deadline).where(Deadline.kind == kind, Deadline.subject == f"complaint:{complaint_id}"))


async def test_an_accepted_complaint_suspends_the_tender_and_a_dismissal_resumes_it(
        demo, session, keys, calendar_with_next_year):
    tender = await in_publicity(session, keys)
    bidder = tender.bidders[2]
    complaint = await file_complaint(session, actor="bidder", project_code=tender.code, organisation_id=bidder.id,
                                     grounds="评标委员会未按招标文件规定的评分标准评审")
    acceptance = await clock(session, "complaint_acceptance", complaint.id)
    assert acceptance.rule == "complaint_acceptance_working_days" and acceptance.met_at is None

    accepted = await accept_complaint(session, actor="supervisor", project_code=tender.code,
                                      complaint_id=complaint.id, reason="投诉事项明确，属于受理范围")
    assert accepted.status == "accepted" and accepted.suspended_tender
    project = await state_of(session, tender.code)
    assert (project.state, project.suspended_from, project.next_due_at) == ("suspended", "publicity", None)
    await session.refresh(acceptance)
    assert acceptance.met_at is not None
    answer = await clock(session, "complaint_answer", complaint.id)
    assert answer.rule == "complaint_decision_working_days"
    last_day = calendar_with_next_year.add_working_days(local_date(accepted.acceptance_at), 30)
    assert answer.due_at == datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=CENTER_ZONE)
    with pytest.raises(Conflict, match="已受理"):
        await accept_complaint(session, actor="supervisor", project_code=tender.code, complaint_id=complaint.id,
                               reason="再次受理")

    dismissed = await decide_complaint(session, actor="supervisor", project_code=tender.code,
                                       complaint_id=complaint.id, outcome="dismiss", reason="经调查，评审符合招标文件")
    assert (dismissed.status, dismissed.outcome) == ("dismissed", "dismiss")
    project = await state_of(session, tender.code)
    assert project.state == "publicity" and project.next_due_at is not None
    await session.refresh(answer)
    assert answer.met_at is not None
    actions = (await session.scalars(select(AuditEntry.action).where(
        AuditEntry.subject == f"project:{tender.code}").order_by(AuditEntry.seq))).all()
    assert [a for a in actions if a.startswith(("complaint.", "tender.suspend", "tender.resume"))] == [
        "complaint.filed", "tender.suspend", "complaint.accepted", "tender.resume", "complaint.dismissed"]


async def test_an_upheld_complaint_sends_the_tender_back_to_evaluation_for_a_new_ranking(demo, session, keys):
    tender = await in_publicity(session, keys)
    complaint = await file_complaint(session, actor="bidder", project_code=tender.code,
                                     organisation_id=tender.bidders[1].id, grounds="第一名资格条件不符合招标文件要求")
    await accept_complaint(session, actor="supervisor", project_code=tender.code, complaint_id=complaint.id,
                           reason="予以受理")
    with pytest.raises(InvalidInput):
        await decide_complaint(session, actor="supervisor", project_code=tender.code, complaint_id=complaint.id,
                               outcome="uphold", reason="投诉成立")
    upheld = await decide_complaint(session, actor="supervisor", project_code=tender.code, complaint_id=complaint.id,
                                    outcome="reevaluate", reason="投诉成立，责令评标委员会重新评审")
    assert (upheld.status, upheld.outcome) == ("upheld", "reevaluate")
    assert (await state_of(session, tender.code)).state == "evaluating"
    # The committee re-ranks without the disqualified first candidate; publicity starts again.
    tender.bidders, tender.bid_ids, tender.prices = tender.bidders[1:], tender.bid_ids[1:], tender.prices[1:]
    await world.report(session, tender)
    await publish_candidates(session, actor="admin", project_code=tender.code)
    current = await ranked_candidates(session, tender.project.id)
    assert [(c.round, c.rank) for c in current] == [(2, 1), (2, 2)]
    assert (await state_of(session, tender.code)).state == "publicity"


async def test_a_refused_complaint_suspends_nothing_and_the_period_is_enforced(demo, session, keys):
    tender = await in_publicity(session, keys)
    outsider = await factories.organisation(session, "bidder")
    with pytest.raises(PermissionDenied, match="投标人"):
        await file_complaint(session, actor="x", project_code=tender.code, organisation_id=outsider.id,
                             grounds="不服评标结果")
    complaint = await file_complaint(session, actor="bidder", project_code=tender.code,
                                     organisation_id=tender.bidders[2].id, grounds="不服评标结果")
    refused = await reject_complaint(session, actor="supervisor", project_code=tender.code,
                                     complaint_id=complaint.id, reason="投诉未提供必要的证明材料，不予受理")
    assert refused.status == "rejected" and refused.acceptance_reason.startswith("投诉未提供")
    assert (await state_of(session, tender.code)).state == "publicity"
    assert (await clock(session, "complaint_acceptance", complaint.id)).met_at is not None
    assert await clock(session, "complaint_answer", complaint.id) is None
    with pytest.raises(Conflict):
        await decide_complaint(session, actor="supervisor", project_code=tender.code, complaint_id=complaint.id,
                               outcome="dismiss", reason="驳回")

    await world.let_time_pass(session, tender.code, days=11)  # ten days from the publicity are over
    with pytest.raises(RuleViolation) as late:
        await file_complaint(session, actor="bidder", project_code=tender.code,
                             organisation_id=tender.bidders[2].id, grounds="补充投诉")
    assert late.value.details["rule"] == "complaint_period_days" and "第六十条" in late.value.message


async def test_two_accepted_complaints_keep_the_tender_suspended_until_both_are_decided_and_an_awarded_tender_is_terminated(
        demo, session, keys):
    tender = await in_publicity(session, keys)
    await world.let_time_pass(session, tender.code, days=4)
    from bidding.tender.chronograph import run_due_steps

    assert (tender.code, "award") in await run_due_steps(session)
    first = await file_complaint(session, actor="b2", project_code=tender.code, organisation_id=tender.bidders[1].id,
                                 grounds="评分错误")
    second = await file_complaint(session, actor="b3", project_code=tender.code,
                                  organisation_id=tender.bidders[2].id, grounds="中标人弄虚作假")
    await accept_complaint(session, actor="supervisor", project_code=tender.code, complaint_id=first.id, reason="受理")
    also = await accept_complaint(session, actor="supervisor", project_code=tender.code, complaint_id=second.id,
                                  reason="受理")
    assert not also.suspended_tender  # already suspended by the first
    await decide_complaint(session, actor="supervisor", project_code=tender.code, complaint_id=first.id,
                           outcome="dismiss", reason="评分无误")
    project = await state_of(session, tender.code)
    assert (project.state, project.suspended_from) == ("suspended", "awarded")
    with pytest.raises(Conflict, match="不能重新评审"):  # the award stands: only termination remains
        await decide_complaint(session, actor="supervisor", project_code=tender.code, complaint_id=second.id,
                               outcome="reevaluate", reason="投诉成立")
    await decide_complaint(session, actor="supervisor", project_code=tender.code, complaint_id=second.id,
                           outcome="terminate", reason="中标人弄虚作假，中标无效，重新招标")
    assert (await state_of(session, tender.code)).state == "terminated"
    with pytest.raises(Conflict, match="不再受理"):
        await file_complaint(session, actor="b2", project_code=tender.code, organisation_id=tender.bidders[1].id,
                             grounds="再投诉")


# ----------------------------------------------------------------------------- random sequences

COMPLAINT_ACTIONS = st.one_of(
    st.tuples(st.just("file"), st.integers(0, 2)),
    st.tuples(st.sampled_from(["accept", "reject", "dismiss", "reevaluate", "terminate"]), st.integers(0, 5)),
)
NEXT_STATUSES = {"filed": {"filed", "accepted", "rejected"}, "accepted": {"accepted", "upheld", "dismissed"},
                 "rejected": {"rejected"}, "upheld": {"upheld"}, "dismissed": {"dismissed"}}


async def _try(session, action: str, tender: world.Tender, target: Complaint | None, index: int) -> bool:
    code, reason = tender.code, "理由"
    try:
        async with session.begin_nested():
            if action == "file":
                await file_complaint(session, actor="b", project_code=code, organisation_id=tender.bidders[index].id,
                                     grounds="不服评标结果")
            elif target is None:
                return False
            elif action == "accept":
                await accept_complaint(session, actor="s", project_code=code, complaint_id=target.id, reason=reason)
            elif action == "reject":
                await reject_complaint(session, actor="s", project_code=code, complaint_id=target.id, reason=reason)
            else:
                await decide_complaint(session, actor="s", project_code=code, complaint_id=target.id, outcome=action,
                                       reason=reason)
    except DomainError:
        return False
    return True


@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(COMPLAINT_ACTIONS, min_size=1, max_size=12))
async def test_random_complaint_handling_keeps_the_tender_and_the_complaints_consistent(demo, session, keys, actions):
    async with session.begin_nested() as example:
        tender = await in_publicity(session, keys)
        succeeded = 0
        for action, index in actions:
            complaints = (await session.scalars(select(Complaint).where(Complaint.project_id == tender.project.id)
                                                .order_by(Complaint.id).execution_options(populate_existing=True))).all()
            before = {c.id: c.status for c in complaints}
            state_before = (await state_of(session, tender.code)).state
            target = complaints[index % len(complaints)] if complaints else None
            done = await _try(session, action, tender, target, index)
            succeeded += done
            after = {c.id: c.status for c in (await session.scalars(
                select(Complaint).where(Complaint.project_id == tender.project.id)
                .execution_options(populate_existing=True))).all()}
            project = await state_of(session, tender.code)
            if not done:  # a refused step changes nothing
                assert after == before and project.state == state_before
            assert all(after[cid] in NEXT_STATUSES[status] for cid, status in before.items())
            accepted_open = sum(status == "accepted" for status in after.values())
            if project.state == "suspended":
                assert accepted_open >= 1
            if project.state == "publicity":
                assert accepted_open == 0
            if project.state == "terminated":
                assert "upheld" in after.values()
        entries = await session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.subject == f"project:{tender.code}", AuditEntry.action.like("complaint.%")))
        assert entries == succeeded  # every step that happened is audited, once
        await example.rollback()


# ----------------------------------------------------------------------------- the API


@pytest.fixture
async def client(demo, settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


async def test_complaints_over_the_api_each_role_doing_its_part(client, settings, engine):
    center = load_center_keys(settings)
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await world.tender_in_evaluation(session, center, PRICES,
                                                  credit_codes=[bids.LUJIAN, TAIHE])  # bidder1, bidder3
        await world.report(session, tender)
        await publish_candidates(session, actor="admin", project_code=tender.code)
    base = f"/api/projects/{tender.code}/complaints"
    bidder1, bidder2, supervisor, admin = [await bearer(client, name)
                                           for name in ("bidder1", "bidder2", "supervisor", "admin")]
    bidder3 = await bearer(client, "bidder3")

    assert (await client.post(base, json={"grounds": "不服"}, headers=bidder2)).status_code == 403  # not a bidder here
    filed = await client.post(base, json={"grounds": "第一名业绩造假"}, headers=bidder3)
    assert filed.status_code == 201, filed.text
    complaint_id = filed.json()["id"]
    assert filed.json()["bidder_credit_code"] == TAIHE
    mine = await client.get(base, headers=bidder1)
    assert mine.status_code == 200 and mine.json() == []  # bidder1 sees only its own complaints
    assert (await client.get(base)).status_code == 401
    assert len((await client.get(base, headers=supervisor)).json()) == 1

    accept = f"{base}/{complaint_id}/accept"
    assert (await client.post(accept, json={"reason": "受理"}, headers=admin)).status_code == 403
    accepted = await client.post(accept, json={"reason": "投诉事项明确，予以受理"}, headers=supervisor)
    assert accepted.status_code == 201 and accepted.json()["suspended_tender"], accepted.text
    decision = f"{base}/{complaint_id}/decision"
    assert (await client.post(decision, json={"outcome": "dismiss", "reason": "x"}, headers=bidder3)).status_code == 403
    decided = await client.post(decision, json={"outcome": "dismiss", "reason": "经查业绩属实"}, headers=supervisor)
    assert decided.status_code == 201 and decided.json()["project_state"] == "publicity", decided.text
    again = await client.post(f"{base}/{complaint_id}/reject", json={"reason": "x"}, headers=supervisor)
    assert again.status_code == 409
