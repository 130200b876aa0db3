"""What the API takes and answers, one module per area: the types of the handlers' ``data``
parameters and of their answers, so that the OpenAPI document (/api/docs/openapi.json)
shows every request body and every answer as it is (tests/web/api/test_api_docs.py checks that none
is left untyped).

Answers are ``TypedDict``s: the services' views stay plain dicts, so the JSON on the wire
is exactly what it was (field names, order, nesting), and signed records (receipts, draw
commitments, the award notice) are never rebuilt through a type that could reorder or
rename them. Request bodies are pydantic models or dataclasses where the handler reads
attributes, ``TypedDict``s where it reads a dict; the validators' refusals come out in
Chinese, naming the field (web.core.errors). The bidder's wire is web.bid_wire.

No ``from __future__ import annotations`` here: a ``TypedDict`` sees ``NotRequired`` (a key
some answers leave out) only in annotations evaluated when the class is made.
"""
