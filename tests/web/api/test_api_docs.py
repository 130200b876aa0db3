"""The wire as documented: the OpenAPI document (/api/docs/openapi.json) shows the bidder's
operations with their request bodies (the bid upload as multipart with its two parts) and
their error answers in the shape the server really sends; real error answers validate
against it; and every route docs/bidder-api.md names is in it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from litestar.constants import RESERVED_KWARGS
from litestar.testing import AsyncTestClient
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bidding.bids import sealed_bid
from cli.demo import load_demo_data
from tests.common.portal import bearer
from tests.common.tenders import tender_project
from trading.canonical import canon
from trading.database import make_sessionmaker, transaction
from trading.keys import load_center_keys
from web.app import create_app

BIDDER_DOC = Path(__file__).resolve().parents[3] / "docs" / "bidder-api.md"
JSON = "application/json"
MULTIPART = "multipart/form-data"

# (method, path) -> (request media type or None, properties the body must have, error statuses)
WIRE: dict[tuple[str, str], tuple[str | None, set[str], set[str]]] = {
    ("post", "/api/auth/token"): (JSON, {"username", "password"}, {"400", "401", "429"}),
    ("post", "/api/auth/token/refresh"): (None, set(), {"401"}),
    ("post", "/api/projects/{code}/bids"): (MULTIPART, {"envelope", "ciphertext"},
                                            {"400", "401", "403", "404", "409", "413", "422", "503"}),
    ("post", "/api/projects/{code}/bids/withdrawal"): (JSON, {"request", "signature"},
                                                       {"400", "401", "403", "404", "409", "422"}),
    ("post", "/api/projects/{code}/bidder-key"): (JSON, {"verify_key"}, {"400", "401", "403", "404", "409"}),
    ("post", "/api/bidder-keys"): (JSON, {"verify_key"}, {"400", "401", "403", "409"}),
    ("get", "/api/bidder-keys/mine"): (None, set(), {"401", "403"}),
    ("post", "/api/bidder-keys/rotation"): (JSON, {"request", "signature"}, {"400", "401", "403", "409", "422"}),
    ("post", "/api/bidder-keys/resets"): (JSON, {"new_verify_key", "reason"}, {"400", "401", "403", "409", "422"}),
    ("post", "/api/bidder-keys/resets/{reset_id}/cancellation"): (None, set(), {"401", "403", "404", "409"}),
    ("post", "/api/bidder-keys/resets/{reset_id}/approval"): (JSON, {"identity_check"},
                                                              {"400", "401", "403", "404", "409"}),
    ("post", "/api/bidder-keys/resets/{reset_id}/refusal"): (JSON, {"reason"}, {"400", "401", "403", "404", "409"}),
    ("post", "/api/projects/{code}/opening/sign-in"): (None, set(), {"401", "403", "404", "409"}),
    ("post", "/api/projects/{code}/opening/hand-in"): (JSON, {"k_b"}, {"400", "401", "403", "404", "409", "422"}),
}


@pytest.fixture(scope="module")
async def client(engine, settings, database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo_data(session, pools=False)
    async with AsyncTestClient(app=create_app(settings, url=database_url)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
async def openapi(client) -> dict[str, Any]:
    answer = await client.get("/api/docs/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def component(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` itself, or the component it refers to (directly or through allOf)."""
    if "allOf" in schema and len(schema["allOf"]) == 1:
        schema = schema["allOf"][0]
    if "$ref" in schema:
        return document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def validator_for(document: dict[str, Any], *parts: str) -> Draft202012Validator:
    """A validator for the schema at ``parts`` in the OpenAPI document, its $refs resolved there."""
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(document, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"urn:openapi#/{pointer(*parts)}"}, registry=registry)


async def test_each_wire_operation_documents_its_request_body_and_its_error_answers(openapi):
    paths = openapi["paths"]
    for (method, path), (media_type, fields, statuses) in WIRE.items():
        operation = paths[path][method]
        if media_type is None:
            assert "requestBody" not in operation, (method, path)
        else:
            body = operation["requestBody"]
            assert body["required"] and list(body["content"]) == [media_type], (method, path)
            schema = component(openapi, body["content"][media_type]["schema"])
            assert fields <= set(schema["properties"]) and fields <= set(schema["required"]), (method, path)
        responses = operation["responses"]
        assert statuses <= set(responses), (method, path, sorted(responses))
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"][JSON]["schema"] == {"$ref": "#/components/schemas/ErrorAnswer"}, \
                    (method, path, status)
    upload = component(openapi, paths["/api/projects/{code}/bids"]["post"]["requestBody"]["content"][MULTIPART]["schema"])
    assert upload["properties"]["envelope"]["type"] == "string" and "format" not in upload["properties"]["envelope"]
    assert upload["properties"]["ciphertext"] | {"type": "string", "format": "binary"} == upload["properties"]["ciphertext"]


