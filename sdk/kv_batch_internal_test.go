package sdk

import (
	"context"
	"net"
	"strings"
	"testing"

	pb "github.com/moderatorbot/moderator/sdk/proto/moderator/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// olderHost serves HostKVService as a host from before SetMany and ListMany
// did: those two answer Unimplemented.
type olderHost struct {
	pb.UnimplementedHostKVServiceServer
	kv *kvServer
}

func (h olderHost) Set(ctx context.Context, r *pb.SetRequest) (*pb.SetResponse, error) {
	return h.kv.Set(ctx, r)
}

func (h olderHost) List(ctx context.Context, r *pb.ListRequest) (*pb.ListResponse, error) {
	return h.kv.List(ctx, r)
}

// A plugin built with this SDK still gets its batches through on an older
// host, one call per key.
func TestKVBatchesOnAnOlderHost(t *testing.T) {
	store := NewMemoryKV()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterHostKVServiceServer(srv, olderHost{kv: &kvServer{kv: store}})
	go srv.Serve(ln)
	defer srv.Stop()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	kv := kvClient{c: pb.NewHostKVServiceClient(conn)}

	if err := SetMany(t.Context(), kv, []KVWrite{{Key: "a/1", Value: []byte("x")}, {Key: "a/2", Value: []byte("y")}}); err != nil {
		t.Fatal(err)
	}
	pages, err := ListMany(t.Context(), kv, []KVQuery{{Prefix: "a/", Limit: 1}, {Prefix: "a/", StartAfter: "a/1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 2 || len(pages[0].Entries) != 1 || !pages[0].More || pages[0].Entries[0].Key != "a/1" ||
		len(pages[1].Entries) != 1 || string(pages[1].Entries[0].Value) != "y" {
		t.Errorf("pages %+v", pages)
	}
}

// The host refuses what the SDK never sends, with a reason: claims inside a
// batch, and batches past the bounds.
func TestKVServerRefusesBadBatches(t *testing.T) {
	s := &kvServer{kv: NewMemoryKV()}
	ctx := context.Background()
	tooMany := &pb.SetManyRequest{Items: make([]*pb.SetRequest, kvMaxWrites+1)}
	for i := range tooMany.Items {
		tooMany.Items[i] = &pb.SetRequest{Key: "k"}
	}
	tooManyQueries := &pb.ListManyRequest{Queries: make([]*pb.ListRequest, kvMaxQueries+1)}
	for i := range tooManyQueries.Queries {
		tooManyQueries.Queries[i] = &pb.ListRequest{}
	}
	for _, c := range []struct {
		name string
		call func() error
		want string
	}{
		{"a claim", func() error {
			_, err := s.SetMany(ctx, &pb.SetManyRequest{Items: []*pb.SetRequest{{Key: "a"}, {Key: "b", OnlyIfAbsent: true}}})
			return err
		}, `write 1 ("b") asks for only_if_absent`},
		{"too many writes", func() error { _, err := s.SetMany(ctx, tooMany); return err }, "10001 writes, at most 10000"},
		{"too many queries", func() error { _, err := s.ListMany(ctx, tooManyQueries); return err }, "1001 queries, at most 1000"},
	} {
		err := c.call()
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want InvalidArgument saying %q", c.name, err, c.want)
		}
	}
	if _, ok, _ := s.kv.Get(ctx, "a"); ok {
		t.Error("a refused batch stored its first write")
	}
}
