"""The web side of a plugin: the request context, pages, forms, headers, and asking for a stronger sign-in.

Forms: `read_fields` (named fields) or `read_all` (every field, lists for checkboxes) gives a `Form` (what was
typed, errors per field); a refused form is rendered again
with `form.context()` and the macros of the core's `forms.html`, so that nothing typed is lost and every
error shows at once. Times: `format_datetime` / `format_date` (Europe/Paris), also the `|datetime` and
`|date` filters of every template.
"""

from bouquet.foundation.times import format_date, format_datetime
from bouquet.sso.oidc.acr import PHISHING_RESISTANT
from bouquet.sso.portal import acr_step_up
from bouquet.web.context import RequestContext, ensure_session, get_context
from bouquet.web.csv_export import csv_document, safe_cell
from bouquet.web.forms import Form, FormErrors, read_all, read_fields, read_form
from bouquet.web.headers import CSP
from bouquet.web.json import JsonBodyError, parse_json, read_json
from bouquet.web.limits import body_limit
from bouquet.web.origins import csp_leaving_to
from bouquet.web.refusals import note_refusal
from bouquet.web.routing import public
from bouquet.web.sessions import cookie_name
from bouquet.web.ui import render

__all__ = ["CSP", "PHISHING_RESISTANT", "Form", "FormErrors", "JsonBodyError", "RequestContext", "acr_step_up",
           "body_limit", "cookie_name", "csp_leaving_to", "csv_document", "ensure_session", "format_date",
           "format_datetime", "get_context", "note_refusal", "parse_json", "public", "read_all", "read_fields", "read_form",
           "read_json", "render", "safe_cell"]
