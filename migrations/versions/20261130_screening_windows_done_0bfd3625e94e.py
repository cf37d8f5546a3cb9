"""Whether each screening window is done, on its row (the first live screening of its
interval), so that the open windows of a family are one range of a partial index: the
``screening_overdue`` check of a list of a thousand families no longer searches the
screenings window by window. A voided child keeps no windows.

Revision ID: 0bfd3625e94e
Revises: 7d3e91c2a4b8
Create Date: 2026-11-30 01:00:00

"""
from alembic import op
import sqlalchemy as sa



revision = '0bfd3625e94e'
down_revision = '7d3e91c2a4b8'
branch_labels = None
depends_on = None


def upgrade():

    with op.batch_alter_table('screening_windows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('screening_id', sa.Uuid(), nullable=True))
        batch_op.drop_index(batch_op.f('ix_screening_windows_family_due'))
        batch_op.create_index('ix_screening_windows_open', ['family_id', 'due_on'], unique=False, postgresql_where=sa.text('screening_id IS NULL'), sqlite_where=sa.text('screening_id IS NULL'))
        batch_op.create_foreign_key(batch_op.f('fk_screening_windows_screening_id_screenings'), 'screenings', ['screening_id'], ['id'])
    op.execute(
        "DELETE FROM screening_windows WHERE child_id IN "
        "(SELECT id FROM children WHERE voided_at IS NOT NULL)"
    )
    op.execute(
        "UPDATE screening_windows SET screening_id = ("
        "SELECT s.id FROM screenings s WHERE s.child_id = screening_windows.child_id "
        "AND s.instrument = screening_windows.instrument "
        "AND s.interval = screening_windows.interval AND s.voided_at IS NULL "
        "ORDER BY s.administered_on, s.id LIMIT 1)"
    )



def downgrade():

    with op.batch_alter_table('screening_windows', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_screening_windows_screening_id_screenings'), type_='foreignkey')
        batch_op.drop_index('ix_screening_windows_open', postgresql_where=sa.text('screening_id IS NULL'), sqlite_where=sa.text('screening_id IS NULL'))
        batch_op.create_index(batch_op.f('ix_screening_windows_family_due'), ['family_id', 'due_on'], unique=False)
        batch_op.drop_column('screening_id')


