"""Tests for trading.identifiers: credit codes, resident ID numbers, masking."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from trading.errors import InvalidInput
from trading.identifiers import (
    CREDIT_CODE_ALPHABET,
    REGISTRATION_AUTHORITIES,
    credit_code_check_char,
    id_number_check_char,
    mask_id_number,
    mask_name,
    mask_phone,
    validate_credit_code,
    validate_id_number,
)

TODAY = date(2025, 6, 30)  # fixed "today" so the tests never depend on the clock

SAMPLE_CREDIT_CODE = "91370800MA3C5K8E74"
# Codes as published by the companies (华为技术有限公司, 腾讯科技（深圳）有限公司,
# 北京小米科技有限责任公司). 91110000100006793Q was considered and dropped: it does not
# satisfy the GB 32100 check, so it was misremembered.
PUBLISHED_CREDIT_CODES = ["914403001922038216", "91440300708461136T", "91110108551385082Q"]
# Constructed with credit_code_check_char, covering the authority codes 1, 5, Y, A, N.
CONSTRUCTED_CREDIT_CODES = [
    "11100000000013127D",
    "531100005000123450",
    "Y1440300MA5ABCDEF7",
    "A1110000MB1234567A",
    "N2370800MC0000001P",
]

GB11643_EXAMPLE_ID = "11010519491231002X"  # the example printed in GB 11643-1999
CONSTRUCTED_ID_NUMBERS = ["110101198001010010", "440300199912319874", "370802200002291232"]


def _raises(func, value, **kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        func(value, **kwargs)
    return info.value


# ----------------------------------------------------------------- credit code: examples


@pytest.mark.parametrize(
    "code", [SAMPLE_CREDIT_CODE, *PUBLISHED_CREDIT_CODES, *CONSTRUCTED_CREDIT_CODES]
)
def test_known_credit_codes_validate(code):
    assert validate_credit_code(code) == code
    assert credit_code_check_char(code[:17]) == code[17]


def test_credit_code_weights_match_the_standard():
    # Unit vectors expose each weight: check = (31 - w) mod 31.
    weights = []
    for i in range(17):
        body = "0" * i + "1" + "0" * (16 - i)
        weights.append((31 - CREDIT_CODE_ALPHABET.index(credit_code_check_char(body))) % 31)
    assert weights == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def test_credit_code_is_normalised():
    raw = "  ９１３７０８００ｍａ３ｃ５ｋ８ｅ７４\u3000"  # full-width, lower case, padded
    assert validate_credit_code(raw) == SAMPLE_CREDIT_CODE


def test_registration_authorities_documented():
    assert set(REGISTRATION_AUTHORITIES) == set("123456789ANY")


# ------------------------------------------------------------- credit code: error kinds


def test_credit_code_wrong_length():
    err = _raises(validate_credit_code, SAMPLE_CREDIT_CODE[:17])
    assert err.code == "invalid_credit_code"
    assert "18位" in err.message and "实为17位" in err.message
    assert err.details == {"expected": 18, "found": 17}


@pytest.mark.parametrize("bad", ["I", "O", "Z", "S", "V", "-"])
def test_credit_code_illegal_character(bad):
    code = SAMPLE_CREDIT_CODE[:10] + bad + SAMPLE_CREDIT_CODE[11:]
    err = _raises(validate_credit_code, code)
    assert err.code == "invalid_credit_code"
    assert "第11位" in err.message and f"「{bad}」" in err.message
    assert "I、O、Z、S、V" in err.message
    assert err.details == {"position": 11, "found": bad}


def test_credit_code_division_not_digits():
    code = "9137A800MA3C5K8E74"
    err = _raises(validate_credit_code, code)
    assert "第5位" in err.message and "「A」" in err.message and "第3–8位" in err.message
    assert err.details == {"position": 5, "found": "A"}


def test_credit_code_unknown_registration_authority():
    body = "B1370800MA3C5K8E7"
    err = _raises(validate_credit_code, body + credit_code_check_char(body))
    assert "第1位" in err.message and "「B」" in err.message
    assert err.details["position"] == 1 and err.details["found"] == "B"


def test_credit_code_wrong_check_character():
    err = _raises(validate_credit_code, SAMPLE_CREDIT_CODE[:17] + "5")
    assert err.message == "统一社会信用代码校验位错误：第18位应为「4」，实为「5」"
    assert err.details == {"position": 18, "expected": "4", "found": "5"}


def test_credit_check_char_refuses_bad_body():
    with pytest.raises(InvalidInput):
        credit_code_check_char("9137080")
    with pytest.raises(InvalidInput):
        credit_code_check_char("91370800MA3C5K8EO")


# ---------------------------------------------------------------- ID number: examples


@pytest.mark.parametrize("number", [GB11643_EXAMPLE_ID, *CONSTRUCTED_ID_NUMBERS])
def test_known_id_numbers_validate(number):
    assert validate_id_number(number, today=TODAY) == number
    assert id_number_check_char(number[:17]) == number[17]


def test_id_number_is_normalised():
    assert validate_id_number(" 11010519491231002ｘ ", today=TODAY) == GB11643_EXAMPLE_ID
    assert validate_id_number("１１０１０５１９４９１２３１００２x", today=TODAY) == GB11643_EXAMPLE_ID


def test_id_number_today_defaults_to_now():
    assert validate_id_number(GB11643_EXAMPLE_ID) == GB11643_EXAMPLE_ID


# --------------------------------------------------------------- ID number: error kinds


def test_id_number_wrong_length():
    err = _raises(validate_id_number, "110105491231002", today=TODAY)  # old 15-digit form
    assert err.code == "invalid_id_number"
    assert "18位" in err.message and "实为15位" in err.message


def test_id_number_non_digit():
    err = _raises(validate_id_number, "1101051949X231002X", today=TODAY)
    assert err.message == "身份证号码第11位应为数字"
    assert err.details == {"position": 11}


def test_id_number_bad_check_position_character():
    err = _raises(validate_id_number, "11010519491231002Y", today=TODAY)
    assert "第18位" in err.message and err.details == {"position": 18}


@pytest.mark.parametrize(
    ("birth", "today", "reason"),
    [
        ("19490230", TODAY, "不是真实存在的日期"),  # 30 February
        ("19001301", TODAY, "不是真实存在的日期"),  # month 13
        ("18991231", TODAY, "早于1900年"),
        ("20250701", TODAY, "晚于今天"),
    ],
)
def test_id_number_impossible_birth_date(birth, today, reason):
    body = "110105" + birth + "002"
    err = _raises(validate_id_number, body + id_number_check_char(body), today=today)
    assert "第7–14位" in err.message and reason in err.message
    assert birth not in err.message and birth not in repr(err.details)


def test_id_number_wrong_check_character():
    err = _raises(validate_id_number, "110105194912310021", today=TODAY)
    assert err.message == "身份证号码校验位错误：第18位应为「X」，实为「1」"
    assert err.details == {"position": 18, "expected": "X", "found": "1"}


def test_id_check_char_refuses_bad_body():
    with pytest.raises(InvalidInput):
        id_number_check_char("1101051949123100")
    with pytest.raises(InvalidInput):
        id_number_check_char("1101051949123100X")


# -------------------------------------------------------------------- strategies

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


@st.composite
def credit_bodies(draw) -> str:
    authority = draw(st.sampled_from(sorted(REGISTRATION_AUTHORITIES)))
    category = draw(st.sampled_from(CREDIT_CODE_ALPHABET))
    division = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    organisation = draw(st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=9, max_size=9))
    return authority + category + division + organisation


@st.composite
def id_bodies(draw) -> str:
    region = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    serial = draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    return region + born.strftime("%Y%m%d") + serial


credit_codes = credit_bodies().map(lambda b: b + credit_code_check_char(b))
id_numbers = id_bodies().map(lambda b: b + id_number_check_char(b))


# ------------------------------------------------------------ (a) generated bodies


@given(credit_bodies())
def test_property_credit_body_plus_check_validates(body):
    code = body + credit_code_check_char(body)
    assert validate_credit_code(code) == code


@given(id_bodies())
def test_property_id_body_plus_check_validates(body):
    number = body + id_number_check_char(body)
    assert validate_id_number(number, today=TODAY) == number


# --------------------------------------------------- (b) single substitutions refused


@given(credit_codes, st.integers(0, 17), st.sampled_from(CREDIT_CODE_ALPHABET))
def test_property_credit_single_substitution_refused(code, index, replacement):
    assume(code[index] != replacement)
    with pytest.raises(InvalidInput):
        validate_credit_code(code[:index] + replacement + code[index + 1 :])


@given(id_numbers, st.integers(0, 17), st.sampled_from("0123456789X"))
def test_property_id_single_substitution_refused(number, index, replacement):
    assume(number[index] != replacement)
    with pytest.raises(InvalidInput):
        validate_id_number(number[:index] + replacement + number[index + 1 :], today=TODAY)


# ------------------------------------------- (c) adjacent transpositions (ID numbers)


@given(id_numbers, st.integers(0, 16))
def test_property_id_adjacent_transposition_refused(number, index):
    # MOD 11-2 weights satisfy w_i = 2 * w_(i+1) (mod 11), so swapping different digits
    # a, b changes the sum by w_(i+1) * (b - a) != 0 (mod 11): always detected. A swap
    # moving X off position 18 is refused by the digit check.
    assume(number[index] != number[index + 1])
    swapped = number[:index] + number[index + 1] + number[index] + number[index + 2 :]
    with pytest.raises(InvalidInput):
        validate_id_number(swapped, today=TODAY)


# ---------------------------------------- (d) errors never reveal the ID number


@st.composite
def broken_id_inputs(draw) -> str:
    number = draw(id_numbers)
    kind = draw(st.sampled_from(["substitute", "swap", "truncate", "extend", "letter", "wide"]))
    i = draw(st.integers(0, 16))
    if kind == "substitute":
        return number[:i] + draw(st.sampled_from("0123456789X")) + number[i + 1 :]
    if kind == "swap":
        return number[:i] + number[i + 1] + number[i] + number[i + 2 :]
    if kind == "truncate":
        return number[: draw(st.integers(6, 17))]
    if kind == "extend":
        return number + draw(st.text(alphabet="0123456789X", min_size=1, max_size=3))
    if kind == "letter":
        return number[:i] + draw(st.sampled_from("ABCxyz-")) + number[i + 1 :]
    wide = number.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    return wide[:i] + "Ｘ" + wide[i + 1 :]


@given(broken_id_inputs())
def test_property_id_errors_never_contain_the_number(raw):
    try:
        validate_id_number(raw, today=TODAY)
    except InvalidInput as err:
        shown = err.message + repr(err.details)
        normalised = raw.translate({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}).upper()
        assert raw not in shown and normalised not in shown
        # Not even a 6-character run of it (a region code, a birth date...).
        for start in range(len(normalised) - 5):
            assert normalised[start : start + 6] not in shown


# --------------------------------------------------------------------- (e) masking


def test_mask_examples():
    assert mask_id_number("37080219900101123X") == "3708**********123X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0537-2345678") == "**********78"
    assert mask_phone("123") == "***"
    assert mask_name("张三丰") == "张**"
    assert mask_name("李四") == "李*"
    assert mask_name("王") == "*"
    assert mask_name("") == ""
    assert mask_id_number(None) == "" and mask_phone(None) == "" and mask_name(None) == ""


@given(id_numbers)
def test_property_mask_id_number_valid(number):
    masked = mask_id_number(number)
    assert len(masked) == 18
    assert masked[:4] == number[:4] and masked[-4:] == number[-4:]
    assert masked[4:14] == "*" * 10


@given(st.text(max_size=40))
def test_property_mask_id_number_any_text(text):
    masked = mask_id_number(text)
    assert len(masked) == len(text)
    visible = [i for i, c in enumerate(masked) if c != "*"]
    assert all(masked[i] == text[i] for i in visible)
    assert masked.count("*") >= len(text) / 2 or len(text) == 0


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_property_mask_phone_mobile(rest):
    phone = "1" + rest
    masked = mask_phone(phone)
    assert len(masked) == 11
    assert masked == phone[:3] + "****" + phone[-4:]


@given(st.text(max_size=30))
def test_property_mask_phone_any_text(text):
    masked = mask_phone(text)
    assert len(masked) == len(text)
    is_mobile = len(text) == 11 and text[0] == "1" and all(c in "0123456789" for c in text)
    if not is_mobile:
        keep = 2 if len(text) > 4 else 0
        assert masked[: len(text) - keep] == "*" * (len(text) - keep)
        assert masked[len(text) - keep :] == text[len(text) - keep :]


@given(st.text(max_size=20))
def test_property_mask_name(name):
    masked = mask_name(name)
    assert len(masked) == len(name)
    if len(name) >= 2:
        assert masked == name[0] + "*" * (len(name) - 1)
    else:
        assert masked == "*" * len(name)
