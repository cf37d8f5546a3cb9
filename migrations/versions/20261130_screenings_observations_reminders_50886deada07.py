"""Screenings (a questionnaire given to a child or a caregiver, scored by the server),
observations (the dated facts the outcome measures read) and reminders (messages and staff
alerts recorded by the write that decides on them, delivered later).

Revision ID: 50886deada07
Revises: cfdf08a1462f
Create Date: 2026-11-30 00:40:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '50886deada07'
down_revision = 'cfdf08a1462f'
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('observations',
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('observed_on', sa.Date(), nullable=False),
    sa.Column('recorded_by', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.String(length=500), nullable=True),
    sa.Column('change_seq', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_observations_family_id_families')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_observations_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_observations'))
    )
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_observations_change_seq'), ['change_seq'], unique=False)
        batch_op.create_index('ix_observations_family_code_observed', ['family_id', 'code', 'observed_on'], unique=False)
        batch_op.create_index('ix_observations_subject', ['subject_id'], unique=False)
        batch_op.create_index('ix_observations_unstamped', ['id'], unique=False, postgresql_where=sa.text('change_seq IS NULL'), sqlite_where=sa.text('change_seq IS NULL'))

    op.create_table('reminders',
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=True),
    sa.Column('recipient_id', sa.Uuid(), nullable=True),
    sa.Column('subject_id', sa.Uuid(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_reminders_agency_id_agencies')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_reminders_family_id_families')),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_reminders_recipient_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders'))
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index('ix_reminders_family', ['family_id'], unique=False)
        batch_op.create_index('ix_reminders_status_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('uq_reminders_kind_subject_recipient', ['kind', 'subject_id', 'recipient_id'], unique=True)

    op.create_table('screenings',
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=True),
    sa.Column('caregiver_id', sa.Uuid(), nullable=True),
    sa.Column('instrument', sa.String(length=20), nullable=False),
    sa.Column('interval', sa.Integer(), nullable=True),
    sa.Column('administered_on', sa.Date(), nullable=False),
    sa.Column('administered_by', sa.Uuid(), nullable=False),
    sa.Column('responses', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('domain_scores', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('zones', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('result', sa.String(length=10), nullable=False),
    sa.Column('referral_recommended', sa.Boolean(), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.String(length=500), nullable=True),
    sa.Column('change_seq', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['administered_by'], ['users.id'], name=op.f('fk_screenings_administered_by_users')),
    sa.ForeignKeyConstraint(['caregiver_id'], ['caregivers.id'], name=op.f('fk_screenings_caregiver_id_caregivers')),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_screenings_child_id_children')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_screenings_family_id_families')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screenings'))
    )
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.create_index('ix_screenings_caregiver', ['caregiver_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_screenings_change_seq'), ['change_seq'], unique=False)
        batch_op.create_index('ix_screenings_child_instrument', ['child_id', 'instrument'], unique=False)
        batch_op.create_index('ix_screenings_family_administered', ['family_id', 'administered_on'], unique=False)
        batch_op.create_index('ix_screenings_unstamped', ['id'], unique=False, postgresql_where=sa.text('change_seq IS NULL'), sqlite_where=sa.text('change_seq IS NULL'))

    


def downgrade():
    
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_index('ix_screenings_unstamped', postgresql_where=sa.text('change_seq IS NULL'), sqlite_where=sa.text('change_seq IS NULL'))
        batch_op.drop_index('ix_screenings_family_administered')
        batch_op.drop_index('ix_screenings_child_instrument')
        batch_op.drop_index(batch_op.f('ix_screenings_change_seq'))
        batch_op.drop_index('ix_screenings_caregiver')

    op.drop_table('screenings')
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index('uq_reminders_kind_subject_recipient')
        batch_op.drop_index('ix_reminders_status_due')
        batch_op.drop_index('ix_reminders_family')

    op.drop_table('reminders')
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.drop_index('ix_observations_unstamped', postgresql_where=sa.text('change_seq IS NULL'), sqlite_where=sa.text('change_seq IS NULL'))
        batch_op.drop_index('ix_observations_subject')
        batch_op.drop_index('ix_observations_family_code_observed')
        batch_op.drop_index(batch_op.f('ix_observations_change_seq'))

    op.drop_table('observations')
    
