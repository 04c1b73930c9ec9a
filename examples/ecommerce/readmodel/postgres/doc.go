// Package postgres keeps the e-commerce example's read models in
// PostgreSQL: the tables order_summaries, stock_levels, revenue_per_day,
// shipments and shipments_by_carrier, created by the embedded migrations of
// component "ecommerce" ([Migrations]) in the configured schema, next to
// the projection checkpoints of
// [github.com/chronicle-go/chronicle/projection/postgres].
//
// Each batch of events is applied in one transaction with the projection's
// checkpoint, so a crash never applies an event twice or skips one; the
// writes are pipelined ([postgres.Tx.Queue]). The tables' CHECK
// constraints refuse negative stock and a stock row that does not add up.
// [Store.Snapshot] reads the rows into the [readmodel] types, so their
// checksums compare with the in-memory read models'.
package postgres
