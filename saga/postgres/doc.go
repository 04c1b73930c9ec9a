// Package postgres is the PostgreSQL [saga.Store]: saga instances, their
// outbox, deadlines, history, parked events and the engine's checkpoint
// live in six tables of one schema, created by embedded, numbered
// migrations (component "sagas"; see [Migrations] and [Store.Migrate]).
//
// # One transaction per step
//
// [Store.Commit] writes, in one transaction and three round trips (BEGIN,
// one pipelined batch, COMMIT), everything an engine step decided: the
// instances' new states, checked against the versions they were loaded at;
// the new outbox rows; deadlines scheduled, cancelled or fired; history;
// parked events; and the checkpoint, fenced by the subscription lease's
// token. A crash leaves either all of it or none of it.
//
// # Several processes
//
// The event subscription of a saga is owned by one process at a time, the
// holder of a session advisory lock on a dedicated connection; taking the
// lock increments the checkpoint row's lease token (its column is named
// epoch), and a checkpoint write with an older token fails with
// [saga.ErrLeaseLost]. Commands and deadlines are
// reserved with FOR UPDATE SKIP LOCKED and a reservation time-out, so
// every process dispatches and fires, never the same row at once; a reservation
// of a process that died expires and another process takes the row,
// sending the command again with the same ID.
//
// # Schema
//
// Tables live in [Config.Schema], validated and quoted; nothing is created
// by [New]: run [Store.Migrate] (or the chronicle CLI) first.
package postgres
