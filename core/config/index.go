package config

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// index maps a key path (see pathKey) to where it appears in the file.
// BurntSushi's decoder does not expose key positions, so the file is parsed
// a second time with go-toml's low-level parser just to learn them.
type index map[string]spot

// spot is where one key path appears: key is the key itself (for "unknown
// key" messages), val is its value, or the [header] of a table, (for
// everything about the value). explicit marks a table defined by its own
// header rather than implied by a longer key, so the header wins.
type spot struct {
	keyLine, keyCol int
	valLine, valCol int
	explicit        bool
}

// pathKey encodes a path of keys and indices unambiguously; keys may contain
// dots and any other character, so a plain join would not do.
func pathKey(path []any) string {
	var b strings.Builder
	for _, el := range path {
		switch el := el.(type) {
		case int:
			b.WriteByte(1)
			b.WriteString(strconv.Itoa(el))
		default:
			b.WriteByte(0)
			b.WriteString(el.(string))
		}
	}
	return b.String()
}

// pos returns the position of path, or of its nearest parent in the index,
// or 0, 0 when nothing matches.
func (ix index) pos(path []any, key bool) (line, col int) {
	for n := len(path); n > 0; n-- {
		if s, ok := ix[pathKey(path[:n])]; ok {
			if key && n == len(path) {
				return s.keyLine, s.keyCol
			}
			return s.valLine, s.valCol
		}
	}
	return 0, 0
}

type indexer struct {
	p      unstable.Parser
	data   []byte
	ix     index
	arrays map[string]int // number of [[header]] elements seen per array path
}

// buildIndex records the position of every key, table header and array
// element. The file already decoded cleanly, so a parse error here only
// means the two parsers disagree; the index then stays partial and the
// affected problems fall back to a parent's position.
func buildIndex(data []byte) index {
	b := &indexer{data: data, ix: index{}, arrays: map[string]int{}}
	b.p.Reset(data)
	var table []any
	for b.p.NextExpression() {
		e := b.p.Expression()
		switch e.Kind {
		case unstable.KeyValue:
			b.keyValue(table, e)
		case unstable.Table, unstable.ArrayTable:
			table = b.header(e)
		}
	}
	return b.ix
}

// header records a [table] or [[array]] header and returns the path that the
// following key/values belong to.
func (b *indexer) header(e *unstable.Node) []any {
	var keys []*unstable.Node
	for it := e.Key(); it.Next(); {
		keys = append(keys, it.Node())
	}
	start := int(keys[0].Raw.Offset)
	for start > 0 && strings.IndexByte(" \t[", b.data[start-1]) >= 0 {
		start--
	}
	for strings.IndexByte(" \t", b.data[start]) >= 0 {
		start++ // back to the "[", not the indentation before it
	}
	var path []any
	for i, k := range keys {
		path = append(path, string(k.Data))
		off := int(k.Raw.Offset)
		if i == len(keys)-1 {
			if e.Kind == unstable.ArrayTable {
				b.record(path, off, start, false)
				n := b.arrays[pathKey(path)]
				b.arrays[pathKey(path)] = n + 1
				path = append(path, n)
			}
			b.record(path, off, start, true)
			break
		}
		b.record(path, off, off, false)
		// [a.b] after [[a]] refers to the last element of a.
		if n, ok := b.arrays[pathKey(path)]; ok {
			path = append(path, n-1)
		}
	}
	return slices.Clip(path)
}

// keyValue records a (possibly dotted) key and its value under table.
func (b *indexer) keyValue(table []any, kv *unstable.Node) {
	path := slices.Clip(table)
	var last *unstable.Node
	for it := kv.Key(); it.Next(); {
		last = it.Node()
		path = append(path, string(last.Data))
		b.record(path, int(last.Raw.Offset), int(last.Raw.Offset), false)
	}
	// The value starts after the key, the blanks and the "=". Array nodes
	// carry no position of their own, so it is found in the text.
	val := int(last.Raw.Offset + last.Raw.Length)
	for val < len(b.data) && strings.IndexByte(" \t=", b.data[val]) >= 0 {
		val++
	}
	b.record(path, int(last.Raw.Offset), val, true)
	b.value(path, kv.Value(), val)
}

// value records the elements of arrays and the keys of inline tables.
func (b *indexer) value(path []any, n *unstable.Node, off int) {
	switch n.Kind {
	case unstable.Array:
		i := 0
		for it := n.Children(); it.Next(); i++ {
			c := it.Node()
			p := append(slices.Clip(path), i)
			coff := firstOffset(c, off)
			b.record(p, coff, coff, true)
			b.value(p, c, coff)
		}
	case unstable.InlineTable:
		for it := n.Children(); it.Next(); {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				b.keyValue(path, c)
			}
		}
	}
}

// firstOffset is where a value node starts; a nested array has no range of
// its own, so its first element (or the enclosing value) stands in.
func firstOffset(n *unstable.Node, fallback int) int {
	if n.Raw.Length > 0 {
		return int(n.Raw.Offset)
	}
	if c := n.Child(); c != nil {
		return firstOffset(c, fallback)
	}
	return fallback
}

func (b *indexer) record(path []any, keyOff, valOff int, explicit bool) {
	k := pathKey(path)
	if old, ok := b.ix[k]; ok && (old.explicit || !explicit) {
		return
	}
	ks := b.p.Shape(unstable.Range{Offset: uint32(keyOff)})
	vs := b.p.Shape(unstable.Range{Offset: uint32(valOff)})
	b.ix[k] = spot{ks.Start.Line, ks.Start.Column, vs.Start.Line, vs.Start.Column, explicit}
}
