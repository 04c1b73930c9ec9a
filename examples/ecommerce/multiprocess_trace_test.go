package main

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/chronicle-go/chronicle/examples/ecommerce/transport"
	"github.com/chronicle-go/chronicle/internal/brokertest"
	"github.com/chronicle-go/chronicle/pgtest"
)

// The test binary doubles as the example: run with ECOMMERCE_AS_MAIN=1 it
// is main itself, so a test can start real processes of it.
func TestMain(m *testing.M) {
	if os.Getenv("ECOMMERCE_AS_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// collector is an OTLP/HTTP trace receiver: what the processes export.
type collector struct {
	mu    sync.Mutex
	spans []exported
}

type exported struct {
	service, name       string
	trace, span, parent string
	orderID             string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" {
		http.Error(w, "traces only", http.StatusNotFound)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = gz
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				e := exported{service: service, name: s.Name, trace: hex.EncodeToString(s.TraceId),
					span: hex.EncodeToString(s.SpanId), parent: hex.EncodeToString(s.ParentSpanId)}
				for _, a := range s.Attributes {
					if a.Key == "ecommerce.order_id" {
						e.orderID = a.GetValue().GetStringValue()
					}
				}
				c.spans = append(c.spans, e)
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

// TestOneTraceAcrossProcesses runs the example as four processes on one
// PostgreSQL schema and NATS, each exporting its spans over OTLP/HTTP as
// the OTEL_* variables say, to a collector in the test: the trace of one
// order holds spans of every process, and every span's parent was
// exported by one of them — one trace from the client's command to the
// shipment, across processes and the broker.
func TestOneTraceAcrossProcesses(t *testing.T) {
	pgtest.Require(t)
	natsURL := brokertest.RequireNATS(t)
	schema := pgtest.Schema(t)
	t.Cleanup(func() { _ = transport.Remove(t.Context(), natsURL, schema) })
	col := &collector{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: col}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	start := func(name string, args ...string) (*exec.Cmd, *lockedBuffer) {
		cmd := exec.Command(os.Args[0], append([]string{"-postgres", pgtest.URL(), "-schema", schema, "-broker", natsURL, "-quiet",
			"-payment-deadline", "300ms"}, args...)...)
		cmd.Env = append(os.Environ(), "ECOMMERCE_AS_MAIN=1",
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+ln.Addr().String(), "OTEL_METRICS_EXPORTER=none",
			"OTEL_SERVICE_NAME=ecommerce-"+name, "OTEL_BSP_SCHEDULE_DELAY=100")
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, out
	}
	waitFor := func(out *lockedBuffer, what string) {
		for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), what); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q: %s", what, out.String())
			}
		}
	}
	type proc struct {
		cmd *exec.Cmd
		out *lockedBuffer
	}
	var servers []proc
	defer func() {
		for _, p := range servers {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	}()
	for i, roles := range []string{"projections,order", "inventory,payment,logistics,carriers", "fulfilment"} {
		args := []string{"-role", roles}
		if i == 0 {
			args = append(args, "-fresh") // drops, migrates, clears the broker's streams
		}
		cmd, out := start(strings.Split(roles, ",")[0], args...)
		servers = append(servers, proc{cmd, out})
		waitFor(out, "until interrupted")
	}
	client, out := start("client", "-role", "client", "-orders", "6", "-seed", "3",
		"-out-of-stock", "0", "-declined", "0", "-abandoned", "0", "-undeliverable", "0")
	if err := client.Wait(); err != nil {
		t.Fatalf("client: %v\n%s", err, out.String())
	}
	for _, p := range servers {
		_ = p.cmd.Process.Signal(os.Interrupt)
	}
	for _, p := range servers {
		if err := p.cmd.Wait(); err != nil {
			t.Errorf("server: %v\n%s", err, p.out.String())
		}
	}
	servers = nil

	col.mu.Lock()
	defer col.mu.Unlock()
	var traceID string
	for _, s := range col.spans {
		if s.name == "place order" && s.orderID == "o-00001" {
			traceID = s.trace
		}
	}
	if traceID == "" {
		t.Fatalf("no place order span for o-00001 among %d exported", len(col.spans))
	}
	ids := map[string]bool{}
	services := map[string]int{}
	var trace []exported
	for _, s := range col.spans {
		if s.trace == traceID {
			trace = append(trace, s)
			ids[s.span] = true
			services[s.service]++
		}
	}
	for _, want := range []string{"ecommerce-client", "ecommerce-projections", "ecommerce-inventory", "ecommerce-fulfilment"} {
		if services[want] == 0 {
			t.Errorf("no span of process %s in the order's trace (spans per process: %v)", want, services)
		}
	}
	names := map[string]bool{}
	for _, s := range trace {
		names[s.name] = true
		if s.parent != "" && !ids[s.parent] {
			t.Errorf("span %s (%s) has a parent no process exported", s.name, s.service)
		}
	}
	for _, want := range []string{"place order", "command order.Place", "saga fulfilment", "command inventory.Reserve",
		"command payment.Charge", "process logistics", "command logistics.Create", "command order.Complete"} {
		if !names[want] {
			t.Errorf("the order's trace has no %q", want)
		}
	}
	t.Logf("the order's trace: %d spans, per process %v", len(trace), services)
	if t.Failed() {
		var b bytes.Buffer
		for _, s := range trace {
			fmt.Fprintf(&b, "%s %s %s<-%s\n", s.service, s.name, s.span, s.parent)
		}
		t.Logf("the order's trace:\n%s", b.String())
	}
}
