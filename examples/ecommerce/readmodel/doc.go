// Package readmodel holds the e-commerce example's read models: order
// summaries with their tracking status, stock levels, revenue per day, and
// shipments by carrier and status. They are projections of the event log,
// kept in memory here ([NewMemory]) and in PostgreSQL by the sub-package
// postgres; both fill the same row types and take the same [Snapshot], so
// their [Snapshot.Checksums] can be compared — a rebuilt read model with
// the checksums of the live one holds the same rows.
package readmodel
