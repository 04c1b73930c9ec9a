package aggregate

// Aggregate is what a [Repository] loads and saves: a type that embeds
// [Root] and evolves its state from events in Apply.
//
// Apply must accept every event the aggregate ever recorded, in the order
// they were recorded, and must not fail: events are facts. It is called when
// an aggregate is loaded and by [Record] when a new event is recorded.
type Aggregate interface {
	// Apply evolves the aggregate's state by one event (a value of a type
	// registered in the repository's [eventstore.Registry]).
	Apply(event any)
	// AggregateID, Version and Uncommitted come from the embedded [Root].
	AggregateID() string
	Version() uint64
	Uncommitted() []any
	root() *Root
}

// Root is the base an aggregate embeds: it tracks the aggregate's ID, the
// version it was loaded at (or last saved at), and the events recorded since.
// Its fields are unexported, so a JSON snapshot of the aggregate holds its
// state only.
//
//	type Order struct {
//		aggregate.Root
//		Status string
//	}
type Root struct {
	id          string
	version     uint64
	snapshotAt  uint64
	uncommitted []any
}

func (r *Root) root() *Root { return r }

// AggregateID returns the aggregate's ID (empty until a [Repository] creates
// or loads it).
func (r *Root) AggregateID() string { return r.id }

// Version returns the version of the last stored event the aggregate has
// applied: 0 for a new aggregate. Recording events does not change it; a
// successful save does.
func (r *Root) Version() uint64 { return r.version }

// Uncommitted returns the events recorded since the aggregate was loaded or
// last saved, in order.
func (r *Root) Uncommitted() []any {
	return append([]any(nil), r.uncommitted...)
}

// Record applies event to a and queues it to be appended by the next
// [Repository.Save]. Command methods call it after checking their
// invariants:
//
//	func (o *Order) Ship() error {
//		if o.Status != "paid" {
//			return ErrNotPaid
//		}
//		aggregate.Record(o, OrderShipped{ID: o.AggregateID()})
//		return nil
//	}
func Record(a Aggregate, event any) {
	a.Apply(event)
	r := a.root()
	r.uncommitted = append(r.uncommitted, event)
}

// Rehydrate sets a's ID and applies history to it, as if it had been loaded
// from a stream holding those events: its version becomes len(history) and
// nothing is uncommitted. Test kits use it ([aggregatetest]); so can code
// that reads events from somewhere other than a [Repository].
//
// [aggregatetest]: https://pkg.go.dev/github.com/chronicle-go/chronicle/aggregate/aggregatetest
func Rehydrate(a Aggregate, id string, history ...any) {
	for _, e := range history {
		a.Apply(e)
	}
	r := a.root()
	r.id = id
	r.version += uint64(len(history))
	r.uncommitted = nil
}
