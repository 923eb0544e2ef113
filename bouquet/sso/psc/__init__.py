"""Pro Santé Connect (PSC) as Bouquet's upstream identity provider: Bouquet is PSC's relying party.

`client` speaks OpenID Connect to PSC, `identity` links accounts by IdNat, `tokens` keeps each
session's PSC tokens sealed (and `psc_access_token` hands them to plugins), `pages` are the routes.
docs/psc.md says how an operator registers Bouquet at PSC and configures it. Plugins reach the
token through `bouquet.api.psc`.
"""
