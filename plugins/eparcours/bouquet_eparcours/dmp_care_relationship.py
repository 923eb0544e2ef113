"""The DMP plugin's hook `dmp_care_team`, answered from e-parcours' care teams.

A professional who holds a role in the care team of a patient's **active** plan takes care of that
patient (CSP L. 1110-12: the care team is the set of professionals taking part directly in the
patient's care): the DMP counts them in the care team, under its own rules (the patient informed, the
initial consent recorded on the DMP). A suspended, ended or withdrawn plan gives nothing, and a
member taken off the team stops being named at once. Implemented by name: this plugin never imports
the DMP plugin, and works the same when it is not installed.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from bouquet.api.accounts import Account
from bouquet_eparcours.models import CarePlan, CareTeamMember

ACTIVE = "active"


def care_team_reasons(session: Session, patients: list[str], idnat_ps: str) -> dict[str, str]:
    """For each patient whose active plan's care team holds the professional `idnat_ps`: the role and the
    pathway, in French (the first plan by inclusion date when there are several)."""
    if not patients or not idnat_ps:
        return {}
    rows = session.exec(
        select(CarePlan.patient_ins, CarePlan.id, CarePlan.pathway_title, CareTeamMember.role_label)
        .join(CareTeamMember, col(CareTeamMember.care_plan_id) == col(CarePlan.id))
        .join(Account, col(Account.id) == col(CareTeamMember.account_id))
        .where(col(CarePlan.patient_ins).in_(patients), CarePlan.status == ACTIVE,
               Account.idnat_ps == idnat_ps, col(Account.disabled_at).is_(None))
        .order_by(col(CarePlan.included_at), col(CarePlan.id), col(CareTeamMember.id))).all()
    reasons: dict[str, str] = {}
    for patient_ins, plan_id, pathway, role in rows:
        reasons.setdefault(patient_ins, f"équipe de soins e-parcours : {role}, parcours « {pathway} » (plan n° {plan_id})")
    return reasons
