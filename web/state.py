"""What the application holds for its lifetime, kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

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
