package eventstore

import "encoding/json"

// fastJSONDepth is the deepest nesting validJSON decides alone; deeper
// documents go to encoding/json, whose own limit (10,000) then decides.
const fastJSONDepth = 64

// validJSON reports whether data is one JSON value (RFC 8259), surrounded
// by nothing but white space: exactly what [json.Valid] reports, which it
// calls for documents nested deeper than fastJSONDepth. Like json.Valid, it
// does not check that strings are valid UTF-8 (CheckAppend does that
// apart).
//
// It exists for speed: every append checks every payload, and json.Valid's
// scanner (a function call per byte) was most of the time CheckAppend took:
// on a 92-byte payload this loop takes about 100 ns, json.Valid about 330.
// In the PostgreSQL store's 10-event append, CheckAppend took 6–8 µs of
// the 12 µs spent in Go before the statement (its caches cold: the server
// ran between two appends). FuzzValidJSON holds it to json.Valid.
func validJSON(data []byte) bool {
	var stack [fastJSONDepth]byte // '{' or '[' for each open container
	depth := 0
	i := 0
	n := len(data)
	// value parses one value at i; containers open a level and return,
	// their contents follow in the loop below.
	for {
		i = skipSpace(data, i)
		if i >= n {
			return false
		}
		// A value.
		switch c := data[i]; {
		case c == '{' || c == '[':
			if depth == fastJSONDepth {
				return json.Valid(data)
			}
			stack[depth] = c
			depth++
			i++
			i = skipSpace(data, i)
			if i < n && data[i] == c+2 { // '}' is '{'+2, ']' is '['+2
				depth--
				i++
				break
			}
			if c == '{' && !scanKey(data, &i) {
				return false
			}
			continue
		case c == '"':
			if !scanString(data, &i) {
				return false
			}
		case c == '-' || (c >= '0' && c <= '9'):
			if !scanNumber(data, &i) {
				return false
			}
		case c == 't':
			if !literal(data, &i, "true") {
				return false
			}
		case c == 'f':
			if !literal(data, &i, "false") {
				return false
			}
		case c == 'n':
			if !literal(data, &i, "null") {
				return false
			}
		default:
			return false
		}
		// After a value: close containers, or go on to the next element.
		for {
			i = skipSpace(data, i)
			if depth == 0 {
				return i == n
			}
			if i >= n {
				return false
			}
			open := stack[depth-1]
			switch data[i] {
			case open + 2:
				depth--
				i++
				continue
			case ',':
				i++
				if open == '{' && !scanKey(data, &i) {
					return false
				}
			default:
				return false
			}
			break
		}
	}
}

// scanKey moves *i past an object member's key and its colon, with the
// white space around them, reporting whether they are there.
func scanKey(data []byte, i *int) bool {
	j := skipSpace(data, *i)
	if j >= len(data) || data[j] != '"' || !scanString(data, &j) {
		return false
	}
	j = skipSpace(data, j)
	if j >= len(data) || data[j] != ':' {
		return false
	}
	*i = j + 1
	return true
}

// scanString moves *i past the string that starts there, reporting whether
// it is well formed: no control character, only JSON's escapes.
func scanString(data []byte, i *int) bool {
	j := *i + 1
	for j < len(data) {
		c := data[j]
		switch {
		case c == '"':
			*i = j + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if j+1 >= len(data) {
				return false
			}
			switch data[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(data) {
					return false
				}
				for _, h := range data[j+2 : j+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				j += 6
			default:
				return false
			}
		default:
			j++
		}
	}
	return false
}

// scanNumber moves *i past the number that starts there, reporting whether
// it is well formed: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(data []byte, i *int) bool {
	j := *i
	n := len(data)
	digits := func() bool {
		start := j
		for j < n && data[j] >= '0' && data[j] <= '9' {
			j++
		}
		return j > start
	}
	if data[j] == '-' {
		j++
	}
	switch {
	case j < n && data[j] == '0':
		j++
	case !digits():
		return false
	}
	if j < n && data[j] == '.' {
		j++
		if !digits() {
			return false
		}
	}
	if j < n && (data[j] == 'e' || data[j] == 'E') {
		j++
		if j < n && (data[j] == '+' || data[j] == '-') {
			j++
		}
		if !digits() {
			return false
		}
	}
	*i = j
	return true
}

// literal moves *i past word, reporting whether it is there.
func literal(data []byte, i *int, word string) bool {
	if len(data)-*i < len(word) || string(data[*i:*i+len(word)]) != word {
		return false
	}
	*i += len(word)
	return true
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(data []byte, i int) int {
	for i < len(data) && data[i] <= ' ' && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}
