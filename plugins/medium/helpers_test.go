package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/moderatorbot/moderator/plugins/medium/mediumtest"
	"github.com/moderatorbot/moderator/sdk"
)

// configured is the connector configured for fake f with the base config
// and extra keys (a nil value removes a key), called directly.
func configured(t *testing.T, f *mediumtest.Server, extra map[string]any) *Medium {
	t.Helper()
	table := baseConfig(f)
	for k, v := range extra {
		if v == nil {
			delete(table, k)
			continue
		}
		table[k] = v
	}
	data, _ := json.Marshal(table)
	m := &Medium{}
	if err := m.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: data}, KV: sdk.NewMemoryKV()}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return m
}

// ids lists the comments' ids, in order.
func ids(cs []sdk.Comment) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}
