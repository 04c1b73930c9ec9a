// Package pglease is ownership across processes through PostgreSQL
// session-level advisory locks: one holder of a name at a time, standbys
// that take over within a poll interval when the holder's connection dies.
// The projection runner's claims, the saga engine's subscription lease and
// the broker relay all use it; in-process ownership is
// [github.com/chronicle-go/chronicle/internal/lease].
//
// # Keys
//
// Every lock chronicle takes uses the two-integer form of the advisory lock
// functions, so an operator finds them all in pg_locks the same way:
//
//	classid  = hashtext('chronicle.<kind>:"<schema>"')::oid
//	objid    = hashtext('<name>')::oid
//	objsubid = 2
//
// (the schema always in double quotes, as pgx.Identifier quotes it), where
// kind is "projection", "saga" or "relay" for the leases here, and
// "eventstore" for the event store's own per-stream append lock (which is
// transaction-scoped and is the store's serialisation, not ownership).
// [Key.Class] is the first key's text; [Held] builds the SQL test of
// whether a lease is held now.
//
// # Rolling upgrades
//
// Before this package, projections and sagas locked one 64-bit key,
// hashtextextended('chronicle-<kind>:<schema>:<name>', 0). A lease of
// those kinds takes that legacy key too, after the new one and only
// together with it, so a process of this version and one of an older
// version never both own a name; see docs/postgres.md.
//
// # Connection
//
// A lease holds a dedicated connection, outside any pool: the lock lives
// exactly as long as it. [Lease.Do] runs work on that connection (a
// projection's transactions run there, so its writes and its lock die
// together); a lease with a check interval also pings the connection when
// idle, so that [Lease.Lost] fires for a holder that writes elsewhere (a
// saga engine writes through a pool and fences on an epoch).
//
// Fencing is the user's: a lease only says who owns a name.
package pglease
