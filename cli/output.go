package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
)

// table writes aligned columns under a header.
type table struct {
	w   io.Writer
	buf bytes.Buffer
	tw  *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{w: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		// A tab or newline inside a cell would break the columns.
		cells[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

// flush writes the table, without the padding that empty last cells leave
// at the ends of lines.
func (t *table) flush() error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	lines := strings.SplitAfter(t.buf.String(), "\n")
	for i, l := range lines {
		if strings.HasSuffix(l, "\n") {
			lines[i] = strings.TrimRight(l[:len(l)-1], " ") + "\n"
		}
	}
	_, err := io.WriteString(t.w, strings.Join(lines, ""))
	return err
}

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// formatTime prints times in UTC, RFC 3339 with microseconds (PostgreSQL's
// precision); the zero time is "-".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

// formatPosition prints a position as commit/prepare; the start of the log
// is "-".
func formatPosition(p eventstore.Position) string {
	if p.IsZero() {
		return "-"
	}
	return p.String()
}

// formatDuration rounds d for people: 1.2s, 3m4s, 2h0m0s.
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

// eventJSON is the JSON shape of a recorded event, in `streams read --json`
// and `tail --json` (one object per line).
type eventJSON struct {
	Stream     string               `json:"stream"`
	Version    uint64               `json:"version"`
	Position   string               `json:"position"`
	ID         string               `json:"id"`
	Type       string               `json:"type"`
	RecordedAt time.Time            `json:"recorded_at"`
	Data       json.RawMessage      `json:"data"`
	Metadata   *eventstore.Metadata `json:"metadata,omitempty"`
}

func toEventJSON(e eventstore.RecordedEvent) eventJSON {
	out := eventJSON{
		Stream: e.StreamID, Version: e.Version, Position: e.Position.String(), ID: e.ID.String(),
		Type: e.Type, RecordedAt: e.RecordedAt.UTC(), Data: json.RawMessage("null"),
	}
	if len(e.Data) > 0 {
		out.Data = json.RawMessage(e.Data)
	}
	if !e.Metadata.IsZero() {
		md := e.Metadata
		out.Metadata = &md
	}
	return out
}

// prettyData indents an event's JSON payload; a payload that is not JSON
// (a store may hold anything) is printed as a quoted string.
func prettyData(data []byte) string {
	if len(data) == 0 {
		return "null"
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "  "); err != nil {
		return fmt.Sprintf("%q", data)
	}
	return buf.String()
}

// compactData prints an event's JSON payload on one line.
func compactData(data []byte) string {
	if len(data) == 0 {
		return "null"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return fmt.Sprintf("%q", data)
	}
	return buf.String()
}

// metadataLine prints an event's metadata as compact JSON, or "" if none.
func metadataLine(m eventstore.Metadata) string {
	if m.IsZero() {
		return ""
	}
	b, _ := json.Marshal(m)
	return string(b)
}
