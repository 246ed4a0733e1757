package sdk_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

// gateSize is how many deliveries of one batch the SDK handles at once
// (webhookWorkers in serve.go).
const gateSize = 8

// gated is a connector whose streams stay open until the host ends them and
// whose webhook deliveries wait at a gate that opens once gateSize of them
// are inside; each answer carries the most deliveries ever inside at once.
type gated struct {
	mu                   sync.Mutex
	cond                 *sync.Cond
	inside, most, passed int
}

func (g *gated) Stream(ctx context.Context, _ sdk.StreamRequest, sink sdk.StreamSink) error {
	if err := sink.Comment(sdk.Comment{ID: "open"}); err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

func (g *gated) Webhook(context.Context, sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cond == nil {
		g.cond = sync.NewCond(&g.mu)
	}
	g.inside++
	g.most = max(g.most, g.inside)
	group := g.passed / gateSize
	g.passed++
	g.cond.Broadcast()
	for g.passed < (group+1)*gateSize {
		g.cond.Wait()
	}
	g.inside--
	return sdk.WebhookResponse{Status: http.StatusOK, Body: []byte(strconv.Itoa(g.most))}, nil
}

// In a real plugin process: with more streams open than the server keeps
// workers for, calls are still served, and a batch's deliveries are
// handled gateSize at a time, never more. Fewer at once would never open
// the gate (the call times out); more shows in the answers.
func TestWebhookBatchRunsDeliveriesSideBySide(t *testing.T) {
	cmd := helperCmd(t, "gated-connector")
	cmd.Env = append(cmd.Env, "GOMAXPROCS=2") // two stream workers
	proc := plugintest.LaunchCommand(t, cmd)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	var streams sync.WaitGroup
	streamCtx, stopStreams := context.WithCancel(ctx)
	defer func() { stopStreams(); streams.Wait() }()
	for range 4 {
		open := &openSink{opened: make(chan struct{})}
		streams.Go(func() { _ = proc.Plugin.Stream(streamCtx, sdk.StreamRequest{}, open) })
		select {
		case <-open.opened:
		case <-ctx.Done():
			t.Fatal("a stream did not open")
		}
	}

	reqs := make([]sdk.WebhookRequest, 2*gateSize)
	outs, err := proc.Plugin.WebhookBatch(ctx, reqs)
	if err != nil {
		t.Fatalf("batch of %d with 4 streams open: %v (fewer than %d deliveries at once never open the gate)", len(reqs), err, gateSize)
	}
	for i, o := range outs {
		if o.Err != nil {
			t.Fatalf("delivery %d: %v", i, o.Err)
		}
		if most := string(o.Response.Body); most != strconv.Itoa(gateSize) {
			t.Errorf("delivery %d: at most %s deliveries were handled at once, want %d", i, most, gateSize)
		}
	}
}

// openSink says when its stream's first comment arrives.
type openSink struct {
	once   sync.Once
	opened chan struct{}
}

func (o *openSink) Comment(sdk.Comment) error {
	o.once.Do(func() { close(o.opened) })
	return nil
}

func (o *openSink) Status(sdk.StreamStatus) error { return nil }
