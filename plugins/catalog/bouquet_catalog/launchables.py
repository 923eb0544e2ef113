"""Referenced solutions that open with SSO, offered on the patient page.

A solution opens when it is referenced and its OIDC client is enabled: an approved change that drops the launch
URL disables the client but keeps its id, so the client's state, not the id, decides."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from bouquet import Launchable
from bouquet.api.oauth import OidcClient
from bouquet_catalog.models import Solution
from bouquet_catalog.workflow import Status

LIMIT = 8


def launchables(db: Any, profession: str | None) -> list[Launchable]:
    with db.session() as session:
        query = (select(Solution).join(OidcClient, col(OidcClient.client_id) == col(Solution.oidc_client_id))
                 .where(Solution.status == Status.REFERENCED, col(OidcClient.disabled_at).is_(None)))
        if profession:
            query = query.where(col(Solution.professions_key).contains(f"|{profession}|"))
        rows = session.exec(query.order_by(col(Solution.name_key)).limit(LIMIT)).all()
    # Opens the application itself (a SMART launch with the patient), not its page in the catalogue.
    return [Launchable(row.name, f"/p/catalog/solutions/{row.id}/open", description="Solution référencée au catalogue",
                       order=600, method="post")
            for row in rows]
