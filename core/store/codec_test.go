package store

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/klauspost/compress/s2"
	"github.com/moderatorbot/moderator/sdk"
)

func fullRecord() Record {
	at := time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)
	return Record{
		ID: "abc", Source: "webhook", State: StateActed, SeenAt: at, UpdatedAt: at.Add(time.Second), Attempts: 2,
		RetryAt: at.Add(time.Minute), LastError: "earlier failure", InReview: true,
		Comment: sdk.Comment{Platform: "twitter", Connector: "tw", ID: "c1", PostID: "p1", ParentID: "c0", AuthorID: "u1",
			AuthorHandle: "@u", Text: "héllo \x00 wörld", CreatedAt: at.Add(-time.Hour), Version: "v2", URL: "https://x/1",
			Raw: []byte{0, 1, 2}, Deleted: true, AuthorCreatedAt: at.AddDate(-3, 0, 0), Lang: "en", Metadata: map[string]string{"k": "v"}},
		Decision: &Decision{At: at, Rule: "r", Action: "hide", Reason: "because", DryRun: true, By: "dana",
			Analyses: []Analysis{
				{Analyzer: "rules", Plugin: "rules", Version: "1.0", DurationMS: 1.5,
					Labels: []sdk.Label{{Name: "insult", Score: 0.9, Reason: "word", Spans: []sdk.Span{{Start: 0, End: 5}, {Start: 7, End: 9}}}, {Name: "spam", Score: 0.1}}},
				{Analyzer: "http", Err: "timed out"},
			},
			Platform: &PlatformAnswer{At: at, Changed: true, Detail: "hidden", Err: ""}},
		Overrides: []Override{{At: at, Action: "approve", Reason: "fine", By: "admin", Platform: &PlatformAnswer{At: at, Err: "gone"}}},
	}
}

func TestRecordCodecRoundTrip(t *testing.T) {
	for name, rec := range map[string]Record{
		"full":           fullRecord(),
		"just seen":      {ID: "x", State: StateSeen, Comment: sdk.Comment{ID: "1", Text: "hi"}},
		"invalid UTF-8":  {ID: "z", State: StateSeen, Comment: sdk.Comment{ID: "2", Text: "bad \xff byte"}},
		"empty decision": {ID: "y", State: StateDecided, Decision: &Decision{Action: "approve"}},
	} {
		t.Run(name, func(t *testing.T) {
			raw, err := recordValue(&rec)
			if err != nil {
				t.Fatal(err)
			}
			if raw[0] != valueRecordV2 && raw[0] != valueRecordV3 {
				t.Fatalf("format byte %d, want %d or %d", raw[0], valueRecordV2, valueRecordV3)
			}
			var got Record
			if err := decodeRecord(raw, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, rec) {
				t.Fatalf("round trip changed the record:\n got %+v\nwant %+v", got, rec)
			}
		})
	}
}

// A record with a platform's payload is stored compressed (format 3), and
// smaller than as plain protobuf; one that does not compress is stored
// plain (format 2). Both read back as written.
func TestRecordCodecCompresses(t *testing.T) {
	text := "load test comment 1763755200000000123, a calm and ordinary reply"
	payload := Record{ID: "0123456789abcdef", State: StateSeen, Source: "webhook", Comment: sdk.Comment{
		Platform: "synthetic", Connector: "syn", ID: "1763755200000000123", PostID: "1000", AuthorID: "17", AuthorHandle: "loadgen", Text: text,
		Raw: []byte(`{"id":"1763755200000000123","post_id":"1000","author_id":"17","author_handle":"loadgen","text":"` + text + `"}`)}}
	noise := Record{ID: "n", Comment: sdk.Comment{ID: "1", Raw: make([]byte, 300)}}
	for i := range noise.Comment.Raw {
		noise.Comment.Raw[i] = byte(i*i*7919 + i>>3) // no repeats for S2 to find
	}
	for name, tc := range map[string]struct {
		rec    Record
		format byte
	}{"payload": {payload, valueRecordV3}, "noise": {noise, valueRecordV2}} {
		t.Run(name, func(t *testing.T) {
			raw, err := recordValue(&tc.rec)
			if err != nil {
				t.Fatal(err)
			}
			plain := 1 + recordToPB(&tc.rec).SizeVT()
			if raw[0] != tc.format || tc.format == valueRecordV3 && len(raw) >= plain {
				t.Fatalf("stored as format %d in %d bytes (plain protobuf: %d); want format %d, and smaller when compressed", raw[0], len(raw), plain, tc.format)
			}
			var got Record
			if err := decodeRecord(raw, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.rec) {
				t.Fatalf("read back as\n%+v\nwant %+v", got, tc.rec)
			}
		})
	}
}

