package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgtest"
)

// Reads copy payloads out of the driver's buffer into chunks shared by a
// page's events. Each event must still own its bytes: payloads of every
// size (small ones packed together, large ones on their own) come back
// byte for byte, across pages, and appending to one event's Data leaves
// its neighbours alone.
func TestReadPayloadsAreIndependent(t *testing.T) {
	s, _, _ := newStoreConfig(t, espg.Config{PollInterval: 20 * time.Millisecond, PageSize: 7})
	ctx := context.Background()
	var want []eventstore.Event
	for i := range 40 {
		size := []int{1, 50, 3000, 9000, 20000}[i%5]
		data := fmt.Sprintf(`{"i":%d,"pad":%q}`, i, strings.Repeat(string(rune('a'+i%26)), size))
		e := eventstore.NewEvent(fmt.Sprintf("Type%d", i%3), []byte(data))
		e.Metadata = eventstore.Metadata{CorrelationID: fmt.Sprintf("c-%d", i), Values: map[string]string{"k": fmt.Sprint(i)}}
		want = append(want, e)
		stream := fmt.Sprintf("s-%d", i%2)
		_, err := s.Append(ctx, stream, eventstore.Any, e)
		require.NoError(t, err)
	}
	check := func(t *testing.T, got []eventstore.RecordedEvent) {
		t.Helper()
		require.Len(t, got, len(want))
		// Appending to one event's payload must not write into another's.
		orig := make([]string, len(got))
		for i := range got {
			orig[i] = string(got[i].Data)
			got[i].Data = append(got[i].Data, "garbage"...)
		}
		index := map[[16]byte]int{}
		for i, e := range got {
			require.Equal(t, orig[i]+"garbage", string(e.Data), "event %d's payload changed under it", i)
			index[e.ID] = i
		}
		for i, w := range want {
			j, ok := index[w.ID]
			require.True(t, ok, "event %d missing", i)
			e := got[j]
			require.JSONEq(t, string(w.Data), orig[j], "event %d", i)
			require.Equal(t, w.Type, e.Type)
			require.Equal(t, w.Metadata.CorrelationID, e.Metadata.CorrelationID)
			require.Equal(t, w.Metadata.Values, e.Metadata.Values)
			require.Equal(t, fmt.Sprintf("s-%d", i%2), e.StreamID)
		}
	}
	t.Run("ReadAll", func(t *testing.T) {
		var got []eventstore.RecordedEvent
		for e, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
			require.NoError(t, err)
			got = append(got, e)
		}
		for i := 1; i < len(got); i++ {
			require.True(t, got[i-1].Position.Before(got[i].Position), "global order at %d", i)
		}
		check(t, got)
	})
	t.Run("ReadAllBackwards", func(t *testing.T) {
		var got []eventstore.RecordedEvent
		for e, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{Direction: eventstore.Backwards}) {
			require.NoError(t, err)
			got = append(got, e)
		}
		for i := 1; i < len(got); i++ {
			require.True(t, got[i].Position.Before(got[i-1].Position), "backwards order at %d", i)
		}
		check(t, got)
	})
	t.Run("ReadStream", func(t *testing.T) {
		var got []eventstore.RecordedEvent
		for _, stream := range []string{"s-0", "s-1"} {
			v := uint64(0)
			for e, err := range s.ReadStream(ctx, stream, eventstore.ReadStreamOptions{}) {
				require.NoError(t, err)
				v++
				require.Equal(t, v, e.Version)
				got = append(got, e)
			}
		}
		check(t, got)
	})
}

// A stream read fetches its next page while it delivers the current one
// when its consumer is slow (see ReadStream; here always). Across pages of
// 4, forwards and backwards, from every kind of start and with every kind
// of limit, a read returns exactly the versions it should, in order; a
// consumer that stops early leaves no trouble behind (the page fetched
// ahead is abandoned and ends on its own, on a pool of two connections).
func TestReadStreamAcrossPages(t *testing.T) {
	espg.SetFetchAheadAlways(t)
	s, _, _ := newStoreConfig(t, espg.Config{PollInterval: 20 * time.Millisecond, PageSize: 4}, pgtest.MaxConns(2))
	ctx := context.Background()
	const total = 23
	for range total {
		_, err := s.Append(ctx, "pages", eventstore.Any, eventstore.NewEvent("E", []byte(`{}`)))
		require.NoError(t, err)
	}
	for _, dir := range []eventstore.Direction{eventstore.Forwards, eventstore.Backwards} {
		for _, from := range []uint64{0, 1, 4, 5, 20, 23} {
			for _, limit := range []int{0, 1, 3, 4, 5, 8, 9, 100} {
				var want []uint64
				if dir == eventstore.Forwards {
					for v := max(from, 1); v <= total; v++ {
						want = append(want, v)
					}
				} else {
					start := from
					if start == 0 {
						start = total
					}
					for v := start; v >= 1; v-- {
						want = append(want, v)
					}
				}
				if limit > 0 && len(want) > limit {
					want = want[:limit]
				}
				var got []uint64
				for e, err := range s.ReadStream(ctx, "pages", eventstore.ReadStreamOptions{Direction: dir, From: from, Limit: limit}) {
					require.NoError(t, err)
					got = append(got, e.Version)
				}
				require.Equal(t, want, got, "direction %v, from %d, limit %d", dir, from, limit)
			}
		}
	}
	for stop := 1; stop <= 12; stop++ {
		for range 5 {
			n := 0
			for _, err := range s.ReadStream(ctx, "pages", eventstore.ReadStreamOptions{}) {
				require.NoError(t, err)
				if n++; n == stop {
					break
				}
			}
		}
	}
	n := 0
	for _, err := range s.ReadStream(ctx, "pages", eventstore.ReadStreamOptions{}) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, total, n)
}
