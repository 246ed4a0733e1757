package sdk

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	pb "github.com/moderatorbot/moderator/sdk/proto/moderator/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// KV is a durable key-value store the host keeps for one plugin instance.
// Keys are private to the instance. Use it for what a plugin must remember
// across restarts (seen-text fingerprints, tokens) so the binary stays stateless.
type KV interface {
	// Get returns the value and whether the key exists.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Set stores value under key; ttl 0 keeps it until deleted.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// SetIfAbsent stores value only when key does not exist, atomically, and
	// reports whether it did.
	SetIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns up to limit entries whose keys start with prefix, in key
	// order, after startAfter; more reports whether there are further ones.
	List(ctx context.Context, prefix, startAfter string, limit int) (entries []KVEntry, more bool, err error)
}

// KVEntry is one key and its value.
type KVEntry struct {
	// Key is the key, without the host's instance scope.
	Key string
	// Value is what was stored under it.
	Value []byte
}

// KVWrite is one write of SetMany.
type KVWrite struct {
	// Key is the key to set.
	Key string
	// Value is what to store under it.
	Value []byte
	// TTL 0 keeps the key until it is deleted.
	TTL time.Duration
}

// KVQuery is one listing of ListMany, with List's arguments.
type KVQuery struct {
	// Prefix selects the keys that start with it.
	Prefix string
	// StartAfter lists only keys after it (the last key of the previous page).
	StartAfter string
	// Limit is the most entries to return.
	Limit int
}

// KVPage is ListMany's answer to one KVQuery, as List would give it.
type KVPage struct {
	// Entries are the keys found, in key order.
	Entries []KVEntry
	// More says there are further keys after the last entry.
	More bool
}

// KVBatcher is a KV that takes many writes or listings in one call. The
// host's KV is one: a plugin that reads or writes several keys for each
// comment of a batch should go through SetMany and ListMany, which use it,
// and pay one round trip (and, for writes, one durable commit) per batch
// instead of one per key.
type KVBatcher interface {
	SetMany(ctx context.Context, writes []KVWrite) error
	ListMany(ctx context.Context, queries []KVQuery) ([]KVPage, error)
}

// SetMany stores every write, through one call per kvMaxWrites when kv is a
// KVBatcher and one Set each otherwise. The writes are not atomic: after an
// error, some may be stored.
func SetMany(ctx context.Context, kv KV, writes []KVWrite) error {
	b, ok := kv.(KVBatcher)
	if !ok {
		for _, w := range writes {
			if err := kv.Set(ctx, w.Key, w.Value, w.TTL); err != nil {
				return err
			}
		}
		return nil
	}
	for len(writes) > 0 {
		n := min(len(writes), kvMaxWrites)
		if err := b.SetMany(ctx, writes[:n]); err != nil {
			return err
		}
		writes = writes[n:]
	}
	return nil
}

// ListMany answers every query as List would, in order, through one call
// per kvMaxQueries when kv is a KVBatcher and one List each otherwise.
func ListMany(ctx context.Context, kv KV, queries []KVQuery) ([]KVPage, error) {
	out := make([]KVPage, 0, len(queries))
	b, ok := kv.(KVBatcher)
	if !ok {
		for _, q := range queries {
			entries, more, err := kv.List(ctx, q.Prefix, q.StartAfter, q.Limit)
			if err != nil {
				return nil, err
			}
			out = append(out, KVPage{Entries: entries, More: more})
		}
		return out, nil
	}
	for len(queries) > 0 {
		n := min(len(queries), kvMaxQueries)
		pages, err := b.ListMany(ctx, queries[:n])
		if err != nil {
			return nil, err
		}
		if len(pages) != n {
			return nil, fmt.Errorf("kv list many: %d answers to %d queries", len(pages), n)
		}
		out = append(out, pages...)
		queries = queries[n:]
	}
	return out, nil
}

// KV list page sizes: the default when the caller asks for 0, and the cap;
// and how many writes or listings one batched call may carry.
const (
	kvDefaultLimit = 100
	kvMaxLimit     = 1000
	kvMaxWrites    = 10000
	kvMaxQueries   = 1000
)

func kvLimit(n int) int {
	switch {
	case n <= 0:
		return kvDefaultLimit
	case n > kvMaxLimit:
		return kvMaxLimit
	}
	return n
}

// NewMemoryKV returns a KV held in memory, for tests and for
// `moderator config check`, where nothing must be written.
func NewMemoryKV() KV { return &memoryKV{m: map[string]memEntry{}, now: time.Now} }

type memEntry struct {
	value   []byte
	expires time.Time
}

type memoryKV struct {
	mu  sync.Mutex
	m   map[string]memEntry
	now func() time.Time
}

func (k *memoryKV) live(key string) (memEntry, bool) {
	e, ok := k.m[key]
	if ok && !e.expires.IsZero() && !k.now().Before(e.expires) {
		delete(k.m, key)
		return memEntry{}, false
	}
	return e, ok
}

