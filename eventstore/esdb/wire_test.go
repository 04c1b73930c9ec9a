package esdb

// This file holds wireServer: an in-process gRPC server that speaks the
// streams and server-features services of EventStoreDB's published protobuf
// definitions (the generated packages the official client ships). It is
// NOT EventStoreDB: it keeps a log in memory with just enough of the
// server's rules (expected revisions, 0-based revisions, $all positions as
// commit/prepare pairs, catch-up subscriptions) to check that the store
// translates chronicle's model onto the wire and back. It never filters
// subscriptions (it records the filter it was sent), so the store's own
// client-side filtering is exercised too. The conformance suite runs
// against a real server in TestConformanceAgainstRealServer.

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"
	"github.com/kurrent-io/KurrentDB-Client-Go/protos/kurrentdb/protocols/v1/serverfeatures"
	"github.com/kurrent-io/KurrentDB-Client-Go/protos/kurrentdb/protocols/v1/shared"
	api "github.com/kurrent-io/KurrentDB-Client-Go/protos/kurrentdb/protocols/v1/streams"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type wireEvent struct {
	id       uuid.UUID
	stream   string
	revision uint64
	meta     map[string]string // system metadata: type, content-type, created
	custom   []byte            // user metadata
	data     []byte
	commit   uint64
	prepare  uint64
}

type wireServer struct {
	api.UnimplementedStreamsServer
	serverfeatures.UnimplementedServerFeaturesServer

	mu       sync.Mutex
	log      []wireEvent
	streams  map[string][]int // stream -> indexes into log
	next     uint64           // next log position
	appended chan struct{}    // closed and replaced on every write
	// What the client sent, for the tests to check.
	appendOpts []*api.AppendReq_Options
	readOpts   []*api.ReadReq_Options
	// dropAfter, when positive, makes the next subscription fail with
	// Unavailable after delivering that many events.
	dropAfter int
	// hold, when set, delays the answer to a successful append (written
	// already) until it is closed: a reply that comes too late.
	hold chan struct{}

	addr string
	grpc *grpc.Server
}

// startWireServer serves on 127.0.0.1:port (0 picks a free port) until the
// test ends.
func startWireServer(t *testing.T, port int) *wireServer {
	t.Helper()
	lis, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &wireServer{streams: map[string][]int{}, next: 1000, appended: make(chan struct{}), addr: lis.Addr().String(), grpc: grpc.NewServer()}
	api.RegisterStreamsServer(s.grpc, s)
	serverfeatures.RegisterServerFeaturesServer(s.grpc, s)
	go func() { _ = s.grpc.Serve(lis) }()
	t.Cleanup(s.grpc.Stop)
	return s
}

func (s *wireServer) connectionString() string {
	return "esdb://" + s.addr + "?tls=false"
}

func (s *wireServer) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: "24.10.0",
		Methods: []*serverfeatures.SupportedMethod{
			{MethodName: "read", ServiceName: "event_store.client.streams.streams"},
			{MethodName: "append", ServiceName: "event_store.client.streams.streams"},
		},
	}, nil
}

// put writes events to stream as if another writer had, bypassing the
// client: system events, foreign metadata.
func (s *wireServer) put(stream, eventType string, custom, data []byte) wireEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := uuid.New()
	s.write(stream, []*api.AppendReq_ProposedMessage{{
		Id:             &shared.UUID{Value: &shared.UUID_String_{String_: id.String()}},
		Metadata:       map[string]string{"type": eventType, "content-type": "application/json"},
		CustomMetadata: custom,
		Data:           data,
	}})
	return s.log[len(s.log)-1]
}

// write appends msgs to stream. The n events of one write share a commit
// position after their prepare positions, as in EventStoreDB's transaction
// records, so commit and prepare differ and a swap would show. Callers hold
// s.mu.
func (s *wireServer) write(stream string, msgs []*api.AppendReq_ProposedMessage) (first, last int) {
	base := s.next
	n := uint64(len(msgs))
	commit := base + 100*n
	created := strconv.FormatInt(time.Now().UnixNano()/100, 10)
	first = len(s.log)
	for i, m := range msgs {
		meta := map[string]string{"created": created}
		for k, v := range m.GetMetadata() {
			meta[k] = v
		}
		var id uuid.UUID
		if st := m.GetId().GetStructured(); st != nil {
			id, _ = kurrentdb.ParseUUIDFromInt64(st.MostSignificantBits, st.LeastSignificantBits)
		} else {
			id = uuid.MustParse(m.GetId().GetString_())
		}
		s.streams[stream] = append(s.streams[stream], len(s.log))
		s.log = append(s.log, wireEvent{
			id: id, stream: stream, revision: uint64(len(s.streams[stream]) - 1), meta: meta,
			custom: m.GetCustomMetadata(), data: m.GetData(), commit: commit, prepare: base + 100*uint64(i),
		})
	}
	s.next = commit + 100
	close(s.appended)
	s.appended = make(chan struct{})
	return first, len(s.log) - 1
}

