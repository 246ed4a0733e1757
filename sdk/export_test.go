package sdk

import "time"

// NewMemoryKVAt is NewMemoryKV with a clock the test controls, so TTL expiry
// is tested without sleeping.
func NewMemoryKVAt(now func() time.Time) KV { return &memoryKV{m: map[string]memEntry{}, now: now} }
