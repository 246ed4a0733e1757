package sdk

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	pb "github.com/moderatorbot/moderator/sdk/proto/moderator/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Conversions between the Go types plugin authors see and the wire types.
// Both directions live here because both sides of the wire are in this package.

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func fromTS(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

// wireString makes s safe for a protobuf string field, which must be valid
// UTF-8 or the whole message fails to marshal: one comment with a stray byte
// would otherwise fail a whole Poll or Analyze batch. Each invalid byte
// becomes '?', one byte for one byte, so offsets into the text (an analyzer's
// spans) mean the same on both sides of the wire.
func wireString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := []byte(s)
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			b[i] = '?'
		}
		i += n
	}
	return string(b)
}

func wireMetadata(m map[string]string) map[string]string {
	for k, v := range m {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			out := make(map[string]string, len(m))
			for k, v := range m {
				out[wireString(k)] = wireString(v)
			}
			return out
		}
	}
	return m
}

// commentToPB fills dst, which the caller allocates: a batch takes one
// allocation for all its comments instead of one each.
func commentToPB(dst *pb.Comment, c *Comment) *pb.Comment {
	w := wireString
	dst.Platform, dst.Connector, dst.Id, dst.PostId, dst.ParentId = w(c.Platform), w(c.Connector), w(c.ID), w(c.PostID), w(c.ParentID)
	dst.AuthorId, dst.AuthorHandle, dst.Text, dst.CreatedAt = w(c.AuthorID), w(c.AuthorHandle), w(c.Text), ts(c.CreatedAt)
	dst.Version, dst.Url, dst.Raw, dst.Deleted, dst.AuthorCreatedAt = w(c.Version), w(c.URL), c.Raw, c.Deleted, ts(c.AuthorCreatedAt)
	dst.Lang, dst.Metadata = w(c.Lang), wireMetadata(c.Metadata)
	return dst
}

func commentFromPB(c *pb.Comment) Comment {
	return Comment{
		Platform: c.Platform, Connector: c.Connector, ID: c.Id, PostID: c.PostId, ParentID: c.ParentId,
		AuthorID: c.AuthorId, AuthorHandle: c.AuthorHandle, Text: c.Text, CreatedAt: fromTS(c.CreatedAt),
		Version: c.Version, URL: c.Url, Raw: c.Raw, Deleted: c.Deleted, AuthorCreatedAt: fromTS(c.AuthorCreatedAt),
		Lang: c.Lang, Metadata: c.Metadata,
	}
}

func commentsToPB(cs []Comment) []*pb.Comment {
	out := make([]*pb.Comment, len(cs))
	slab := make([]pb.Comment, len(cs))
	for i := range cs {
		out[i] = commentToPB(&slab[i], &cs[i])
	}
	return out
}

func commentsFromPB(cs []*pb.Comment) []Comment {
	out := make([]Comment, len(cs))
	for i, c := range cs {
		out[i] = commentFromPB(c)
	}
	return out
}

// resultsToPB converts a batch's results with one allocation per kind of
// message rather than one per message.
func resultsToPB(rs []Result) []*pb.AnalysisResult {
	nl, ns := 0, 0
	for i := range rs {
		nl += len(rs[i].Labels)
		for _, l := range rs[i].Labels {
			ns += len(l.Spans)
		}
	}
	out := make([]*pb.AnalysisResult, len(rs))
	results := make([]pb.AnalysisResult, len(rs))
	labels := make([]pb.Label, nl)
	labelPtrs := make([]*pb.Label, nl)
	spans := make([]pb.Span, ns)
	spanPtrs := make([]*pb.Span, ns)
	for i := range rs {
		r := &rs[i]
		pr := &results[i]
		pr.CommentId, pr.Error = wireString(r.CommentID), wireString(r.Err)
		if len(r.Labels) > 0 {
			pr.Labels, labelPtrs = labelPtrs[:len(r.Labels):len(r.Labels)], labelPtrs[len(r.Labels):]
			for j, l := range r.Labels {
				pl := &labels[0]
				labels = labels[1:]
				pl.Name, pl.Score, pl.Reason = wireString(l.Name), l.Score, wireString(l.Reason)
				if len(l.Spans) > 0 {
					pl.Spans, spanPtrs = spanPtrs[:len(l.Spans):len(l.Spans)], spanPtrs[len(l.Spans):]
					for k, sp := range l.Spans {
						spans[0].Start, spans[0].End = int32(sp.Start), int32(sp.End)
						pl.Spans[k] = &spans[0]
						spans = spans[1:]
					}
				}
				pr.Labels[j] = pl
			}
		}
		out[i] = pr
	}
	return out
}

