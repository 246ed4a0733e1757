package sdk

import "time"

// NewMemoryKVAt is NewMemoryKV with a clock the test controls, so TTL expiry
// is tested without sleeping.
func NewMemoryKVAt(now func() time.Time) KV { return &memoryKV{m: map[string]memEntry{}, now: now} }

// NewRemotePluginOn is a RemotePlugin over any gRPC connection, so a test
// can stand a server that speaks an older protocol behind it.
var NewRemotePluginOn = newRemotePlugin
