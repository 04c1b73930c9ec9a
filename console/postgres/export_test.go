package postgres

// SetByteOrder makes s list streams as it does when stream IDs do not sort
// in byte order (a linguistic collation), for tests on a C database.
func SetByteOrder(s *Source, v bool) { s.byteOrder = v }

var PrefixEnd = prefixEnd
