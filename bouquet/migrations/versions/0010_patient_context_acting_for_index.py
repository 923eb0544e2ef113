"""index patient contexts by the professional a secretary acted for (the prevention population
view lists a professional's patients, including those their secretary opened for them)

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('patient_context', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_context_acting_for_id'), ['acting_for_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('patient_context', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_context_acting_for_id'))
