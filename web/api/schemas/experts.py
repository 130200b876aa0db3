"""The expert pool and committees (web/experts.py, web/committees.py)."""

from typing import Annotated, TypedDict

from web.api.bid_wire import doc


class ExpertView(TypedDict):
    code: str
    name: str
    id_number: Annotated[str, doc("Masked.")]
    employer_credit_code: str | None
    employer_name: str | None
    specialties: Annotated[list[str], doc("Specialty codes.")]
    title: str
    years_in_field: int
    city_code: str
    phone: Annotated[str, doc("Masked.")]
    status: str
    status_label: str
    status_reason: str | None
    status_changed_at: str | None
    next_review_due: Annotated[str, doc("YYYY-MM-DD.")]


class ImportedRow(TypedDict):
    row: int
    code: str | None


class ExpertsImported(TypedDict):
    imported: Annotated[int, doc("0 on a dry run.")]
    checked: int
    dry_run: bool
    experts: list[ImportedRow]


class ReviewDue(TypedDict):
    code: str
    name: str
    id_number: Annotated[str, doc("Masked.")]
    status: str
    next_review_due: str
    overdue: bool
    days_left: int


class CommitteeGroup(TypedDict):
    specialty: str
    count: int
    reserve_count: int
    draws: Annotated[list[str], doc("The group's draw ids (GET /api/draws/{draw_id}).")]
    confirmed: int
    invited: int


class CommitteeMember(TypedDict):
    code: str
    name: str
    group: int
    status: str
    status_name: str


class CommitteeView(TypedDict):
    """Counts while sealed, members once the session has started."""

    id: int
    project_code: str
    status: str
    starts_at: str
    ends_at: str
    place: str
    representatives: int
    groups: list[CommitteeGroup]
    members: list[CommitteeMember] | None


class Invitation(TypedDict):
    """Time and place only: nothing about the project."""

    id: int
    starts_at: str
    ends_at: str
    place: str
    status: str
    status_name: str
