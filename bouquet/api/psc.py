"""Pro Santé Connect for plugins: the signed-in professional's PSC access token, to call an API
« Pro Santé Connectée » as them.

    from bouquet.api.psc import psc_access_token, PscUnavailable

    token = await psc_access_token(ctx)   # None: this sign-in did not go through PSC (or PSC ended it)
    if token is not None:
        response = await http.get(url, headers={"Authorization": f"Bearer {token}"})

The token is refreshed when it is about to expire (PSC's live 2 minutes); `PscUnavailable` is raised
when PSC cannot be reached to renew it.
"""

from bouquet.sso.psc.client import PscUnavailable
from bouquet.sso.psc.tokens import psc_access_token

__all__ = ["PscUnavailable", "psc_access_token"]
