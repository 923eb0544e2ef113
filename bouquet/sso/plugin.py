"""The accounts feature as a built-in plugin: `bouquet accounts …` commands, menu entries, demo data.

Registered by `bouquet.plugins.manager.DEFAULT_PLUGINS`, whatever BOUQUET_PLUGINS says. Heavy
imports happen inside the commands, so that building the command line stays quick.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bouquet import NavEntry, hookimpl
from bouquet.foundation import audit
from bouquet.foundation.audit import cli_actor
from bouquet.foundation.db import open_database
from bouquet.foundation.keys import audit_key
from bouquet.foundation.settings import load_settings
from bouquet.sso import demo, invitations, rpps
from bouquet.sso.accounts import InvalidAccount, create_account

if TYPE_CHECKING:
    from bouquet.foundation.db import Database
    from bouquet.web.context import RequestContext

# How many rejected rows the import prints; `--rejections FILE` writes them all.
REJECTIONS_SHOWN = 20



@hookimpl
def bouquet_cli(group: click.Group) -> None:
    @group.group("accounts")
    def accounts() -> None:
        """Accounts: import from the RPPS directory, create, invite."""

    @accounts.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--batch-size", default=1000, show_default=True, help="People written per transaction.")
    @click.option("--rejections", "rejections_file", type=click.Path(dir_okay=False, writable=True, path_type=Path),
                  help="Write every rejected row (line|IdNat_PS|reason) to this file.")
    def import_command(file: Path, batch_size: int, rejections_file: Path | None) -> None:
        """Create or update professionals from an RPPS extract (PS_LibreAcces_Personne_activite)."""

        with open_database(load_settings().database_url) as database:
            try:
                report = rpps.import_file(database, file, batch_size=batch_size)
            except rpps.ImportFileError as exc:
                raise click.ClickException(str(exc)) from exc
            _audit_import(database, file, report)
        for rejection in report.rejections[:REJECTIONS_SHOWN]:
            click.echo(f"line {rejection.line}: {rejection.idnat or '-'}: {rejection.reason}", err=True)
        if len(report.rejections) > REJECTIONS_SHOWN:
            click.echo(f"… and {len(report.rejections) - REJECTIONS_SHOWN} more rejected rows"
                       + ("" if rejections_file else " (use --rejections FILE to list them all)"), err=True)
        if rejections_file:
            with rejections_file.open("w", encoding="utf-8") as out:
                out.writelines(f"{r.line}|{r.idnat}|{r.reason}\n" for r in report.rejections)
        click.echo(report.summary())

    @accounts.command("invite")
    @click.argument("account")
    @click.option("--days", default=7, show_default=True, type=click.IntRange(1, 90), help="Days before the link expires.")
    def invite_command(account: str, days: int) -> None:
        """Print a single-use link for ACCOUNT (id, username or IdNat_PS) to choose a password."""
        from datetime import timedelta


        settings = load_settings()
        with open_database(load_settings().database_url) as database, database.write() as session:
            try:
                found = invitations.find_account(session, account)
            except invitations.AccountNotFound:
                raise click.ClickException(f"no account with id, username or IdNat_PS {account!r}") from None
            if not found.active:
                raise click.ClickException(f"account {found.username} is disabled: enable it first")
            _invitation, token = invitations.issue(
                session, audit_key(settings), found,
                record=audit.AuditRecord(actor=cli_actor(), action="-"), lifetime=timedelta(days=days))
        click.echo(f"Invitation for {found.display_name} ({found.username}), valid {days} days:")
        click.echo(invitations.invitation_link(settings.base_url, token))

    @accounts.command("create")
    @click.option("--kind", type=click.Choice(["secretary", "vendor", "admin", "professional", "coordination"]),
                  required=True)
    @click.option("--username", required=True)
    @click.option("--given-name", required=True)
    @click.option("--family-name", required=True)
    @click.option("--email", default=None)
    @click.option("--idnat-ps", default="", help="Professionals: '8' + RPPS number.")
    @click.option("--organisation", default="", help="Vendors and coordination accounts: the organisation's name.")
    @click.option("--siren", default="", help="Vendors: the organisation's SIREN.")
    @click.option("--profession", "profession_code", default="",
                  help="Professionals: RPPS profession code (10 médecin, 21 pharmacien, 60 infirmier…).")
    @click.option("--specialty", "specialty_label", default="", help="Professionals: specialty (required for médecins).")
    @click.option("--specialty-code", default="", help="Professionals: RPPS savoir-faire code, e.g. SM54.")
    @click.option("--coordination-role", default="", help="Coordination accounts: their role (« Assistante sociale »…).")
    def create_command(kind: str, username: str, given_name: str, family_name: str, email: str | None,
                       idnat_ps: str, organisation: str, siren: str, profession_code: str, specialty_label: str,
                       specialty_code: str, coordination_role: str) -> None:
        """Create an account without a password (then send it an invitation)."""

        try:
            with open_database(load_settings().database_url) as database, database.write() as session:
                created = create_account(session, kind=kind, username=username, given_name=given_name,
                                         family_name=family_name, email=email, idnat_ps=idnat_ps,
                                         organisation=organisation, siren=siren, profession_code=profession_code,
                                         specialty_label=specialty_label, specialty_code=specialty_code,
                                         coordination_role=coordination_role)
        except InvalidAccount as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Account {created.id} created: {created.username}. "
                   f"Send an invitation with `bouquet accounts invite {created.username}`.")


def _audit_import(database: Database, file: Path, report: object) -> None:
    settings = load_settings()
    with database.write() as session:
        audit.append(session, audit_key(settings), audit.AuditRecord(
            actor=cli_actor(), action="account.rpps_import", resource=file.name,
            details={key: getattr(report, key) for key in ("rows", "created", "updated", "unchanged",
                                                           "rejected_people")}))


@hookimpl
def bouquet_demo(db: Database) -> None:
    for line in demo.load(db):
        click.echo(line, file=sys.stdout)


@hookimpl
def bouquet_nav(ctx: RequestContext) -> list[NavEntry]:
    account = ctx.account
    if account is None:
        return []
    if account.kind == "admin":
        return [NavEntry("Comptes", "/admin/accounts", order=90)]
    if account.kind == "professional":
        return [NavEntry("Délégations", "/account/delegations", order=80)]
    if account.kind == "secretary":
        return [NavEntry("Changer de professionnel" if ctx.acting_for else "Choisir un professionnel",
                         "/acting-for", order=5)]
    return []