func (k *memoryKV) Get(_ context.Context, key string) ([]byte, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.live(key)
	return append([]byte(nil), e.value...), ok, nil
}

func (k *memoryKV) put(key string, value []byte, ttl time.Duration) {
	e := memEntry{value: append([]byte(nil), value...)}
	if ttl > 0 {
		e.expires = k.now().Add(ttl)
	}
	k.m[key] = e
}

func (k *memoryKV) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.put(key, value, ttl)
	return nil
}

func (k *memoryKV) SetIfAbsent(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.live(key); ok {
		return false, nil
	}
	k.put(key, value, ttl)
	return true, nil
}

func (k *memoryKV) Delete(_ context.Context, key string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, key)
	return nil
}

func (k *memoryKV) List(_ context.Context, prefix, startAfter string, limit int) ([]KVEntry, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var keys []string
	for key := range k.m {
		if strings.HasPrefix(key, prefix) && key > startAfter {
			if _, ok := k.live(key); ok {
				keys = append(keys, key)
			}
		}
	}
	sort.Strings(keys)
	limit = kvLimit(limit)
	more := len(keys) > limit
	if more {
		keys = keys[:limit]
	}
	out := make([]KVEntry, len(keys))
	for i, key := range keys {
		out[i] = KVEntry{Key: key, Value: append([]byte(nil), k.m[key].value...)}
	}
	return out, more, nil
}

// noKV answers every call with ErrNoHost.
type noKV struct{}

func (noKV) Get(context.Context, string) ([]byte, bool, error)        { return nil, false, ErrNoHost }
func (noKV) Set(context.Context, string, []byte, time.Duration) error { return ErrNoHost }
func (noKV) Delete(context.Context, string) error                     { return ErrNoHost }
func (noKV) SetIfAbsent(context.Context, string, []byte, time.Duration) (bool, error) {
	return false, ErrNoHost
}
func (noKV) List(context.Context, string, string, int) ([]KVEntry, bool, error) {
	return nil, false, ErrNoHost
}

// kvClient is the plugin's side of HostKVService.
type kvClient struct {
	c pb.HostKVServiceClient
}

func (k kvClient) Get(ctx context.Context, key string) ([]byte, bool, error) {
	r, err := k.c.Get(ctx, &pb.GetRequest{Key: key})
	if err != nil {
		return nil, false, fromStatus(err)
	}
	return r.Value, r.Found, nil
}

func setRequest(key string, value []byte, ttl time.Duration) *pb.SetRequest {
	req := &pb.SetRequest{Key: key, Value: value}
	if ttl > 0 {
		req.Ttl = durationpb.New(ttl)
	}
	return req
}

func (k kvClient) set(ctx context.Context, key string, value []byte, ttl time.Duration, onlyIfAbsent bool) (bool, error) {
	req := setRequest(key, value, ttl)
	req.OnlyIfAbsent = onlyIfAbsent
	r, err := k.c.Set(ctx, req)
	if err != nil {
		return false, fromStatus(err)
	}
	return r.Stored, nil
}

func (k kvClient) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	_, err := k.set(ctx, key, value, ttl, false)
	return err
}

func (k kvClient) SetIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	return k.set(ctx, key, value, ttl, true)
}

func (k kvClient) Delete(ctx context.Context, key string) error {
	_, err := k.c.Delete(ctx, &pb.DeleteRequest{Key: key})
	return fromStatus(err)
}

func (k kvClient) List(ctx context.Context, prefix, startAfter string, limit int) ([]KVEntry, bool, error) {
	r, err := k.c.List(ctx, &pb.ListRequest{Prefix: prefix, StartAfter: startAfter, Limit: int32(kvLimit(limit))})
	if err != nil {
		return nil, false, fromStatus(err)
	}
	p := pageFromPB(r)
	return p.Entries, p.More, nil
}

func pageFromPB(r *pb.ListResponse) KVPage {
	p := KVPage{More: r.More, Entries: make([]KVEntry, len(r.Entries))}
	for i, e := range r.Entries {
		p.Entries[i] = KVEntry{Key: e.Key, Value: e.Value}
	}
	return p
}

func pageToPB(entries []KVEntry, more bool) *pb.ListResponse {
	r := &pb.ListResponse{More: more, Entries: make([]*pb.KVEntry, len(entries))}
	for i, e := range entries {
		r.Entries[i] = &pb.KVEntry{Key: e.Key, Value: e.Value}
	}
	return r
}

// SetMany and ListMany fall back to a call per key when the host predates
// them.
func (k kvClient) SetMany(ctx context.Context, writes []KVWrite) error {
	req := &pb.SetManyRequest{Items: make([]*pb.SetRequest, len(writes))}
	for i, w := range writes {
		req.Items[i] = setRequest(w.Key, w.Value, w.TTL)
	}
	_, err := k.c.SetMany(ctx, req)
	if status.Code(err) == codes.Unimplemented {
		return SetMany(ctx, kvOneByOne{k}, writes)
	}
	return fromStatus(err)
}

