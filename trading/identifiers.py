"""Validation and masking of Chinese identifiers (pure functions, no database).

* Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters, ISO 7064
  style MOD 31 check character.
* Resident ID number (公民身份号码, GB 11643-1999): 17 digits + ISO 7064 MOD 11-2 check
  character (``X`` stands for 10).
* Masking helpers for every public page (ID number, phone number, personal name).

Validators normalise their input (surrounding whitespace stripped, full-width ASCII turned
into half-width, upper case) and return the normalised value, or raise
:class:`trading.errors.InvalidInput` with a Simplified Chinese message naming what is wrong
and where. Error messages and details for ID numbers never contain the number itself.
"""

from __future__ import annotations

from datetime import date

from trading.errors import InvalidInput

__all__ = [
    "CREDIT_CODE_ALPHABET",
    "REGISTRATION_AUTHORITIES",
    "credit_code_check_char",
    "validate_credit_code",
    "id_number_check_char",
    "validate_id_number",
    "mask_id_number",
    "mask_phone",
    "mask_name",
]

# --------------------------------------------------------------------------- common

# Full-width ASCII (U+FF01..U+FF5E) -> half-width, ideographic space -> space. Narrower
# than NFKC on purpose: only the width variants a Chinese input method produces.
_HALF_WIDTH = {0xFF01 + i: 0x21 + i for i in range(0x5E)} | {0x3000: 0x20}
_DIGITS = "0123456789"


def _normalise(value: object) -> str:
    """Full-width to half-width, strip surrounding whitespace, upper-case."""
    if not isinstance(value, str):
        return ""
    return value.translate(_HALF_WIDTH).strip().upper()


# ------------------------------------------------------------ unified social credit code

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # values 0..30; no I, O, Z, S, V
_CREDIT_VALUES = {ch: i for i, ch in enumerate(CREDIT_CODE_ALPHABET)}
_CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, ... 28

# Position 1, 登记管理部门代码. GB 32100-2015 table 1 lists 1-9 and Y; A (中央军委改革和
# 编制办公室, military public institutions) and N (农业农村, rural collective economic
# organisations) were assigned later by the national coding authority and appear on
# codes issued since 2018. The organisation category (position 2) is not checked: its
# table differs per authority and has been extended over time.
REGISTRATION_AUTHORITIES = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "工商（市场监督管理）",
    "A": "中央军委改革和编制办公室",
    "N": "农业农村",
    "Y": "其他",
}


def _credit_error(message: str, **details: object) -> InvalidInput:
    return InvalidInput(message, code="invalid_credit_code", **details)


def _check_credit_chars(text: str) -> None:
    for pos, ch in enumerate(text, start=1):
        if ch not in _CREDIT_VALUES:
            raise _credit_error(
                f"统一社会信用代码第{pos}位含非法字符「{ch}」："
                "只能使用数字0–9和大写字母（不使用I、O、Z、S、V）",
                position=pos,
                found=ch,
            )


def credit_code_check_char(first17: str) -> str:
    """Return the check character (position 18) for the first 17 characters of a code.

    ``first17`` must already be 17 characters of the code alphabet (no normalisation);
    otherwise :class:`InvalidInput` (``invalid_credit_code``) is raised.
    """
    if not isinstance(first17, str) or len(first17) != 17:
        found = len(first17) if isinstance(first17, str) else 0
        raise _credit_error(
            f"统一社会信用代码本体应为17位，实为{found}位", expected=17, found=found
        )
    _check_credit_chars(first17)
    total = sum(_CREDIT_VALUES[ch] * w for ch, w in zip(first17, _CREDIT_WEIGHTS))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(code: str) -> str:
    """Normalise and validate a unified social credit code; return the normalised code.

    Checks, in order: length 18, alphabet, registration authority code (position 1),
    administrative division code (positions 3-8, digits), check character (position 18).
    The embedded GB 11714 organisation code check digit is deliberately not checked:
    codes issued since 2015 need not satisfy it. Raises :class:`InvalidInput` with
    ``code="invalid_credit_code"``.
    """
    text = _normalise(code)
    if len(text) != 18:
        raise _credit_error(
            f"统一社会信用代码应为18位，实为{len(text)}位", expected=18, found=len(text)
        )
    _check_credit_chars(text)
    if text[0] not in REGISTRATION_AUTHORITIES:
        allowed = "、".join(REGISTRATION_AUTHORITIES)
        raise _credit_error(
            f"统一社会信用代码第1位登记管理部门代码「{text[0]}」不存在：应为{allowed}之一",
            position=1,
            expected=list(REGISTRATION_AUTHORITIES),
            found=text[0],
        )
    for pos in range(3, 9):
        ch = text[pos - 1]
        if ch not in _DIGITS:
            raise _credit_error(
                f"统一社会信用代码第{pos}位「{ch}」无效：第3–8位为行政区划码，只能是数字",
                position=pos,
                found=ch,
            )
    expected = credit_code_check_char(text[:17])
    if text[17] != expected:
        raise _credit_error(
            f"统一社会信用代码校验位错误：第18位应为「{expected}」，实为「{text[17]}」",
            position=18,
            expected=expected,
            found=text[17],
        )
    return text