async def test_no_operation_shows_an_error_shape_the_server_never_sends(openapi):
    # Litestar's default error body is {"status_code", "detail", "extra"}; ours is {"error": {...}}.
    wrong = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            for status, response in operation.get("responses", {}).items():
                schema = response.get("content", {}).get(JSON, {}).get("schema", {})
                if int(status) >= 400 and schema != {"$ref": "#/components/schemas/ErrorAnswer"}:
                    wrong.append((method, path, status))
    # The health check's 503 is its own answer ({"status": "error", "database": "unreachable"}), not an error body.
    assert wrong == [("get", "/health", "503")], wrong
    body = openapi["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"code", "message", "details"}


async def test_real_error_answers_validate_against_the_documented_schema(client, openapi, settings, engine):
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_project(session, load_center_keys(settings), "bidding")
    code = tender.code
    bidder = await bearer(client, "bidder1")
    key = sealed_bid.make_bidder_key()
    public = (await client.get(f"/api/projects/{code}/opening-key")).json()["public_key"]
    ciphertext, envelope = sealed_bid.seal(b"{}", code, "91370800MA1234567Q", public, key)
    text, file = canon(envelope).decode(), ("bid.sealed", ciphertext, "application/octet-stream")
    bids = f"/api/projects/{code}/bids"

    cases = [  # (method, documented path, request, status, error code)
        ("post", "/api/projects/{code}/bids", dict(method="POST", url=bids, data={"envelope": text},
                                                   files={"ciphertext": file}), 401, "http_401"),
        ("post", "/api/projects/{code}/bids", dict(method="POST", url=bids, data={"envelope": text},
                                                   headers=bidder), 400, "invalid_upload"),
        ("post", "/api/projects/{code}/bids", dict(method="POST", url=bids, data={"envelope": text, "extra": "x"},
                                                   files={"ciphertext": file}, headers=bidder), 400, "invalid_upload"),
        ("post", "/api/projects/{code}/bids", dict(method="POST", url=bids, files={
            "envelope": ("envelope.json", text.encode(), JSON), "ciphertext": file}, headers=bidder),
         400, "invalid_upload"),
        ("post", "/api/projects/{code}/bids", dict(method="POST", url=bids, data={"envelope": text},
                                                   files={"ciphertext": file}, headers=bidder), 422, "no_bidder_key"),
        ("post", "/api/projects/{code}/bids", dict(method="POST", url=bids, data={"envelope": text},
                                                   files={"ciphertext": file},
                                                   headers=await bearer(client, "supervisor")), 403, "http_403"),
        ("post", "/api/bidder-keys/rotation", dict(method="POST", url="/api/bidder-keys/rotation",
                                                   json={"signature": "00"}, headers=bidder), 400, "invalid_request"),
        ("post", "/api/projects/{code}/bidder-key", dict(method="POST", url="/api/projects/NOPE/bidder-key",
                                                         json={"verify_key": "ab" * 32}, headers=bidder),
         404, "not_found"),
        ("post", "/api/projects/{code}/opening/hand-in", dict(
            method="POST", url=f"/api/projects/{code}/opening/hand-in", json={"k_b": "00" * 32}, headers=bidder),
         409, "opening_not_started"),
        ("post", "/api/auth/token", dict(method="POST", url="/api/auth/token",
                                         json={"username": "bidder1", "password": "wrong password"}),
         401, "not_authenticated"),
    ]
    for method, path, request, status, error_code in cases:
        answer = await client.request(**request)
        assert answer.status_code == status, (path, status, answer.text)
        body = answer.json()
        assert body["error"]["code"] == error_code, (path, body)
        assert not body["error"]["message"].isascii(), body  # a Chinese message for people
        documented = openapi["paths"][path][method]["responses"]
        assert str(status) in documented, (path, status)
        validator_for(openapi, "paths", path, method, "responses", str(status), "content", JSON,
                      "schema").validate(body)
    # The schema does check: a body in Litestar's default shape does not validate.
    assert not validator_for(openapi, "components", "schemas", "ErrorAnswer").is_valid(
        {"status_code": 400, "detail": "Bad Request"})


ROUTE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/api/[A-Za-z0-9_\-/{}.]+)")


