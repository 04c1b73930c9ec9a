package projection

import (
	"maps"
)

// MemoryTx is the unit of work of in-memory read models: handlers stage
// changes to [Table]s through it, and the [MemoryStore] applies them together
// with the checkpoint when the batch commits. A failed batch's changes are
// dropped. A MemoryTx is used by one goroutine and is dead after its batch.
type MemoryTx struct {
	store   *MemoryStore
	staged  map[any]staged
	order   []staged
	applied bool
}

type staged interface{ apply() }

func (tx *MemoryTx) commit() {
	for _, s := range tx.order {
		s.apply()
	}
	tx.applied = true
}

// Table is an in-memory read model table: rows of V keyed by K. Handlers
// change it through a [*MemoryTx]; anyone may read it at any time and sees
// only committed batches. Values are stored as given: store values, not
// pointers into shared state.
type Table[K comparable, V any] struct {
	store *MemoryStore
	rows  map[K]V // guarded by store.mu
}

// NewTable returns an empty table whose changes commit through store.
func NewTable[K comparable, V any](store *MemoryStore) *Table[K, V] {
	return &Table[K, V]{store: store, rows: make(map[K]V)}
}

type overlay[K comparable, V any] struct {
	t       *Table[K, V]
	cleared bool
	puts    map[K]V
	dels    map[K]struct{}
}

func (o *overlay[K, V]) apply() {
	if o.cleared {
		clear(o.t.rows)
	}
	for k := range o.dels {
		delete(o.t.rows, k)
	}
	maps.Copy(o.t.rows, o.puts)
}

func (t *Table[K, V]) overlay(tx *MemoryTx) *overlay[K, V] {
	switch {
	case tx == nil || tx.store != t.store:
		panic("projection: a Table used with a MemoryTx of another MemoryStore")
	case tx.applied:
		panic("projection: a MemoryTx used after its batch committed")
	}
	if o, ok := tx.staged[t]; ok {
		return o.(*overlay[K, V])
	}
	o := &overlay[K, V]{t: t, puts: make(map[K]V), dels: make(map[K]struct{})}
	if tx.staged == nil {
		tx.staged = make(map[any]staged)
	}
	tx.staged[t] = o
	tx.order = append(tx.order, o)
	return o
}

// Put sets the row k to v in tx.
func (t *Table[K, V]) Put(tx *MemoryTx, k K, v V) {
	o := t.overlay(tx)
	delete(o.dels, k)
	o.puts[k] = v
}

// Delete removes the row k in tx.
func (t *Table[K, V]) Delete(tx *MemoryTx, k K) {
	o := t.overlay(tx)
	delete(o.puts, k)
	o.dels[k] = struct{}{}
}

// Clear removes every row in tx; use it in a projection's reset function.
func (t *Table[K, V]) Clear(tx *MemoryTx) {
	o := t.overlay(tx)
	o.cleared = true
	clear(o.puts)
	clear(o.dels)
}

// GetTx returns the row k as tx sees it: its own staged changes over the
// committed rows.
func (t *Table[K, V]) GetTx(tx *MemoryTx, k K) (V, bool) {
	o := t.overlay(tx)
	if v, ok := o.puts[k]; ok {
		return v, true
	}
	var zero V
	if _, ok := o.dels[k]; ok || o.cleared {
		return zero, false
	}
	return t.Get(k)
}

// Get returns the committed row k.
func (t *Table[K, V]) Get(k K) (V, bool) {
	t.store.mu.RLock()
	defer t.store.mu.RUnlock()
	v, ok := t.rows[k]
	return v, ok
}

// Len returns the number of committed rows.
func (t *Table[K, V]) Len() int {
	t.store.mu.RLock()
	defer t.store.mu.RUnlock()
	return len(t.rows)
}

// Snapshot returns a copy of the committed rows.
func (t *Table[K, V]) Snapshot() map[K]V {
	t.store.mu.RLock()
	defer t.store.mu.RUnlock()
	return maps.Clone(t.rows)
}
