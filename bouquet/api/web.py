"""The web side of a plugin: the request context, pages, forms, headers, and asking for a stronger sign-in."""

from bouquet.sso.oidc.acr import PHISHING_RESISTANT
from bouquet.sso.portal import acr_step_up
from bouquet.web.context import RequestContext, ensure_session, get_context
from bouquet.web.csv_export import csv_document, safe_cell
from bouquet.web.forms import read_form
from bouquet.web.headers import CSP
from bouquet.web.json import JsonBodyError, parse_json, read_json
from bouquet.web.limits import body_limit
from bouquet.web.origins import csp_leaving_to
from bouquet.web.refusals import note_refusal
from bouquet.web.routing import public
from bouquet.web.sessions import cookie_name
from bouquet.web.ui import render

__all__ = ["CSP", "PHISHING_RESISTANT", "acr_step_up", "JsonBodyError", "RequestContext", "body_limit", "cookie_name",
           "csp_leaving_to", "csv_document", "ensure_session", "get_context", "note_refusal", "parse_json", "public",
           "read_form", "read_json", "render", "safe_cell"]
