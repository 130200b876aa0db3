"""Invited tendering (邀请招标, 招标投标法 第十七条): the steps of open tendering after the
invitations; its rule set (construction-invited-tender) sets its own periods."""

from __future__ import annotations

from bidding.tender.methods import Method

METHOD = Method(
    code="invited_tender",
    name="邀请招标",
    rule_set_methods=frozenset({"invited_tender"}),
)
