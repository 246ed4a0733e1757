package sdk

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// codec encodes moderator's messages with the reflection-free code that
// protoc-gen-go-vtproto generated for them. Decoding copies the received
// message into one buffer of its own and lets every string and bytes field
// point into it, instead of allocating each one: a batch of comments becomes
// a handful of allocations rather than one per field, which is what crossing
// the plugin boundary mostly cost. go-plugin's own services (health, broker,
// stdio) fall back to protobuf-go. The bytes on the wire are standard
// protobuf either way, so plugins in other languages read them unchanged.
type codec struct{}

type vtMessage interface {
	MarshalVT() ([]byte, error)
	UnmarshalVTUnsafe([]byte) error
}

var _ encoding.CodecV2 = codec{}

func (codec) Marshal(v any) (mem.BufferSlice, error) {
	var data []byte
	var err error
	switch m := v.(type) {
	case vtMessage:
		data, err = m.MarshalVT()
	case proto.Message:
		data, err = proto.Marshal(m)
	default:
		return nil, fmt.Errorf("codec: cannot marshal %T", v)
	}
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(data)}, nil
}

func (codec) Unmarshal(data mem.BufferSlice, v any) error {
	switch m := v.(type) {
	case vtMessage:
		// Materialize allocates a buffer gRPC never reuses, so fields may
		// alias it for as long as the message lives.
		return m.UnmarshalVTUnsafe(data.Materialize())
	case proto.Message:
		return proto.Unmarshal(data.Materialize(), m)
	}
	return fmt.Errorf("codec: cannot unmarshal into %T", v)
}

// Name is "proto": the content-subtype peers expect for protobuf.
func (codec) Name() string { return "proto" }

func serverCodec() grpc.ServerOption { return grpc.ForceServerCodecV2(codec{}) }
func clientCodec() grpc.CallOption   { return grpc.ForceCodecV2(codec{}) }