// Records written by earlier versions (format 2, plain protobuf) are still
// read.
func TestRecordCodecReadsFormat2(t *testing.T) {
	rec := fullRecord()
	m := recordToPB(&rec)
	raw, err := m.MarshalVT()
	if err != nil {
		t.Fatal(err)
	}
	var got Record
	if err := decodeRecord(append([]byte{valueRecordV2}, raw...), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rec) {
		t.Fatalf("format 2 read back as\n%+v\nwant %+v", got, rec)
	}
}

// Records written by earlier versions (format 1, JSON) are still read.
func TestRecordCodecReadsFormat1(t *testing.T) {
	rec := fullRecord()
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var got Record
	if err := decodeRecord(append([]byte{valueV1}, data...), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rec) {
		t.Fatalf("format 1 read back as\n%+v\nwant %+v", got, rec)
	}
}

func TestRecordCodecRejects(t *testing.T) {
	good, _ := recordValue(&Record{ID: "x", Comment: sdk.Comment{Text: "some text"}})
	packed, _ := recordValue(&Record{ID: "x", Comment: sdk.Comment{Text: strings.Repeat("some text ", 20)}})
	if packed[0] != valueRecordV3 {
		t.Fatalf("a repetitive record was stored as format %d", packed[0])
	}
	for name, tc := range map[string]struct {
		raw  []byte
		want string
	}{
		"empty":           {nil, "empty"},
		"unknown format":  {[]byte{9, 1, 2}, "unknown format 9"},
		"truncated":       {good[:len(good)-3], "decode record"},
		"bad json":        {[]byte{valueV1, '{'}, "format 1"},
		"truncated s2":    {packed[:len(packed)-3], "format 3"},
		"s2 not protobuf": {append([]byte{valueRecordV3}, s2.Encode(nil, []byte{0x0a, 0xff})...), "format 3"},
		"s2 too big":      {[]byte{valueRecordV3, 0xff, 0xff, 0xff, 0xff, 0x0f}, "more than a record can"},
	} {
		t.Run(name, func(t *testing.T) {
			var rec Record
			err := decodeRecord(tc.raw, &rec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func BenchmarkRecordCodec(b *testing.B) {
	rec := fullRecord()
	b.Run("protobuf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw, _ := recordValue(&rec)
			var got Record
			if err := decodeRecord(raw, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw, _ := jsonValue(rec)
			var got Record
			if err := decodeRecord(raw, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzDecodeRecord: a stored value of any shape either decodes or is refused
// with an error, never a panic; what decodes encodes again to a value that
// decodes to the same record.
func FuzzDecodeRecord(f *testing.F) {
	full := fullRecord()
	for _, rec := range []*Record{&full, {ID: "x", Comment: sdk.Comment{Text: "hi"}}} {
		raw, err := recordValue(rec)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		js, _ := jsonValue(rec)
		f.Add(js)
	}
	f.Add([]byte{valueRecordV2, 0x0a, 0xff})
	f.Add([]byte{valueRecordV3, 0x05, 0x10, 0x0a, 0x01, 'x'})
	f.Fuzz(func(t *testing.T, raw []byte) {
		var rec Record
		if err := decodeRecord(raw, &rec); err != nil {
			return
		}
		again, err := recordValue(&rec)
		if err != nil {
			t.Fatalf("a decoded record does not encode: %v", err)
		}
		var back Record
		if err := decodeRecord(again, &back); err != nil {
			t.Fatalf("a re-encoded record does not decode: %v", err)
		}
		// An empty list or map and none are the same record; so are two
		// spellings of one instant, and a time as stored (see nanos).
		asStored := cmp.Transformer("stored", func(t time.Time) time.Time { return fromNanos(nanos(t)) })
		if d := cmp.Diff(rec, back, cmpopts.EquateEmpty(), asStored); d != "" {
			t.Fatalf("round trip changed the record (-decoded +round trip):\n%s", d)
		}
	})
}

// A time out of UnixNano's range (a platform's garbage) is stored as the
// nearest one it can hold, not as whatever the overflow makes of it.
func TestRecordCodecClampsTimesOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		in, want time.Time
	}{
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, math.MaxInt64).UTC()},
		{time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), time.Unix(0, math.MinInt64).UTC()},
		{time.Date(2026, 11, 21, 1, 2, 3, 4, time.UTC), time.Date(2026, 11, 21, 1, 2, 3, 4, time.UTC)},
	} {
		rec := Record{ID: "t", Comment: sdk.Comment{ID: "1", CreatedAt: tc.in}}
		raw, err := recordValue(&rec)
		if err != nil {
			t.Fatal(err)
		}
		var got Record
		if err := decodeRecord(raw, &got); err != nil {
			t.Fatal(err)
		}
		if !got.Comment.CreatedAt.Equal(tc.want) {
			t.Errorf("created %s stored as %s, want %s", tc.in, got.Comment.CreatedAt, tc.want)
		}
	}
}
