// Package pgmigrate applies chronicle's embedded, numbered SQL migrations to
// a PostgreSQL schema and reports their status. It is internal: users reach it
// through each PostgreSQL package's Migrate method and the `chronicle migrate`
// command.
//
// # Components
//
// Each PostgreSQL package owns a component: a name ("eventstore",
// "snapshots", "projections", "sagas") and a folder of files named
// NNNN_description.sql, embedded with go:embed and loaded with [Load]. The
// applied versions are kept per component in the schema's
// chronicle_migrations table, so packages migrate independently.
//
// # Schema names
//
// A migration's SQL names its schema with the placeholder {{schema}}, which
// [Apply] replaces with the quoted, validated schema name. Schema names must
// pass [ValidateSchema]: a letter or underscore, then letters, digits or
// underscores, at most 63 bytes. Nothing else is ever spliced into SQL.
//
// # Concurrency
//
// Apply takes a transaction-scoped advisory lock per schema, so processes
// that start together migrate one after the other; each migration runs in its
// own transaction together with its bookkeeping row, so a failed migration
// leaves nothing half-applied.
package pgmigrate
