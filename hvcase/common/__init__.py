"""The shared floor every domain stands on: errors, schemas, scope, versions, idempotency."""
