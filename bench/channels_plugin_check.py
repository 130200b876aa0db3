"""Does Litestar's channels plugin with its asyncpg backend deliver what live supervision
needs? (issue 6; litestar issue 4110 reports lost events in the 2.x PostgreSQL backends)

    .venv/bin/python bench/channels_plugin_check.py

On a throwaway embedded PostgreSQL, with ``ChannelsPlugin(AsyncPgChannelsBackend)`` of the
installed Litestar, it checks in turn:

1. a NOTIFY sent inside a committed transaction of another connection reaches a subscriber;
2. one sent inside a rolled-back transaction does not;
3. what a subscriber that stops reading is told when its backlog is full;
4. after the listener's connection is killed (``pg_terminate_backend``), whether the
   subscriber is told anything, whether a later committed NOTIFY still arrives, and
   whether a new subscription still works.

It prints one line per check and exits 0; the verdict is recorded in bench/RESULTS.md.
(The psycopg backend needs psycopg, which this project does not install.)
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from litestar.channels import ChannelsPlugin  # noqa: E402
from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend  # noqa: E402

from trading.database import embedded_url, start_embedded_server  # noqa: E402
from trading.event_hub import asyncpg_connect_arguments  # noqa: E402

CHANNEL = "plugin_check"


async def notify(arguments: dict, payload: str, *, commit: bool = True) -> None:
    connection = await asyncpg.connect(**arguments)
    try:
        transaction = connection.transaction()
        await transaction.start()
        await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
        await (transaction.commit() if commit else transaction.rollback())
    finally:
        await connection.close()


async def next_event(subscriber, seconds: float) -> bytes | None | str:
    events = subscriber.iter_events()
    try:
        return await asyncio.wait_for(events.__anext__(), seconds)
    except TimeoutError:
        return "timeout"
    except StopAsyncIteration:
        return "end of stream"


async def check(arguments: dict) -> None:
    from importlib.metadata import version

    print(f"litestar {version('litestar')}, asyncpg {version('asyncpg')}")
    backend = AsyncPgChannelsBackend(make_connection=lambda: asyncpg.connect(**arguments))
    plugin = ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True, subscriber_max_backlog=5)
    await plugin.__aenter__()  # not `async with`: its exit fails once the connection is gone
    subscriber = await plugin.subscribe(CHANNEL)
    await notify(arguments, "committed")
    print("1. committed NOTIFY received:", await next_event(subscriber, 3))
    await notify(arguments, "rolled back", commit=False)
    print("2. rolled-back NOTIFY received:", await next_event(subscriber, 1))

    slow = await plugin.subscribe("slow_check")
    sender = await asyncpg.connect(**arguments)
    for number in range(10):
        await sender.execute("SELECT pg_notify('slow_check', $1)", str(number))
    await sender.close()
    await asyncio.sleep(0.5)
    print(f"3. a subscriber that never read holds {slow.qsize} of 10 events (backlog 5); "
          "the Subscriber API has no way to tell it that events were dropped")
    print(f"   it then reads {await next_event(slow, 1)!r} as if nothing were missing")

    admin = await asyncpg.connect(**arguments)
    killed = await admin.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'")
    print(f"4. listener connections killed: {killed}")
    print("   subscriber told of the drop:", await next_event(subscriber, 2))
    await notify(arguments, "after the drop")
    print("   committed NOTIFY after the drop received:", await next_event(subscriber, 3))
    await asyncio.sleep(3)
    listening = await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'")
    print(f"   listener connections 3 s later: {listening}")
    await admin.close()
    try:
        await plugin.subscribe("new_after_drop")
        print("   a new subscription after the drop: accepted")
    except Exception as exc:  # noqa: BLE001 - the point is to show what happens
        print(f"   a new subscription after the drop: {type(exc).__name__}: {exc}")
    try:
        await plugin.__aexit__(None, None, None)
    except Exception as exc:  # noqa: BLE001
        print(f"   shutting the plugin down: {type(exc).__name__}: {exc}")


def main() -> None:
    directory = Path(tempfile.mkdtemp(prefix="plugin-check-"))
    server = start_embedded_server(directory / "pgdata", cleanup_mode="delete")
    try:
        asyncio.run(check(asyncpg_connect_arguments(embedded_url(server, "postgres"))))
    finally:
        server.cleanup()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
