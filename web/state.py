"""What the application holds for its lifetime, kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.ext.asyncio import AsyncSession

from trading.event_hub import EventHub
from trading.keys import CenterKeys
from trading.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    keys: CenterKeys
    # The live-event listener (LISTEN/NOTIFY), started and stopped by the app's lifespan.
    events: EventHub | None = None
    # Read-only lookups outside a transaction (the token of every request): with autocommit
    # no BEGIN/ROLLBACK, and the pool's ping is one round trip instead of three.
    lookups: async_sessionmaker[AsyncSession] = field(init=False)

    def __post_init__(self) -> None:
        self.lookups = async_sessionmaker(self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                                          class_=AsyncSession, expire_on_commit=False)
