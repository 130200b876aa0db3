"""Which new passwords are refused, wherever a password is set (an account created by the
center, the command line or the demo data; a user changing its own).

Refused: shorter than eight characters, the username itself (any case), one character
repeated, or one of the 30,000 most common passwords of the frequency list that the
zxcvbn package ships (MIT licence; compared case-insensitively, as the list is lower
case). Those are the guesses an attacker tries first, and throttled logins
(trading.login_throttle) still let a patient attacker try a few dozen a day.
"""

from __future__ import annotations

from functools import cache

from trading.errors import InvalidInput

MIN_PASSWORD_LENGTH = 8


@cache
def _common_passwords() -> frozenset[str]:
    # Loaded on first use: about 100,000 words in all, of which only the password list is kept.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_new_password(password: str, *, username: str, field: str = "password", label: str = "密码") -> None:
    """Raise InvalidInput naming ``field`` (``label`` in the message) when ``password`` may not be set."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"{label}至少 {MIN_PASSWORD_LENGTH} 个字符",
                           code="password_too_short", field=field, reason="too_short")
    folded = password.strip().casefold()
    if folded == username.strip().casefold():
        raise InvalidInput(f"{label}不能与用户名相同", code="password_is_username", field=field, reason="username")
    if len(set(password)) == 1:
        raise InvalidInput(f"{label}不能由同一个字符重复组成", code="password_one_character", field=field, reason="one_character")
    if folded in _common_passwords():
        raise InvalidInput(f"{label}是常见密码，容易被猜中，请换一个", code="password_common", field=field, reason="common")
