"""Each child's required screening windows (screening_windows), kept up to date by the app,
so that which families have a screening overdue is one indexed query for a page of families.
A database that already had children fills them with `flask --app hvcase
refresh-screening-windows` after this upgrade (docs/deployment.md).

Revision ID: b899c47b910d
Revises: 50886deada07
Create Date: 2026-11-30 00:20:00

"""
from alembic import op
import sqlalchemy as sa



revision = 'b899c47b910d'
down_revision = '50886deada07'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('screening_windows',
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('instrument', sa.String(length=20), nullable=False),
    sa.Column('interval', sa.Integer(), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('window_start', sa.Date(), nullable=False),
    sa.Column('window_end', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('ages_out_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_screening_windows_child_id_children')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_screening_windows_family_id_families')),
    sa.PrimaryKeyConstraint('child_id', 'instrument', 'interval', name=op.f('pk_screening_windows'))
    )
    with op.batch_alter_table('screening_windows', schema=None) as batch_op:
        batch_op.create_index('ix_screening_windows_family_due', ['family_id', 'due_on'], unique=False)




def downgrade():

    with op.batch_alter_table('screening_windows', schema=None) as batch_op:
        batch_op.drop_index('ix_screening_windows_family_due')

    op.drop_table('screening_windows')

