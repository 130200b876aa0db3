"""The live-event listener of one app worker: one dedicated asyncpg connection that LISTENs
on :data:`trading.events.CHANNEL` and fans events out to in-process subscribers by topic.

Why not Litestar's channels plugin: with the installed Litestar (2.x) its asyncpg backend
neither notices nor recovers from a dropped listener connection (events after the drop are
silently lost, forever), and a subscriber whose backlog is full loses events without being
told; its psycopg backend needs a package we do not install, and litestar issue 4110 reports
lost events there. ``bench/channels_plugin_check.py`` shows the first two; see
bench/RESULTS.md.

What this listener promises a subscriber:
- every event committed while the listener is connected, in commit order (NOTIFYs arrive a
  moment after COMMIT returns, so a new subscriber may also get one committed just before it
  subscribed: an event means "re-read", it is never the state itself);
- a bounded queue each (:data:`QUEUE_LIMIT`): a subscriber that falls that far behind is
  dropped with a final ``end`` event (reason ``slow``) and never holds up the others, since
  fan-out only puts into queues and never waits (so a service step publishes one event, not
  one per row: a transaction's NOTIFYs arrive together);
- after any loss of the connection, reconnection with backoff and then a ``resync`` event:
  NOTIFYs sent while disconnected are lost, so the subscriber must re-read the state;
- a silent network drop is found by a health query every :data:`HEALTH_SECONDS`;
- a ``heartbeat`` every :data:`HEARTBEAT_SECONDS` (one timer for all subscribers, rather than
  one per subscriber per wait), for streams to keep idle connections open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from trading.events import CHANNEL, LiveEvent

log = logging.getLogger(__name__)

QUEUE_LIMIT = 200
HEALTH_SECONDS = 10.0
HEARTBEAT_SECONDS = 15.0
BACKOFF_FIRST, BACKOFF_MAX = 0.1, 5.0
RESYNC, END, HEARTBEAT = "resync", "end", "heartbeat"

Connect = Callable[[], Awaitable[asyncpg.Connection]]


def asyncpg_connect_arguments(url: str) -> dict[str, Any]:
    """Keyword arguments for ``asyncpg.connect`` from the app's SQLAlchemy URL (same database)."""
    engine = create_async_engine(make_url(url).set(drivername="postgresql+asyncpg"))
    try:
        _, arguments = engine.dialect.create_connect_args(engine.url)
    finally:
        engine.sync_engine.dispose()
    return {name: value for name, value in arguments.items() if name not in ("prepared_statement_cache_size",)}


class Subscription:
    """One subscriber's stream of one topic; iterate it, or ``await next_event()``."""

    def __init__(self, hub: EventHub, topic: str, limit: int) -> None:
        self.hub, self.topic, self.limit = hub, topic, limit
        self.queue: asyncio.Queue[LiveEvent] = asyncio.Queue()
        self.ended: str | None = None

    def offer(self, event: LiveEvent) -> None:
        """Queue without waiting; past the limit the subscriber is dropped with ``end``."""
        if self.ended is not None:
            return
        if self.queue.qsize() >= self.limit:
            self.end("slow")
            return
        self.queue.put_nowait(event)

    def end(self, reason: str) -> None:
        """The last event this subscriber gets (queued after what it has not read yet)."""
        if self.ended is None:
            self.ended = reason
            self.queue.put_nowait(LiveEvent(topic=self.topic, kind=END, data={"reason": reason}))
            self.hub.unsubscribe(self)

    async def next_event(self) -> LiveEvent:
        return await self.queue.get()

    async def __aiter__(self) -> AsyncIterator[LiveEvent]:
        while True:
            event = await self.queue.get()
            yield event
            if event.kind == END:
                return


