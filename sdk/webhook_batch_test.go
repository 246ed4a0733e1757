package sdk_test

import (
	"context"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
	pb "github.com/moderatorbot/moderator/sdk/proto/moderator/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// A batch gets, delivery by delivery and in order, exactly what single
// Webhook calls get.
func TestWebhookBatchMatchesSingleCalls(t *testing.T) {
	p, _ := startEcho(t)
	var reqs []sdk.WebhookRequest
	for i := range 30 {
		r := sdk.WebhookRequest{Method: "POST", Path: "/other", Header: http.Header{"X-Signature": {"s"}}, Body: []byte{byte(i)}}
		if i%3 == 0 {
			r.Path = "/deliveries"
		}
		reqs = append(reqs, r)
	}
	outs, err := p.WebhookBatch(t.Context(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != len(reqs) {
		t.Fatalf("%d outcomes for %d deliveries", len(outs), len(reqs))
	}
	for i, r := range reqs {
		want, err := p.Webhook(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		if outs[i].Err != nil || !reflect.DeepEqual(outs[i].Response, want) {
			t.Errorf("delivery %d: batch gave %+v (%v), a single call %+v", i, outs[i].Response, outs[i].Err, want)
		}
	}
}

// panicsOnPath fails or panics on the deliveries whose path says so.
type panicsOnPath struct{ failing }

func (panicsOnPath) Webhook(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	if req.Path == "/panic" {
		panic("bad delivery")
	}
	return failing{}.Webhook(ctx, req)
}

// One delivery's error or panic is its own; the others in the batch stand.
func TestWebhookBatchFailuresStayWithTheirDelivery(t *testing.T) {
	p := plugintest.Start(t, sdk.Plugin{Info: sdk.Info{Name: "p", Version: "1", Platform: "test", Actions: []string{sdk.ActionHide}, TargetKinds: []string{sdk.TargetQuery}}, Connector: panicsOnPath{}})
	reqs := []sdk.WebhookRequest{{Path: "/fine"}, {Path: "/plain"}, {Path: "/panic"}, {Path: "/fine"}}
	outs, err := p.WebhookBatch(t.Context(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"", "connection reset by peer", "plugin panicked: bad delivery", ""} {
		got := ""
		if outs[i].Err != nil {
			got = outs[i].Err.Error()
		}
		if want == "" && (got != "" || outs[i].Response.Status != http.StatusOK) || want != "" && !strings.Contains(got, want) {
			t.Errorf("delivery %d (%s): outcome %+v, error %q; want error %q", i, reqs[i].Path, outs[i].Response, got, want)
		}
	}
	// The plugin is still there.
	if _, err := p.Webhook(t.Context(), sdk.WebhookRequest{Path: "/fine"}); err != nil {
		t.Fatal(err)
	}
}

// legacyConnector is a plugin built before WebhookBatch existed: its server
// does not know the method.
type legacyConnector struct {
	pb.UnimplementedConnectorServiceServer
	calls atomic.Int32
}

func (l *legacyConnector) Webhook(_ context.Context, r *pb.WebhookRequest) (*pb.WebhookResponse, error) {
	l.calls.Add(1)
	return &pb.WebhookResponse{Status: 202, Body: append([]byte("old:"), r.Body...)}, nil
}

func TestWebhookBatchFallsBackForOlderPlugins(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	legacy := &legacyConnector{}
	pb.RegisterConnectorServiceServer(srv, legacy)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p := sdk.NewRemotePluginOn(nil, conn)
	for round := range 2 {
		outs, err := p.WebhookBatch(t.Context(), []sdk.WebhookRequest{{Body: []byte("a")}, {Body: []byte("b")}})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, want := range []string{"old:a", "old:b"} {
			if outs[i].Err != nil || outs[i].Response.Status != 202 || string(outs[i].Response.Body) != want {
				t.Errorf("round %d delivery %d: %+v %v", round, i, outs[i].Response, outs[i].Err)
			}
		}
	}
	if n := legacy.calls.Load(); n != 4 {
		t.Errorf("%d single Webhook calls, want 4 (two rounds of two)", n)
	}
}
