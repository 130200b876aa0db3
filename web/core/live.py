"""Live views' event streams (server-sent events) for supervisors and the public.

``GET /api/live/{kind}/{key}`` (bearer token; web/api/live.py) and ``GET /live/{kind}/{key}``
(the portal's session cookie, for the browser's EventSource, which cannot send a bearer
token; web/pages/live.py) stream the events of one topic (``trading.events``): ``draw/{draw_id}`` to anyone, since draw records
are public; ``opening``, ``evaluation`` and ``project`` ``/{project_code}`` to supervisors
and administrators only, since the opening record is not public during the window.

The stream: first ``ready`` (the subscription is in place: read the state now, then apply
events), then each event with its ``id`` and its kind as the SSE ``event``; ``resync``
whenever events may have been missed (the listener reconnected, or the client resumed with
``Last-Event-ID``): read the state again; ``end`` closes it (``slow``: the client fell too
far behind; ``shutdown``); a comment on every hub heartbeat (15 s) keeps proxies from
closing an idle stream. Events only say what changed; the record is read through the API.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.response import ServerSentEvent, ServerSentEventMessage

from bidding.tender.projects import get_project
from trading.draws import get_draw
from trading.event_hub import HEARTBEAT, RESYNC, EventHub
from trading.events import LiveEvent, topic_kind
from trading.roles import UserRole
from web.core.state import AppContext

RETRY_MILLISECONDS = 3000
PUBLIC_KINDS = {"draw"}
WATCHERS = (UserRole.SUPERVISOR, UserRole.ADMIN)


class EncodedMessage(ServerSentEventMessage):
    """A message encoded once and sent as is to every subscriber of its topic."""

    def __init__(self, **fields) -> None:
        super().__init__(**fields)
        self.encoded = super().encode()

    def encode(self) -> bytes:
        return self.encoded


KEEP_ALIVE = EncodedMessage(comment="keep-alive", data=None)
_recent: dict[str, EncodedMessage] = {}  # event id -> message: one encoding per event, not per subscriber
RECENT_LIMIT = 256


def encoded(event: LiveEvent, **fields) -> EncodedMessage:
    body = {"topic": event.topic, "kind": event.kind, "data": event.data}
    return EncodedMessage(id=event.id, event=event.kind, data=json.dumps(body, ensure_ascii=False,
                                                                         separators=(",", ":")), **fields)


def message(event: LiveEvent) -> EncodedMessage:
    """The event as sent to every subscriber of its topic (encoded for the first one only)."""
    cached = _recent.get(event.id)
    if cached is None:
        cached = _recent[event.id] = encoded(event)
        if len(_recent) > RECENT_LIMIT:
            del _recent[next(iter(_recent))]
    return cached


async def event_stream(hub: EventHub, topic: str, *, resumed: bool) -> AsyncIterator[ServerSentEventMessage]:
    # Subscribed only once the response streams, so a request that never starts leaves nothing behind.
    subscription = hub.subscribe(topic)
    try:
        yield encoded(LiveEvent(topic=topic, kind="ready", data={"listening": hub.connected.is_set()}),
                      retry=RETRY_MILLISECONDS)
        if resumed:
            yield encoded(LiveEvent(topic=topic, kind=RESYNC, data={"reason": "client_resumed"}))
        async for event in subscription:  # ends after END
            yield KEEP_ALIVE if event.kind == HEARTBEAT else message(event)
    finally:  # the client went away, or the stream ended
        hub.unsubscribe(subscription)


async def check_watcher(request: Request, context: AppContext, kind: str, key: str) -> str:
    """The topic, once the user may watch it and its record exists."""
    topic = f"{kind}:{key}"
    topic_kind(topic)
    if kind not in PUBLIC_KINDS:
        user = request.scope.get("user")
        if user is None:
            raise NotAuthorizedException("请先登录")
        if user.role not in WATCHERS:
            raise PermissionDeniedException("只有监督人员和交易中心管理员可以实时查看")
    # A short session of its own: nothing is held open while the stream runs.
    async with context.sessions() as session:
        if kind == "draw":
            await get_draw(session, key)
        else:
            await get_project(session, key)
    return topic


async def stream_events(kind: str, key: str, request: Request, context: AppContext) -> ServerSentEvent:
    topic = await check_watcher(request, context, kind, key)
    resumed = bool(request.headers.get("last-event-id"))
    return ServerSentEvent(event_stream(context.events, topic, resumed=resumed))
