"""Every refusal names itself: each ``raise`` of a trading.errors class in the service packages
and the web layer gives a specific ``code=`` (what a client's program tests), not only the
class's generic one, and a code means one kind of refusal (one error class, so one HTTP
status) wherever it is raised.

The exceptions are the generic codes a published wire defines: ``not_found`` for any record
that does not exist, ``rate_limited`` for the login throttle, the federation/1 refusals a partner city receives (docs/federation.md:
``invalid_input``, ``conflict``, ``rule_violation``) and the edge checks docs/bidder-api.md
names ``invalid_input``."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from trading import errors

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ["bidding", "trading", "credit", "expert_pool", "agency_pool", "web"]
# The classes whose own code only says the kind of answer (400, 403, 409, 422, 503). NotFound's
# not_found is the contract for every missing record; rate_limited has one cause (the login
# throttle); ConfigurationError and IntegrityFailure are the server's faults, not refusals.
GENERIC = {"DomainError", "InvalidInput", "PermissionDenied", "Conflict", "RuleViolation", "Unavailable"}
# Codes fixed by a published wire (see the module's docstring): the generic code is the contract.
WIRE_GENERIC = {"expert_pool/lending.py", "web/api/federation.py", "web/core/edge.py", "web/api/bodies.py"}


def raises() -> list[tuple[str, int, str, str | None]]:
    """(file, line, error class, code or None) of each ``raise SomeError(...)`` of trading.errors."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                    continue
                function = node.exc.func
                name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
                if not (isinstance(getattr(errors, name or "", None), type)
                        and issubclass(getattr(errors, name), errors.DomainError)):
                    continue
                code = next((keyword.value for keyword in node.exc.keywords if keyword.arg == "code"), None)
                text = code.value if isinstance(code, ast.Constant) else None if code is None else "<computed>"
                found.append((path.relative_to(ROOT).as_posix(), node.lineno, name, text))
    return found


def test_every_refusal_carries_a_specific_code():
    generic = [(file, line, name) for file, line, name, code in raises()
               if code is None and name in GENERIC and file not in WIRE_GENERIC]
    assert len(raises()) > 500  # the walk does find the raises
    assert not generic, f"give these refusals a specific code=: {generic}"


def test_a_code_means_one_kind_of_refusal():
    classes: dict[str, set[str]] = defaultdict(set)
    for _, _, name, code in raises():
        if code and code != "<computed>":
            classes[code].add(name)
    assert len(classes) > 300
    mixed = {code: names for code, names in classes.items() if len(names) > 1}
    assert not mixed, mixed
    generic_codes = {getattr(errors, name).code for name in GENERIC}
    assert not generic_codes & set(classes), "a specific code may not reuse a generic one"
    assert all(code.isascii() and code.replace("_", "").isalnum() and code.islower() for code in classes), classes
