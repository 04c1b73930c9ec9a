package esdb

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/stretchr/testify/require"
)

// TestUnreachableServer checks that every call against a port nobody
// listens on ends with an *UnavailableError (not a hang, not the test's
// deadline), and that the store recovers once a server listens there.
func TestUnreachableServer(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := lis.Addr().(*net.TCPAddr).Port
	require.NoError(t, lis.Close())

	// Default discovery settings: 10 attempts, 100ms apart.
	st, err := New(Config{ConnectionString: fmt.Sprintf("esdb://127.0.0.1:%d?tls=false", port)})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	ctx, cancel := contextFor(t)
	defer cancel()

	requireUnavailable := func(what string, err error) {
		t.Helper()
		require.Error(t, err, what)
		t.Logf("%s: %v", what, err)
		require.NotErrorIs(t, err, ctx.Err(), "%s must fail before the test's deadline", what)
		ue, ok := errors.AsType[*UnavailableError](err)
		require.True(t, ok, "%s: want *UnavailableError, got %T: %v", what, err, err)
		require.Contains(t, ue.Error(), fmt.Sprintf("127.0.0.1:%d", port), "the error names the server")
		require.True(t, eventstore.IsRetryable(err), "%s: unavailable is retryable", what)
	}
	requireUnavailable("Ping", st.Ping(ctx))
	_, err = st.Append(ctx, "s", eventstore.Any, eventstore.NewEvent("E", nil))
	requireUnavailable("Append", err)
	for _, err := range st.ReadStream(ctx, "s", eventstore.ReadStreamOptions{}) {
		requireUnavailable("ReadStream", err)
	}
	for _, err := range st.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		requireUnavailable("ReadAll", err)
	}
	for _, err := range st.Subscribe(ctx, eventstore.SubscribeOptions{}) {
		requireUnavailable("Subscribe", err)
	}

	// The official client closes itself for good after a failed
	// discovery; the store must start a new one and work once the server
	// is there.
	lis, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Skipf("port %d was taken in the meantime, cannot check recovery: %v", port, err)
	}
	require.NoError(t, lis.Close())
	startWireServer(t, port)
	require.NoError(t, st.Ping(ctx), "after the server came up")
	res, err := st.Append(ctx, "s", eventstore.NoStream, eventstore.NewEvent("E", nil))
	require.NoError(t, err)
	require.EqualValues(t, 1, res.Version)
}