func (k kvClient) ListMany(ctx context.Context, queries []KVQuery) ([]KVPage, error) {
	req := &pb.ListManyRequest{Queries: make([]*pb.ListRequest, len(queries))}
	for i, q := range queries {
		req.Queries[i] = &pb.ListRequest{Prefix: q.Prefix, StartAfter: q.StartAfter, Limit: int32(kvLimit(q.Limit))}
	}
	r, err := k.c.ListMany(ctx, req)
	if status.Code(err) == codes.Unimplemented {
		return ListMany(ctx, kvOneByOne{k}, queries)
	}
	if err != nil {
		return nil, fromStatus(err)
	}
	if len(r.Results) != len(queries) {
		return nil, fmt.Errorf("kv list many: the host gave %d answers to %d queries", len(r.Results), len(queries))
	}
	out := make([]KVPage, len(queries))
	for i, p := range r.Results {
		out[i] = pageFromPB(p)
	}
	return out, nil
}

// kvOneByOne hides a KV's batching, for the fallbacks above.
type kvOneByOne struct{ KV }

// kvServer is the host's side of HostKVService, serving one instance's KV.
type kvServer struct {
	pb.UnimplementedHostKVServiceServer
	kv KV
}

func (s *kvServer) Get(ctx context.Context, r *pb.GetRequest) (*pb.GetResponse, error) {
	v, ok, err := s.kv.Get(ctx, r.Key)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.GetResponse{Value: v, Found: ok}, nil
}

func (s *kvServer) Set(ctx context.Context, r *pb.SetRequest) (*pb.SetResponse, error) {
	ttl := r.Ttl.AsDuration()
	if r.OnlyIfAbsent {
		ok, err := s.kv.SetIfAbsent(ctx, r.Key, r.Value, ttl)
		if err != nil {
			return nil, toStatus(err)
		}
		return &pb.SetResponse{Stored: ok}, nil
	}
	if err := s.kv.Set(ctx, r.Key, r.Value, ttl); err != nil {
		return nil, toStatus(err)
	}
	return &pb.SetResponse{Stored: true}, nil
}

func (s *kvServer) Delete(ctx context.Context, r *pb.DeleteRequest) (*pb.DeleteResponse, error) {
	if err := s.kv.Delete(ctx, r.Key); err != nil {
		return nil, toStatus(err)
	}
	return &pb.DeleteResponse{}, nil
}

func (s *kvServer) List(ctx context.Context, r *pb.ListRequest) (*pb.ListResponse, error) {
	entries, more, err := s.kv.List(ctx, r.Prefix, r.StartAfter, kvLimit(int(r.Limit)))
	if err != nil {
		return nil, toStatus(err)
	}
	return pageToPB(entries, more), nil
}

func (s *kvServer) SetMany(ctx context.Context, r *pb.SetManyRequest) (*pb.SetManyResponse, error) {
	if len(r.Items) > kvMaxWrites {
		return nil, status.Errorf(codes.InvalidArgument, "set many: %d writes, at most %d per call", len(r.Items), kvMaxWrites)
	}
	writes := make([]KVWrite, len(r.Items))
	for i, it := range r.Items {
		if it.OnlyIfAbsent {
			return nil, status.Errorf(codes.InvalidArgument, "set many: write %d (%q) asks for only_if_absent: claims go through Set", i, it.Key)
		}
		writes[i] = KVWrite{Key: it.Key, Value: it.Value, TTL: it.Ttl.AsDuration()}
	}
	if err := SetMany(ctx, s.kv, writes); err != nil {
		return nil, toStatus(err)
	}
	return &pb.SetManyResponse{}, nil
}

func (s *kvServer) ListMany(ctx context.Context, r *pb.ListManyRequest) (*pb.ListManyResponse, error) {
	if len(r.Queries) > kvMaxQueries {
		return nil, status.Errorf(codes.InvalidArgument, "list many: %d queries, at most %d per call", len(r.Queries), kvMaxQueries)
	}
	queries := make([]KVQuery, len(r.Queries))
	for i, q := range r.Queries {
		queries[i] = KVQuery{Prefix: q.Prefix, StartAfter: q.StartAfter, Limit: kvLimit(int(q.Limit))}
	}
	pages, err := ListMany(ctx, s.kv, queries)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.ListManyResponse{Results: make([]*pb.ListResponse, len(pages))}
	for i, p := range pages {
		out.Results[i] = pageToPB(p.Entries, p.More)
	}
	return out, nil
}

// registerKV serves kv on a broker-accepted gRPC server.
func registerKV(kv KV) func([]grpc.ServerOption) *grpc.Server {
	return func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(opts...)
		pb.RegisterHostKVServiceServer(s, &kvServer{kv: kv})
		return s
	}
}