func (s *wireServer) Append(stream grpc.ClientStreamingServer[api.AppendReq, api.AppendResp]) error {
	head, err := stream.Recv()
	if err != nil {
		return err
	}
	opts := head.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "first message is not options")
	}
	var msgs []*api.AppendReq_ProposedMessage
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		msgs = append(msgs, req.GetProposedMessage())
	}
	name := string(opts.GetStreamIdentifier().GetStreamName())

	s.mu.Lock()
	defer s.mu.Unlock()
	s.appendOpts = append(s.appendOpts, proto.Clone(opts).(*api.AppendReq_Options))
	count := len(s.streams[name])
	ok := false
	wrong := &api.AppendResp_WrongExpectedVersion{}
	switch e := opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Any:
		ok = true
		wrong.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
	case *api.AppendReq_Options_NoStream:
		ok = count == 0
		wrong.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case *api.AppendReq_Options_StreamExists:
		ok = count > 0
		wrong.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
	case *api.AppendReq_Options_Revision:
		ok = count > 0 && uint64(count-1) == e.Revision
		wrong.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: e.Revision}
	}
	if !ok {
		if count == 0 {
			wrong.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		} else {
			wrong.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(count - 1)}
		}
		return stream.SendAndClose(&api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: wrong}})
	}
	first, last := s.write(name, msgs)
	resp := &api.AppendResp{Result: &api.AppendResp_Success_{Success: &api.AppendResp_Success{
		CurrentRevisionOption: &api.AppendResp_Success_CurrentRevision{CurrentRevision: s.log[last].revision},
		PositionOption: &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{
			CommitPosition: s.log[last].commit, PreparePosition: s.log[first].prepare}},
	}}}
	if hold := s.hold; hold != nil {
		s.mu.Unlock()
		select {
		case <-hold:
		case <-stream.Context().Done():
		}
		s.mu.Lock()
	}
	return stream.SendAndClose(resp)
}

func (s *wireServer) Read(req *api.ReadReq, out grpc.ServerStreamingServer[api.ReadResp]) error {
	opts := req.GetOptions()
	s.mu.Lock()
	s.readOpts = append(s.readOpts, proto.Clone(opts).(*api.ReadReq_Options))
	s.mu.Unlock()
	switch {
	case opts.GetStream() != nil:
		return s.readStream(opts, out)
	case opts.GetSubscription() != nil:
		return s.subscribeAll(opts, out)
	default:
		return s.readAll(opts, out)
	}
}

func (s *wireServer) send(out grpc.ServerStreamingServer[api.ReadResp], e wireEvent) error {
	most, least := kurrentdb.UUIDAsInt64(e.id)
	return out.Send(&api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event: &api.ReadResp_ReadEvent_RecordedEvent{
			Id:               &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{MostSignificantBits: most, LeastSignificantBits: least}}},
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(e.stream)},
			StreamRevision:   e.revision,
			PreparePosition:  e.prepare,
			CommitPosition:   e.commit,
			Metadata:         e.meta,
			CustomMetadata:   e.custom,
			Data:             e.data,
		},
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: e.commit},
	}}})
}

func (s *wireServer) readStream(opts *api.ReadReq_Options, out grpc.ServerStreamingServer[api.ReadResp]) error {
	so := opts.GetStream()
	name := string(so.GetStreamIdentifier().GetStreamName())
	s.mu.Lock()
	idx := append([]int(nil), s.streams[name]...)
	evs := make([]wireEvent, len(idx))
	for i, j := range idx {
		evs[i] = s.log[j]
	}
	s.mu.Unlock()
	if len(evs) == 0 {
		return out.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)}}}})
	}
	backwards := opts.GetReadDirection() == api.ReadReq_Options_Backwards
	var from int64
	switch r := so.GetRevisionOption().(type) {
	case *api.ReadReq_Options_StreamOptions_Start:
		from = 0
	case *api.ReadReq_Options_StreamOptions_End:
		from = int64(len(evs) - 1)
	case *api.ReadReq_Options_StreamOptions_Revision:
		from = int64(r.Revision)
	}
	if backwards && from > int64(len(evs)-1) {
		from = int64(len(evs) - 1)
	}
	sent := uint64(0)
	for i := from; i >= 0 && i < int64(len(evs)) && sent < opts.GetCount(); sent++ {
		if err := s.send(out, evs[i]); err != nil {
			return err
		}
		if backwards {
			i--
		} else {
			i++
		}
	}
	return nil
}

