"""The database: the handle a hook receives (`ctx.db`), the UTC column type, the clock."""

from bouquet.foundation.db import Database, UtcDateTime, open_database, utcnow

__all__ = ["Database", "UtcDateTime", "open_database", "utcnow"]
