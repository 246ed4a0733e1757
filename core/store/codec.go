package store

import (
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"
	pb "github.com/moderatorbot/moderator/core/store/internal/storepb/moderator/store/v1"
	"github.com/moderatorbot/moderator/sdk"
)

// Records are written at every step of every comment, so their encoding is
// on the hot path: format 2 is protobuf (internal/storepb), several times
// cheaper than JSON to write and to read. Format 1 (JSON), which earlier
// versions wrote, is still read; a record moves to the current format the
// next time it is saved.
//
// Format 3 is format 2 compressed with S2 (klauspost/compress), used when it
// is smaller. A record holds the comment twice over, as fields and as the
// platform's raw payload: compressed (a third smaller for a short comment,
// more for a platform's verbose JSON) Badger's in-memory table fills that
// much more slowly, and each time it fills the host stalls its writes while
// the table is swapped and spends a burst of CPU writing it out; those
// stalls are the tail of the webhook latency under load. For the same
// reason the comment is written once, at intake, and each later step writes
// the rest of the record alone (putState).
const (
	valueRecordV2 byte = 2
	valueRecordV3 byte = 3
)

// maxRecordBytes bounds what a format 3 value may say it decompresses to:
// no record is near it (one transaction is at most a few MiB), and a
// damaged length must not become an allocation of gigabytes.
const maxRecordBytes = 64 << 20

// recordValue encodes a record as a stored value.
func recordValue(rec *Record) ([]byte, error) {
	m := recordToPB(rec)
	size := m.SizeVT()
	scratch := plainBuf.Get().(*[]byte)
	defer plainBuf.Put(scratch)
	if cap(*scratch) < size {
		*scratch = make([]byte, size)
	}
	plain := (*scratch)[:size]
	if _, err := m.MarshalToSizedBufferVT(plain); err != nil {
		return nil, fmt.Errorf("encode record %s: %w", rec.ID, err)
	}
	out := make([]byte, 1+s2.MaxEncodedLen(size))
	out[0] = valueRecordV3
	if n := len(s2.Encode(out[1:], plain)); n < size {
		return out[:1+n], nil
	}
	// Incompressible: stored as it is.
	out[0] = valueRecordV2
	return append(out[:1], plain...), nil
}

// plainBuf holds the protobuf form of a record on its way to S2.
var plainBuf = sync.Pool{New: func() any { return new([]byte) }}

// decodeRecord reads a stored record value of any format into rec.
func decodeRecord(raw []byte, rec *Record) error {
	if len(raw) == 0 {
		return fmt.Errorf("stored record is empty")
	}
	switch raw[0] {
	case valueRecordV3:
		n, err := s2.DecodedLen(raw[1:])
		if err != nil {
			return fmt.Errorf("decode record (format 3): %w", err)
		}
		if n > maxRecordBytes {
			return fmt.Errorf("decode record (format 3): says it holds %d bytes, more than a record can", n)
		}
		plain, err := s2.Decode(make([]byte, n), raw[1:])
		if err != nil {
			return fmt.Errorf("decode record (format 3): %w", err)
		}
		var m pb.Record
		if err := m.UnmarshalVT(plain); err != nil {
			return fmt.Errorf("decode record (format 3): %w", err)
		}
		*rec = recordFromPB(&m)
		return nil
	case valueRecordV2:
		var m pb.Record
		if err := m.UnmarshalVT(raw[1:]); err != nil {
			return fmt.Errorf("decode record: %w", err)
		}
		*rec = recordFromPB(&m)
		return nil
	case valueV1:
		if err := json.Unmarshal(raw[1:], rec); err != nil {
			return fmt.Errorf("decode record (format 1): %w", err)
		}
		return nil
	}
	return fmt.Errorf("stored record has unknown format %d", raw[0])
}

