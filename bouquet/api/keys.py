"""Keys derived from the portal's secret, one per purpose."""

from bouquet.foundation.keys import audit_key, derive_key

__all__ = ["audit_key", "derive_key"]
