package memory

import (
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/google/uuid"
)

// record is how the store keeps an event: an [eventstore.RecordedEvent]
// without what its log index and its stream already say, so that the log
// stays small and holds few pointers for the garbage collector.
type record struct {
	id         uuid.UUID
	typ        string
	data       []byte
	md         *eventstore.Metadata // nil when the event has none
	stream     *stream
	version    uint64
	recordedAt int64 // Unix microseconds, UTC
}

// event returns the recorded event at log index idx.
func (r *record) event(idx int) eventstore.RecordedEvent {
	e := eventstore.RecordedEvent{
		Event:      eventstore.Event{ID: r.id, Type: r.typ, Data: r.data},
		StreamID:   r.stream.id,
		Version:    r.version,
		Position:   position(idx),
		RecordedAt: time.UnixMicro(r.recordedAt).UTC(),
	}
	if r.md != nil {
		e.Metadata = *r.md
	}
	return e
}

// eventLog is the global log, kept in blocks of blockSize records so that it
// grows without ever copying what it holds (one large slice would be copied
// on every growth, while the write lock is held).
type eventLog struct {
	blocks [][]record
	n      int
}

const (
	blockBits = 12
	blockSize = 1 << blockBits
)

func (l *eventLog) len() int { return l.n }

// at returns the record at index i < l.len(). Stored records never change.
func (l *eventLog) at(i int) *record {
	return &l.blocks[i>>blockBits][i&(blockSize-1)]
}

// push appends r and returns its index. Only the first block grows by
// reallocation, so that a small store stays small; later blocks are
// allocated whole.
func (l *eventLog) push(r record) int {
	if len(l.blocks) == 0 {
		l.blocks = append(l.blocks, make([]record, 0, 64))
	} else if l.n&(blockSize-1) == 0 {
		l.blocks = append(l.blocks, make([]record, 0, blockSize))
	}
	last := &l.blocks[len(l.blocks)-1]
	*last = append(*last, r)
	l.n++
	return l.n - 1
}

// arena holds the store's copies of payloads and metadata in large shared
// blocks, so that appends allocate (and the garbage collector tracks) a
// block now and then rather than every payload. Callers hold the write
// lock.
type arena struct {
	bytes []byte
	mds   []eventstore.Metadata
}

const (
	arenaBytes    = 64 << 10
	arenaMetadata = 256
)

// copyBytes returns a copy of b (nil for nil) whose capacity ends where it
// does, so appending to it cannot overwrite a neighbour.
func (a *arena) copyBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	if len(b) > arenaBytes/4 {
		return append(make([]byte, 0, len(b)), b...)
	}
	if cap(a.bytes)-len(a.bytes) < len(b) {
		a.bytes = make([]byte, 0, arenaBytes)
	}
	start := len(a.bytes)
	a.bytes = append(a.bytes, b...)
	return a.bytes[start:len(a.bytes):len(a.bytes)]
}

// keepMetadata returns a pointer to a deep copy of md, or nil when md is
// empty.
func (a *arena) keepMetadata(md eventstore.Metadata) *eventstore.Metadata {
	if md.IsZero() {
		return nil
	}
	if len(a.mds) == cap(a.mds) {
		a.mds = make([]eventstore.Metadata, 0, arenaMetadata)
	}
	a.mds = append(a.mds, md.Clone())
	return &a.mds[len(a.mds)-1]
}
