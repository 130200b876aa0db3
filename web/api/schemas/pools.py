"""The agency pool, rooms, ratings, registrations and the supervisors' deadline cards
(web/agencies.py, web/rooms.py, web/ratings.py, web/registrations.py, web/deadline_watch.py)."""

from typing import Annotated, TypedDict

from web.api.bid_wire import doc
from web.api.schemas.credit import DepositDecision


class AgencyListed(TypedDict):
    code: str
    name: str
    qualification_level: str
    categories: list[str]
    category_names: list[str]
    city: str
    city_name: str
    status: str
    status_name: str
    rating_average: Annotated[float | None, doc("Recent ratings' average, 0-100 (null: none yet).")]
    rating_count: int


class AgenciesImported(TypedDict):
    filename: str
    rows: int
    registered: Annotated[list[str], doc("Agency codes.")]
    updated: list[str]
    unchanged: list[str]
    dry_run: bool
    message: str


class RoomView(TypedDict):
    code: str
    name: str
    kind: Annotated[str, doc("opening or evaluation.")]
    kind_name: str
    capacity: int
    location: str
    active: bool


class BookingView(TypedDict):
    id: int
    room: str
    room_name: str
    kind: str
    kind_name: str
    location: str
    purpose: str
    project_code: str
    starts_at: str
    ends_at: str
    period: Annotated[str, doc("In the center's local time, for people.")]
    booked_by: str
    cancelled_at: str | None
    cancel_reason: str | None


class ExpertRated(TypedDict):
    expert_code: str
    project_code: str
    score: int
    suspended: Annotated[bool, doc("The rating suspended the expert under the pinned rule set.")]
    rule: str | None
    reason: str | None


class AgencyRated(TypedDict):
    project_code: str
    score: int
    rated_at: str


class Registered(TypedDict):
    registration_id: int
    project_code: str
    bidder_credit_code: str
    status: str
    deposit_required: bool
    deposit_required_fen: int | None
    deposit: Annotated[DepositDecision, doc("The deposit decision and its reasons (credit checks).")]
    message: str


class DeadlineCard(TypedDict):
    id: int
    card: Annotated[str, doc("yellow or red.")]
    card_name: str
    carded_at: str | None
    project: str
    project_title: str
    subject: str
    kind: str
    act: str
    due_at: str
    provisional: bool
    rule: str | None
    source: str | None
    rule_set: str
    set_at: str
    met_at: str | None


class DeadlineCards(TypedDict):
    rule: Annotated[str, doc("When a card turns yellow and red, for people.")]
    cards: list[DeadlineCard]
