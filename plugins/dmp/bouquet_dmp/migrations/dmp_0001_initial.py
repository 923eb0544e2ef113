"""dmp: the embedded DMP service's records, documents, patient choices, access matrix and access trail

Revision ID: dmp_0001
"""

import sqlalchemy as sa
from alembic import op

from bouquet.api.db import UtcDateTime

revision = "dmp_0001"
down_revision = None
branch_labels = ("dmp",)
depends_on = None

# The default matrix, as codes.DEFAULT_MATRIX had it when this revision was written.
_CLASSES = ("compte-rendu", "biologie", "ordonnance", "synthese", "vaccination", "administratif")
_MATRIX = {
    "10": _CLASSES,
    "50": _CLASSES,
    "40": ("compte-rendu", "biologie", "ordonnance", "vaccination", "administratif"),
    "21": ("biologie", "ordonnance", "vaccination", "administratif"),
    "60": ("biologie", "ordonnance", "synthese", "vaccination", "administratif"),
    "70": ("ordonnance", "synthese", "administratif"),
    "secretaire": ("administratif",),
}


def upgrade() -> None:
    op.create_table(
        "dmp_record",
        sa.Column("patient_ins", sa.String(80), primary_key=True),
        sa.Column("patient", sa.JSON(), nullable=False),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "dmp_document",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("patient_ins", sa.String(80), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("type_code", sa.String(20), nullable=False),
        sa.Column("class_code", sa.String(40), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha1", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("author_idnat", sa.String(12), nullable=True),
        sa.Column("author_name", sa.String(200), nullable=False),
        sa.Column("author_profession", sa.String(20), nullable=True),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("indexed_at", UtcDateTime(), nullable=False),
        sa.Column("masked", sa.Boolean(), nullable=False),
        sa.Column("submission_set_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_dmp_document_patient_ins", "dmp_document", ["patient_ins"])
    op.create_index("ix_dmp_document_class_code", "dmp_document", ["class_code"])
    op.create_index("ix_dmp_document_author_idnat", "dmp_document", ["author_idnat"])
    op.create_table(
        "dmp_blocked_professional",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("patient_ins", sa.String(80), nullable=False),
        sa.Column("idnat_ps", sa.String(12), nullable=False),
        sa.Column("blocked_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("patient_ins", "idnat_ps"),
    )
    op.create_index("ix_dmp_blocked_professional_patient_ins", "dmp_blocked_professional", ["patient_ins"])
    op.create_table(
        "dmp_emergency_access",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("patient_ins", sa.String(80), nullable=False),
        sa.Column("idnat_ps", sa.String(12), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_dmp_emergency_access_patient_ins", "dmp_emergency_access", ["patient_ins"])
    op.create_index("ix_dmp_emergency_access_idnat_ps", "dmp_emergency_access", ["idnat_ps"])
    rules = op.create_table(
        "dmp_access_rule",
        sa.Column("profession", sa.String(20), primary_key=True),
        sa.Column("class_code", sa.String(40), primary_key=True),
        sa.Column("allowed", sa.Boolean(), nullable=False),
    )
    op.bulk_insert(rules, [{"profession": profession, "class_code": class_code, "allowed": True}
                           for profession, classes in _MATRIX.items() for class_code in classes])
    op.create_table(
        "dmp_access_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("patient_ins", sa.String(80), nullable=False),
        sa.Column("actor_idnat", sa.String(12), nullable=True),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("actor_profession", sa.String(20), nullable=True),
        sa.Column("acting_for_name", sa.String(200), nullable=True),
        sa.Column("transaction", sa.String(40), nullable=False),
        sa.Column("document_id", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.String(500), nullable=True),
    )
    op.create_index("ix_dmp_access_event_at", "dmp_access_event", ["at"])
    op.create_index("ix_dmp_access_event_patient_ins", "dmp_access_event", ["patient_ins"])


def downgrade() -> None:
    for table in ("dmp_access_event", "dmp_access_rule", "dmp_emergency_access", "dmp_blocked_professional",
                  "dmp_document", "dmp_record"):
        op.drop_table(table)
