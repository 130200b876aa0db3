"""Every table module, imported so that ``SQLModel.metadata`` knows all tables.

Alembic's autogenerate and the no-drift test compare the database with this metadata.
"""

import agency_pool.agencies  # noqa: F401
import agency_pool.draws  # noqa: F401
import agency_pool.ratings  # noqa: F401
import agency_pool.ties  # noqa: F401
import bidding.notice.announcements  # noqa: F401
import bidding.award.award_notice  # noqa: F401
import bidding.bids.key_resets  # noqa: F401
import bidding.bids.bidder_keys  # noqa: F401
import bidding.bids.submission  # noqa: F401
import bidding.evaluation.candidates  # noqa: F401
import bidding.notice.clarifications  # noqa: F401
import bidding.award.complaints  # noqa: F401
import bidding.award.contracts  # noqa: F401
import bidding.tender.deadlines  # noqa: F401
import bidding.notice.objections  # noqa: F401
import bidding.evaluation.expert_keys  # noqa: F401
import bidding.evaluation.records  # noqa: F401
import bidding.evaluation.scheme  # noqa: F401
import bidding.opening.proceedings  # noqa: F401
import bidding.bids.opening_keys  # noqa: F401
import bidding.draws.partner_draws  # noqa: F401
import bidding.tender.projects  # noqa: F401
import bidding.award.publicity  # noqa: F401
import bidding.tender.registrations  # noqa: F401
import bidding.ratings.service  # noqa: F401
import bidding.notice.documents  # noqa: F401
import credit.departments  # noqa: F401
import credit.models  # noqa: F401
import expert_pool.committees  # noqa: F401
import expert_pool.lending  # noqa: F401
import expert_pool.models  # noqa: F401
import expert_pool.ratings  # noqa: F401
import expert_pool.specialties  # noqa: F401
import trading.accounts  # noqa: F401
import trading.audit  # noqa: F401
import trading.draws  # noqa: F401
import trading.federation_wire  # noqa: F401
import trading.ledger  # noqa: F401
import trading.receipts  # noqa: F401
import trading.notifications  # noqa: F401
import trading.organisations  # noqa: F401
import trading.partners  # noqa: F401
import trading.rooms  # noqa: F401
import trading.rules.store  # noqa: F401
from sqlmodel import SQLModel

metadata = SQLModel.metadata
