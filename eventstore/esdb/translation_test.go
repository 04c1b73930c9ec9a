package esdb

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/google/uuid"
	api "github.com/kurrent-io/KurrentDB-Client-Go/protos/kurrentdb/protocols/v1/streams"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTranslationAgainstInProcessGRPC checks the store's translation layer —
// versions and revisions, expected versions, errors, metadata, positions,
// decoding, filters — against wireServer, an in-process gRPC server built
// from the client's published protobuf definitions. It checks what the
// store puts on the wire and what it makes of the answers; it does not
// check EventStoreDB itself (TestConformanceAgainstRealServer does, when a
// server is configured).
func TestTranslationAgainstInProcessGRPC(t *testing.T) {
	// An append the server wrote but whose answer came after the caller's
	// deadline may be stored: an unknown outcome with the event IDs, not a
	// cancellation; the retry with those IDs stores nothing twice.
	t.Run("LateReplyIsAnUnknownOutcome", func(t *testing.T) {
		srv, st := newWireStore(t, Config{})
		srv.mu.Lock()
		srv.hold = make(chan struct{})
		srv.mu.Unlock()
		evs := []eventstore.Event{eventstore.NewEvent("E", []byte(`{"n":1}`)), eventstore.NewEvent("E", []byte(`{"n":2}`))}
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, err := st.Append(ctx, "late", eventstore.NoStream, evs...)
		require.True(t, eventstore.IsOutcomeUnknown(err), "append answered after the deadline: %v", err)
		require.NotErrorIs(t, err, context.DeadlineExceeded)
		ou, ok := errors.AsType[*eventstore.OutcomeUnknownError](err)
		require.True(t, ok)
		require.Equal(t, []uuid.UUID{evs[0].ID, evs[1].ID}, ou.EventIDs)
		srv.mu.Lock()
		close(srv.hold)
		srv.hold = nil
		srv.mu.Unlock()
		res, err := st.Append(t.Context(), "late", eventstore.NoStream, evs...)
		require.NoError(t, err, "the retry with the same event IDs")
		require.EqualValues(t, 2, res.Version)
		var got []uuid.UUID
		for e, err := range st.ReadStream(t.Context(), "late", eventstore.ReadStreamOptions{}) {
			require.NoError(t, err)
			got = append(got, e.ID)
		}
		require.Equal(t, []uuid.UUID{evs[0].ID, evs[1].ID}, got, "stored once")
	})
	t.Run("ExpectedVersionOnTheWire", func(t *testing.T) {
		srv, st := newWireStore(t, Config{})
		ev := func() eventstore.Event { return eventstore.NewEvent("E", []byte(`{}`)) }
		cases := []struct {
			expected eventstore.ExpectedVersion
			check    func(o *api.AppendReq_Options)
		}{
			{eventstore.NoStream, func(o *api.AppendReq_Options) { require.NotNil(t, o.GetNoStream(), "NoStream -> no_stream") }},
			{eventstore.Exact(1), func(o *api.AppendReq_Options) {
				require.IsType(t, &api.AppendReq_Options_Revision{}, o.GetExpectedStreamRevision())
				require.EqualValues(t, 0, o.GetRevision(), "Exact(1) -> revision 0")
			}},
			{eventstore.Any, func(o *api.AppendReq_Options) { require.NotNil(t, o.GetAny(), "Any -> any") }},
			{eventstore.StreamExists, func(o *api.AppendReq_Options) {
				require.NotNil(t, o.GetStreamExists(), "StreamExists -> stream_exists")
			}},
			{eventstore.Exact(4), func(o *api.AppendReq_Options) {
				require.IsType(t, &api.AppendReq_Options_Revision{}, o.GetExpectedStreamRevision())
				require.EqualValues(t, 3, o.GetRevision(), "Exact(4) -> revision 3")
			}},
		}
		for i, c := range cases {
			res, err := st.Append(t.Context(), "wire-1", c.expected, ev())
			require.NoError(t, err, "append %d with %v", i, c.expected)
			require.EqualValues(t, i+1, res.Version, "version after append %d", i)
			c.check(srv.lastAppend())
			require.Equal(t, "wire-1", string(srv.lastAppend().GetStreamIdentifier().GetStreamName()))
		}
		// Exact(0) means NoStream.
		_, err := st.Append(t.Context(), "wire-2", eventstore.Exact(0), ev())
		require.NoError(t, err)
		require.NotNil(t, srv.lastAppend().GetNoStream(), "Exact(0) -> no_stream")
	})

	t.Run("VersionsAreOneBasedRevisionsZeroBased", func(t *testing.T) {
		srv, st := newWireStore(t, Config{})
		evs := numberedEvents("V", 5)
		res, err := st.Append(t.Context(), "ver", eventstore.NoStream, evs...)
		require.NoError(t, err)
		require.EqualValues(t, 5, res.Version)
		for i, w := range srv.stored("ver") {
			require.EqualValues(t, i, w.revision, "server revision of event %d", i)
		}

		got := collect(t, st.ReadStream(t.Context(), "ver", eventstore.ReadStreamOptions{}))
		require.Equal(t, []uint64{1, 2, 3, 4, 5}, versionsOf(got))
		n := srv.readCount()
		got = collect(t, st.ReadStream(t.Context(), "ver", eventstore.ReadStreamOptions{From: 2, Limit: 2}))
		require.Equal(t, []uint64{2, 3}, versionsOf(got))
		req := srv.readsSince(n)[0]
		require.EqualValues(t, 1, req.GetStream().GetRevision(), "From 2 -> revision 1")
		require.EqualValues(t, 2, req.GetCount(), "Limit -> count")

		n = srv.readCount()
		got = collect(t, st.ReadStream(t.Context(), "ver", eventstore.ReadStreamOptions{Direction: eventstore.Backwards}))
		require.Equal(t, []uint64{5, 4, 3, 2, 1}, versionsOf(got))
		req = srv.readsSince(n)[0]
		require.NotNil(t, req.GetStream().GetEnd(), "backwards from 0 -> end")
		require.Equal(t, api.ReadReq_Options_Backwards, req.GetReadDirection())

		got = collect(t, st.ReadStream(t.Context(), "ver", eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: 3}))
		require.Equal(t, []uint64{3, 2, 1}, versionsOf(got))
	})

	t.Run("WrongExpectedVersionIsConflictError", func(t *testing.T) {
		srv, st := newWireStore(t, Config{})
		_, err := st.Append(t.Context(), "conf", eventstore.NoStream, numberedEvents("C", 2)...)
		require.NoError(t, err)
		cases := []struct {
			stream   string
			expected eventstore.ExpectedVersion
			actual   uint64
		}{
			{"conf", eventstore.Exact(5), 2},
			{"conf", eventstore.Exact(1), 2},
			{"conf", eventstore.NoStream, 2},
			{"conf", eventstore.Exact(0), 2},
			{"conf-missing", eventstore.StreamExists, 0},
			{"conf-missing", eventstore.Exact(1), 0},
		}
		for _, c := range cases {
			before := srv.logLen()
			_, err := st.Append(t.Context(), c.stream, c.expected, eventstore.NewEvent("X", nil))
			require.ErrorIs(t, err, eventstore.ErrConcurrencyConflict, "%s %v", c.stream, c.expected)
			require.NotErrorIs(t, err, eventstore.ErrDuplicateEventID)
			var ce *eventstore.ConflictError
			require.True(t, errors.As(err, &ce), "errors.As: %v", err)
			require.Equal(t, c.stream, ce.Stream)
			require.Equal(t, c.expected, ce.Expected)
			require.Equal(t, c.actual, ce.Actual, "Actual for %s %v", c.stream, c.expected)
			require.Equal(t, uuid.Nil, ce.EventID)
			require.True(t, eventstore.IsRetryable(err))
			require.Equal(t, before, srv.logLen(), "nothing written")
		}
	})

	t.Run("RetryRefusedByTheServerIsIdempotent", func(t *testing.T) {
		// This server, unlike EventStoreDB, never deduplicates: a retry
		// comes back as a wrong expected version, and the store must
		// recognise it from the stored IDs.
		srv, st := newWireStore(t, Config{})
		ab := numberedEvents("A", 2)
		r1, err := st.Append(t.Context(), "idem", eventstore.NoStream, ab...)
		require.NoError(t, err)
		c := numberedEvents("C", 1)
		r2, err := st.Append(t.Context(), "idem", eventstore.Exact(2), c...)
		require.NoError(t, err)
		before := srv.logLen()

		got, err := st.Append(t.Context(), "idem", eventstore.NoStream, ab...)
		require.NoError(t, err)
		require.Equal(t, r1, got)
		got, err = st.Append(t.Context(), "idem", eventstore.Exact(2), c...)
		require.NoError(t, err)
		require.Equal(t, r2, got)
		require.Equal(t, before, srv.logLen(), "a retry writes nothing")

		// Partial overlaps are event ID conflicts naming a reused ID.
		x := eventstore.NewEvent("X", nil)
		for _, evs := range [][]eventstore.Event{{ab[0], x}, {x, ab[1]}, {ab[0], ab[1], c[0], x}} {
			_, err := st.Append(t.Context(), "idem", eventstore.NoStream, evs...)
			require.ErrorIs(t, err, eventstore.ErrDuplicateEventID, "%v", err)
			ce, ok := errors.AsType[*eventstore.ConflictError](err)
			require.True(t, ok)
			require.Contains(t, []uuid.UUID{ab[0].ID, ab[1].ID, c[0].ID}, ce.EventID)
			require.EqualValues(t, 3, ce.Actual)
			require.False(t, eventstore.IsRetryable(err))
		}
		require.Equal(t, before, srv.logLen())
	})

	t.Run("MissingStreamIsStreamNotFoundError", func(t *testing.T) {
		_, st := newWireStore(t, Config{})
		for _, dir := range []eventstore.Direction{eventstore.Forwards, eventstore.Backwards} {
			n := 0
			var last error
			for _, err := range st.ReadStream(t.Context(), "nope", eventstore.ReadStreamOptions{Direction: dir}) {
				n++
				last = err
			}
			require.Equal(t, 1, n, "one result")
			require.ErrorIs(t, last, eventstore.ErrStreamNotFound)
			nf, ok := errors.AsType[*eventstore.StreamNotFoundError](last)
			require.True(t, ok)
			require.Equal(t, "nope", nf.Stream)
		}
	})

	t.Run("MetadataOnTheWireAndBack", func(t *testing.T) {
		srv, st := newWireStore(t, Config{})
		md := eventstore.Metadata{
			CorrelationID: "order-42",
			CausationID:   "cmd-7",
			SchemaVersion: 3,
			Values:        map[string]string{"tenant": "acme", "$dollar": "kept", "$$two": "also", "ключ": "значение"},
		}
		e := eventstore.NewEvent("Meta", []byte(`{"a":1}`))
		e.Metadata = md
		plain := eventstore.NewEvent("Plain", nil)
		_, err := st.Append(t.Context(), "meta", eventstore.NoStream, e, plain)
		require.NoError(t, err)

		w := srv.stored("meta")
		require.Equal(t, "application/json", w[0].meta["content-type"])
		require.Equal(t, "Meta", w[0].meta["type"])
		require.JSONEq(t, `{"a":1}`, string(w[0].data))
		var onWire map[string]string
		require.NoError(t, json.Unmarshal(w[0].custom, &onWire))
		require.Equal(t, map[string]string{
			"$correlationId": "order-42", "$causationId": "cmd-7", "$schemaVersion": "3",
			"tenant": "acme", "$$dollar": "kept", "$$$two": "also", "ключ": "значение",
		}, onWire)
		require.Empty(t, w[1].custom, "zero metadata writes no user metadata")
		require.Empty(t, w[1].data)

		got := collect(t, st.ReadStream(t.Context(), "meta", eventstore.ReadStreamOptions{}))
		require.Equal(t, md, got[0].Metadata)
		require.True(t, got[1].Metadata.IsZero())
		require.Empty(t, got[1].Data)
		require.Equal(t, e.ID, got[0].ID)
		require.Equal(t, "Meta", got[0].Type)
		require.Equal(t, "meta", got[0].StreamID)
	})

	t.Run("ForeignMetadataDecodes", func(t *testing.T) {
		srv, st := newWireStore(t, Config{})
		srv.put("foreign", "Other", []byte(`{"$correlationId":"c-1","n":5,"$v":"1:2","$schemaVersion":"x"}`), []byte(`{}`))
		srv.put("foreign", "Other", []byte(`not json`), []byte(`{}`))
		got := collect(t, st.ReadStream(t.Context(), "foreign", eventstore.ReadStreamOptions{}))
		require.Equal(t, eventstore.Metadata{CorrelationID: "c-1", Values: map[string]string{"n": "5", "$v": "1:2", "$schemaVersion": "x"}}, got[0].Metadata)
		require.Equal(t, eventstore.Metadata{Values: map[string]string{MetadataRaw: "not json"}}, got[1].Metadata)
	})

	t.Run("PositionsMapOneToOne", func(t *testing.T) {
		srv, st := newWireStore(t, Config{})
		res, err := st.Append(t.Context(), "pos", eventstore.NoStream, numberedEvents("P", 3)...)
		require.NoError(t, err)
		w := srv.stored("pos")
		for i := range w {
			require.Equal(t, eventstore.Position{Commit: w[i].commit, Prepare: w[i].prepare}, res.Positions[i], "position of event %d", i)
		}
		require.NotEqual(t, res.Positions[0].Commit, res.Positions[0].Prepare, "the wire server gives distinct commit and prepare positions")
		got := collect(t, st.ReadStream(t.Context(), "pos", eventstore.ReadStreamOptions{}))
		require.Equal(t, res.Positions, positionsOf(got))
		all := collect(t, st.ReadAll(t.Context(), eventstore.ReadAllOptions{}))
		require.Equal(t, res.Positions, positionsOf(all))

		// The position the store sends for a ReadAll is the one given.
		n := srv.readCount()
		collect(t, st.ReadAll(t.Context(), eventstore.ReadAllOptions{From: res.Positions[1]}))
		p := srv.readsSince(n)[0].GetAll().GetPosition()
		require.Equal(t, res.Positions[1], eventstore.Position{Commit: p.GetCommitPosition(), Prepare: p.GetPreparePosition()})
	})

	t.Run("ReadAllFromIsExclusiveAndSkipsSystemEvents", func(t *testing.T) {
		srv, st := newWireStore(t, Config{})
		var pos []eventstore.Position
		var ids []uuid.UUID
		for i := range 6 {
			e := eventstore.NewEvent("T", nil)
			res, err := st.Append(t.Context(), "all", eventstore.Any, e)
			require.NoError(t, err)
			pos, ids = append(pos, res.Positions[0]), append(ids, e.ID)
			if i%2 == 0 {
				srv.put("$settings", "$settings", nil, []byte(`{}`))
				srv.put("$et-T", "$>", nil, []byte(`0@all`))
				srv.put("$user-stream", "Looks.Normal", nil, []byte(`{}`))
			}
		}
		require.Equal(t, ids, idsOf(collect(t, st.ReadAll(t.Context(), eventstore.ReadAllOptions{}))))
		require.Equal(t, ids[2:], idsOf(collect(t, st.ReadAll(t.Context(), eventstore.ReadAllOptions{From: pos[1]}))))
		require.Equal(t, ids[2:4], idsOf(collect(t, st.ReadAll(t.Context(), eventstore.ReadAllOptions{From: pos[1], Limit: 2}))))
		back := collect(t, st.ReadAll(t.Context(), eventstore.ReadAllOptions{Direction: eventstore.Backwards, From: pos[3]}))
		require.Equal(t, []uuid.UUID{ids[2], ids[1], ids[0]}, idsOf(back))
		back = collect(t, st.ReadAll(t.Context(), eventstore.ReadAllOptions{Direction: eventstore.Backwards, Limit: 2}))
		require.Equal(t, []uuid.UUID{ids[5], ids[4]}, idsOf(back))
	})

	t.Run("RecordedAtIsTheServersCreatedTime", func(t *testing.T) {
		srv, st := newWireStore(t, Config{})
		_, err := st.Append(t.Context(), "time", eventstore.NoStream, eventstore.NewEvent("T", nil))
		require.NoError(t, err)
		got := collect(t, st.ReadStream(t.Context(), "time", eventstore.ReadStreamOptions{}))
		w := srv.stored("time")[0]
		require.Equal(t, w.meta["created"], ticks(got[0].RecordedAt))
		require.Equal(t, time.UTC, got[0].RecordedAt.Location())
	})

	t.Run("SubscribeFiltersOnTheWireAndOnTheClient", func(t *testing.T) {
		srv, st := newWireStore(t, Config{})
		type in struct{ stream, typ string }
		inputs := []in{
			{"order-1", "Order.Placed"}, {"cart-1", "Order.Placed"}, {"order-2", "Paid"},
			{"order-3", "Shipped"}, {"cart-2", "Added"}, {"order-1x", "Order-Placed"},
		}
		var all []eventstore.Event
		for _, i := range inputs {
			e := eventstore.NewEvent(i.typ, nil)
			_, err := st.Append(t.Context(), i.stream, eventstore.Any, e)
			require.NoError(t, err)
			all = append(all, e)
		}
		srv.put("$stats-1", "$statsCollected", nil, []byte(`{}`))
		srv.put("$et-Paid", "$>", nil, []byte(`0@order-2`))
		marker := eventstore.NewEvent("Marker", nil)
		_, err := st.Append(t.Context(), "zz-marker", eventstore.Any, marker)
		require.NoError(t, err)

		cases := []struct {
			name   string
			filter eventstore.Filter
			wire   func(f *api.ReadReq_Options_FilterOptions)
		}{
			{"None", eventstore.Filter{}, func(f *api.ReadReq_Options_FilterOptions) {
				require.Equal(t, `^[^\$].*`, f.GetEventType().GetRegex(), "no filter excludes system events on the server")
			}},
			{"EventTypes", eventstore.Filter{EventTypes: []string{"Order.Placed", "Paid", "Marker"}}, func(f *api.ReadReq_Options_FilterOptions) {
				require.Equal(t, `^(?:Order\.Placed|Paid|Marker)$`, f.GetEventType().GetRegex())
			}},
			{"StreamPrefixes", eventstore.Filter{StreamPrefixes: []string{"order-1", "cart-", "zz-"}}, func(f *api.ReadReq_Options_FilterOptions) {
				require.Equal(t, []string{"order-1", "cart-", "zz-"}, f.GetStreamIdentifier().GetPrefix())
			}},
			{"Both", eventstore.Filter{StreamPrefixes: []string{"cart-", "zz-"}, EventTypes: []string{"Order.Placed", "Marker"}}, func(f *api.ReadReq_Options_FilterOptions) {
				require.Equal(t, `^(?:Order\.Placed|Marker)$`, f.GetEventType().GetRegex())
			}},
			{"AsksForLinks", eventstore.Filter{EventTypes: []string{"$>", "Marker"}}, func(f *api.ReadReq_Options_FilterOptions) {
				require.Equal(t, `^(?:\$>|Marker)$`, f.GetEventType().GetRegex())
			}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				n := srv.readCount()
				ctx, cancel := contextFor(t)
				defer cancel()
				var got []eventstore.RecordedEvent
				for e, err := range st.Subscribe(ctx, eventstore.SubscribeOptions{Filter: c.filter}) {
					require.NoError(t, err)
					got = append(got, e)
					if e.ID == marker.ID {
						break
					}
				}
				c.wire(srv.readsSince(n)[0].GetFilter())
				var want []string
				for i, e := range all {
					if c.filter.Match(inputs[i].stream, e.Type) {
						want = append(want, inputs[i].stream+"/"+e.Type)
					}
				}
				if c.name == "AsksForLinks" {
					want = append(want, "$et-Paid/$>")
				}
				want = append(want, "zz-marker/Marker")
				var gotNames []string
				for _, e := range got {
					gotNames = append(gotNames, e.StreamID+"/"+e.Type)
				}
				require.Equal(t, want, gotNames)
			})
		}
	})

	t.Run("SubscribeFromIsExclusiveThenLive", func(t *testing.T) {
		_, st := newWireStore(t, Config{})
		first := numberedEvents("S", 3)
		res, err := st.Append(t.Context(), "sub", eventstore.NoStream, first...)
		require.NoError(t, err)
		ctx, cancel := contextFor(t)
		defer cancel()
		next, stop := iter.Pull2(st.Subscribe(ctx, eventstore.SubscribeOptions{From: res.Positions[0]}))
		defer stop()
		for _, want := range first[1:] {
			e, err, ok := next()
			require.True(t, ok)
			require.NoError(t, err)
			require.Equal(t, want.ID, e.ID)
		}
		live := eventstore.NewEvent("Live", nil)
		_, err = st.Append(t.Context(), "sub", eventstore.Exact(3), live)
		require.NoError(t, err)
		e, err, ok := next()
		require.True(t, ok)
		require.NoError(t, err)
		require.Equal(t, live.ID, e.ID)
		require.EqualValues(t, 4, e.Version)
	})

	t.Run("SubscribeResumesAfterADroppedConnection", func(t *testing.T) {
		srv, st := newWireStore(t, Config{})
		evs := numberedEvents("R", 5)
		_, err := st.Append(t.Context(), "resume", eventstore.NoStream, evs...)
		require.NoError(t, err)
		srv.dropNextSubscriptionAfter(2)
		ctx, cancel := contextFor(t)
		defer cancel()
		var got []uuid.UUID
		more := numberedEvents("R", 2)
		for e, err := range st.Subscribe(ctx, eventstore.SubscribeOptions{}) {
			require.NoError(t, err)
			got = append(got, e.ID)
			if len(got) == 5 {
				_, err := st.Append(t.Context(), "resume", eventstore.Exact(5), more...)
				require.NoError(t, err)
			}
			if len(got) == 7 {
				break
			}
		}
		require.Equal(t, idsOfEvents(append(evs, more...)), got, "every event once, in order, across the drop")
	})

	t.Run("Namespace", func(t *testing.T) {
		srv, st := newWireStore(t, Config{Namespace: "tenant-a."})
		other, err := New(Config{ConnectionString: srv.connectionString(), Namespace: "tenant-b."})
		require.NoError(t, err)
		t.Cleanup(func() { other.Close() })
		ea, eb := eventstore.NewEvent("A", nil), eventstore.NewEvent("B", nil)
		_, err = st.Append(t.Context(), "order-1", eventstore.NoStream, ea)
		require.NoError(t, err)
		_, err = other.Append(t.Context(), "order-1", eventstore.NoStream, eb)
		require.NoError(t, err, "the same stream ID in another namespace is another stream")
		require.Len(t, srv.stored("tenant-a.order-1"), 1)
		require.Len(t, srv.stored("tenant-b.order-1"), 1)

		got := collect(t, st.ReadStream(t.Context(), "order-1", eventstore.ReadStreamOptions{}))
		require.Equal(t, "order-1", got[0].StreamID)
		require.Equal(t, ea.ID, got[0].ID)
		all := collect(t, st.ReadAll(t.Context(), eventstore.ReadAllOptions{}))
		require.Equal(t, []uuid.UUID{ea.ID}, idsOf(all))
		require.Equal(t, "order-1", all[0].StreamID)

		n := srv.readCount()
		ctx, cancel := contextFor(t)
		defer cancel()
		for e, err := range st.Subscribe(ctx, eventstore.SubscribeOptions{}) {
			require.NoError(t, err)
			require.Equal(t, ea.ID, e.ID)
			require.Equal(t, "order-1", e.StreamID)
			break
		}
		require.Equal(t, []string{"tenant-a."}, srv.readsSince(n)[0].GetFilter().GetStreamIdentifier().GetPrefix())

		_, err = st.Append(t.Context(), "order-1", eventstore.NoStream, eventstore.NewEvent("A", nil))
		ce, ok := errors.AsType[*eventstore.ConflictError](err)
		require.True(t, ok, "%v", err)
		require.Equal(t, "order-1", ce.Stream, "errors name the stream without the namespace")
		require.EqualValues(t, 1, ce.Actual)
	})

	t.Run("RefusedBeforeTheWire", func(t *testing.T) {
		srv, st := newWireStore(t, Config{MaxAppendSize: 1000})
		cases := []struct {
			stream   string
			events   []eventstore.Event
			sentinel error
			index    int
		}{
			{"big", []eventstore.Event{eventstore.NewEvent("A", jsonOfSize(100)), eventstore.NewEvent("B", jsonOfSize(1200))}, eventstore.ErrEventTooLarge, -1},
			{"$system", []eventstore.Event{eventstore.NewEvent("A", nil)}, eventstore.ErrInvalidStreamID, -1},
			{"ok", []eventstore.Event{eventstore.NewEvent("A", nil), eventstore.NewEvent("$B", nil)}, eventstore.ErrInvalidEvent, 1},
		}
		for _, c := range cases {
			_, err := st.Append(t.Context(), c.stream, eventstore.Any, c.events...)
			require.ErrorIs(t, err, c.sentinel)
			ie, ok := errors.AsType[*eventstore.InvalidAppendError](err)
			require.True(t, ok)
			require.Equal(t, c.index, ie.Index)
			require.Equal(t, c.stream, ie.Stream)
		}
		require.Zero(t, srv.appendCount(), "nothing reached the server")
	})

	t.Run("CancelledContext", func(t *testing.T) {
		srv, st := newWireStore(t, Config{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := st.Append(ctx, "cancel", eventstore.Any, eventstore.NewEvent("A", nil))
		require.ErrorIs(t, err, context.Canceled)
		require.Zero(t, srv.appendCount(), "a cancelled append sends nothing")

		// A live subscription ends with the context's error when cancelled.
		_, err = st.Append(t.Context(), "cancel", eventstore.NoStream, eventstore.NewEvent("A", nil))
		require.NoError(t, err)
		ctx, cancel = contextFor(t)
		defer cancel()
		subCtx, stop := context.WithCancel(ctx)
		defer stop()
		var last error
		n := 0
		for _, err := range st.Subscribe(subCtx, eventstore.SubscribeOptions{}) {
			if err != nil {
				last = err
				break
			}
			n++
			stop() // cancel while the subscription is live
		}
		require.Equal(t, 1, n)
		require.ErrorIs(t, last, context.Canceled)
		require.NoError(t, ctx.Err(), "ended by the cancellation, not by the test's deadline")
	})

	t.Run("Closed", func(t *testing.T) {
		_, st := newWireStore(t, Config{})
		require.NoError(t, st.Close())
		_, err := st.Append(t.Context(), "c", eventstore.Any, eventstore.NewEvent("A", nil))
		require.ErrorIs(t, err, eventstore.ErrClosed)
		for _, err := range st.ReadAll(t.Context(), eventstore.ReadAllOptions{}) {
			require.ErrorIs(t, err, eventstore.ErrClosed)
		}
		require.ErrorIs(t, st.Ping(t.Context()), eventstore.ErrClosed)
	})
}

func newWireStore(t *testing.T, cfg Config) (*wireServer, *Store) {
	t.Helper()
	srv := startWireServer(t, 0)
	cfg.ConnectionString = srv.connectionString()
	st, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, st.Close()) })
	return srv, st
}
