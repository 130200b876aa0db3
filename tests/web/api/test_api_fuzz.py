"""A bounded schema-fuzzing run of the whole API (issue 14): schemathesis reads the app's own
OpenAPI document and sends what it describes, and what it does not (negative cases, NUL
bytes, numbers and dates beyond their bounds, undeclared methods), to the app on the
module's real PostgreSQL: anonymously to every operation, and with the token of each demo
account to every operation its role may call (and to those that answer differently by
user), stateful sequences included. It fails on any 5xx and on any answer the document
does not describe: its status code, content type, body (the error shape included) and
headers.

Sized for CI (a few examples per operation, a fixed seed so every run sends the same
requests); a larger campaign: ``TRADING_FUZZ_EXAMPLES=100 TRADING_FUZZ_SEED=7 pytest
tests/web/api/test_api_fuzz.py`` (README, under `make test`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from schemathesis.python import asgi
from sqlalchemy import select, update

from cli.demo import load_demo_data
from trading.accounts import API, User, issue_token
from trading.database import make_sessionmaker, transaction
from web.api.docs import documented
from web.app import create_app

EXAMPLES = int(os.environ.get("TRADING_FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("TRADING_FUZZ_SEED", "20261207"))
# A demo account of every role the API's guards name (README: the demo accounts).
ACCOUNTS = ["admin", "bidder1", "tenderer", "agency", "expert", "supervisor", "finance", "credit", "zhujian"]
REVOKE = "DELETE /api/auth/token"


@schemathesis.check
def one_charset(ctx: Any, response: Any, case: Any) -> None:
    """A content type names its charset at most once."""
    for content_type in response.headers.get("content-type", []):
        if content_type.lower().count("charset") > 1:
            raise AssertionError(f"More than one charset: {content_type}")


@schemathesis.check
def chinese_error_message(ctx: Any, response: Any, case: Any) -> None:
    """Every error answer tells people what went wrong in Chinese (the message has Chinese text)."""
    if response.status_code >= 400 and "json" in "".join(response.headers.get("content-type", [])):
        message = (response.json().get("error") or {}).get("message", "")
        if not message or message.isascii():
            raise AssertionError(f"Error message not in Chinese: {message!r}")


# Not here: positive_data_acceptance (a well-formed request is rightly refused by a trading rule,
# 409/422, or names no record, 404: the document describes shapes, not the state of tenders);
# allow_header_conformance (Litestar's automatic OPTIONS answer lists only the methods of the first
# handler registered for a path; the 405's Allow header is right, and unsupported_method checks it).
# negative_data_rejection, ignored_auth, use_after_free, ensure_resource_availability and
# missing_required_header found nothing when tried with every role; they cost time on every run.
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance", "unsupported_method",
          one_charset.__name__, chinese_error_message.__name__]


@pytest.fixture(scope="module")
async def demo(engine) -> None:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session)


@pytest.fixture
async def account(engine, demo, request) -> tuple[str | None, str | None]:
    """(role, bearer token) of the test's demo account, or (None, None) for the anonymous run.

    Issued directly, not through POST /api/auth/token (the fuzzer's own wrong logins there
    must not lock the accounts out), and afresh for each run, with the demo accounts active
    again: an earlier run may rightly have disabled one (POST /api/accounts/{username}/disable
    with a username read from GET /api/accounts) or revoked its token (DELETE /api/auth/token)."""
    username = request.node.callspec.params["username"]
    async with transaction(make_sessionmaker(engine)) as session:
        await session.execute(update(User).where(User.username.in_(ACCOUNTS)).values(is_active=True))
        if username is None:
            return None, None
        user = await session.scalar(select(User).where(User.username == username))
        token, _ = await issue_token(session, user, kind=API, lifetime=timedelta(hours=2), name="fuzz")
        return user.role, token


@pytest.fixture(scope="module")
def app(settings, database_url, demo) -> Iterator[Litestar]:
    application = create_app(settings, url=database_url)
    yield application
    # schemathesis runs the app's lifespan in an event loop thread of its own until told to stop.
    asgi.shutdown_lifespans()


def operations_for(app: Litestar, role: str | None) -> list[str]:
    """The operations (``METHOD /path``) worth sending as ``role``: anonymous, every one; with a
    token, those its guards let the role through, and the unguarded ones that read the user."""
    names = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler) or not documented(route.path) or not handler.include_in_schema:
                continue
            guards = handler.resolve_guards()
            admitted = all(not guard.roles or role in guard.roles for guard in guards)
            if role is None or (guards and admitted) or (not guards and "user" in handler.parsed_fn_signature.parameters):
                names += [f"{method} {route.path_format}" for method in handler.http_methods if method != "HEAD"]
    # Revoking the run's own token would leave the rest of the run anonymous: it has its own run.
    return [name for name in names if role is None or name != REVOKE]


def fuzz_config(token: str | None) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict({
        "seed": SEED,
        # An event stream is read to its first event (it never ends by itself).
        "max-stream-events": 1,
        "request-timeout": 30,
        "headers": {"Authorization": f"Bearer {token}"} if token else {},
        "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    })


def findings_of(event: events.ScenarioFinished) -> dict[tuple[str, str, str], str]:
    """(operation, check, what) -> one request that shows it."""
    found = {}
    for checks in event.recorder.checks.values():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                failure = check.failure_info.failure
                key = (event.recorder.label, check.name, failure.title)
                found.setdefault(key, f"{failure.message[:400]}\n      {check.failure_info.code_sample[:600]}")
    return found


def run(app: Litestar, token: str | None, operations: list[str]) -> tuple[dict[Any, str], list[str]]:
    schema = schemathesis.openapi.from_asgi("/api/docs/openapi.json", app, config=fuzz_config(token))
    found: dict[Any, str] = {}
    errors = []
    for event in from_schema(schema.include(name=operations)).execute():
        if isinstance(event, events.ScenarioFinished):
            found.update(findings_of(event))
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            errors.append(repr(event))
    return found, errors


@pytest.mark.parametrize("username", [None, *ACCOUNTS], ids=["anonymous", *ACCOUNTS])
def test_the_whole_api_answers_only_what_it_documents(app, account, username):
    role, token = account
    operations = operations_for(app, role)
    assert operations, role
    found, errors = run(app, token, operations)
    assert not errors, "\n".join(errors[:20])
    report = "\n".join(f"{label}: {check}: {title}\n      {example}" for (label, check, title), example in sorted(found.items()))
    assert not found, f"{len(found)} findings as {username or 'anonymous'}:\n{report}"


@pytest.mark.parametrize("username", ["bidder1"])
def test_revoking_a_token_answers_only_what_it_documents(app, account, username):
    found, errors = run(app, account[1], [REVOKE])
    assert not errors and not found, (errors, found)
