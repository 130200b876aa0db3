"""The tender's notices (web/tender_documents.py, web/clarifications.py, web/doc_objections.py):
document versions, questions and clarifications, objections to the documents."""

from typing import Annotated, NotRequired, TypedDict

from litestar.datastructures import UploadFile

from web.api.bid_wire import doc


class AnnouncementRef(TypedDict):
    id: int | None
    kind: str | None
    title: str | None


class DocumentVersion(TypedDict):
    number: int
    filename: str
    media_type: str
    sha256: Annotated[str, doc("SHA-256 of the file, hex.")]
    size: Annotated[int, doc("Bytes.")]
    published_at: str
    announcement: Annotated[AnnouncementRef, doc("The announcement or change it went out with.")]
    clarification_id: int | None
    current: bool


class AskedQuestion(TypedDict):
    id: int
    project_code: str
    number: int
    label: Annotated[str, doc("问题N, as the public sees it.")]
    text: str
    asked_at: str


class QuestionView(TypedDict):
    id: int
    number: int
    label: str
    text: str
    asked_at: str
    answered_by: Annotated[int | None, doc("The clarification that answered it.")]
    bidder_credit_code: NotRequired[Annotated[str, doc("The asker: the center and supervisors only.")]]
    bidder_name: NotRequired[str]
    registration_id: NotRequired[int]
    asked_by: NotRequired[str]
    mine: NotRequired[Annotated[bool, doc("A bidder's own question.")]]


class ClarificationView(TypedDict):
    id: int
    project_code: str
    announcement_id: int | None
    title: str
    body: str
    published_at: str
    deadline_moved: bool
    bid_deadline: str | None
    previous_bid_deadline: str | None


class RaisedDocObjection(TypedDict):
    id: int
    project_code: str
    number: int
    label: Annotated[str, doc("异议N, as the public sees it.")]
    raised_at: str
    answer_due_at: str | None
    answer_due_provisional: Annotated[bool, doc("Reckoned on a provisional calendar year.")]
    state: Annotated[str, doc("The project's state (suspended while an objection waits).")]


class DocObjectionView(TypedDict):
    id: int
    number: int
    label: str
    text: str
    raised_at: str | None
    answer_due_at: str | None
    answer_due_provisional: bool
    answer: str | None
    answered_at: str | None
    clarification_id: int | None
    suspended_process: bool
    bidder_credit_code: NotRequired[Annotated[str, doc("The objector: the center and supervisors only.")]]
    bidder_name: NotRequired[str]
    registration_id: NotRequired[int]
    raised_by: NotRequired[str]
    answered_by: NotRequired[str | None]
    mine: NotRequired[Annotated[bool, doc("A bidder's own objection.")]]


class AnsweredDocObjection(TypedDict):
    id: int
    number: int
    answer: str
    answered_at: str
    clarification_id: int | None
    state: str
    bid_deadline: str | None


class DocumentsUpload(TypedDict, total=False):
    """multipart/form-data."""

    file: Annotated[UploadFile, doc("The tender documents (required).")]
    title: Annotated[str, doc("The announcement's title (required).")]
    body: Annotated[str, doc("What changed or what the documents hold.")]
