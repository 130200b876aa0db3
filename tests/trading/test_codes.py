"""Codes users choose (project, room, agency) follow one strict pattern: letters, digits, "-"
and "_", starting with a letter or digit, so that no code breaks a URL, a file name, a bank
remark or becomes a formula; a refusal is a Chinese message naming the field."""

from __future__ import annotations

import re

import pytest

from agency_pool.validation import normalise_agency_code
from trading.codes import AGENCY_CODE, PROJECT_CODE, ROOM_CODE
from trading.errors import InvalidInput
from trading.rooms import OPENING, add_room

BAD = ["a/b", " ", "", "x?y#z", "=1+1", "-JN-1", "_a", "JN 2026", "a.b", "a%2Fb", "a\x00b", "a\nb", None, 7]


@pytest.mark.parametrize("rule", [PROJECT_CODE, ROOM_CODE, AGENCY_CODE], ids=lambda rule: rule.label)
@pytest.mark.parametrize("code", BAD)
def test_a_code_that_would_break_its_urls_or_become_a_formula_is_refused(rule, code):
    with pytest.raises(InvalidInput) as refused:
        rule.check(code)
    assert refused.value.details["field"] == "code"
    assert refused.value.message.startswith(rule.label) and re.search(r"[\u4e00-\u9fff]", refused.value.message)


def test_each_kind_of_code_has_its_length_and_keeps_its_case():
    assert PROJECT_CODE.check("jn-2026_GC-0007") == "jn-2026_GC-0007"
    assert PROJECT_CODE.check("A" * 40) and ROOM_CODE.check("K" * 20)
    for rule, length in ((PROJECT_CODE, 41), (ROOM_CODE, 21), (AGENCY_CODE, 41)):
        with pytest.raises(InvalidInput, match=f"最长{length - 1}个字符"):
            rule.check("A" * length)
    assert normalise_agency_code("ag-青山招标") == "AG-青山招标"  # agencies: upper-case, Chinese allowed
    with pytest.raises(InvalidInput):
        PROJECT_CODE.check("项目一")


async def test_a_room_code_with_a_slash_is_refused_naming_the_field(session):
    with pytest.raises(InvalidInput) as refused:
        await add_room(session, actor="test", code="KB/1", name="开标室", kind=OPENING, capacity=30, location="一楼")
    assert refused.value.details["field"] == "code" and "场地编号「KB/1」" in refused.value.message