// resultsFromPB converts a batch's results; labels and spans of all results
// share one allocation each.
func resultsFromPB(rs []*pb.AnalysisResult) []Result {
	nl, ns := 0, 0
	for _, r := range rs {
		nl += len(r.Labels)
		for _, l := range r.Labels {
			ns += len(l.Spans)
		}
	}
	out := make([]Result, len(rs))
	labels := make([]Label, nl)
	spans := make([]Span, ns)
	for i, r := range rs {
		out[i] = Result{CommentID: r.CommentId, Err: r.Error}
		if len(r.Labels) == 0 {
			continue
		}
		out[i].Labels, labels = labels[:len(r.Labels):len(r.Labels)], labels[len(r.Labels):]
		for j, l := range r.Labels {
			gl := &out[i].Labels[j]
			gl.Name, gl.Score, gl.Reason = l.Name, l.Score, l.Reason
			if len(l.Spans) > 0 {
				gl.Spans, spans = spans[:len(l.Spans):len(l.Spans)], spans[len(l.Spans):]
				for k, sp := range l.Spans {
					gl.Spans[k] = Span{Start: int(sp.Start), End: int(sp.End)}
				}
			}
		}
	}
	return out
}

func postToPB(p Post) *pb.Post {
	return &pb.Post{Id: wireString(p.ID), Url: wireString(p.URL), AuthorId: wireString(p.AuthorID), Title: wireString(p.Title), CreatedAt: ts(p.CreatedAt)}
}

func postFromPB(p *pb.Post) Post {
	return Post{ID: p.Id, URL: p.Url, AuthorID: p.AuthorId, Title: p.Title, CreatedAt: fromTS(p.CreatedAt)}
}

func rateLimitToPB(r RateLimit) *pb.RateLimit {
	if !r.Known() && r.Bucket == "" {
		return nil
	}
	return &pb.RateLimit{Limit: r.Limit, Remaining: r.Remaining, Reset_: ts(r.Reset), UsageCapExceeded: r.UsageCapExceeded, Bucket: r.Bucket}
}

func rateLimitFromPB(r *pb.RateLimit) RateLimit {
	if r == nil {
		return RateLimit{}
	}
	return RateLimit{Limit: r.Limit, Remaining: r.Remaining, Reset: fromTS(r.Reset_), UsageCapExceeded: r.UsageCapExceeded, Bucket: r.Bucket}
}

func headerToPB(h http.Header) []*pb.Header {
	out := make([]*pb.Header, 0, len(h))
	for k, v := range h {
		out = append(out, &pb.Header{Name: k, Values: v})
	}
	return out
}

func headerFromPB(hs []*pb.Header) http.Header {
	h := make(http.Header, len(hs))
	for _, x := range hs {
		k := http.CanonicalHeaderKey(x.Name)
		h[k] = append(h[k], x.Values...)
	}
	return h
}

func targetToPB(t Target) *pb.Target { return &pb.Target{Kind: t.Kind, Id: t.ID} }
func targetFromPB(t *pb.Target) Target {
	if t == nil {
		return Target{}
	}
	return Target{Kind: t.Kind, ID: t.Id}
}

// toStatus turns a plugin's error into a gRPC status the host can classify.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var rl *RateLimitedError
	switch {
	case errors.As(err, &rl):
		st := status.New(codes.ResourceExhausted, err.Error())
		if d, derr := st.WithDetails(rateLimitToPB(rl.RateLimit)); derr == nil && rateLimitToPB(rl.RateLimit) != nil {
			st = d
		}
		return st.Err()
	case errors.Is(err, ErrUnsupported):
		return status.Error(codes.Unimplemented, err.Error())
	case errors.Is(err, ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case IsPermanent(err):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, ErrNoHost):
		return status.Error(codes.Unavailable, err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}

// fromStatus turns a gRPC status back into the sdk's error values, so that
// errors.Is(err, ErrNotFound) and friends work on the other side of the wire.
func fromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	msg := errors.New(st.Message())
	switch st.Code() {
	case codes.ResourceExhausted:
		if tooLarge(st) {
			return &wireError{msg: st.Message(), is: ErrMessageTooLarge}
		}
		rl := &RateLimitedError{Err: msg}
		for _, d := range st.Details() {
			if r, ok := d.(*pb.RateLimit); ok {
				rl.RateLimit = rateLimitFromPB(r)
			}
		}
		return rl
	case codes.Unimplemented:
		return &wireError{msg: st.Message(), is: ErrUnsupported}
	case codes.NotFound:
		return &wireError{msg: st.Message(), is: ErrNotFound}
	case codes.FailedPrecondition:
		return Permanent(msg)
	case codes.Unknown:
		return msg
	}
	return err
}

// grpcSizeErrors begin the messages of the ResourceExhausted statuses gRPC
// itself makes for a message over the size limit, on the sending side
// ("trying to send") and on the receiving side (as sent, before or after
// decompression), after an optional "grpc: ".
var grpcSizeErrors = []string{
	"trying to send message larger than max",
	"received message larger than max",
	"message after decompression larger than max",
	"received message after decompression larger than max",
}

// tooLarge says whether a ResourceExhausted status is gRPC refusing a
// message over its size limit, rather than a rate limit (toStatus sends a
// RateLimitedError with the same code, its message beginning "rate
// limited" or "usage cap exceeded", sometimes with a RateLimit detail).
func tooLarge(st *status.Status) bool {
	if len(st.Details()) > 0 {
		return false
	}
	msg := strings.TrimPrefix(st.Message(), "grpc: ")
	for _, p := range grpcSizeErrors {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// wireError keeps the remote message while matching a sentinel with errors.Is.
type wireError struct {
	msg string
	is  error
}

func (e *wireError) Error() string        { return e.msg }
func (e *wireError) Is(target error) bool { return target == e.is }
