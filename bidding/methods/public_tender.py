"""Open tendering (公开招标): construction projects (招标投标法) and government procurement
(政府采购法) — the common transition table and its effects, as they are."""

from __future__ import annotations

from bidding.tender.methods import Method

METHOD = Method(
    code="public_tender",
    name="公开招标",
    # construction-open-tender (method "open_tender"), procurement-public-tender ("public_tender")
    rule_set_methods=frozenset({"open_tender", "public_tender"}),
)
