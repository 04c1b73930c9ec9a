package postgres

import "time"

// SetByteOrder makes s list streams as it does when stream IDs do not sort
// in byte order (a linguistic collation), for tests on a C database.
func SetByteOrder(s *Source, v bool) { s.byteOrder = v }

var PrefixEnd = prefixEnd

// SetIndexed makes s search correlations as it does without the
// correlation index (a bounded scan), or with it.
func SetIndexed(s *Source, v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.indexed = v
	s.checked = time.Now().Add(time.Hour)
}
