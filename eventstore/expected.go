package eventstore

import "strconv"

// ExpectedVersion states what the caller believes about a stream's current
// version when it appends. It is a closed set: [Any], [NoStream],
// [StreamExists] and [Exact]; nothing outside this package can add a case.
//
// Stream versions are 1-based: the first event of a stream has version 1, and
// a stream that does not exist has version 0.
type ExpectedVersion interface {
	// Satisfied reports whether a stream whose current version is current
	// meets the expectation (current is 0 for a missing stream).
	Satisfied(current uint64) bool
	String() string
	expectedVersion()
}

// AnyVersion is the type of [Any].
type AnyVersion struct{}

// NoStreamVersion is the type of [NoStream].
type NoStreamVersion struct{}

// StreamExistsVersion is the type of [StreamExists].
type StreamExistsVersion struct{}

// ExactVersion is the type [Exact] returns: the stream's current version must
// be exactly this number. ExactVersion(0) means the same as [NoStream].
type ExactVersion uint64

var (
	// Any appends whatever the stream's current version is.
	Any = AnyVersion{}
	// NoStream appends only if the stream does not exist yet.
	NoStream = NoStreamVersion{}
	// StreamExists appends only if the stream has at least one event.
	StreamExists = StreamExistsVersion{}
)

// Exact appends only if the stream's current version is v.
func Exact(v uint64) ExpectedVersion { return ExactVersion(v) }

func (AnyVersion) Satisfied(uint64) bool                  { return true }
func (NoStreamVersion) Satisfied(current uint64) bool     { return current == 0 }
func (StreamExistsVersion) Satisfied(current uint64) bool { return current > 0 }
func (v ExactVersion) Satisfied(current uint64) bool      { return uint64(v) == current }
func (AnyVersion) String() string                         { return "any" }
func (NoStreamVersion) String() string                    { return "no stream" }
func (StreamExistsVersion) String() string                { return "stream exists" }
func (v ExactVersion) String() string                     { return "exactly " + strconv.FormatUint(uint64(v), 10) }
func (AnyVersion) expectedVersion()                       {}
func (NoStreamVersion) expectedVersion()                  {}
func (StreamExistsVersion) expectedVersion()              {}
func (ExactVersion) expectedVersion()                     {}
