"""Unified trading rules (统一交易规则): versioned rule sets and the working-day calendar.

Pure Python over data files; the database copy of the rule sets lives in
``trading.rules.store``, which is not imported here so that this package needs no database.
"""

from trading.rules.calendar import (
    CALENDAR_DIR,
    CalendarYear,
    WorkingDayCalendar,
    default_calendar,
    load_calendar_year,
)
from trading.rules.catalogue import CATALOGUE, CATEGORIES, METHODS, UNITS, RuleSpec, UnitSpec, required_keys
from trading.rules.ruleset import DATA_DIR, Rule, RuleSet, load_rule_set, load_rule_sets, parse_rule_set

__all__ = [
    "CALENDAR_DIR",
    "CATALOGUE",
    "CATEGORIES",
    "DATA_DIR",
    "METHODS",
    "UNITS",
    "CalendarYear",
    "Rule",
    "RuleSet",
    "RuleSpec",
    "UnitSpec",
    "WorkingDayCalendar",
    "default_calendar",
    "load_calendar_year",
    "load_rule_set",
    "load_rule_sets",
    "parse_rule_set",
    "required_keys",
]
