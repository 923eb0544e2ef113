"""Who may come in, and how: accounts, factors, sign-in, and (later) the OIDC provider."""
