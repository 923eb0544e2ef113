"""Audit events appended without a global lock, chained afterwards by a sealer

Each event gets a MAC over its fields at insertion (`mac`) and its position in the chain
(`chain_seq`) when the sealer links it; until then `chain_seq`, `prev_hash` and `hash` are empty.
Events chained before keep their seal: their position is their `seq`, their `mac` stays empty.
`seq` becomes a plain auto-increment (insertion order); on PostgreSQL its sequence is moved past
the events already there.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('chain_seq', sa.Integer(), nullable=True))
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=True)
    op.execute("UPDATE audit_event SET chain_seq = seq")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_chain_seq'), ['chain_seq'], unique=True)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        sequence = bind.execute(sa.text("SELECT pg_get_serial_sequence('audit_event', 'seq')")).scalar()
        if sequence is None:
            op.execute("CREATE SEQUENCE audit_event_seq_seq OWNED BY audit_event.seq")
            op.execute("ALTER TABLE audit_event ALTER COLUMN seq SET DEFAULT nextval('audit_event_seq_seq')")
            sequence = "audit_event_seq_seq"
        op.execute(sa.text(f"SELECT setval('{sequence}', GREATEST((SELECT COALESCE(MAX(seq), 0) FROM audit_event), 1), "
                           "(SELECT COUNT(*) > 0 FROM audit_event))"))


def downgrade() -> None:
    # Chain what is pending first (`bouquet audit verify`): an unchained event cannot be kept by 0012.
    op.execute("DELETE FROM audit_event WHERE chain_seq IS NULL")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_chain_seq'))
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('chain_seq')
        batch_op.drop_column('mac')
