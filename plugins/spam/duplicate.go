package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/moderatorbot/moderator/plugins/spam/model"
	"github.com/moderatorbot/moderator/sdk"
)

// Near-duplicate detection with MinHash and locality-sensitive hashing.
//
// Each comment's text becomes a set of shingles (its words and pairs of
// adjacent words, after model.Tokenize has folded case, URLs and numbers),
// summarised by numHashes MinHash values. Two texts agree on one MinHash
// value with probability equal to the Jaccard similarity of their shingle
// sets, so the share of equal values estimates it.
//
// Lookup must be O(1) in the number of comments seen, so the first
// numBands*bandRows values are cut into bands, and each band's values hash
// to a bucket: the KV key "dup/<band>/<bucket>/<comment>" is written for
// every band, with a TTL of the duplicate window. A comment's candidates are
// the entries under its own buckets (one List per band); two texts with
// Jaccard 0.8 share a bucket with probability 1-(1-0.8^2)^4 = 0.98, texts
// with 0.3 only 0.31, and every candidate is then checked against the full
// signature. Each entry has its own key, so concurrent writers never
// overwrite one another and nothing is read, changed and written back.
const (
	numHashes     = 32
	numBands      = 4
	bandRows      = 2
	minSimilarity = 0.6 // estimated Jaccard at which two texts count as the same
	dupPrefix     = "dup/"
	// maxBucket bounds one bucket's listing: enough to count far past any
	// threshold, small enough that the hot bucket of a spam run cannot stall
	// a batch (past it, the reason says "at least").
	maxBucket = 200
)

// Duplicate evidence: at the threshold it is spam on its own; a single
// earlier copy is only a hint (people do post twice by mistake).
const (
	wDuplicate         = 4.0
	wDuplicatePerExtra = 0.5
	wDuplicateMax      = 6.0
	wRepeated          = 1.0
)

// hashSeeds are the multipliers and offsets of the numHashes hash functions,
// fixed so that signatures written by one process match those of the next.
var hashSeeds = func() (s [numHashes][2]uint64) {
	x := uint64(0x9e3779b97f4a7c15)
	next := func() uint64 { // splitmix64
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return z ^ (z >> 31)
	}
	for i := range s {
		s[i] = [2]uint64{next() | 1, next()}
	}
	return s
}()

// signature is a text's MinHash values.
type signature [numHashes]uint32

// shingles returns the text's words and adjacent word pairs, and the number
// of words.
func shingles(toks []model.Token) ([]uint64, int) {
	out := make([]uint64, 0, 2*len(toks))
	words := 0
	prev := ""
	for _, t := range toks {
		if t.Term == model.TermCaps {
			continue
		}
		words++
		out = append(out, hashString(t.Term))
		if prev != "" {
			out = append(out, hashString(prev+" "+t.Term))
		}
		prev = t.Term
	}
	return out, words
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// minhash computes the signature of a set of shingle hashes.
func minhash(sh []uint64) signature {
	var sig signature
	for i := range sig {
		sig[i] = ^uint32(0)
	}
	for _, h := range sh {
		for i, s := range hashSeeds {
			if v := uint32((h*s[0] + s[1]) >> 32); v < sig[i] {
				sig[i] = v
			}
		}
	}
	return sig
}

// similarity estimates the Jaccard similarity of the texts behind a and b.
func (a *signature) similarity(b *signature) float64 {
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	return float64(same) / numHashes
}

// bucket names band b's bucket.
func (a *signature) bucket(b int) string {
	var buf [4 * bandRows]byte
	for r := range bandRows {
		binary.LittleEndian.PutUint32(buf[4*r:], a[b*bandRows+r])
	}
	h := fnv.New64a()
	h.Write(buf[:])
	return fmt.Sprintf("%016x", h.Sum64())
}

// dupEntry is what the KV keeps per comment and band.
type dupEntry struct {
	Author, Post string
	At           int64 // unix seconds
	Sig          signature
}

// entryVersion leads every encoded entry, so a future layout can be told
// apart (and an entry from another layout skipped, not misread).
const entryVersion = 1

// encode writes the entry compactly: version, time, signature, then the
// author and post as length-prefixed strings. Lookups decode many entries
// per comment, so this is binary rather than JSON.
func (e dupEntry) encode() []byte {
	b := make([]byte, 0, 1+8+4*numHashes+2*binary.MaxVarintLen64+len(e.Author)+len(e.Post))
	b = append(b, entryVersion)
	b = binary.LittleEndian.AppendUint64(b, uint64(e.At))
	for _, v := range e.Sig {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Author)))
	b = append(b, e.Author...)
	b = binary.AppendUvarint(b, uint64(len(e.Post)))
	return append(b, e.Post...)
}

