"""The trading methods, one module each, and :func:`install`, which start-up calls once.

A method module defines ``METHOD`` (:class:`bidding.tender.methods.Method`): the rule sets'
``method`` values it runs, its transition table (the common one, or overrides of it) and the
effects those steps declare. Every module in this package is a method: adding one is adding
its rule set (``trading/rules/data/``) and its module here, nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil

from bidding.award import effects as award_effects
from bidding.opening import effects as opening_effects
from bidding.settlement import effects as settlement_effects
from bidding.tender.effects import check_installed
from bidding.tender.methods import Method, register_method

# The subpackages that implement effects (each registers its own).
EFFECT_OWNERS = (settlement_effects, opening_effects, award_effects)


def methods() -> tuple[Method, ...]:
    """Every method module's ``METHOD``, by module name."""
    found = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        found.append(importlib.import_module(f"{__name__}.{module.name}").METHOD)
    return tuple(found)


def install() -> None:
    """Register every effect and every method; refuse to start if a declared effect has no
    implementation. Idempotent: the web app, the command line, the worker and the tests call it."""
    for owner in EFFECT_OWNERS:
        owner.register()
    for method in methods():
        register_method(method)
    check_installed()
