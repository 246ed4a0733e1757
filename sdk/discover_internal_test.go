package sdk

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	pb "github.com/moderatorbot/moderator/sdk/proto/moderator/v1"
)

// discoverCounter counts its Discover calls and expands anything.
type discoverCounter struct{ calls int }

func (d *discoverCounter) Discover(context.Context, DiscoverRequest) (DiscoverResponse, error) {
	d.calls++
	return DiscoverResponse{Posts: []Post{{ID: "p1"}}}, nil
}

// Serve's side on its own, as a host that checks nothing (one not built
// with this SDK) reaches it: an undeclared target kind is refused there,
// before the connector's Discover runs.
func TestServeRefusesAnUndeclaredTargetKind(t *testing.T) {
	tests := []struct {
		kind    string
		wantErr string // "" for a declared kind
	}{
		{kind: TargetAuthor},
		{kind: TargetQuery, wantErr: `discover query "q": target kind "query" is not one connector counter declares in Info.TargetKinds ("author"): unsupported`},
		{kind: TargetPost, wantErr: `target kind "post" is not one connector counter declares`},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			c := &discoverCounter{}
			p := &Plugin{Info: Info{Name: "counter", Version: "1", Platform: "test", TargetKinds: []string{TargetAuthor}}, Connector: c}
			if err := p.Check(); err != nil {
				t.Fatal(err)
			}
			s := &connectorServer{p: p, c: p.Connector, log: hclog.NewNullLogger()}
			resp, err := s.Discover(t.Context(), &pb.DiscoverRequest{Target: &pb.Target{Kind: tt.kind, Id: "q"}})
			if tt.wantErr == "" {
				if err != nil || c.calls != 1 || len(resp.Posts) != 1 {
					t.Fatalf("declared kind: %v, %d calls, %v; want it expanded", err, c.calls, resp)
				}
				return
			}
			err = fromStatus(err) // what the host makes of it
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrUnsupported) {
				t.Errorf("Discover(%q) = %v, want an error matching ErrUnsupported containing %q", tt.kind, err, tt.wantErr)
			}
			if c.calls != 0 {
				t.Errorf("Discover(%q) reached the connector's Discover", tt.kind)
			}
		})
	}
}
