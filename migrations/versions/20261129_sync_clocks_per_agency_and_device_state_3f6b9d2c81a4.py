"""One sync clock per agency instead of one row for the whole deployment; what each device
holds after each pull (sync_states); the pushed changes each device had applied
(sync_applied_changes), so that a replayed batch changes nothing.

Each agency's clock starts at the old single clock's value, so every change number already
stamped stays below the next one of its agency. Cursors of the old kind no longer decode (a
tablet starts again with a full pull).

Revision ID: 3f6b9d2c81a4
Revises: 1ae3e4505011
Create Date: 2026-11-29 20:50:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "3f6b9d2c81a4"
down_revision = "1ae3e4505011"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    op.create_table(
        "sync_clocks",
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_sync_clocks_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_sync_clocks")),
    )
    op.execute(
        "INSERT INTO sync_clocks (agency_id, value) "
        "SELECT agencies.id, (SELECT value FROM sync_clock WHERE id = 1) FROM agencies"
    )
    op.drop_table("sync_clock")
    op.create_table(
        "sync_states",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=100), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held", sa.LargeBinary(), nullable=False),
        sa.Column("position_seq", sa.BigInteger(), nullable=False),
        sa.Column("position_rank", sa.Integer(), nullable=False),
        sa.Column("position_id", sa.Uuid(), nullable=False),
        sa.Column("work", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_sync_states_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sync_states_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_states")),
    )
    op.create_index(
        "ix_sync_states_device", "sync_states", ["user_id", "device_id", "created_at"]
    )
    op.create_table(
        "sync_applied_changes",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sync_applied_changes_user_id_users")
        ),
        sa.PrimaryKeyConstraint(
            "digest", "user_id", "device_id", name=op.f("pk_sync_applied_changes")
        ),
    )
    op.create_index(
        "ix_sync_applied_changes_applied_at", "sync_applied_changes", ["applied_at"]
    )


def downgrade():
    op.drop_index("ix_sync_applied_changes_applied_at", table_name="sync_applied_changes")
    op.drop_table("sync_applied_changes")
    op.drop_index("ix_sync_states_device", table_name="sync_states")
    op.drop_table("sync_states")
    op.create_table(
        "sync_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_clock")),
    )
    op.execute(
        "INSERT INTO sync_clock (id, value) "
        "SELECT 1, COALESCE((SELECT MAX(value) FROM sync_clocks), 0)"
    )
    op.drop_table("sync_clocks")
