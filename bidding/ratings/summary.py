"""The satisfaction ratings (好差评) summarised for the center: per expert and per agency the
number of ratings, the exact average, the distribution (好评/中评/差评) and the latest
comments; and, for a rater, what a project leaves to rate.

Ratings are recorded by :mod:`bidding.ratings.tender_ratings` (the pools own them); this module only reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.agencies import AgencyStatus
from agency_pool.draws import agency_assignment
from agency_pool.ratings import agencies_with_ratings, score_given
from bidding.tender.projects import get_project
from bidding.ratings.tender_ratings import AFTER_AGENCY_WORK, AFTER_EVALUATION
from bidding.reading.statistics import decimal_text
from expert_pool.committees import confirmed_experts_of_project
from expert_pool.fields import ExpertStatus
from expert_pool.ratings import experts_with_ratings, scores_given
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import NotFound
from trading.roles import USER_ROLE_LABELS

# 好差评 bands over the 0–100 score: 好评 80 and above, 中评 60–79, 差评 below 60.
GOOD_FROM, FAIR_FROM = 80, 60
BANDS = (("good", "好评（80–100分）"), ("fair", "中评（60–79分）"), ("poor", "差评（0–59分）"))
LATEST_COMMENTS = 3


def band_of(score: int) -> str:
    return "good" if score >= GOOD_FROM else "fair" if score >= FAIR_FROM else "poor"


@dataclass
class Comment:
    project_code: str
    score: int
    comment: str
    rater_role: str
    at: datetime

    @property
    def rater_role_name(self) -> str:
        return {role.value: label for role, label in USER_ROLE_LABELS.items()}.get(self.rater_role, self.rater_role)


@dataclass
class RatingSummary:
    """One rated expert or agency: every rating counted (not only the recent ones)."""

    code: str
    name: str
    status: str
    status_name: str
    scores: list[int] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)  # newest first, at most LATEST_COMMENTS

    @property
    def count(self) -> int:
        return len(self.scores)

    @property
    def average(self) -> Fraction | None:
        return Fraction(sum(self.scores), len(self.scores)) if self.scores else None

    @property
    def average_text(self) -> str:
        return "—" if self.average is None else decimal_text(self.average, 1)

    @property
    def distribution(self) -> dict[str, int]:
        counts = {band: 0 for band, _ in BANDS}
        for score in self.scores:
            counts[band_of(score)] += 1
        return counts

    @property
    def good_rate_text(self) -> str:
        """好评率: good ratings ÷ all ratings, as a percentage (exact, half up to one decimal)."""
        if not self.scores:
            return "—"
        return f"{decimal_text(Fraction(self.distribution['good'] * 100, self.count), 1)}%"


def _collect(rows, summaries: dict[str, RatingSummary]) -> list[RatingSummary]:
    for code, score, comment, role, at, project_code in rows:  # newest first
        summary = summaries[code]
        summary.scores.append(score)
        if comment and len(summary.comments) < LATEST_COMMENTS:
            summary.comments.append(Comment(project_code, score, comment, role, at))
    return [summary for summary in summaries.values() if summary.scores]


async def expert_rating_summaries(session: AsyncSession, *, q: str = "") -> list[RatingSummary]:
    """Every rated expert (optionally matching ``q`` in code or name), lowest average first:
    the center looks first at those the parties were least satisfied with."""
    experts, rows = await experts_with_ratings(session, q=q)
    summaries = {expert.code: RatingSummary(expert.code, expert.name, expert.status,
                                            ExpertStatus(expert.status).label) for expert in experts}
    return sorted(_collect(rows, summaries), key=lambda s: (s.average, s.code))


async def agency_rating_summaries(session: AsyncSession, *, q: str = "") -> list[RatingSummary]:
    """Every rated agency (optionally matching ``q``), lowest average first."""
    agencies, rows = await agencies_with_ratings(session, q=q)
    summaries = {agency.code: RatingSummary(agency.code, agency.name, agency.status,
                                            AgencyStatus(agency.status).label) for agency in agencies}
    return sorted(_collect(rows, summaries), key=lambda s: (s.average, s.code))


# ----------------------------------------------------------------------------- what to rate


@dataclass
class RatingTarget:
    kind: str  # "expert" or "agency"
    code: str
    name: str
    rated: int | None  # this rater's score, when already given
    open: bool  # the work is over: the rating may be given now


@dataclass
class ProjectToRate:
    code: str
    title: str
    state: str
    targets: list[RatingTarget]


async def rating_targets(session: AsyncSession, *, project_code: str, user: User) -> ProjectToRate:
    """The experts of the project's committee and its agency, with what ``user`` gave each so far.

    Who may rate and when is checked again by :mod:`bidding.ratings.tender_ratings` when the rating is given."""
    project = await get_project(session, project_code.strip())
    given = await scores_given(session, project_code=project.code, rater_user_id=user.id)
    targets = [RatingTarget("expert", expert.code, expert.name, given.get(expert.id), project.state in AFTER_EVALUATION)
               for expert in await confirmed_experts_of_project(session, project.code)]
    try:
        agency = (await agency_assignment(session, project.code)).agency
    except NotFound:
        agency = None
    if agency is not None:
        # The agency rating remembers its rater by audit name.
        score = await score_given(session, agency_id=agency.id, project_code=project.code, rater=actor_of(user))
        targets.append(RatingTarget("agency", agency.code, agency.name, score, project.state in AFTER_AGENCY_WORK))
    return ProjectToRate(project.code, project.title, project.state, targets)

