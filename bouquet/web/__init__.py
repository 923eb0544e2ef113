"""The web layer: request context, sessions, CSRF, headers, errors, rendering, routing, forms."""
