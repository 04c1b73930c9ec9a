// Package pgmigrate applies embedded, numbered SQL migrations to a
// PostgreSQL schema and reports their status: chronicle's own tables, and
// an application's read-model tables beside them, with one migrator.
//
// # Components
//
// A component is a name and a folder of files named NNNN_description.sql
// (versions 1, 2, 3… without gaps), embedded with go:embed and loaded with
// [Load] or [MustLoad] into a [Set]. Each chronicle package that keeps
// tables in PostgreSQL exports its set: eventstore/postgres.Migrations
// ("eventstore"), aggregate/postgres.Migrations ("snapshots"),
// projection/postgres.Migrations ("projections"), saga/postgres.Migrations
// ("sagas"). An application adds its own:
//
//	//go:embed migrations/*.sql
//	var migrationFiles embed.FS
//
//	// Migrations are the bank's read-model tables, component "bank".
//	var Migrations = pgmigrate.MustLoad("bank", migrationFiles, "migrations")
//
// and migrates everything with one call, at start-up or from its embedded
// CLI (cli.Options.Migrations):
//
//	_, err := pgmigrate.Apply(ctx, pool, "bank",
//		espg.Migrations, projpg.Migrations, sagapg.Migrations, bank.Migrations)
//
// The applied versions are kept per component in the schema's
// chronicle_migrations table, so components migrate independently and a
// new version of any of them applies only what is new. [Status] lists
// every migration with when it was applied; [Check] fails with a
// [*PendingError] while any is pending, for a service that must not start
// on an old schema.
//
// # Schema names
//
// A migration's SQL names its schema with the placeholder {{schema}}, which
// [Apply] replaces with the quoted, validated schema name:
//
//	CREATE TABLE {{schema}}.balances (account_id text PRIMARY KEY, balance bigint NOT NULL);
//
// Schema names must pass [ValidateSchema]: a letter or underscore, then
// letters, digits or underscores, at most 63 bytes. Nothing else is ever
// spliced into SQL. [Quote] and [Table] quote validated names for the
// application's own statements.
//
// # Concurrency
//
// Apply takes a transaction-scoped advisory lock per schema, so processes
// that start together migrate one after the other; each migration runs in
// its own transaction together with its bookkeeping row, so a failed
// migration leaves nothing half-applied, and running Apply again after a
// success does nothing.
package pgmigrate
