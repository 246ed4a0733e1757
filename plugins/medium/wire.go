package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/moderatorbot/moderator/sdk"
)

// msTime is a time in the API's JSON: epoch milliseconds as a number (what
// Medium's API and the tracking guide use), or as a string of digits, or an
// RFC 3339 string (what some proxies send). null or absent is the zero time.
type msTime struct{ time.Time }

func (t *msTime) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		t.Time = time.Time{}
		return nil
	}
	s := string(data)
	if len(data) > 0 && data[0] == '"' {
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
			t.Time = ts.UTC()
			return nil
		}
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int64(f)) {
			return fmt.Errorf("time %.40s is neither epoch milliseconds nor RFC 3339", data)
		}
		ms = int64(f)
	}
	// Years 1970 to 9999: a negative or absurd number is a broken payload.
	if ms <= 0 || ms > 253402300799999 {
		return fmt.Errorf("time %d ms is out of range", ms)
	}
	t.Time = time.UnixMilli(ms).UTC()
	return nil
}

// wireResponse is a response as the JSON API sends it.
type wireResponse struct {
	ID             string `json:"id"`
	PostID         string `json:"postId"`
	InResponseToID string `json:"inResponseToId"`
	CreatorID      string `json:"creatorId"`
	Creator        *struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Name     string `json:"name"`
	} `json:"creator"`
	Content   string `json:"content"`
	CreatedAt msTime `json:"createdAt"`
	UpdatedAt msTime `json:"updatedAt"`
	URL       string `json:"url"`
}

// validID reports whether id can name a thing on Medium: printable, no
// spaces, not too long.
func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '/' {
			return false
		}
	}
	return true
}

// decodeResponse turns one response of the API into a comment. raw is kept
// as the comment's Raw. A response without an id, a post, an author or a
// createdAt is refused.
func decodeResponse(raw json.RawMessage) (sdk.Comment, error) {
	var w wireResponse
	if err := json.Unmarshal(raw, &w); err != nil {
		return sdk.Comment{}, err
	}
	author := w.CreatorID
	handle := ""
	if w.Creator != nil {
		if author == "" {
			author = w.Creator.ID
		}
		if w.Creator.Username != "" {
			handle = "@" + strings.TrimPrefix(w.Creator.Username, "@")
		}
	}
	switch {
	case !validID(w.ID):
		return sdk.Comment{}, fmt.Errorf("bad or missing id %.60q", w.ID)
	case !validID(w.PostID):
		return sdk.Comment{}, fmt.Errorf("response %s: bad or missing postId %.60q", w.ID, w.PostID)
	case !validID(author):
		return sdk.Comment{}, fmt.Errorf("response %s: bad or missing creatorId %.60q", w.ID, author)
	case w.CreatedAt.IsZero():
		return sdk.Comment{}, fmt.Errorf("response %s: no createdAt", w.ID)
	}
	c := sdk.Comment{
		Platform: platform, ID: w.ID, PostID: w.PostID, ParentID: w.InResponseToID,
		AuthorID: author, AuthorHandle: handle, Text: strings.ToValidUTF8(w.Content, "\uFFFD"),
		CreatedAt: w.CreatedAt.Time, URL: w.URL, Raw: raw,
	}
	if c.ParentID == "" {
		c.ParentID = w.PostID
	}
	if w.UpdatedAt.After(w.CreatedAt.Time) {
		// An edit is a new version, which the host analyzes again.
		c.Version = strconv.FormatInt(w.UpdatedAt.UnixMilli(), 10)
	}
	return c, nil
}