# ------------------------------------------------------------------- resident ID number

# 2^(18-i) mod 11 for positions i = 1..17 (the weight of position 18, the check, is 1).
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_error(message: str, **details: object) -> InvalidInput:
    # Never pass the number (or any part of it but the check character) in here.
    return InvalidInput(message, code="invalid_id_number", **details)


def id_number_check_char(first17: str) -> str:
    """Return the check character ('0'-'9' or 'X') for the first 17 digits of an ID number.

    ``first17`` must be exactly 17 ASCII digits; otherwise :class:`InvalidInput`
    (``invalid_id_number``) is raised.
    """
    if not isinstance(first17, str) or len(first17) != 17:
        found = len(first17) if isinstance(first17, str) else 0
        raise _id_error(f"身份证号码本体应为17位，实为{found}位", expected=17, found=found)
    for pos, ch in enumerate(first17, start=1):
        if ch not in _DIGITS:
            raise _id_error(f"身份证号码第{pos}位应为数字", position=pos)
    total = sum(int(ch) * w for ch, w in zip(first17, _ID_WEIGHTS))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def validate_id_number(value: str, today: date | None = None) -> str:
    """Normalise and validate an 18-character resident ID number; return it normalised.

    Checks length, digits (``X`` allowed only at position 18), the birth date in
    positions 7-14 (a real date, year >= 1900, not after ``today``, default
    ``date.today()``) and the check character. Raises :class:`InvalidInput` with
    ``code="invalid_id_number"``; the message and details name positions and the
    expected/found check character only, never the number.
    """
    text = _normalise(value)
    if len(text) != 18:
        raise _id_error(f"身份证号码应为18位，实为{len(text)}位", expected=18, found=len(text))
    for pos, ch in enumerate(text[:17], start=1):
        if ch not in _DIGITS:
            raise _id_error(f"身份证号码第{pos}位应为数字", position=pos)
    if text[17] not in _DIGITS + "X":
        raise _id_error("身份证号码第18位应为数字或X", position=18)

    today = today or date.today()
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise _id_error(
            "身份证号码第7–14位出生日期无效：不是真实存在的日期", position=7, end=14
        ) from None
    if born.year < 1900:
        raise _id_error("身份证号码第7–14位出生日期无效：年份早于1900年", position=7, end=14)
    if born > today:
        raise _id_error("身份证号码第7–14位出生日期无效：晚于今天", position=7, end=14)

    expected = id_number_check_char(text[:17])
    if text[17] != expected:
        raise _id_error(
            f"身份证号码校验位错误：第18位应为「{expected}」，实为「{text[17]}」",
            position=18,
            expected=expected,
            found=text[17],
        )
    return text


# ---------------------------------------------------------------------------- masking


def _as_text(value: object) -> str:
    return "" if value is None else str(value)


def mask_id_number(value: str) -> str:
    """Mask an ID number for public display: ``3708**********123X``.

    An 18-character value keeps its first 4 and last 4 characters. Any other value
    keeps ``min(4, len // 4)`` characters at each end, so at least half is always
    masked (a 15-character old-style number shows 3 + 3). Length is preserved;
    never raises.
    """
    text = _as_text(value)
    keep = min(4, len(text) // 4)
    if keep == 0:
        return "*" * len(text)
    return text[:keep] + "*" * (len(text) - 2 * keep) + text[-keep:]


def mask_phone(value: str) -> str:
    """Mask a phone number for public display: ``138****5678``.

    An 11-digit mobile number (ASCII digits starting with 1) keeps its first 3 and
    last 4 digits. Anything else keeps only its last 2 characters; values of 4
    characters or fewer are masked entirely. Length is preserved; never raises.
    """
    text = _as_text(value)
    if len(text) == 11 and text[0] == "1" and all(ch in _DIGITS for ch in text):
        return text[:3] + "****" + text[-4:]
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * (len(text) - 2) + text[-2:]


def mask_name(name: str) -> str:
    """Mask a personal name for public display: ``张三丰`` -> ``张**``.

    Keeps the first character and replaces every other character with ``*``. A
    one-character name becomes ``*`` (showing it would show the whole name); the empty
    string stays empty. Length is preserved; never raises.
    """
    text = _as_text(name)
    if len(text) <= 1:
        return "*" * len(text)
    return text[0] + "*" * (len(text) - 1)
