"""The foundation: settings, database, key derivation, audit trail, logs, metrics. Imports nothing above it."""