// nanos and fromNanos keep the zero time as 0 (UnixNano of the zero time
// is not defined). A time nanoseconds since 1970 cannot hold (before 1678,
// after 2262: a platform's garbage, never a real comment's) is stored as
// the nearest one they can, rather than as whatever UnixNano makes of it.
func nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func recordToPB(r *Record) *pb.Record {
	m := &pb.Record{
		Id: r.ID, Source: r.Source, State: string(r.State), SeenAt: nanos(r.SeenAt), UpdatedAt: nanos(r.UpdatedAt),
		Attempts: int64(r.Attempts), RetryAt: nanos(r.RetryAt), LastError: r.LastError, InReview: r.InReview,
		Comment: commentToPB(&r.Comment),
	}
	if d := r.Decision; d != nil {
		m.Decision = &pb.Decision{At: nanos(d.At), Rule: d.Rule, Action: d.Action, Reason: d.Reason, DryRun: d.DryRun, By: d.By,
			Platform: answerToPB(d.Platform), Analyses: make([]*pb.Analysis, len(d.Analyses))}
		for i, a := range d.Analyses {
			pa := &pb.Analysis{Analyzer: a.Analyzer, Plugin: a.Plugin, Version: a.Version, Error: a.Err, DurationMs: a.DurationMS}
			if len(a.Labels) > 0 {
				pa.Labels = make([]*pb.Label, len(a.Labels))
				for j, l := range a.Labels {
					pl := &pb.Label{Name: l.Name, Score: l.Score, Reason: l.Reason}
					if len(l.Spans) > 0 {
						pl.Spans = make([]int64, 0, 2*len(l.Spans))
						for _, s := range l.Spans {
							pl.Spans = append(pl.Spans, int64(s.Start), int64(s.End))
						}
					}
					pa.Labels[j] = pl
				}
			}
			m.Decision.Analyses[i] = pa
		}
	}
	for _, o := range r.Overrides {
		m.Overrides = append(m.Overrides, &pb.Override{At: nanos(o.At), Action: o.Action, Reason: o.Reason, By: o.By, Platform: answerToPB(o.Platform)})
	}
	return m
}

func commentToPB(c *sdk.Comment) *pb.Comment {
	return &pb.Comment{
		Platform: c.Platform, Connector: c.Connector, Id: c.ID, PostId: c.PostID, ParentId: c.ParentID,
		AuthorId: c.AuthorID, AuthorHandle: c.AuthorHandle, Text: c.Text, CreatedAt: nanos(c.CreatedAt),
		Version: c.Version, Url: c.URL, Raw: c.Raw, Deleted: c.Deleted, AuthorCreatedAt: nanos(c.AuthorCreatedAt),
		Lang: c.Lang, Metadata: c.Metadata,
	}
}

func answerToPB(a *PlatformAnswer) *pb.PlatformAnswer {
	if a == nil {
		return nil
	}
	return &pb.PlatformAnswer{At: nanos(a.At), Changed: a.Changed, Detail: a.Detail, Error: a.Err}
}

func recordFromPB(m *pb.Record) Record {
	r := Record{
		ID: m.Id, Source: m.Source, State: State(m.State), SeenAt: fromNanos(m.SeenAt), UpdatedAt: fromNanos(m.UpdatedAt),
		Attempts: int(m.Attempts), RetryAt: fromNanos(m.RetryAt), LastError: m.LastError, InReview: m.InReview,
	}
	if c := m.Comment; c != nil {
		r.Comment = sdk.Comment{
			Platform: c.Platform, Connector: c.Connector, ID: c.Id, PostID: c.PostId, ParentID: c.ParentId,
			AuthorID: c.AuthorId, AuthorHandle: c.AuthorHandle, Text: c.Text, CreatedAt: fromNanos(c.CreatedAt),
			Version: c.Version, URL: c.Url, Raw: c.Raw, Deleted: c.Deleted, AuthorCreatedAt: fromNanos(c.AuthorCreatedAt),
			Lang: c.Lang, Metadata: c.Metadata,
		}
	}
	if d := m.Decision; d != nil {
		r.Decision = &Decision{At: fromNanos(d.At), Rule: d.Rule, Action: d.Action, Reason: d.Reason, DryRun: d.DryRun, By: d.By,
			Platform: answerFromPB(d.Platform)}
		if len(d.Analyses) > 0 {
			r.Decision.Analyses = make([]Analysis, len(d.Analyses))
		}
		for i, a := range d.Analyses {
			an := Analysis{Analyzer: a.Analyzer, Plugin: a.Plugin, Version: a.Version, Err: a.Error, DurationMS: a.DurationMs}
			if len(a.Labels) > 0 {
				an.Labels = make([]sdk.Label, len(a.Labels))
				for j, l := range a.Labels {
					lb := sdk.Label{Name: l.Name, Score: l.Score, Reason: l.Reason}
					if n := len(l.Spans) / 2; n > 0 {
						lb.Spans = make([]sdk.Span, n)
						for k := range n {
							lb.Spans[k] = sdk.Span{Start: int(l.Spans[2*k]), End: int(l.Spans[2*k+1])}
						}
					}
					an.Labels[j] = lb
				}
			}
			r.Decision.Analyses[i] = an
		}
	}
	if len(m.Overrides) > 0 {
		r.Overrides = make([]Override, len(m.Overrides))
		for i, o := range m.Overrides {
			r.Overrides[i] = Override{At: fromNanos(o.At), Action: o.Action, Reason: o.Reason, By: o.By, Platform: answerFromPB(o.Platform)}
		}
	}
	return r
}

func answerFromPB(a *pb.PlatformAnswer) *PlatformAnswer {
	if a == nil {
		return nil
	}
	return &PlatformAnswer{At: fromNanos(a.At), Changed: a.Changed, Detail: a.Detail, Err: a.Error}
}