async def test_every_route_the_bidder_document_names_is_in_the_openapi_document(openapi):
    # The OpenAPI document's own address is not one of its operations (the fixture fetched it).
    named = {(method, path) for method, path in ROUTE.findall(BIDDER_DOC.read_text(encoding="utf-8"))
             if not path.startswith("/api/docs")}
    assert len(named) >= 12, named  # the document does name the wire
    missing = [(method, path) for method, path in sorted(named) if method.lower() not in openapi["paths"].get(path, {})]
    assert not missing, missing
    for method, path in WIRE:
        assert f"{method.upper()} {path}" in BIDDER_DOC.read_text(encoding="utf-8"), (method, path)


async def test_the_bidder_documents_test_vectors_are_what_the_reference_implementation_computes():
    from datetime import UTC, datetime

    import nacl.signing

    from bidding.bids import key_rotation
    from tests.common.sealed_bid_vector import VECTOR_ENVELOPE

    text = BIDDER_DOC.read_text(encoding="utf-8")
    old, new = (nacl.signing.SigningKey(bytes(range(start, start + 32))) for start in (0x40, 0x60))
    request = key_rotation.rotation_request("91370800MA3C5K8E74", old.verify_key, new.verify_key,
                                            datetime(2026, 12, 7, 8, 30, tzinfo=UTC))
    digest = sealed_bid.envelope_sha256(VECTOR_ENVELOPE)
    withdraw = {"protocol": "sealed-bid-withdraw/1", "tender_code": VECTOR_ENVELOPE["tender_code"],
                "bidder_code": VECTOR_ENVELOPE["bidder_code"], "envelope_sha256": digest}
    for value in (canon(request).decode(), key_rotation.sign_rotation(request, old), digest,
                  canon(withdraw).decode(), old.sign(canon(withdraw)).signature.hex(),
                  sealed_bid.open_bidder_half(VECTOR_ENVELOPE, old).hex()):
        assert value in text, value


def operations(document: dict[str, Any]):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


async def test_each_operation_lists_the_statuses_its_guards_parameters_and_body_can_answer(openapi):
    for method, path, operation in operations(openapi):
        statuses = set(operation["responses"])
        assert {"400", "503"} <= statuses, (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)
        if "requestBody" in operation:
            assert "413" in statuses, (method, path)
    guarded = openapi["paths"]["/api/projects/{code}/announce"]["post"]["responses"]
    assert {"401", "403", "404", "409", "422"} <= set(guarded)
    public = openapi["paths"]["/api/agencies"]["get"]["responses"]
    assert not {"401", "403", "404", "409", "422"} & set(public)
    # A record named in the query or the body may not exist either (the fuzzer's first findings).
    assert "404" in openapi["paths"]["/api/credit/preview"]["get"]["responses"]
    assert "404" in openapi["paths"]["/api/committees"]["post"]["responses"]


async def test_operations_that_check_the_user_themselves_document_401_and_403(openapi, client):
    for path in ("/api/projects/{code}/complaints", "/api/projects/{code}/publicity/objections",
                 "/api/award-notices/{number}/pdf"):
        assert {"401", "403"} <= set(openapi["paths"][path]["get"]["responses"]), path
    answer = await client.get("/api/projects/JN-2026-GC-0001/complaints")
    assert answer.status_code == 401


async def test_the_federation_routes_document_their_signed_answers(openapi, client):
    for path, item in openapi["paths"].items():
        if path.startswith("/api/federation/draw-requests"):
            for method, operation in item.items():
                assert {"200", "401"} <= set(operation["responses"]) and "201" not in operation["responses"], \
                    (method, path)
    refused = await client.post("/api/federation/draw-requests", json={})
    assert refused.status_code == 401 and refused.json()["error"]["message"]


async def test_files_and_event_streams_declare_their_content_types(openapi):
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    expected = {("/api/agencies/export", "get"): {"text/csv", xlsx},
                ("/api/experts/export", "get"): {"text/csv", xlsx},
                ("/api/award-notices/{number}/pdf", "get"): {"application/pdf"},
                ("/api/ledger/receipts/{number}/pdf", "get"): {"application/pdf"},
                ("/api/projects/{code}/bids/{bid_id}/documents/{name}", "get"): {"application/octet-stream"},
                ("/api/live/{kind}/{key}", "get"): {"text/event-stream"}}
    for (path, method), media_types in expected.items():
        assert set(openapi["paths"][path][method]["responses"]["200"]["content"]) == media_types, path


