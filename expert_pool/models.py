"""Tables of the expert pool: experts, their specialties, leave periods and declared conflicts.

Whether an expert is a court-listed defaulter (失信被执行人) is not stored here: credit/
owns credit records and the pool will ask it whom to exclude (DESIGN.md layering).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from expert_pool.fields import TITLES, ExpertStatus
from trading.columns import created_at_column, timestamp_column

STATUS_VALUES = ", ".join(f"'{status.value}'" for status in ExpertStatus)
TITLE_VALUES = ", ".join(f"'{title}'" for title in TITLES)


class Expert(SQLModel, table=True):
    """One evaluation expert. ``id_number`` and ``phone`` are masked on every public output."""

    __tablename__ = "experts"
    __table_args__ = (
        CheckConstraint(f"status IN ({STATUS_VALUES})", name="experts_status_known"),
        CheckConstraint(f"title IN ({TITLE_VALUES})", name="experts_title_known"),
        CheckConstraint("years_in_field >= 0", name="experts_years_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(12), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(30), nullable=False))
    id_number: str = Field(sa_column=Column(String(18), nullable=False, unique=True))
    # The employer's credit code is always kept; the link is set when it is registered.
    employer_credit_code: str = Field(sa_column=Column(String(18), nullable=False, index=True))
    employer_name: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    employer_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("organisations.id"), nullable=True))
    title: str = Field(sa_column=Column(String(16), nullable=False))
    years_in_field: int = Field(sa_column=Column(Integer, nullable=False))
    city_code: str = Field(sa_column=Column(String(6), nullable=False, index=True))
    phone: str = Field(sa_column=Column(String(20), nullable=False))
    status: str = Field(default=ExpertStatus.ACTIVE.value,
                        sa_column=Column(String(16), nullable=False, server_default=ExpertStatus.ACTIVE.value))
    status_reason: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    status_changed_at: datetime = Field(sa_column=created_at_column())
    next_review_due: date = Field(sa_column=Column(Date, nullable=False, index=True))
    created_at: datetime = Field(sa_column=created_at_column())


class ExpertSpecialty(SQLModel, table=True):
    __tablename__ = "expert_specialties"

    expert_id: int = Field(sa_column=Column(Integer, ForeignKey("experts.id", ondelete="CASCADE"), primary_key=True))
    specialty_code: str = Field(
        sa_column=Column(String(16), ForeignKey("specialties.code"), primary_key=True, index=True))


class ExpertLeave(SQLModel, table=True):
    """A period the expert cannot evaluate; half-open ``[starts_at, ends_at)``."""

    __tablename__ = "expert_leaves"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="expert_leaves_ends_after_start"),)

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(sa_column=Column(Integer, ForeignKey("experts.id", ondelete="CASCADE"), nullable=False,
                                            index=True))
    starts_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    ends_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    reason: str = Field(sa_column=Column(String(500), nullable=False, server_default=text("''")))
    created_at: datetime = Field(sa_column=created_at_column())


class ExpertConflict(SQLModel, table=True):
    """A conflict of interest the expert declared with an organisation (by credit code)."""

    __tablename__ = "expert_conflicts"
    __table_args__ = (UniqueConstraint("expert_id", "credit_code", name="expert_conflicts_once_per_organisation"),)

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(sa_column=Column(Integer, ForeignKey("experts.id", ondelete="CASCADE"), nullable=False,
                                            index=True))
    credit_code: str = Field(sa_column=Column(String(18), nullable=False, index=True))
    organisation_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("organisations.id"), nullable=True))
    reason: str = Field(sa_column=Column(String(500), nullable=False))
    declared_at: datetime = Field(sa_column=created_at_column())