class EventHub:
    """Started and stopped by the app's lifespan; ``subscribe(topic)`` from request handlers."""

    def __init__(self, connect: Connect, *, channel: str = CHANNEL, queue_limit: int = QUEUE_LIMIT,
                 health_seconds: float = HEALTH_SECONDS, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> None:
        self._connect, self.channel = connect, channel
        self.queue_limit, self.health_seconds, self.heartbeat_seconds = queue_limit, health_seconds, heartbeat_seconds
        self._topics: dict[str, set[Subscription]] = {}
        self._task: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None
        self._lost: asyncio.Event | None = None
        self.connected = asyncio.Event()
        self.connections = 0  # how many times the listener has connected (tests and logs)

    @classmethod
    def for_url(cls, url: str, **options: Any) -> EventHub:
        arguments = asyncpg_connect_arguments(url)
        return cls(lambda: asyncpg.connect(**arguments), **options)

    # -- subscribers

    def subscribe(self, topic: str) -> Subscription:
        subscription = Subscription(self, topic, self.queue_limit)
        self._topics.setdefault(topic, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._topics.get(subscription.topic)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._topics[subscription.topic]

    def subscriber_count(self, topic: str | None = None) -> int:
        if topic is not None:
            return len(self._topics.get(topic, ()))
        return sum(len(subscribers) for subscribers in self._topics.values())

    def _fan_out(self, event: LiveEvent) -> None:
        for subscription in list(self._topics.get(event.topic, ())):
            subscription.offer(event)

    def _offer_all(self, kind: str, data: dict[str, Any] | None = None) -> None:
        for topic, subscribers in list(self._topics.items()):
            event = LiveEvent(topic=topic, kind=kind, data=data or {})
            for subscription in list(subscribers):
                subscription.offer(event)

    def _resync_all(self) -> None:
        self._offer_all(RESYNC, {"reason": "listener_reconnected"})

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            self._offer_all(HEARTBEAT)

    # -- the connection

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = LiveEvent.from_payload(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("live event with an unreadable payload ignored: %.200s", payload)
            return
        self._fan_out(event)

    def _on_lost(self, *_: Any) -> None:
        if self._lost is not None:
            self._lost.set()

    async def _listen_once(self) -> None:
        """Connect, LISTEN, and return when the connection is lost."""
        connection = await self._connect()
        self._connection, self._lost = connection, asyncio.Event()
        try:
            connection.add_termination_listener(self._on_lost)
            await connection.add_listener(self.channel, self._on_notify)
            self.connections += 1
            # Whatever was committed while we were not listening is lost: every watcher
            # already subscribed re-reads (at the first start there is normally none).
            self._resync_all()
            self.connected.set()
            log.info("live-event listener connected (%d)", self.connections)
            while not self._lost.is_set():
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._lost.wait(), self.health_seconds)
                if not self._lost.is_set():
                    await asyncio.wait_for(connection.fetchval("SELECT 1"), self.health_seconds)
        finally:
            self.connected.clear()
            self._connection = None
            if not connection.is_closed():
                connection.terminate()

    async def _run(self) -> None:
        delay = BACKOFF_FIRST
        while True:
            connections = self.connections
            try:
                await self._listen_once()
                log.warning("live-event listener lost its connection; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure means: wait, then connect again
                log.warning("live-event listener failed (%s); retrying in %.1f s", exc, delay)
            if self.connections > connections:
                delay = BACKOFF_FIRST  # it had been up: the first retry comes quickly
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    async def start(self, wait_seconds: float | None = 10.0) -> None:
        """Start listening; wait until connected (at most ``wait_seconds``; it keeps trying after)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="live-event listener")
            self._heartbeat = asyncio.create_task(self._beat(), name="live-event heartbeat")
        if wait_seconds:
            with suppress(TimeoutError):
                await asyncio.wait_for(self.connected.wait(), wait_seconds)

    async def stop(self) -> None:
        """Stop listening; every subscriber gets ``end`` (reason ``shutdown``)."""
        for task in (self._task, self._heartbeat):
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
        self._task = self._heartbeat = None
        for subscribers in list(self._topics.values()):
            for subscription in list(subscribers):
                subscription.end("shutdown")

    async def wait_connected(self, seconds: float = 10.0) -> None:
        await asyncio.wait_for(self.connected.wait(), seconds)

    def backend_pid(self) -> int | None:
        """The listener's server process id (to find it in pg_stat_activity)."""
        return self._connection.get_server_pid() if self._connection is not None else None