async def test_the_document_describes_the_api_not_the_pages(openapi):
    assert all(path.startswith("/api/") or path == "/health" for path in openapi["paths"]), \
        [path for path in openapi["paths"] if not path.startswith("/api/")]


async def test_exports_answer_in_a_declared_content_type_with_one_charset(client, openapi):
    admin = await bearer(client, "admin")
    declared = openapi["paths"]["/api/agencies/export"]["get"]["responses"]["200"]["content"]
    for file_format in ("csv", "xlsx"):
        answer = await client.get(f"/api/agencies/export?format={file_format}", headers=admin)
        assert answer.status_code == 200
        assert answer.headers["content-type"].split(";")[0] in declared, answer.headers["content-type"]
    assert answer.headers["content-type"].count("charset") == 0  # XLSX is not text
    for path in ("/api/agencies/export?format=csv", "/stats/export/savings?category=construction"):
        answer = await client.get(path, headers=admin)
        assert answer.headers["content-type"] == "text/csv; charset=utf-8", (path, answer.headers["content-type"])


def parameter_types(schema: dict[str, Any]) -> set[str]:
    return {schema.get("type")} | {option.get("type") for option in schema.get("oneOf", [])}


async def test_every_number_and_date_parameter_declares_its_bounds(openapi):
    unbounded = []
    for method, path, operation in operations(openapi):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            plain = next((option for option in schema.get("oneOf", []) if option.get("type") != "null"), schema)
            if "integer" in parameter_types(schema) and ("minimum" not in schema or "maximum" not in schema):
                unbounded.append((method, path, parameter["name"]))
            if plain.get("format") in ("date", "date-time") and "pattern" not in plain:
                unbounded.append((method, path, parameter["name"]))
    assert not unbounded, unbounded
    record = openapi["paths"]["/api/credit/records/{record_id}"]["get"]["parameters"][0]["schema"]
    assert (record["minimum"], record["maximum"]) == (1, 2147483647)


def test_every_integer_parameter_of_every_route_is_bounded(settings, database_url):
    """Pages too (they are not in the document): an id or cursor beyond PostgreSQL's integer is
    refused up front, whether it comes in the path or the query."""
    app = create_app(settings, url=database_url)
    unbounded, seen = [], 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            injected = set(handler.resolve_dependencies()) | RESERVED_KWARGS
            for name, field in handler.parsed_fn_signature.parameters.items():
                types = {field.annotation, *(inner.annotation for inner in field.inner_types)}
                if name in injected or int not in types:
                    continue
                seen += 1
                definition = field.kwarg_definition
                if definition is None or definition.ge is None or definition.le is None:
                    unbounded.append((route.path, name))
    assert seen > 30 and not unbounded, (seen, unbounded)


def untyped(document: dict[str, Any], schema: dict[str, Any], seen: frozenset[str] = frozenset()) -> bool:
    """Whether ``schema`` says nothing of its content: empty, or an object with no properties
    (``dict[str, Any]``), or a list, union or reference of such."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return name not in seen and untyped(document, document["components"]["schemas"][name], seen | {name})
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            return any(untyped(document, option, seen) for option in schema[key] if option.get("type") != "null")
    kind = schema.get("type")
    if kind == "array":
        return untyped(document, schema.get("items", {}), seen)
    if kind == "object" or isinstance(kind, list) and "object" in kind:
        values = schema.get("additionalProperties")
        return not schema.get("properties") and not (isinstance(values, dict) and values
                                                     and not untyped(document, values, seen))
    return kind is None


async def test_every_request_body_and_every_json_answer_has_a_typed_schema(openapi):
    missing = []
    for method, path, operation in operations(openapi):
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            if untyped(openapi, content.get("schema", {})):
                missing.append(("request", method, path, media_type))
        for status, response in operation["responses"].items():
            schema = response.get("content", {}).get(JSON, {}).get("schema")
            if int(status) < 300 and schema is not None and untyped(openapi, schema):
                missing.append(("answer", method, path, status))
    assert not missing, missing
    # The walk does look inside: an answer of dict[str, Any] is untyped, a component with properties is not.
    assert untyped(openapi, {"type": "object", "additionalProperties": {}})
    assert not untyped(openapi, {"$ref": "#/components/schemas/ErrorAnswer"})
