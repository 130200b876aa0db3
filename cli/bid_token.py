"""The bidder's saved API token: ``trading bid login`` keeps it in a file of its own (mode
0600, with the server it belongs to and its expiry), and the commands that talk to the
server use it when no token is given, renewing it (``POST /api/auth/token/refresh``) when
less than a quarter of its lifetime is left, so a token does not run out in the middle of
a bid deadline. An expired one is not sent: the bidder is told to log in again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cli.bid_api import BidApi
from trading.errors import InvalidInput, NotAuthenticated
from trading.timefmt import local_time

# Renew once less than this share of the token's lifetime is left.
RENEW_WHEN_LEFT = 0.25


@dataclass(frozen=True)
class SavedToken:
    server: str
    token: str
    saved_at: datetime
    expires_at: datetime

    def due_for_renewal(self, now: datetime) -> bool:
        return self.expires_at - now < (self.expires_at - self.saved_at) * RENEW_WHEN_LEFT


def save_token(path: Path, server: str, answer: dict[str, Any], now: datetime | None = None) -> SavedToken:
    """Keep a token answer (``POST /api/auth/token`` or its refresh) for ``server``, readable by its owner only."""
    saved = SavedToken(server=server.rstrip("/"), token=answer["token"], saved_at=now or datetime.now(UTC),
                       expires_at=datetime.fromisoformat(answer["expires_at"]))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump({"server": saved.server, "token": saved.token, "saved_at": saved.saved_at.isoformat(),
                   "expires_at": saved.expires_at.isoformat()}, out)
    os.replace(partial, path)  # never a half-written token file
    return saved


def load_token(path: Path) -> SavedToken | None:
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return SavedToken(server=record["server"], token=record["token"],
                          saved_at=datetime.fromisoformat(record["saved_at"]),
                          expires_at=datetime.fromisoformat(record["expires_at"]))
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(f"令牌文件 {path} 已损坏，请重新执行 `trading bid login` 登录") from None


def saved_token_for(path: Path, server: str, *, now: datetime | None = None) -> str | None:
    """The saved token for ``server`` (renewed first when due), or None when none is saved for it.

    A token saved for another server is never sent to this one.
    """
    now = now or datetime.now(UTC)
    saved = load_token(path)
    if saved is None or saved.server != server.rstrip("/"):
        return None
    if now >= saved.expires_at:
        raise NotAuthenticated(f"保存的访问令牌已于 {local_time(saved.expires_at)}（北京时间）过期，"
                               f"请重新执行 `trading bid login` 登录")
    if saved.due_for_renewal(now):
        with BidApi(server, saved.token) as api:
            saved = save_token(path, server, api.refresh(), now)
    return saved.token
