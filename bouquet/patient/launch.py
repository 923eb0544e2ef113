"""Opening Bouquet from the practice software on the right patient.

- `POST /api/launch` (`bouquet.patient.launch_api`): the software's backend asks for a single-use link;
- `GET /launch?launch=…` (`bouquet.patient.launch_pages`): the browser follows it and lands on the patient;
- `LaunchHandle` (`bouquet.patient.launch_handles`): the handle, stored hashed, shared by every worker.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from bouquet.patient.launch_api import PATH as API_PATH
from bouquet.patient.launch_api import create_launch
from bouquet.patient.launch_handles import LaunchHandle
from bouquet.patient.launch_pages import open_launch, switch_account

__all__ = ["CSRF_EXEMPT", "LaunchHandle", "routes"]

routes: list[BaseRoute] = [
    Route(API_PATH, create_launch, methods=["POST"]),
    Route("/launch", open_launch, methods=["GET"]),
    Route("/launch/switch", switch_account, methods=["POST"]),
]
# The API authenticates its callers by their bearer token; no browser cookie rides on it.
CSRF_EXEMPT: list[str] = [API_PATH]
