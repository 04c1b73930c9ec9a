// Package lease is in-process ownership: one holder per name at a time,
// the others waiting as standbys until it releases. The embedded (memory)
// stores of projections and sagas use it, and the broker relay's embedded
// mode can; across processes the same role is played by PostgreSQL
// advisory locks in [github.com/chronicle-go/chronicle/internal/pglease].
//
// A lease only says who owns a name. Fencing — refusing the writes of a
// holder that was deposed — is its user's: projections fence on their
// checkpoint, sagas on an epoch they increment after acquiring.
package lease
