"""The web pages of « Logiciel Médical Exemple »: a patient list, « Se connecter avec Bouquet », and
« Ouvrir dans le Bouquet » per patient.

    GET  /                  the patients, and who is signed in
    GET  /login             to Bouquet's sign-in (code flow, PKCE)
    GET  /callback          back from Bouquet: the professional is signed in here
    POST /logout            sign out of this software (not of Bouquet)
    POST /open/{matricule}  ask Bouquet for a launch link (server to server), send the browser there

The browser's session is a signed cookie (nothing kept in this process but the service token), so
the software may run as several processes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from datetime import date

from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.patient.ins import OID_NIR_TEST, Ins, with_key
from bouquet.patient.model import IDENTITY_STATUSES, PatientContext, PatientTraits
from examples.practice_software.bouquet_link import (
    BouquetError,
    BouquetLink,
    PendingSignIn,
    professional_of,
)

HERE = Path(__file__).parent
COOKIE = "lme_session"
NAME = "Logiciel Médical Exemple"


@dataclass(frozen=True)
class Config:
    """Where Bouquet is, who this software is for Bouquet, and where this software is served."""

    issuer: str
    client_id: str
    client_secret: str
    base_url: str = "http://localhost:8100"
    session_secret: str = ""

    @classmethod
    def from_env(cls) -> Config:
        """From PRACTICE_BOUQUET_URL, PRACTICE_CLIENT_ID, PRACTICE_CLIENT_SECRET, PRACTICE_BASE_URL,
        PRACTICE_SESSION_SECRET; a missing required one stops with a message naming it."""
        missing = [name for name in ("PRACTICE_CLIENT_ID", "PRACTICE_CLIENT_SECRET") if not os.environ.get(name)]
        if missing:
            raise SystemExit(f"Set {', '.join(missing)} (see examples/practice_software/README.md).")
        return cls(issuer=os.environ.get("PRACTICE_BOUQUET_URL", "http://localhost:8000"),
                   client_id=os.environ["PRACTICE_CLIENT_ID"], client_secret=os.environ["PRACTICE_CLIENT_SECRET"],
                   base_url=os.environ.get("PRACTICE_BASE_URL", "http://localhost:8100").rstrip("/"),
                   session_secret=os.environ.get("PRACTICE_SESSION_SECRET", ""))

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/callback"


#: A patient whose identity this software has not verified yet (no identity document seen): « provisoire ».
PROVISIONAL = PatientContext(Ins(with_key("1680399341007"), OID_NIR_TEST),
                             PatientTraits("DIALLO", ("MAMADOU",), date(1968, 3, 12), "M", "99341"),  # type: ignore[arg-type]
                             source="demo", identity_status="provisoire")
#: The software's patients: Bouquet's demonstration patients (qualified identities) and one provisional identity.
PATIENTS: tuple[PatientContext, ...] = (*DEMO_PATIENTS, PROVISIONAL)


def launch_payload(patient: PatientContext) -> dict[str, Any]:
    """The patient as the launch API expects it: the INS and the traits as INSi returned them, and the identity's
    status (référentiel national d'identitovigilance), which the launch requires."""
    return {"ins": patient.ins.matricule, "oid": patient.ins.oid, "birth_name": patient.traits.birth_name,
            "given_names": " ".join(patient.traits.given_names), "birth_date": patient.traits.birth_date.isoformat(),
            "sex": patient.traits.sex.value, "birthplace": patient.traits.birthplace,
            "identity_status": patient.identity_status or "provisoire"}


def identity_status_label(patient: PatientContext) -> str:
    return IDENTITY_STATUSES.get(patient.identity_status or "provisoire", "")


class _SignedCookie:
    """The browser's session as JSON in a cookie, with an HMAC so that it cannot be forged."""

    def __init__(self, secret: str) -> None:
        self.key = hashlib.sha256(f"lme-session:{secret or secrets.token_urlsafe(32)}".encode()).digest()

    def load(self, request: Request) -> dict[str, Any]:
        raw = request.cookies.get(COOKIE, "")
        payload, _, mac = raw.rpartition(".")
        if not payload or not hmac.compare_digest(mac, self._mac(payload)):
            return {}
        try:
            value = json.loads(base64.urlsafe_b64decode(payload.encode()))
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def save(self, response: Response, data: dict[str, Any], https: bool) -> None:
        payload = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
        response.set_cookie(COOKIE, f"{payload}.{self._mac(payload)}", httponly=True, samesite="lax", secure=https)

    def _mac(self, payload: str) -> str:
        return hmac.new(self.key, payload.encode(), hashlib.sha256).hexdigest()


def create_app(config: Config) -> Starlette:
    """The example practice software, talking to the Bouquet at `config.issuer`."""
    link = BouquetLink(config.issuer, config.client_id, config.client_secret, config.redirect_uri)
    cookies = _SignedCookie(config.session_secret)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    https = config.base_url.startswith("https://")
    patients = {patient.ins.matricule: patient for patient in PATIENTS}

    async def page(request: Request, session: dict[str, Any], *, error: str | None = None,
                   status_code: int = 200) -> Response:
        session.setdefault("csrf", secrets.token_urlsafe(24))
        response = templates.TemplateResponse(request, "index.html", {
            "name": NAME, "user": session.get("user"), "patients": list(patients.values()), "csrf": session["csrf"],
            "identity_status_label": identity_status_label,
            "error": error, "bouquet_url": config.issuer,
        }, status_code=status_code)
        cookies.save(response, session, https)
        return response

    async def home(request: Request) -> Response:
        return await page(request, cookies.load(request))

    async def login(request: Request) -> Response:
        session = cookies.load(request)
        try:
            url, pending = await link.start_sign_in()
        except BouquetError as refused:
            return await page(request, session, error=refused.message, status_code=refused.status)
        session["pending"] = {"state": pending.state, "verifier": pending.verifier, "nonce": pending.nonce}
        response = RedirectResponse(url, status_code=302)
        cookies.save(response, session, https)
        return response

    async def callback(request: Request) -> Response:
        session = cookies.load(request)
        pending = session.pop("pending", None)
        if not isinstance(pending, dict):
            return await page(request, session, error="Connexion expirée : recommencez.", status_code=400)
        try:
            claims = await link.finish_sign_in(str(request.url), dict(request.query_params), PendingSignIn(**pending))
        except BouquetError as refused:
            return await page(request, session, error=refused.message, status_code=refused.status)
        session["user"] = {"name": claims.get("name") or claims["sub"], "professional": professional_of(claims)}
        session["csrf"] = secrets.token_urlsafe(24)  # a new session after sign-in
        response = RedirectResponse("/", status_code=303)
        cookies.save(response, session, https)
        return response

    async def logout(request: Request) -> Response:
        session = cookies.load(request)
        form = await request.form()
        if not _csrf_ok(session, form.get("csrf")):
            return await page(request, session, error="Formulaire expiré : rechargez la page.", status_code=403)
        response = RedirectResponse("/", status_code=303)
        cookies.save(response, {}, https)
        return response

    async def open_in_bouquet(request: Request) -> Response:
        session = cookies.load(request)
        form = await request.form()
        if not _csrf_ok(session, form.get("csrf")):
            return await page(request, session, error="Formulaire expiré : rechargez la page.", status_code=403)
        user = session.get("user")
        if not user:
            return await page(request, session, error="Connectez-vous avec Bouquet d'abord.", status_code=401)
        if not user.get("professional"):
            return await page(request, session, error="Votre compte Bouquet n'est pas celui d'un professionnel de "
                              "santé ni d'un secrétariat agissant pour l'un d'eux.", status_code=403)
        patient = patients.get(request.path_params["matricule"])
        if patient is None:
            return await page(request, session, error="Patient inconnu.", status_code=404)
        try:
            url = await link.launch(user["professional"], launch_payload(patient), return_url=f"{config.base_url}/")
        except BouquetError as refused:
            return await page(request, session, error=refused.message, status_code=refused.status)
        return RedirectResponse(url, status_code=303)

    app = Starlette(routes=[
        Route("/", home, methods=["GET"]),
        Route("/login", login, methods=["GET"]),
        Route("/callback", callback, methods=["GET"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/open/{matricule}", open_in_bouquet, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ])
    app.state.link = link
    return app


def _csrf_ok(session: dict[str, Any], sent: object) -> bool:
    expected = session.get("csrf")
    return isinstance(sent, str) and isinstance(expected, str) and hmac.compare_digest(sent, expected)
