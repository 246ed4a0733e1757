package batch

import (
	"slices"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
)

func TestEnd(t *testing.T) {
	text := func(n int) sdk.Comment { return sdk.Comment{Text: strings.Repeat("a", n)} }
	third := MaxBytes / 3
	tests := []struct {
		name     string
		comments []sdk.Comment
		size     int
		// calls is the number of comments in each call, in order.
		calls []int
	}{
		{"small comments go by count", []sdk.Comment{text(1), text(1), text(1), text(1), text(1)}, 2, []int{2, 2, 1}},
		{"large comments go by bytes", []sdk.Comment{text(third), text(third), text(third), text(third)}, 100, []int{2, 2}},
		{"a comment over the limit goes alone", []sdk.Comment{text(1), text(MaxBytes + 1), text(1)}, 100, []int{1, 1, 1}},
		{"one comment", []sdk.Comment{text(MaxBytes * 2)}, 100, []int{1}},
		{"none", nil, 100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []int
			for lo, hi := 0, 0; lo < len(tt.comments); lo = hi {
				hi = End(tt.comments, lo, tt.size)
				calls = append(calls, hi-lo)
			}
			if !slices.Equal(calls, tt.calls) {
				t.Errorf("calls %v, want %v", calls, tt.calls)
			}
		})
	}
}

func TestBytesCountsEveryField(t *testing.T) {
	base := Bytes(&sdk.Comment{})
	c := sdk.Comment{Text: "abc", Raw: []byte("12345"), Metadata: map[string]string{"k": "v"}}
	if got, want := Bytes(&c)-base, 3+5+8+2; got != want {
		t.Errorf("Bytes grew by %d, want %d", got, want)
	}
}
