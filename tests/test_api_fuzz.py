"""A bounded schema-fuzzing run of the whole API (issue 14): schemathesis reads the app's own
OpenAPI document and sends what it describes, and what it does not (negative cases, NUL
bytes, out-of-range numbers, undeclared methods), anonymously and as each role, to the app
on the module's real PostgreSQL. It fails on any 5xx and on any answer the document does
not describe: its status code, content type, body (the error shape included) and headers.

Sized for CI (a few examples per operation, a fixed seed so every run sends the same
requests); ``TRADING_FUZZ_EXAMPLES=200 TRADING_FUZZ_SEED=<n>`` runs a larger campaign.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, from_schema
from schemathesis.engine import events
from schemathesis.python import asgi
from sqlalchemy import select

from bidding.demo_data import load_demo_data
from trading.accounts import API, User, issue_token
from trading.database import make_sessionmaker, transaction
from web.app import create_app

EXAMPLES = int(os.environ.get("TRADING_FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("TRADING_FUZZ_SEED", "20261207"))
# Anonymous, and one demo account of each role that holds the API's guarded acts.
ROLES = [None, "admin", "bidder1", "tenderer", "expert", "supervisor"]
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance", "unsupported_method"]


@pytest.fixture(scope="module")
async def tokens(engine) -> dict[str | None, str]:
    """A bearer token per role, issued directly: the fuzzer's own wrong logins must not lock them out."""
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session)
        found = {}
        for username in ROLES[1:]:
            user = await session.scalar(select(User).where(User.username == username))
            found[username], _ = await issue_token(session, user, kind=API, lifetime=timedelta(hours=2), name="fuzz")
    return found


@pytest.fixture(scope="module")
def app(settings, database_url, tokens) -> Iterator[object]:
    application = create_app(settings, url=database_url)
    yield application
    # schemathesis runs the app's lifespan in its own event loop thread until told to stop.
    asgi.shutdown_lifespans()


def fuzz_config(token: str | None) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict({
        "seed": SEED,
        "max-stream-events": 1,
        "request-timeout": 20,
        "headers": {"Authorization": f"Bearer {token}"} if token else {},
        "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    })


def describe(event: events.ScenarioFinished) -> list[str]:
    found = []
    for case_id, checks in event.recorder.checks.items():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                found.append(f"{event.recorder.label}: {check.name}: {check.failure_info.failure.title}\n"
                             f"    {check.failure_info.failure.message[:300]}\n    {check.failure_info.code_sample}")
    return found


@pytest.mark.parametrize("role", ROLES, ids=[role or "anonymous" for role in ROLES])
def test_the_whole_api_answers_only_what_it_documents(app, tokens, role):
    schema = schemathesis.openapi.from_asgi("/api/docs/openapi.json", app, config=fuzz_config(tokens.get(role)))
    failures, errors = [], []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            failures += describe(event)
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            errors.append(repr(event))
    assert not errors, "\n".join(errors[:20])
    assert not failures, f"{len(failures)} findings:\n" + "\n".join(sorted(set(failures))[:60])