// decodeEntry reads an entry; ok is false for anything malformed.
func decodeEntry(b []byte) (e dupEntry, ok bool) {
	const head = 1 + 8 + 4*numHashes
	if len(b) < head || b[0] != entryVersion {
		return e, false
	}
	e.At = int64(binary.LittleEndian.Uint64(b[1:]))
	for i := range e.Sig {
		e.Sig[i] = binary.LittleEndian.Uint32(b[9+4*i:])
	}
	rest := b[head:]
	for _, dst := range []*string{&e.Author, &e.Post} {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return e, false
		}
		*dst = string(rest[k : k+int(n)])
		rest = rest[k+int(n):]
	}
	return e, len(rest) == 0
}

// commentKey identifies a comment (per connector) in KV keys, in a fixed
// width and without the characters a platform's ids may contain.
func commentKey(c sdk.Comment) string {
	return fmt.Sprintf("%016x", hashString(c.Connector+"\x00"+c.Platform+"\x00"+c.ID))
}

// dupResult is what the KV said about one comment.
type dupResult struct {
	others, authors, posts int
	// atLeast: a bucket held more entries than one listing returns, so the
	// counts are lower bounds.
	atLeast bool
}

// duplicates records a batch's comments in the KV, then looks them up, in
// one SetMany and one ListMany: a batch of 100 comments costs the host two
// calls and one synced commit, where a lookup and a record per comment and
// band cost it 800 calls and 400 commits (a few hundred comments/s through
// the host's KV, against thousands now).
//
// Within the batch the comments count in order, as if each were looked up
// and recorded in turn: one counts the copies stored before the batch and
// those earlier in it, never later ones (the lookup skips the batch's own
// keys and matches them in memory). Recording first is for batches the
// host runs at the same time: of two such copies, the one looked up last
// always sees the other, where looking up first would let each miss the
// other. A comment's own earlier entries (a re-analysis, an edit) never
// count. A comment too short to compare has no result.
func (s *state) duplicates(ctx context.Context, comments []sdk.Comment, toks [][]model.Token, now time.Time) ([]*dupResult, error) {
	type cand struct {
		i       int // index in comments
		self    string
		at      time.Time
		sig     signature
		buckets [numBands]string
	}
	var cands []cand
	for i, c := range comments {
		sh, words := shingles(toks[i])
		if words < s.cfg.DuplicateMinWords {
			continue
		}
		cd := cand{i: i, self: commentKey(c), at: now, sig: minhash(sh)}
		if !c.CreatedAt.IsZero() {
			cd.at = c.CreatedAt
		}
		for b := range numBands {
			cd.buckets[b] = fmt.Sprintf("%s%d/%s/", dupPrefix, b, cd.sig.bucket(b))
		}
		cands = append(cands, cd)
	}
	res := make([]*dupResult, len(comments))
	if len(cands) == 0 {
		return res, nil
	}
	window := time.Duration(s.cfg.DuplicateWindow)
	writes := make([]sdk.KVWrite, 0, len(cands)*numBands)
	queries := make([]sdk.KVQuery, 0, len(cands)*numBands)
	ours := make(map[string]bool, len(cands)) // the batch's own keys
	for _, cd := range cands {
		c := comments[cd.i]
		value := dupEntry{Author: c.AuthorID, Post: c.PostID, At: cd.at.Unix(), Sig: cd.sig}.encode()
		for b := range numBands {
			writes = append(writes, sdk.KVWrite{Key: cd.buckets[b] + cd.self, Value: value, TTL: window})
			queries = append(queries, sdk.KVQuery{Prefix: cd.buckets[b], Limit: maxBucket})
		}
		ours[cd.self] = true
	}
	if err := sdk.SetMany(ctx, s.kv, writes); err != nil {
		return nil, fmt.Errorf("duplicate record: %w", err)
	}
	pages, err := sdk.ListMany(ctx, s.kv, queries)
	if err != nil {
		return nil, fmt.Errorf("duplicate lookup: %w", err)
	}
	inWindow := func(a, b time.Time) bool { d := a.Sub(b); return d <= window && d >= -window }
	// earlier holds, per bucket, the batch's comments looked up so far.
	earlier := map[string][]int{}
	for k, cd := range cands {
		matched := map[string]dupEntry{}
		truncated := false
		for b := range numBands {
			if len(matched) >= maxBucket {
				// A spam run: enough copies are known, the other bands
				// would only list the same ones again.
				truncated = true
				break
			}
			page := pages[k*numBands+b]
			truncated = truncated || page.More
			for _, e := range page.Entries {
				key := strings.TrimPrefix(e.Key, cd.buckets[b])
				if _, done := matched[key]; done || ours[key] {
					continue // counted already, or the batch's own (below)
				}
				de, ok := decodeEntry(e.Value)
				if !ok || cd.sig.similarity(&de.Sig) < minSimilarity || !inWindow(cd.at, time.Unix(de.At, 0)) {
					continue // not ours, another layout, another text, or too long ago
				}
				matched[key] = de
			}
		}
		for b := range numBands {
			for _, e := range earlier[cd.buckets[b]] {
				o := &cands[e]
				if len(matched) >= maxBucket {
					truncated = true
					break
				}
				if _, done := matched[o.self]; done || o.self == cd.self {
					continue
				}
				if cd.sig.similarity(&o.sig) < minSimilarity || !inWindow(cd.at, time.Unix(o.at.Unix(), 0)) {
					continue
				}
				c := comments[o.i]
				matched[o.self] = dupEntry{Author: c.AuthorID, Post: c.PostID, At: o.at.Unix(), Sig: o.sig}
			}
		}
		c := comments[cd.i]
		for b := range numBands {
			earlier[cd.buckets[b]] = append(earlier[cd.buckets[b]], k)
		}
		authors := map[string]bool{c.AuthorID: true}
		posts := map[string]bool{c.PostID: true}
		for _, de := range matched {
			authors[de.Author] = true
			posts[de.Post] = true
		}
		res[cd.i] = &dupResult{others: len(matched), authors: len(authors), posts: len(posts), atLeast: truncated}
	}
	return res, nil
}

