"""Between cities (web/federation.py; docs/federation.md, federation/1): the signed messages
partner cities send and the answers they get (signed as sent: canonical JSON, not rebuilt),
the partner registry and our committees' remote draws."""

from typing import Annotated, NotRequired, TypedDict

from web.api.bid_wire import HEX32, doc
from web.api.schemas.draws import DrawBundle
from web.api.schemas.experts import CommitteeView


class CityCard(TypedDict):
    """This center as a partner registers it."""

    city_code: Annotated[str, doc("Six-digit administrative division code (GB/T 2260).")]
    name: str
    base_url: str
    verify_key: Annotated[str, doc("Ed25519 verify key.", pattern=HEX32)]
    exchange_key: Annotated[str, doc("X25519 public key (sealed reveals).", pattern=HEX32)]


class PartnerView(CityCard):
    status: str
    status_name: str
    disabled_reason: str | None


# ---------------------------------------------------------------------------- signed messages


class ProjectRef(TypedDict):
    code: str
    category: str
    method: str


class GroupWanted(TypedDict):
    specialty: Annotated[str, doc("Specialty code; its whole subtree qualifies.")]
    count: Annotated[int, doc("1-50.")]
    reserve_count: Annotated[int, doc("0-50.")]


class DrawRequestMessage(TypedDict):
    protocol: Annotated[str, doc('Exactly "federation/1".')]
    message: Annotated[str, doc('Exactly "draw-request".')]
    request_id: Annotated[str, doc("8 to 64 characters; the same id and message answers the stored answer.")]
    from_city: str
    project: ProjectRef
    tendering_party: Annotated[str, doc("The tendering party's credit code.")]
    avoid: Annotated[list[str], doc("Credit codes of the bidders and the agency (never published).")]
    avoid_salt: Annotated[str, doc("32 random bytes, hex.", pattern=HEX32)]
    starts_at: Annotated[str, doc("RFC 3339 UTC.")]
    ends_at: str
    place: str
    groups: list[GroupWanted]


class GroupDraw(TypedDict):
    group: int
    bundle: DrawBundle


class DrawAnswer(TypedDict):
    protocol: str
    message: Annotated[str, doc('"draw-answer".')]
    request_id: str
    city_code: str
    verify_key: str
    draws: list[GroupDraw]


class WitnessMessage(TypedDict):
    message: Annotated[str, doc('Exactly "witness".')]
    draw_id: str
    value: Annotated[str, doc("The requesting city's supervisor's witness value.")]
    by: Annotated[str, doc("The supervisor's name.")]


class WitnessAnswer(TypedDict):
    request_id: str
    bundle: DrawBundle


class GroupCount(TypedDict):
    group: int
    specialty: str
    count: int
    confirmed: int
    invited: int


class LentStatus(TypedDict):
    """Counts, never names."""

    request_id: str
    status: Annotated[str, doc("drawing, unsealed or cancelled.")]
    groups: list[GroupCount]
    draws: list[GroupDraw]


class RevealMessage(TypedDict):
    message: Annotated[str, doc('Exactly "reveal".')]


class RevealAnswer(TypedDict):
    request_id: str
    sealed: Annotated[str, doc("Base64 of a sealed box to the requester's exchange key (docs/federation.md).")]


class DeclineMessage(TypedDict):
    message: Annotated[str, doc('Exactly "decline".')]
    expert_code: str
    reason: str


class Attended(TypedDict):
    expert_code: str
    attended: bool
    note: NotRequired[str]


class AttendanceMessage(TypedDict):
    message: Annotated[str, doc('Exactly "attendance".')]
    records: list[Attended]


class Recorded(TypedDict):
    request_id: str
    recorded: int


class CancelMessage(TypedDict):
    message: Annotated[str, doc('Exactly "cancel".')]
    reason: str


class Cancelled(TypedDict):
    request_id: str
    status: str


class PartnerRating(TypedDict):
    expert_code: str
    score: Annotated[int, doc("0-100.")]
    comment: NotRequired[str]
    rater: str
    rater_role: Annotated[str, doc("tendering_party or supervisor.")]


class RatingsMessage(TypedDict):
    message: Annotated[str, doc('Exactly "ratings".')]
    ratings: list[PartnerRating]


class RatingsRecorded(TypedDict):
    request_id: str
    recorded: int
    suspended: Annotated[list[str], doc("Codes of the experts the ratings suspended.")]


# ---------------------------------------------------------------------------- our remote draws


class PartnerMember(TypedDict):
    code: str
    name: str
    group: int
    status: str
    status_name: str
    city: str
    phone: NotRequired[Annotated[str, doc("Center staff only.")]]


class PartnerDrawBase(TypedDict):
    request_id: str
    partner: Annotated[str, doc("The partner's city code.")]
    status: str
    status_name: str
    groups: list[GroupWanted]
    draws: Annotated[list[DrawBundle], doc("The partner's draw bundles, as the partner signed them.")]
    members: list[PartnerMember] | None
    last_error: str | None
    fallback_reason: str | None


class PartnerDrawView(PartnerDrawBase):
    """Status and the partner's signed records; names only once opened."""

    committee: Annotated[int, doc("Our committee request's id.")]


class FellBack(PartnerDrawBase):
    committee: Annotated[CommitteeView, doc("The committee, with its local groups in place of the partner's.")]


class CommitteeWithPartners(CommitteeView):
    partner_draws: list[PartnerDrawView]


class PartnerCounts(TypedDict):
    request_id: str
    status: str | None
    groups: list[GroupCount] | None
