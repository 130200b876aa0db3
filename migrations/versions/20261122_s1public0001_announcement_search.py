"""public pages: the searchable text of each announcement (title, project, parties) with a
pg_trgm GIN index for Chinese substring search, the list's (published_at, id) order, and
projects by bid deadline (today's openings)

Revision ID: s1public0001
Revises: r2suspended01
Create Date: 2026-11-22 18:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s1public0001"
down_revision: str | None = "r2suspended01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kinds whose body names the parties of the result (candidates, winner, contract partner).
NAMING_KINDS = "('candidates', 'result', 'contract')"


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.add_column("announcements", sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    # What bidding.notice.announcements.announcement_search_text writes for new announcements, less
    # the agency (its assignment lives in the draw records): title, project, tendering party.
    op.execute(f"""
        UPDATE announcements AS a
           SET search_text = concat_ws(E'\\n', a.title, p.code, p.title, o.name,
                                       CASE WHEN a.kind IN {NAMING_KINDS} THEN a.body END)
          FROM projects AS p JOIN organisations AS o ON o.id = p.tendering_party_id
         WHERE p.id = a.project_id
    """)
    op.create_index("ix_announcements_search_text_trgm", "announcements", ["search_text"],
                    postgresql_using="gin", postgresql_ops={"search_text": "gin_trgm_ops"})
    op.create_index("ix_announcements_published_at_id", "announcements", ["published_at", "id"])
    op.create_index("ix_projects_bid_deadline", "projects", ["bid_deadline"])


def downgrade() -> None:
    op.drop_index("ix_projects_bid_deadline", table_name="projects")
    op.drop_index("ix_announcements_published_at_id", table_name="announcements")
    op.drop_index("ix_announcements_search_text_trgm", table_name="announcements")
    op.drop_column("announcements", "search_text")
    # pg_trgm stays: an extension is the database's, and dropping it would break any other user of it.
