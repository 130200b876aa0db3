"""First-come-first-served gates in front of the database pool, for the routes a crowd hits
at once (the public list, a deadline rush).

SQLAlchemy's asyncio pool (an asyncio.Queue) lets a newcomer take the connection a woken
waiter was about to get, and the robbed waiter queues again at the back: under a crowd a few
requests wait out the pool's timeout and fail (bench/RESULTS.md: the portal list; the
deadline rush with 2,000 bidders at once answered 678 of them 503). Behind a gate with
fewer places than the pool, requests never wait in the pool itself; asyncio.Semaphore never
lets a newcomer pass a waiter, so nobody waits much longer than the others.
"""

from __future__ import annotations

import asyncio
from weakref import WeakKeyDictionary

# Places per gate: the pool holds 15 connections (5 + 10 overflow); the rest serve the
# token lookups, the other routes and the app's workers.
PUBLIC_QUERY_SLOTS = 10
BID_SUBMISSION_SLOTS = 10

_gates: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = WeakKeyDictionary()


def gate(name: str, slots: int) -> asyncio.Semaphore:
    """The gate ``name`` of the running event loop (one per app worker and loop)."""
    gates = _gates.setdefault(asyncio.get_running_loop(), {})
    if name not in gates:
        gates[name] = asyncio.Semaphore(slots)
    return gates[name]


def public_query_gate() -> asyncio.Semaphore:
    return gate("public", PUBLIC_QUERY_SLOTS)


def bid_submission_gate() -> asyncio.Semaphore:
    return gate("bids", BID_SUBMISSION_SLOTS)
