"""Screenings indexed for a family list's attention reasons: a child's interval by
(child_id, instrument, interval) carrying voided_at, so that whether it is done is read from
the index alone (it replaces the index by child and instrument); and the urgent ones, a partial
index, so that urgent_screening no longer reads the whole table (docs/performance.md).

Revision ID: 7d3e91c2a4b8
Revises: b899c47b910d
Create Date: 2026-11-30 01:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '7d3e91c2a4b8'
down_revision = 'b899c47b910d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_index('ix_screenings_child_instrument')
        batch_op.create_index(
            'ix_screenings_child_interval',
            ['child_id', 'instrument', 'interval'],
            unique=False,
            postgresql_include=['voided_at'],
        )
        batch_op.create_index(
            'ix_screenings_urgent',
            ['family_id', 'administered_on'],
            unique=False,
            postgresql_where=sa.text('urgent IS TRUE AND voided_at IS NULL'),
            sqlite_where=sa.text('urgent IS TRUE AND voided_at IS NULL'),
        )


def downgrade():
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_screenings_urgent',
            postgresql_where=sa.text('urgent IS TRUE AND voided_at IS NULL'),
            sqlite_where=sa.text('urgent IS TRUE AND voided_at IS NULL'),
        )
        batch_op.drop_index('ix_screenings_child_interval')
        batch_op.create_index(
            'ix_screenings_child_instrument', ['child_id', 'instrument'], unique=False
        )
