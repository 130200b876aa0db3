"""The tender's background jobs, and the whole list every runner starts (see trading.jobs)."""

from __future__ import annotations

from bidding.clock.calendar_change import CalendarWatch
from bidding.tender.chronograph import run_due_steps
from bidding.tender.deadline_watch import watch_deadlines
from bidding.opening.proceedings import open_all_handed_in_bids
from bidding.draws.partner_draws import open_due_partner_draws
from bidding.settlement.due_receipts import issue_due_receipts
from expert_pool import jobs as expert_pool_jobs
from trading import jobs as trading_jobs
from trading.jobs import Job

RECEIPT_SECONDS = 60

JOBS = (
    # Experts from partner cities: their sealed names are fetched and opened at the session start.
    Job("open_partner_draws", lambda s: s.unseal_seconds, lambda session, c: open_due_partner_draws(
        session, c.keys, c.settings, gateway=c.partner_gateway)),
    # The chronograph: deadlines move tenders on their own (FOR UPDATE SKIP LOCKED).
    Job("chronograph", lambda s: s.chronograph_seconds, lambda session, c: run_due_steps(session, keys=c.keys)),
    # The batch opener: bids whose key halves were handed in open within about a second.
    Job("opener", lambda s: s.opening_seconds, lambda session, c: open_all_handed_in_bids(session, c.keys)),
    # 统一费用收取退付: every payment and refund gets its signed receipt, even one recorded
    # where no key was at hand (the command line, a failed render).
    Job("receipts", lambda s: RECEIPT_SECONDS, lambda session, c: issue_due_receipts(
        session, c.keys, public_url=c.settings.public_url)),
    # A year's holiday notice loaded: provisional deadlines are reckoned again (never earlier).
    Job("calendar_watch", lambda s: s.deadline_watch_seconds, lambda session, c: c.own(CalendarWatch)(session)),
    # 电子监察: yellow and red cards on the deadlines the law sets (FOR UPDATE SKIP LOCKED).
    Job("deadline_watch", lambda s: s.deadline_watch_seconds, lambda session, c: watch_deadlines(session)),
)

ALL_JOBS = (*trading_jobs.JOBS, *expert_pool_jobs.JOBS, *JOBS)
