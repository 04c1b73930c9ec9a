package memory

import (
	"encoding/binary"

	"github.com/google/uuid"
)

// idIndex finds an event by its ID: the store's idempotency check and its
// refusal of an ID stored anywhere else both need it, once per appended
// event. At millions of events every access is a cache miss, so the index
// is kept small: the primary map is keyed by 64 bits folded from the ID
// (16-byte entries instead of 24, a cheaper hash), and a hit is confirmed
// against the full ID in the log record. An ID whose folded key is already
// taken by another ID goes to the overflow map, keyed by the full ID; it
// stays empty unless two IDs in the store share 64 bits.
type idIndex struct {
	primary  map[uint64]int
	overflow map[uuid.UUID]int
}

func newIDIndex() idIndex {
	return idIndex{primary: make(map[uint64]int)}
}

func foldID(id uuid.UUID) uint64 {
	return binary.LittleEndian.Uint64(id[:8]) ^ binary.LittleEndian.Uint64(id[8:])
}

// lookup returns the index in log of the event with ID id.
func (x *idIndex) lookup(id uuid.UUID, log *eventLog) (int, bool) {
	idx, ok := x.primary[foldID(id)]
	if !ok {
		return 0, false // overflow entries only exist under a taken key
	}
	if log.at(idx).id == id {
		return idx, true
	}
	idx, ok = x.overflow[id]
	return idx, ok
}

// insert records that the event with ID id, not yet in the index, is at
// log index idx.
func (x *idIndex) insert(id uuid.UUID, idx int) {
	k := foldID(id)
	if _, taken := x.primary[k]; !taken {
		x.primary[k] = idx
		return
	}
	if x.overflow == nil {
		x.overflow = make(map[uuid.UUID]int)
	}
	x.overflow[id] = idx
}
