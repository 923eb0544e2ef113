"""The tamper-evident audit trail: `ctx.audit` writes in the request's name; `append` in a command's."""

from bouquet.foundation.audit import AuditEvent, Auditor, AuditRecord, append, cli_actor

__all__ = ["AuditEvent", "AuditRecord", "Auditor", "append", "cli_actor"]