func after(e wireEvent, commit, prepare uint64) bool {
	return e.commit > commit || (e.commit == commit && e.prepare > prepare)
}

func (s *wireServer) readAll(opts *api.ReadReq_Options, out grpc.ServerStreamingServer[api.ReadResp]) error {
	s.mu.Lock()
	evs := append([]wireEvent(nil), s.log...)
	s.mu.Unlock()
	backwards := opts.GetReadDirection() == api.ReadReq_Options_Backwards
	// Forwards from a position includes the event at it; backwards
	// excludes it, as EventStoreDB does.
	var order []wireEvent
	switch p := opts.GetAll().GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_Start:
		order = evs
	case *api.ReadReq_Options_AllOptions_End:
		if !backwards {
			return nil
		}
		order = evs
	case *api.ReadReq_Options_AllOptions_Position:
		for _, e := range evs {
			at := e.commit == p.Position.CommitPosition && e.prepare == p.Position.PreparePosition
			later := after(e, p.Position.CommitPosition, p.Position.PreparePosition)
			if (!backwards && (at || later)) || (backwards && !at && !later) {
				order = append(order, e)
			}
		}
	}
	sent := uint64(0)
	for k := range order {
		if sent == opts.GetCount() {
			break
		}
		e := order[k]
		if backwards {
			e = order[len(order)-1-k]
		}
		if err := s.send(out, e); err != nil {
			return err
		}
		sent++
	}
	return nil
}

func (s *wireServer) subscribeAll(opts *api.ReadReq_Options, out grpc.ServerStreamingServer[api.ReadResp]) error {
	if err := out.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{SubscriptionId: uuid.NewString()}}}); err != nil {
		return err
	}
	s.mu.Lock()
	next := 0
	switch p := opts.GetAll().GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_End:
		next = len(s.log)
	case *api.ReadReq_Options_AllOptions_Position:
		// Exclusive, as EventStoreDB's subscriptions are.
		for next < len(s.log) && !after(s.log[next], p.Position.CommitPosition, p.Position.PreparePosition) {
			next++
		}
	}
	dropAfter := s.dropAfter
	s.dropAfter = 0
	s.mu.Unlock()
	filtered := opts.GetFilter() != nil
	sent, caughtUp := 0, false
	for {
		s.mu.Lock()
		batch := append([]wireEvent(nil), s.log[next:]...)
		wait := s.appended
		s.mu.Unlock()
		for _, e := range batch {
			if dropAfter > 0 && sent == dropAfter {
				return status.Error(codes.Unavailable, "connection dropped by the test")
			}
			if err := s.send(out, e); err != nil {
				return err
			}
			sent++
			next++
			if filtered && sent%2 == 0 {
				// A checkpoint at the event just sent: the store must
				// neither deliver nor trip over it.
				if err := out.Send(&api.ReadResp{Content: &api.ReadResp_Checkpoint_{Checkpoint: &api.ReadResp_Checkpoint{
					CommitPosition: e.commit, PreparePosition: e.prepare, Timestamp: timestamppb.Now()}}}); err != nil {
					return err
				}
			}
		}
		if !caughtUp {
			caughtUp = true
			if err := out.Send(&api.ReadResp{Content: &api.ReadResp_CaughtUp_{CaughtUp: &api.ReadResp_CaughtUp{Timestamp: timestamppb.Now()}}}); err != nil {
				return err
			}
		}
		select {
		case <-wait:
		case <-out.Context().Done():
			return out.Context().Err()
		}
	}
}

// lastAppend returns the options of the last append the server received.
func (s *wireServer) lastAppend() *api.AppendReq_Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.appendOpts) == 0 {
		return nil
	}
	return s.appendOpts[len(s.appendOpts)-1]
}

func (s *wireServer) appendCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.appendOpts)
}

// reads returns the read requests received since the n-th.
func (s *wireServer) readsSince(n int) []*api.ReadReq_Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*api.ReadReq_Options(nil), s.readOpts[n:]...)
}

func (s *wireServer) readCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.readOpts)
}

func (s *wireServer) stored(stream string) []wireEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []wireEvent
	for _, j := range s.streams[stream] {
		out = append(out, s.log[j])
	}
	return out
}

func (s *wireServer) logLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

func (s *wireServer) dropNextSubscriptionAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropAfter = n
}

func (e wireEvent) String() string {
	return fmt.Sprintf("%s@%d {%d,%d}", e.stream, e.revision, e.commit, e.prepare)
}
