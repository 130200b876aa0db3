"""What the application holds for its lifetime, kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.bids.intake import BidIntake
from bidding.draws.partner_client import PartnerGateway
from trading.event_hub import EventHub
from trading.keys import CenterKeys
from trading.settings import Settings
from web.core.admission import bid_submission_gate
from adapters.choice import Adapters


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    keys: CenterKeys
    # The connections to the outside the settings chose (adapters/choice.py).
    adapters: Adapters
    # The live-event listener (LISTEN/NOTIFY), started and stopped by the app's lifespan.
    events: EventHub | None = None
    # Read-only lookups outside a transaction (the token of every request): with autocommit
    # no BEGIN/ROLLBACK, and the pool's ping is one round trip instead of three.
    lookups: AsyncEngine = field(init=False)
    # Sealed bids, stored a tender's waiting bids at a time (group commit).
    bid_intake: BidIntake = field(init=False)

    @property
    def partner_gateway(self) -> PartnerGateway:
        """How requests reach partner cities (bidding/ signs and checks them; this carries them)."""
        return self.adapters.partner_gateway

    def __post_init__(self) -> None:
        self.lookups = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.bid_intake = BidIntake(self.sessions, self.keys, gate=bid_submission_gate)
