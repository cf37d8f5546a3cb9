"""Fold letters with a stroke (Đ, Ø, Ł, ...) in caregivers' and children's name keys, so that
'Đức' finds 'Duc' in search and duplicate detection.

Revision ID: a7c5a2e6903f
Revises: d062665f6485
Create Date: 2026-11-27

"""

import sqlalchemy as sa
from alembic import op

from hvcase.common.text import name_key

revision = "a7c5a2e6903f"
down_revision = "d062665f6485"
branch_labels = None
depends_on = None

TABLES = ("caregivers", "children")
STROKED = "đĐøØłŁħĦŧŦıæÆœŒþÞðÐ"


def _rekey() -> None:
    connection = op.get_bind()
    for name in TABLES:
        table = sa.table(
            name,
            sa.column("id", sa.Uuid()),
            sa.column("first_name"),
            sa.column("last_name"),
            sa.column("name_key"),
        )
        rows = connection.execute(sa.select(table.c.id, table.c.first_name, table.c.last_name))
        for row in rows.all():
            if any(ch in STROKED for ch in row.first_name + row.last_name):
                connection.execute(
                    table.update()
                    .where(table.c.id == row.id)
                    .values(name_key=name_key(row.first_name, row.last_name))
                )


def upgrade():
    _rekey()


def downgrade():
    # Keys folded further still find what they found before; nothing to undo.
    pass
