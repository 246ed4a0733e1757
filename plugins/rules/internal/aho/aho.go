// Package aho is a byte-oriented Aho-Corasick automaton compiled to a full
// DFA over byte classes, so a search is one table lookup per input byte
// whatever the number of patterns. The rules plugin feeds it every term of
// every rule at once and gets back all overlapping matches: it needs each
// one, not a leftmost selection, because word boundaries, allow lists and
// rule conditions are judged after the search.
//
// It is small on purpose: Go has no well-kept Aho-Corasick library that
// reports all overlapping matches with positions over a byte DFA, and this
// one is about a hundred lines.
package aho

// Matcher finds every occurrence of a fixed set of byte patterns.
// It is immutable once built and safe for concurrent use.
type Matcher struct {
	class  [256]uint8
	stride int32
	delta  []int32 // state*stride + class -> next state
	// out[s] is the index into outPat of the first pattern ending at state
	// s (its own), -1 if none; outLen[s] how many; dict[s] the nearest
	// state on s's failure chain that has patterns of its own, -1 if none.
	out    []int32
	outLen []int32
	dict   []int32
	outPat []int32
	lens   []int32
}

// Build compiles patterns; empty patterns never match. Pattern i is
// reported as i.
func Build(patterns []string) *Matcher {
	m := &Matcher{}
	// Byte classes: one per byte value used in a pattern, 0 for the rest.
	n := uint8(0)
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			if m.class[p[i]] == 0 {
				n++
				m.class[p[i]] = n
			}
		}
	}
	m.stride = int32(n) + 1
	// Trie, with its transitions straight in the DFA table (0 = none yet:
	// state 0 is the root, never a child).
	m.delta = make([]int32, m.stride)
	own := [][]int32{nil}
	m.lens = make([]int32, len(patterns))
	for id, p := range patterns {
		m.lens[id] = int32(len(p))
		if p == "" {
			continue
		}
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := int32(m.class[p[i]])
			next := m.delta[s*m.stride+c]
			if next == 0 {
				next = int32(len(own))
				own = append(own, nil)
				m.delta = append(m.delta, make([]int32, m.stride)...)
				m.delta[s*m.stride+c] = next
			}
			s = next
		}
		own[s] = append(own[s], int32(id))
	}
	states := len(own)
	fail := make([]int32, states)
	m.dict = make([]int32, states)
	m.dict[0] = -1
	// Breadth-first: fill the missing transitions from the failure state's.
	queue := make([]int32, 0, states)
	for c := int32(0); c < m.stride; c++ {
		if next := m.delta[c]; next != 0 {
			fail[next] = 0
			queue = append(queue, next)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		f := fail[s]
		if len(own[f]) > 0 {
			m.dict[s] = f
		} else {
			m.dict[s] = m.dict[f]
		}
		for c := int32(0); c < m.stride; c++ {
			next := m.delta[s*m.stride+c]
			if next != 0 {
				fail[next] = m.delta[f*m.stride+c]
				queue = append(queue, next)
			} else {
				m.delta[s*m.stride+c] = m.delta[f*m.stride+c]
			}
		}
	}
	m.out = make([]int32, states)
	m.outLen = make([]int32, states)
	for s, ids := range own {
		m.out[s] = int32(len(m.outPat))
		m.outLen[s] = int32(len(ids))
		m.outPat = append(m.outPat, ids...)
	}
	return m
}

// Find calls fn for every occurrence of every pattern in text, overlapping
// ones included, in order of their end offset, with the pattern's index
// and its byte range [start, end) in text.
func (m *Matcher) Find(text string, fn func(pattern, start, end int)) {
	walk(m, text, func(id, end int32) { fn(int(id), int(end-m.lens[id]), int(end)) })
}

// Match is one occurrence of pattern Pattern at text[Start:End].
type Match struct{ Pattern, Start, End int32 }

// AppendMatches appends to dst every occurrence that Find would report, in
// the same order, and returns it: for callers on a hot path that reuse dst
// rather than pass a closure.
func (m *Matcher) AppendMatches(dst []Match, text []byte) []Match {
	walk(m, text, func(id, end int32) { dst = append(dst, Match{Pattern: id, Start: end - m.lens[id], End: end}) })
	return dst
}

// walk runs the automaton over text and calls fn with each occurrence's
// pattern and end offset, in order of end offset.
func walk[T ~string | ~[]byte](m *Matcher, text T, fn func(id, end int32)) {
	if m == nil || len(m.outPat) == 0 {
		return
	}
	s := int32(0)
	for i := 0; i < len(text); i++ {
		s = m.delta[s*m.stride+int32(m.class[text[i]])]
		for o := s; o > 0; o = m.dict[o] {
			for k := m.out[o]; k < m.out[o]+m.outLen[o]; k++ {
				fn(m.outPat[k], int32(i+1))
			}
		}
	}
}
