"""Live events (统一电子监察: supervisors' live views), published through PostgreSQL NOTIFY.

:func:`publish_event` runs ``SELECT pg_notify(...)`` inside the caller's transaction.
PostgreSQL delivers a notification only when that transaction commits, and never when it
rolls back: this is DESIGN's "publishes the live event after commit", with no window in
which a listener could see a change that did not happen. Every app worker listens on the
one channel :data:`CHANNEL` (``trading.event_hub``), so every worker sees every event.

An event says *that* something changed, not the record itself: a topic, a kind and a few
ids and states. Watchers re-read the record through the API, where the access rules live.
So a payload never carries a secret, a key, a bid's price or content, or free text, and
stays far below PostgreSQL's 8000-byte NOTIFY limit (:data:`MAX_PAYLOAD_BYTES`).

Topics: ``draw:{draw_id}``, ``opening:{project_code}``, ``evaluation:{project_code}``,
``project:{project_code}``.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from trading.errors import InvalidInput

CHANNEL = "trading_live"
# PostgreSQL refuses payloads of 8000 bytes or more; ours are a few hundred.
MAX_PAYLOAD_BYTES = 2000
MAX_TEXT_LENGTH = 100
TOPIC_KINDS = ("draw", "opening", "evaluation", "project")
# The key is a draw id or a project code (any text of up to 40 characters), never a control character.
TOPIC = re.compile(r"^(draw|opening|evaluation|project):[^\x00-\x1f\x7f]{1,60}$")
KIND = re.compile(r"^[a-z][a-z_.]{0,39}$")
# Names that would carry a secret or a bid's content; an event only points at the record.
FORBIDDEN_NAMES = re.compile(r"(secret|password|token|seed|key|k_b|k_c|cipher|envelope|sealed|price|text|answer)",
                             re.IGNORECASE)


@dataclass(frozen=True)
class LiveEvent:
    """One event as watchers receive it; ``id`` is unique, ``data`` small and flat."""

    topic: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: secrets.token_hex(8))

    def payload(self) -> str:
        return json.dumps({"id": self.id, "topic": self.topic, "kind": self.kind, "data": self.data},
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_payload(cls, payload: str) -> LiveEvent:
        body = json.loads(payload)
        return cls(topic=body["topic"], kind=body["kind"], data=body.get("data") or {}, id=body["id"])


def topic_kind(topic: str) -> str:
    """``opening`` for ``opening:JN-2026-GC-0001``; InvalidInput for a topic we do not publish."""
    if not isinstance(topic, str) or not TOPIC.match(topic):
        raise InvalidInput(f"未知的实时事件主题「{topic}」", code="unknown_topic", topic=str(topic)[:80])
    return topic.split(":", 1)[0]


def _checked_value(name: str, value: Any) -> Any:
    if FORBIDDEN_NAMES.search(name):
        raise ValueError(f"live event field {name!r} may carry a secret or bid content; events only point at records")
    items = value if isinstance(value, list) else [value]
    for item in items:
        if item is not None and not isinstance(item, (str, int, bool)):
            raise ValueError(f"live event field {name!r} must be a string, integer, boolean or null (or a list)")
        if isinstance(item, str) and len(item) > MAX_TEXT_LENGTH:
            raise ValueError(f"live event field {name!r} is longer than {MAX_TEXT_LENGTH} characters")
    return value


def live_event(topic: str, kind: str, data: Mapping[str, Any] | None = None) -> LiveEvent:
    """Build and check an event; ValueError (a programming error) for anything too big or unsafe."""
    topic_kind(topic)
    if not KIND.match(kind):
        raise ValueError(f"live event kind {kind!r} is not a short lower-case name")
    event = LiveEvent(topic=topic, kind=kind, data={name: _checked_value(name, value)
                                                    for name, value in (data or {}).items()})
    size = len(event.payload().encode())
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(f"live event payload of {size} bytes exceeds {MAX_PAYLOAD_BYTES}: "
                         f"send ids and states, never the record")
    return event


async def publish_event(session: AsyncSession, topic: str, kind: str, data: Mapping[str, Any] | None = None) -> LiveEvent:
    """Queue a live event in the caller's transaction; PostgreSQL delivers it only at commit."""
    event = live_event(topic, kind, data)
    await session.execute(text("SELECT pg_notify(:channel, :payload)"),
                          {"channel": CHANNEL, "payload": event.payload()})
    return event