// duplicateSignal turns a lookup into evidence.
func (s *state) duplicateSignal(text string, r dupResult) (evidence, bool) {
	if r.others == 0 {
		return evidence{}, false
	}
	copies := r.others + 1
	ev := evidence{label: labelDuplicate, weight: wRepeated}
	if copies >= s.cfg.DuplicateThreshold {
		ev.weight = min(wDuplicate+wDuplicatePerExtra*float64(copies-s.cfg.DuplicateThreshold), wDuplicateMax)
	}
	atLeast := ""
	if r.atLeast {
		atLeast = "at least "
	}
	ev.reason = fmt.Sprintf("same text as %s%s from %s on %s in %s", atLeast,
		plural(r.others, "other comment"), plural(r.authors, "author"), plural(r.posts, "post"), humanDuration(time.Duration(s.cfg.DuplicateWindow)))
	if start, end := trimmedBounds(text); end > start {
		ev.spans = []sdk.Span{{Start: start, End: end}}
	}
	return ev, true
}

// trimmedBounds is the text less leading and trailing white space.
func trimmedBounds(text string) (int, int) {
	start := len(text) - len(strings.TrimLeft(text, " \t\r\n"))
	end := len(strings.TrimRight(text, " \t\r\n"))
	return start, max(end, start)
}

// humanDuration writes 24h as "24h" and 90m as "1h30m", not "24h0m0s".
func humanDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
