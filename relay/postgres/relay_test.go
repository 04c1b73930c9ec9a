package postgres_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/broker/rabbitmq"
	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/inbox"
	inboxpg "github.com/chronicle-go/chronicle/inbox/postgres"
	"github.com/chronicle-go/chronicle/internal/brokertest"
	"github.com/chronicle-go/chronicle/internal/tcpproxy"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/relay"
	relaypg "github.com/chronicle-go/chronicle/relay/postgres"
)

type env struct {
	pool   *pgxpool.Pool
	schema string
	events *espg.Store
	state  *relaypg.Store
	inbox  *inboxpg.Store
}

var envOf *env

func setup(t *testing.T) *env {
	t.Helper()
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(16))
	ctx := context.Background()
	events, err := espg.New(pool, espg.Config{Schema: schema, PollInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	state, err := relaypg.New(pool, relaypg.Config{Schema: schema, Owner: "test", ClaimInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	in, err := inboxpg.New(pool, inboxpg.Config{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, events.Migrate(ctx))
	require.NoError(t, state.Migrate(ctx))
	require.NoError(t, in.Migrate(ctx))
	_, err = pool.Exec(ctx, `CREATE TABLE effects (message_id text NOT NULL, subject text NOT NULL, version bigint NOT NULL)`)
	require.NoError(t, err)
	envOf = &env{pool: pool, schema: schema, events: events, state: state, inbox: in}
	return envOf
}

// appendEvents appends n OrderPlaced events over 100 streams, 10 per
// append, and returns their IDs.
func appendEvents(t *testing.T, store eventstore.Store, n int, typ string) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for i := 0; i < n; i += 10 {
		var evs []eventstore.Event
		for j := i; j < min(i+10, n); j++ {
			e := eventstore.NewEvent(typ, fmt.Appendf(nil, `{"n":%d}`, j))
			evs = append(evs, e)
			ids = append(ids, e.ID.String())
		}
		_, err := store.Append(ctx, fmt.Sprintf("order-%d", (i/10)%100), eventstore.Any, evs...)
		require.NoError(t, err)
	}
	return ids
}

// effect records each application of a message.
var effect = inbox.HandlerFunc[*inboxpg.Tx](func(ctx context.Context, tx *inboxpg.Tx, m broker.Message) error {
	_, err := tx.Exec(ctx, `INSERT INTO effects (message_id, subject, version) VALUES ($1, $2, $3)`, m.ID, m.Subject, int64(m.StreamVersion))
	return err
})

func applied(t *testing.T, pool *pgxpool.Pool) map[string]int {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT message_id, count(*) FROM effects GROUP BY message_id`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		require.NoError(t, rows.Scan(&id, &n))
		out[id] = n
	}
	return out
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (relay: %+v)", what, record(t, envOf))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func record(t *testing.T, e *env) relay.Record {
	t.Helper()
	recs, err := e.state.Records(context.Background())
	require.NoError(t, err)
	for _, r := range recs {
		if r.Name == "orders" {
			return r
		}
	}
	return relay.Record{}
}

func startChild(t *testing.T, e *env, spec string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CHRONICLE_RELAY_CHILD="+e.schema, "CHRONICLE_RELAY_SPEC="+spec)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func runBG(fn func(ctx context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = fn(ctx) })
	return func() { cancel(); wg.Wait() }
}

// TestEndToEnd pushes 20,000 events through each broker while faults hit
// every part: the owning relay process is SIGKILLed mid-batch and a
// standby takes over; the new owner's connection to the broker is cut
// twice mid-publish; the killed process comes back as a standby; two
// inboxes consume, one through a connection cut twice mid-consume. A
// checker compares the log with what the consumers applied: every event
// once, nothing lost, nothing doubled.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 events per broker")
	}
	const n = 20000
	brokertest.Run(t, func(t *testing.T, f *brokertest.Fixture) {
		e := setup(t)
		ids := appendEvents(t, e.events, n/2, "OrderPlaced")

		// The first owner: a child process, killed mid-batch.
		child := startChild(t, e, f.Spec)
		waitFor(t, "the child to own the relay and publish", time.Minute, func() bool {
			r := record(t, e)
			return r.Owner == "child" && r.Published > 500
		})

		// The standby, in this process, publishing through a proxy.
		proxy := f.Proxy(t)
		pub := f.Publisher(t, proxy.Addr(), 256)
		standby, err := relay.New(e.events, e.state, pub, relayConfig())
		require.NoError(t, err)
		stopRelay := runBG(standby.Run)
		defer stopRelay()

		// The consumers.
		cproxy := f.Proxy(t)
		c1, _ := f.Consumer(t, cproxy.Addr())
		c2, _ := f.Consumer(t, "")
		icfg := inbox.Config{Name: "orders", BatchSize: 200, Backoff: 10 * time.Millisecond}
		in1, err := inbox.New(c1, e.inbox, effect, icfg)
		require.NoError(t, err)
		in2, err := inbox.New(c2, e.inbox, effect, icfg)
		require.NoError(t, err)
		stop1, stop2 := runBG(in1.Run), runBG(in2.Run)

		require.NoError(t, child.Process.Kill()) // SIGKILL, mid-batch
		_ = child.Wait()
		killedAt := record(t, e).Published
		t.Logf("child killed after %d published", killedAt)

		// More events while the standby takes over.
		more := make(chan []string, 1)
		go func() { more <- appendEvents(t, e.events, n/2, "OrderPlaced") }()
		waitFor(t, "the standby to take over", time.Minute, func() bool {
			r := record(t, e)
			return r.Owner == "test" && r.Published > killedAt+1000
		})
		// The killed process comes back, as a standby now.
		startChild(t, e, f.Spec)
		for i, cut := range []int{6000, 12000} {
			waitFor(t, "progress", 2*time.Minute, func() bool { return len(applied(t, e.pool)) >= cut })
			proxy.Cut()
			cproxy.Cut()
			t.Logf("cut %d at %d applied", i+1, cut)
		}
		ids = append(ids, <-more...)
		waitFor(t, "every event applied", 3*time.Minute, func() bool { return len(applied(t, e.pool)) >= n })
		time.Sleep(200 * time.Millisecond) // late redeliveries
		stop1()
		stop2()

		got := applied(t, e.pool)
		require.Len(t, got, n, "nothing lost, nothing foreign")
		for _, id := range ids {
			require.Equal(t, 1, got[id], "event %s applied once", id)
		}
		head, _, err := headOf(e.events)
		require.NoError(t, err)
		waitFor(t, "the checkpoint at the head", time.Minute, func() bool { return record(t, e).Checkpoint == head })
		r := record(t, e)
		require.True(t, r.Owned)
		require.Zero(t, r.Parked)
		require.GreaterOrEqual(t, r.Published, uint64(n), "at least once")
		s1, s2 := in1.Stats(), in2.Stats()
		t.Logf("relay published %d (for %d events); inboxes applied %d+%d, dropped %d+%d duplicates",
			r.Published, n, s1.Applied, s2.Applied, s1.Duplicates, s2.Duplicates)
	})
}

func headOf(store eventstore.Store) (eventstore.Position, time.Time, error) {
	for e, err := range store.ReadAll(context.Background(), eventstore.ReadAllOptions{Direction: eventstore.Backwards, Limit: 1}) {
		return e.Position, e.RecordedAt, err
	}
	return eventstore.Position{}, time.Time{}, nil
}

// TestOneOwnerAtATime races two relays for one name: one publishes, the
// other waits; when the owner is cut off from the database (its sessions,
// and the lease with them, end; it cannot reconnect, as a dead process
// would not), the standby takes over. When the deposed owner can reach the
// database again it stays a standby: it publishes nothing more while the
// new owner holds the relay.
//
// Killing the owner's sessions alone (pg_terminate_backend) would not do:
// its pool reconnects at once and it may claim again before the standby
// does, which is correct behaviour and not what this test is about.
func TestOneOwnerAtATime(t *testing.T) {
	f := brokertest.JetStream(t)
	e := setup(t)
	ids := appendEvents(t, e.events, 2000, "OrderPlaced")
	// Relay a reaches PostgreSQL through a proxy of its own, so it can be
	// cut off.
	acfg := pgtest.Config(t, e.schema)
	proxy, err := tcpproxy.Start(net.JoinHostPort(acfg.ConnConfig.Host, strconv.Itoa(int(acfg.ConnConfig.Port))))
	require.NoError(t, err)
	defer proxy.Close()
	host, port, err := net.SplitHostPort(proxy.Addr())
	require.NoError(t, err)
	pport, err := strconv.Atoi(port)
	require.NoError(t, err)
	acfg.ConnConfig.Host, acfg.ConnConfig.Port = host, uint16(pport)
	acfg.ConnConfig.RuntimeParams["application_name"] = e.schema + "_a"
	apool, err := pgxpool.NewWithConfig(context.Background(), acfg)
	require.NoError(t, err)
	defer apool.Close()
	astate, err := relaypg.New(apool, relaypg.Config{Schema: e.schema, Owner: "a", ClaimInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	bstate, err := relaypg.New(e.pool, relaypg.Config{Schema: e.schema, Owner: "b", ClaimInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	counting := func(p broker.Publisher, n *int64, mu *sync.Mutex) broker.Publisher {
		return publisherFunc(func(ctx context.Context, m broker.Message) (broker.Confirmation, error) {
			mu.Lock()
			*n++
			mu.Unlock()
			return p.Publish(ctx, m)
		})
	}
	var mu sync.Mutex
	var na, nb int64
	ra, err := relay.New(e.events, astate, counting(f.Publisher(t, "", 64), &na, &mu), relayConfig())
	require.NoError(t, err)
	rb, err := relay.New(e.events, bstate, counting(f.Publisher(t, "", 64), &nb, &mu), relayConfig())
	require.NoError(t, err)
	stopA := runBG(ra.Run)
	defer stopA()
	waitFor(t, "a to own the relay", 30*time.Second, func() bool { return record(t, e).Owner == "a" })
	stopB := runBG(rb.Run)
	defer stopB()
	waitFor(t, "a to relay everything", 30*time.Second, func() bool { return record(t, e).Published >= 2000 })
	mu.Lock()
	require.Zero(t, nb, "the standby published nothing while a owned the relay")
	mu.Unlock()

	// Cut a off: its sessions end (the lease with them) and it cannot
	// reconnect; b takes over.
	proxy.Refuse(true)
	require.Positive(t, proxy.Cut())
	more := appendEvents(t, e.events, 1000, "OrderPlaced")
	waitFor(t, "b to take over", 60*time.Second, func() bool {
		r := record(t, e)
		return r.Owner == "b" && r.Published >= 3000
	})
	mu.Lock()
	require.Positive(t, nb)
	mu.Unlock()
	ids = append(ids, more...)

	// a can reach the database again: it claims as a standby and waits.
	accepted := proxy.Accepted()
	proxy.Refuse(false)
	waitFor(t, "a to reconnect", 30*time.Second, func() bool { return proxy.Accepted() > accepted })
	mu.Lock()
	naBefore := na
	mu.Unlock()
	last := appendEvents(t, e.events, 200, "OrderPlaced")
	waitFor(t, "b to relay the rest", 60*time.Second, func() bool {
		r := record(t, e)
		return r.Owner == "b" && r.Published >= 3200
	})
	time.Sleep(300 * time.Millisecond) // several of a's claim intervals
	mu.Lock()
	require.Equal(t, naBefore, na, "the deposed owner published nothing while b owned the relay")
	mu.Unlock()
	ids = append(ids, last...)

	// Everything is in the stream, once (the server drops duplicates).
	c, _ := f.Consumer(t, "")
	seen := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(seen) < len(ids) {
		ds, err := c.Receive(ctx, 500)
		require.NoError(t, err)
		for _, d := range ds {
			m, err := d.Message()
			require.NoError(t, err)
			seen[m.ID]++
			require.NoError(t, d.Ack(ctx))
		}
	}
	for _, id := range ids {
		require.Equal(t, 1, seen[id])
	}
}

type publisherFunc func(ctx context.Context, m broker.Message) (broker.Confirmation, error)

func (f publisherFunc) Publish(ctx context.Context, m broker.Message) (broker.Confirmation, error) {
	return f(ctx, m)
}

// TestRefusedIsParked: RabbitMQ refuses a type no queue is bound to (and
// JetStream a message over the stream's size limit); the relay parks it
// and goes on. Retried once a queue is bound, it is published; Skip
// forgets another.
func TestRefusedIsParked(t *testing.T) {
	f := brokertest.RabbitMQ(t, "OrderPlaced")
	e := setup(t)
	ctx := context.Background()
	before := appendEvents(t, e.events, 50, "OrderPlaced")
	lost := appendEvents(t, e.events, 2, "NobodyListens")
	after := appendEvents(t, e.events, 50, "OrderPlaced")
	r, err := relay.New(e.events, e.state, f.Publisher(t, "", 64), relayConfig())
	require.NoError(t, err)
	stop := runBG(r.Run)
	defer stop()
	waitFor(t, "the relay to pass the refused messages", 30*time.Second, func() bool {
		rec := record(t, e)
		return rec.Published >= 100 && rec.Parked == 2
	})
	parked, err := e.state.Parked(ctx, "orders")
	require.NoError(t, err)
	require.Len(t, parked, 2)
	for i, p := range parked {
		require.Equal(t, lost[i], p.Message.ID)
		require.Equal(t, "NobodyListens", p.Message.Type)
		require.Equal(t, relay.StateParked, p.State)
		require.Contains(t, p.Error, "unroutable")
		require.NotEmpty(t, p.Message.Data)
	}
	st, err := r.Status(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, st.Parked)
	require.Zero(t, st.LagEvents)

	n, err := e.state.Skip(ctx, "orders", lost[1])
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = e.state.Retry(ctx, "orders", "")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	// Still unroutable: parked again, one attempt more.
	waitFor(t, "the retry to be tried", 30*time.Second, func() bool {
		p, _ := e.state.Parked(ctx, "orders")
		return len(p) == 1 && p[0].State == relay.StateParked && p[0].Attempts == 2
	})
	// Bind a queue for it, and retry: published.
	exchange := strings.TrimPrefix(f.Spec, "rabbitmq:")
	late := rabbitmq.Topology{Queues: []rabbitmq.Queue{{Name: exchange + ".late", Keys: []string{"NobodyListens"}}}, Exchange: exchange}
	require.NoError(t, rabbitmq.Provision(ctx, brokertest.AMQP(), late))
	t.Cleanup(func() {
		_ = rabbitmq.Delete(context.Background(), brokertest.AMQP(), rabbitmq.Topology{Queues: late.Queues})
	})
	_, err = e.state.Retry(ctx, "orders", lost[0])
	require.NoError(t, err)
	waitFor(t, "the retried message to be published", 30*time.Second, func() bool {
		p, _ := e.state.Parked(ctx, "orders")
		return len(p) == 0
	})
	_, err = e.state.Retry(ctx, "nope", "")
	require.ErrorIs(t, err, relay.ErrUnknownRelay)
	require.Len(t, before, 50)
	require.Len(t, after, 50)
}
