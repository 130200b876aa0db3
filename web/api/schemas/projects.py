"""Projects (web/projects.py): registration, the public view, the announcement."""

from datetime import datetime
from typing import Annotated, TypedDict

from web.api.bid_wire import doc


class TenderingParty(TypedDict):
    credit_code: str
    name: str


class ProjectView(TypedDict):
    code: str
    title: str
    category: Annotated[str, doc("construction, procurement, ... (trading category).")]
    method: Annotated[str, doc("open_tender, invited_tender, ...")]
    region_code: Annotated[str, doc("Six-digit administrative division code.")]
    tendering_party: TenderingParty
    estimate_fen: Annotated[int, doc("Estimate or budget in fen.")]
    state: str
    state_name: Annotated[str, doc("The state in Chinese, for people.")]
    rule_set: Annotated[str, doc("The pinned rule set, code@version.")]
    registered_at: Annotated[str | None, doc("ISO 8601 with offset.")]
    documents_issued_at: str | None
    bid_deadline: str | None
    publicity_started_at: str | None
    next_due_at: Annotated[str | None, doc("When the chronograph next looks at the project.")]
    retender_of: Annotated[str | None, doc("The code of the project this one re-tenders.")]


class AnnouncedProject(ProjectView):
    opening_public_key: Annotated[str, doc("The tender's opening public key (X25519), hex.")]


class AnnounceJson(TypedDict, total=False):
    """As JSON; or multipart/form-data with the same two fields (as text) and the tender
    documents: ``file``, ``title``, ``body``."""

    bid_deadline: Annotated[datetime, doc("With its offset, e.g. 2026-12-20T09:30:00+08:00 (required).")]
    documents_issued_at: Annotated[datetime | None, doc("When the documents go out (default: now).")]
