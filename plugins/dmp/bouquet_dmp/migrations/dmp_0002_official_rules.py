"""dmp: the official rules: the matrix leaves the database (a versioned data file now), documents carry the
DMP's own type and class codes and confidentiality, the patient's choices (médecin traitant, oppositions,
initial consent), care relationships, the notification outbox, and why each access was allowed

Revision ID: dmp_0002
"""

import sqlalchemy as sa
from alembic import op

from bouquet.api.db import UtcDateTime

revision = "dmp_0002"
down_revision = "dmp_0001"
branch_labels = None
depends_on = None

# Bouquet's former classes → the DMP's (JDV_J57), for the types documents could have had (frozen here).
_TYPE_CLASS = {"11488-4": "10", "11502-2": "10", "57833-6": "42", "11490-0": "10", "87273-9": "52", "59284-0": "95"}
# « Recueil de consentement » (57016-8) is not a type the DMP accepts; its type is « Attestation de consentement ».
_RENAMED_TYPES = {"57016-8": "59284-0"}


def upgrade() -> None:
    op.drop_table("dmp_access_rule")
    documents = sa.table("dmp_document", sa.column("type_code", sa.String), sa.column("class_code", sa.String))
    for old, new in _RENAMED_TYPES.items():
        op.execute(documents.update().where(documents.c.type_code == old).values(type_code=new))
    for type_code, class_code in _TYPE_CLASS.items():
        op.execute(documents.update().where(documents.c.type_code == type_code).values(class_code=class_code))
    with op.batch_alter_table("dmp_document") as batch:
        batch.add_column(sa.Column("hidden_from_patient_until", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("hidden_from_representatives", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("dmp_record") as batch:
        batch.add_column(sa.Column("medecin_traitant_idnat", sa.String(12), nullable=True))
        batch.add_column(sa.Column("emergency_opposed", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("regulation_opposed", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("care_team_informed_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("care_team_consent_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("care_team_consent_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("care_team_consent_how", sa.String(40), nullable=True))
    with op.batch_alter_table("dmp_emergency_access") as batch:
        batch.add_column(sa.Column("mode", sa.String(20), nullable=False, server_default="bris-de-glace"))
    with op.batch_alter_table("dmp_access_event") as batch:
        batch.add_column(sa.Column("basis", sa.String(300), nullable=True))
    op.create_table(
        "dmp_care_relationship",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("patient_ins", sa.String(80), nullable=False),
        sa.Column("idnat_ps", sa.String(12), nullable=False),
        sa.Column("basis", sa.String(20), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("how", sa.String(40), nullable=False),
        sa.Column("valid_until", UtcDateTime(), nullable=True),
        sa.Column("masked_rights", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_dmp_care_relationship_patient_ins", "dmp_care_relationship", ["patient_ins"])
    op.create_index("ix_dmp_care_relationship_idnat_ps", "dmp_care_relationship", ["idnat_ps"])
    op.create_table(
        "dmp_notification",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("patient_ins", sa.String(80), nullable=False),
        sa.Column("recipient", sa.String(20), nullable=False),
        sa.Column("recipient_idnat", sa.String(12), nullable=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("emergency_access_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_dmp_notification_patient_ins", "dmp_notification", ["patient_ins"])
    op.create_index("ix_dmp_notification_recipient_idnat", "dmp_notification", ["recipient_idnat"])


def downgrade() -> None:
    op.drop_table("dmp_notification")
    op.drop_table("dmp_care_relationship")
    with op.batch_alter_table("dmp_access_event") as batch:
        batch.drop_column("basis")
    with op.batch_alter_table("dmp_emergency_access") as batch:
        batch.drop_column("mode")
    with op.batch_alter_table("dmp_record") as batch:
        for column in ("care_team_consent_how", "care_team_consent_by", "care_team_consent_at", "care_team_informed_at",
                       "regulation_opposed", "emergency_opposed", "medecin_traitant_idnat"):
            batch.drop_column(column)
    with op.batch_alter_table("dmp_document") as batch:
        batch.drop_column("hidden_from_representatives")
        batch.drop_column("hidden_from_patient_until")
    op.create_table(
        "dmp_access_rule",
        sa.Column("profession", sa.String(20), primary_key=True),
        sa.Column("class_code", sa.String(40), primary_key=True),
        sa.Column("allowed", sa.Boolean(), nullable=False),
    )
