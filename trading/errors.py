"""One error hierarchy for every domain package.

Each error carries a stable ``code`` for machines, a Simplified Chinese ``message`` for
users, and optional ``details`` (the rule, record or field that caused it). ``web/`` maps
the classes to HTTP answers; the command line prints the message on one line.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service function raises on purpose."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(DomainError):
    """The user's input is malformed (a bad credit code, a bad date...)."""

    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class NotAuthenticated(DomainError):
    code = "not_authenticated"


class PermissionDenied(DomainError):
    code = "permission_denied"


class Conflict(DomainError):
    """The action clashes with the current state (duplicate, already done...)."""

    code = "conflict"


class RuleViolation(DomainError):
    """A step is refused by the pinned trading rule set; details name the rule and source."""

    code = "rule_violation"


class RateLimited(DomainError):
    code = "rate_limited"


class Unavailable(DomainError):
    """The service cannot take the request now (stopping, overloaded): nothing was done, retry."""

    code = "unavailable"


class ConfigurationError(DomainError):
    """Bad configuration or data file (a rule set, a calendar, a key file)."""

    code = "configuration_error"


class RuleSetInvalid(ConfigurationError):
    """A rule-set file failed validation; details hold ``file``, ``key`` and ``reason``."""

    code = "ruleset_invalid"

    def __init__(self, file: str, key: str, reason: str) -> None:
        super().__init__(f"规则集文件 {file} 无效：{key}：{reason}", file=file, key=key, reason=reason)


class IntegrityFailure(DomainError):
    """A tamper-evidence check failed (audit chain, signature...)."""

    code = "integrity_failure"
