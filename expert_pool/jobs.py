"""The pool's background job (see trading.jobs)."""

from __future__ import annotations

from expert_pool.committees import unseal_due_committees
from trading.jobs import Job

JOBS = (
    # Committees are named when their session starts, whether or not anyone is watching.
    Job("unseal_committees", lambda s: s.unseal_seconds, lambda session, c: unseal_due_committees(session, c.keys)),
)
