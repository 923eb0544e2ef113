"""The plugin API: every name a plugin may rely on, by theme. Everything else in `bouquet` is internal.

    from bouquet import hookimpl, NavEntry, Panel, Alert, Action, Scope, Launchable   # hooks and contributions
    from bouquet.api.web import RequestContext, get_context, render, public, read_form, read_fields, Form, FormErrors
    from bouquet.api.db import Database, UtcDateTime, utcnow
    from bouquet.api.audit import Auditor, AuditEvent, AuditRecord
    from bouquet.api.patient import PatientContext, PatientTraits, Ins, audit_ins
    from bouquet.api.accounts import Account
    from bouquet.api.oauth import validate_access_token, register_client, OidcClient
    from bouquet.api.keys import derive_key
    from bouquet.api.psc import psc_access_token, PscUnavailable
    from bouquet.api.settings import Settings, load_settings
    from bouquet.api.plugins import Plugins
    from bouquet.testing.fixtures import ...      # pytest fixtures for a plugin's tests

| module | what a plugin finds there |
| --- | --- |
| `bouquet` | `hookimpl` and the contribution types (`NavEntry`, `Panel`, `Alert`, `Action`, `Scope`, `Launchable`) |
| `bouquet.api.web` | the request context, rendering, `@public`, forms (`Form`, `read_fields`, `FormErrors`), bounded JSON reading (`read_json`) and body limits (`@body_limit`), safe CSV exports (`csv_document`), times (`format_datetime`), the Content-Security-Policy (`csp_leaving_to`), the session cookie's name, `note_refusal` (audit a 404 that hides a refusal) |
| `bouquet.api.db` | the database handle, the UTC column type, `utcnow`, `open_database` for a command |
| `bouquet.api.audit` | the audit writer, the event table, `append` for a command, `cli_actor` |
| `bouquet.api.patient` | the patient in context, INS, the demo patients, opening a patient, SMART launches of apps |
| `bouquet.api.accounts` | accounts (professionals, secretaries, vendors, administrators) |
| `bouquet.api.oauth` | Bouquet access tokens (validation), OAuth client registration, the known scopes |
| `bouquet.api.keys` | key derivation from the portal's secret |
| `bouquet.api.psc` | the signed-in professional's Pro Santé Connect access token (`psc_access_token`) |
| `bouquet.api.settings` | the portal's settings |
| `bouquet.api.plugins` | the plugin manager (to call a plugin's own hooks), `create_app` and `build_cli` for tests |
| `bouquet.api.migrations` | `upgrade` (a plugin's migrations run with the core's) |

`import-linter` (`.importlinter`, run by `make test`) forbids plugins every other module of `bouquet`.
A name moves only with its old import kept working.
"""
