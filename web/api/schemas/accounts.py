"""Accounts, tokens and the platform (web/api.py, web/accounts.py): who one is, the
center's keys, rule sets, the audit chain."""

from typing import Annotated, Any, TypedDict

from web.api.bid_wire import HEX32, doc


class Health(TypedDict):
    status: Annotated[str, doc("ok.")]
    database: Annotated[str, doc("ok.")]


class SigningKey(TypedDict):
    algorithm: Annotated[str, doc("Ed25519.")]
    verify_key: Annotated[str, doc("The center's verify key.", pattern=HEX32)]
    key_id: Annotated[str, doc("First 16 hex digits of SHA-256 of the verify key.")]


class CenterKeys(TypedDict):
    signing: SigningKey


class UserView(TypedDict):
    id: int
    username: str
    display_name: str
    role: str
    role_name: str
    organisation_id: int | None
    id_number: Annotated[str | None, doc("Masked.")]


class FailedAttempt(TypedDict):
    at: str
    client: str | None


class FailedLogins(TypedDict):
    count: int
    since: str | None
    attempts: Annotated[list[FailedAttempt], doc("The latest 20.")]


class Me(UserView):
    failed_logins: Annotated[FailedLogins, doc("Failed password checks since the login before the latest one.")]


class OrganisationRef(TypedDict):
    credit_code: str
    name: str


class AccountView(UserView):
    is_active: bool
    organisation: OrganisationRef | None


class PasswordChanged(TypedDict):
    changed: bool


class RuleSetListed(TypedDict):
    code: str
    version: str
    title: str
    category: str
    method: str
    effective_from: str
    effective_to: str | None
    sha256: Annotated[str, doc("SHA-256 of the rule-set file as published.")]


class RuleEntry(TypedDict):
    value: Annotated[Any, doc("A number, a text or a flag as the rule says; a fraction as {numerator, denominator}.")]
    unit: str
    label: str
    source: Annotated[str, doc("The legal source (Chinese).")]
    unconfirmed: Annotated[bool, doc("From secondary material, still to check against the official text.")]
    note: str


class RuleSetView(TypedDict):
    """One rule set with every rule and its legal source."""

    code: str
    version: str
    title: str
    category: str
    method: str
    effective_from: str
    effective_to: str | None
    notes: str
    sha256: Annotated[str, doc("SHA-256 of the rule-set file as published.")]
    rules: Annotated[dict[str, RuleEntry], doc("Rule key -> the rule.")]


class RuleSetRef(TypedDict):
    code: str
    version: str


class RuleView(RuleEntry):
    rule_set: RuleSetRef
    key: str


class Checkpoint(TypedDict):
    record: Annotated[dict[str, Any], doc("The signed checkpoint {protocol, seq, hash, at}, as signed.")]
    signature: str
    key_id: str


class Checkpoints(TypedDict):
    verify_key: Annotated[str, doc("The center's verify key.", pattern=HEX32)]
    checkpoints: list[Checkpoint]


class AuditCheck(TypedDict):
    ok: bool
    entries: int
    checkpoints: int
    bad_seq: Annotated[int | None, doc("The first entry that does not check, if any.")]
    message: str
