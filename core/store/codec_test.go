package store

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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
		Decision: &Decision{At: at, Rule: "r", Action: "hide", Reason: "because", DryRun: true,
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
			if raw[0] != valueRecordV2 {
				t.Fatalf("format byte %d, want %d", raw[0], valueRecordV2)
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
	for name, tc := range map[string]struct {
		raw  []byte
		want string
	}{
		"empty":          {nil, "empty"},
		"unknown format": {[]byte{9, 1, 2}, "unknown format 9"},
		"truncated":      {good[:len(good)-3], "decode record"},
		"bad json":       {[]byte{valueV1, '{'}, "format 1"},
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
		// spellings of one instant.
		if d := cmp.Diff(rec, back, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("round trip changed the record (-decoded +round trip):\n%s", d)
		}
	})
}
