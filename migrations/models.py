"""Every table module, imported so that ``SQLModel.metadata`` knows all tables.

Alembic's autogenerate and the no-drift test compare the database with this metadata.
"""

import agency_pool.agencies  # noqa: F401
import agency_pool.draws  # noqa: F401
import agency_pool.ratings  # noqa: F401
import agency_pool.ties  # noqa: F401
import bidding.announcements  # noqa: F401
import bidding.award  # noqa: F401
import bidding.bidder_key_resets  # noqa: F401
import bidding.bidder_keys  # noqa: F401
import bidding.bids  # noqa: F401
import bidding.candidates  # noqa: F401
import bidding.clarifications  # noqa: F401
import bidding.complaints  # noqa: F401
import bidding.contracts  # noqa: F401
import bidding.deadlines  # noqa: F401
import bidding.doc_objections  # noqa: F401
import bidding.evaluation  # noqa: F401
import bidding.opening  # noqa: F401
import bidding.opening_keys  # noqa: F401
import bidding.partner_draws  # noqa: F401
import bidding.projects  # noqa: F401
import bidding.publicity  # noqa: F401
import bidding.registrations  # noqa: F401
import bidding.service_ratings  # noqa: F401
import bidding.tender_documents  # noqa: F401
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
