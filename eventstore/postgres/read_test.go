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
