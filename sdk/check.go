package sdk

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
)

// Check reports why p cannot be served. Serve refuses such a Plugin before
// serving (the binary prints the error and exits with status 1), and
// plugintest.Start fails the test with the same error. It refuses:
//
//   - an empty Info.Name;
//   - both or neither of Analyzer and Connector: a binary serves one kind;
//   - an analyzer that declares no Info.Labels, since every label it
//     returned would be refused, or declares one that it may not emit:
//     neither in the shared vocabulary nor prefixed with its own name (see
//     CheckResults);
//   - a connector that declares an action outside the Actions list, or
//     ActionReview (the host's own), or a target kind other than TargetPost,
//     TargetAuthor, TargetPublication and TargetQuery: the host would never
//     ask for it, and a typo would otherwise surface only as a rule that
//     `moderator config check` refuses;
//   - a value whose methods (a connector capability, Configure) have
//     pointer receivers: only a pointer has them, so they would never be
//     called; pass a pointer;
//   - a connector that implements none of Discoverer, Poller, Streamer,
//     WebhookHandler and Moderator, saying why when a method comes close
//     (another signature, a misspelt name);
//   - a connector that declares Info.Actions but does not implement
//     Moderator, or implements Moderator but declares no actions (Serve
//     refuses every action that Info.Actions does not list);
//   - a connector that implements Discoverer but declares no
//     Info.TargetKinds (Serve refuses every target kind it does not list).
func (p Plugin) Check() error {
	name := p.Info.Name
	switch {
	case name == "":
		return errors.New("Info.Name is empty: name the plugin (lower case, no spaces), as moderator.toml and the host's log will call it")
	case p.Analyzer != nil && p.Connector != nil:
		return fmt.Errorf("plugin %s sets both Analyzer and Connector; a binary serves one kind", name)
	case p.Analyzer == nil && p.Connector == nil:
		return fmt.Errorf("plugin %s sets neither Analyzer nor Connector", name)
	}
	kind, field, ifaces := "analyzer", "Analyzer", []iface{configurerIface}
	if p.Connector != nil {
		kind, field, ifaces = "connector", "Connector", append(slices.Clone(capabilityIfaces), configurerIface)
	}
	impl := pluginImpl(p)
	if only := pointerOnly(impl, ifaces); len(only) > 0 {
		return fmt.Errorf("%s %s: Plugin.%s is a %T value, but %s declared on *%T (pointer receivers), so a value does not have them and they would never be called: set Plugin.%s to a pointer (&%T{...})",
			kind, name, field, impl, methodsOf(only), impl, field, impl)
	}
	if p.Analyzer != nil {
		if len(p.Info.Labels) == 0 {
			return fmt.Errorf("analyzer %s declares no labels in Info.Labels: every label it returned would be refused", name)
		}
		for _, l := range p.Info.Labels {
			if err := checkLabelName(name, l); err != nil {
				return fmt.Errorf("analyzer %s declares a label in Info.Labels that it may not emit: %w", name, err)
			}
		}
		return nil
	}
	for _, a := range p.Info.Actions {
		if a == ActionReview || !slices.Contains(Actions, a) {
			return fmt.Errorf("connector %s declares action %q in Info.Actions: a connector's actions are among %s (%q is the host's own)",
				name, a, quoteList(slices.DeleteFunc(slices.Clone(Actions), func(x string) bool { return x == ActionReview })), ActionReview)
		}
	}
	for _, k := range p.Info.TargetKinds {
		if !slices.Contains(targetKinds, k) {
			return fmt.Errorf("connector %s declares target kind %q in Info.TargetKinds: the kinds are %s", name, k, quoteList(targetKinds))
		}
	}
	_, moderates := p.Connector.(Moderator)
	_, discovers := p.Connector.(Discoverer)
	switch {
	case len(connectorCapabilities(p.Connector)) == 0:
		msg := fmt.Sprintf("connector %s (%T) implements none of Discoverer, Poller, Streamer, WebhookHandler, Moderator", name, p.Connector)
		hints := nearMisses(p.Connector, capabilityIfaces)
		if len(hints) == 0 {
			hints = []string{"a connector has at least one of " + signatures(capabilityIfaces)}
		}
		return fmt.Errorf("%s: %s", msg, strings.Join(hints, "; "))
	case len(p.Info.Actions) > 0 && !moderates:
		msg := fmt.Sprintf("connector %s declares actions %s in Info.Actions but does not implement Moderator", name, quoteList(p.Info.Actions))
		hints := nearMisses(p.Connector, []iface{moderatorIface})
		if len(hints) == 0 {
			hints = []string{"add " + signatures([]iface{moderatorIface}) + ", or declare no actions"}
		}
		return fmt.Errorf("%s: %s", msg, strings.Join(hints, "; "))
	case moderates && len(p.Info.Actions) == 0:
		return fmt.Errorf("connector %s implements Moderator but declares no Info.Actions: list the actions Moderate can apply (Serve refuses every action not listed)", name)
	case discovers && len(p.Info.TargetKinds) == 0:
		return fmt.Errorf("connector %s implements Discoverer but declares no Info.TargetKinds: list the target kinds Discover expands (Serve refuses every kind not listed)", name)
	}
	return nil
}

// targetKinds lists the target kinds a connector may declare.
var targetKinds = []string{TargetPost, TargetAuthor, TargetPublication, TargetQuery}

// iface is one of the interfaces a plugin's value may implement, with its
// one method.
type iface struct {
	name, method string
	typ          reflect.Type
}

func newIface[T any](name string) iface {
	t := reflect.TypeFor[T]()
	return iface{name: name, method: t.Method(0).Name, typ: t}
}

var (
	moderatorIface   = newIface[Moderator]("Moderator")
	configurerIface  = newIface[Configurer]("Configurer")
	capabilityIfaces = []iface{
		newIface[Discoverer]("Discoverer"), newIface[Poller]("Poller"), newIface[Streamer]("Streamer"),
		newIface[WebhookHandler]("WebhookHandler"), moderatorIface,
	}
)

// pointerOnly lists the interfaces among ifaces that v's pointer type
// implements and v itself does not: their methods have pointer receivers,
// and v is not a pointer.
func pointerOnly(v any, ifaces []iface) []iface {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface {
		return nil
	}
	pt := reflect.PointerTo(t)
	var out []iface
	for _, i := range ifaces {
		if !t.Implements(i.typ) && pt.Implements(i.typ) {
			out = append(out, i)
		}
	}
	return out
}

// methodsOf names the methods of ifaces for a message: "Poll is", "Poll and
// Moderate are".
func methodsOf(ifaces []iface) string {
	names := make([]string, len(ifaces))
	for i, f := range ifaces {
		names[i] = f.method
	}
	if len(names) == 1 {
		return names[0] + " is"
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " are"
}

// nearMisses explains why v does not implement ifaces when one of its
// methods comes close: the right name with another signature, or a name a
// letter or two away from the right one (a typo, another case). Only
// exported methods can be seen: a lower-case "poll" goes unnoticed.
func nearMisses(v any, ifaces []iface) []string {
	t := reflect.TypeOf(v)
	if t == nil {
		return nil
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		t = reflect.PointerTo(t) // the larger method set: pointer receivers too
	}
	var out []string
	for _, f := range ifaces {
		want := f.typ.Method(0).Type
		if m, ok := t.MethodByName(f.method); ok {
			if got := signature(m.Type, 1); got != signature(want, 0) {
				out = append(out, fmt.Sprintf("method %s has the signature %s%s, but %s wants %s%s", f.method, f.method, got, f.name, f.method, signature(want, 0)))
			}
			continue
		}
		near := 2 // "Moderete", "WebHooks"
		if len(f.method) <= 5 {
			near = 1 // "Polls", not "Post"
		}
		for i := range t.NumMethod() {
			if m := t.Method(i); editDistance(strings.ToLower(m.Name), strings.ToLower(f.method)) <= near {
				out = append(out, fmt.Sprintf("method %s is not %s: %s wants %s%s", m.Name, f.method, f.name, f.method, signature(want, 0)))
			}
		}
	}
	return out
}

// signatures lists the methods of ifaces with their signatures.
func signatures(ifaces []iface) string {
	out := make([]string, len(ifaces))
	for i, f := range ifaces {
		out[i] = f.method + signature(f.typ.Method(0).Type, 0)
	}
	return strings.Join(out, ", ")
}

// signature formats a func type's parameters and results, skipping the
// first skip parameters (a method's receiver): "(context.Context) error".
func signature(fn reflect.Type, skip int) string {
	var in, out []string
	for i := skip; i < fn.NumIn(); i++ {
		in = append(in, fn.In(i).String())
	}
	for i := range fn.NumOut() {
		out = append(out, fn.Out(i).String())
	}
	s := "(" + strings.Join(in, ", ") + ")"
	switch len(out) {
	case 0:
	case 1:
		s += " " + out[0]
	default:
		s += " (" + strings.Join(out, ", ") + ")"
	}
	return s
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// CheckResults reports the first way results break the Analyze contract for
// comments, given what the analyzer says of itself (its Info, as Describe
// reports it): one result per comment, in order, each for its comment (an
// empty CommentID stands for the comment at its position, see
// Result.CommentID), and every label named, among the declared Info.Labels,
// from the shared vocabulary (Labels) or the analyzer's own (prefixed with
// its Info.Name and a dot, never another plugin's), scored in [0,1], and
// with its spans inside the text and on UTF-8 character boundaries (a
// span's Start and End are offsets a range loop over the text stops at, or
// its length).
//
// Serve checks every reply with it before the reply leaves the plugin, and
// RemotePlugin.Analyze checks it again when it reaches the host, against
// what the plugin said in Describe: a plugin bug shows as an error naming
// the comment and what was wrong, never as data the host acts on.
func CheckResults(info Info, comments []Comment, results []Result) error {
	if len(results) != len(comments) {
		return fmt.Errorf("%d results for %d comments", len(results), len(comments))
	}
	for i, r := range results {
		c := &comments[i]
		if r.CommentID != "" && r.CommentID != c.ID {
			return fmt.Errorf("result %d is for comment %q, expected %q", i, r.CommentID, c.ID)
		}
		for _, l := range r.Labels {
			switch {
			case l.Name == "":
				return fmt.Errorf("result %d (comment %q): a label has no name", i, c.ID)
			case !slices.Contains(info.Labels, l.Name):
				return fmt.Errorf("result %d (comment %q): label %q is not declared in Info.Labels (declared: %s)", i, c.ID, l.Name, quoteList(info.Labels))
			case math.IsNaN(l.Score) || l.Score < 0 || l.Score > 1:
				return fmt.Errorf("result %d (comment %q): label %q score %v outside [0,1]", i, c.ID, l.Name, l.Score)
			}
			if err := checkLabelName(info.Name, l.Name); err != nil {
				return fmt.Errorf("result %d (comment %q): %w", i, c.ID, err)
			}
			for _, sp := range l.Spans {
				if sp.Start < 0 || sp.End < sp.Start || sp.End > len(c.Text) {
					return fmt.Errorf("result %d (comment %q): label %q span [%d,%d) outside the text (%d bytes)", i, c.ID, l.Name, sp.Start, sp.End, len(c.Text))
				}
				for _, off := range [2]int{sp.Start, sp.End} {
					if !onRuneBoundary(c.Text, off) {
						return fmt.Errorf("result %d (comment %q): label %q span [%d,%d) is not on UTF-8 boundaries: offset %d splits a character in %q",
							i, c.ID, l.Name, sp.Start, sp.End, off, c.Text[max(off-8, 0):min(off+8, len(c.Text))])
					}
				}
			}
		}
	}
	return nil
}

// checkLabelName says why the analyzer named plugin may not emit label: it is
// neither in the shared vocabulary nor prefixed with the plugin's name and a
// dot (another plugin's prefix, say).
func checkLabelName(plugin, label string) error {
	own := plugin + "."
	switch {
	case slices.Contains(Labels, label), len(label) > len(own) && strings.HasPrefix(label, own):
		return nil
	}
	if prefix, _, ok := strings.Cut(label, "."); ok && prefix != "" && prefix != plugin {
		return fmt.Errorf("label %q has the prefix of another plugin (%q): analyzer %s may emit the shared vocabulary (%s) and labels of its own prefixed %q",
			label, prefix, plugin, strings.Join(Labels, ", "), own)
	}
	return fmt.Errorf("label %q is neither in the shared vocabulary (%s) nor prefixed %q, as analyzer %s's own labels are",
		label, strings.Join(Labels, ", "), own, plugin)
}

// onRuneBoundary reports whether off, in [0, len(s)], is where a range loop
// over s stops, or len(s): not inside the encoding of a character. Each
// byte that is not valid UTF-8 is a character of its own, as for range (and
// as on the wire, where it crosses as '?').
func onRuneBoundary(s string, off int) bool {
	// A character that starts in the 3 bytes before off and is longer than
	// the distance covers off. One that starts there is itself on a
	// boundary, since its first byte cannot continue another character.
	for j := max(off-utf8.UTFMax+1, 0); j < off; j++ {
		if _, n := utf8.DecodeRuneInString(s[j:]); j+n > off {
			return false
		}
	}
	return true
}

// fillCommentIDs sets each empty Result.CommentID to the ID of the comment
// at its position, as Result.CommentID documents.
func fillCommentIDs(comments []Comment, results []Result) {
	for i := range min(len(comments), len(results)) {
		if results[i].CommentID == "" {
			results[i].CommentID = comments[i].ID
		}
	}
}

// quoteList formats names for an error message: "a", "b", or none.
func quoteList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// CheckPoll reports the first way resp breaks the Poll contract for a call
// that asked for posts: one entry per post asked for (in any order), none
// for a post not asked for and none twice, and in each entry comments that
// have an ID and are on the entry's post. An empty Comment.PostID stands for
// the entry's post: Serve and RemotePlugin.Poll fill it in.
//
// Serve checks every reply with it before it leaves the plugin, and
// RemotePlugin.Poll again when it reaches the host, so a post missing from
// the reply (whose cursor the host would never move) or a comment filed
// under the wrong post is an error naming it, not a silent gap.
func CheckPoll(posts []PostCursor, resp PollResponse) error {
	asked := make(map[string]int, len(posts))
	for _, p := range posts {
		asked[p.PostID]++
	}
	got := make(map[string]int, len(resp.Posts))
	for i, pc := range resp.Posts {
		switch n, ok := asked[pc.PostID]; {
		case !ok:
			return fmt.Errorf("post %q was not asked for (entry %d)", pc.PostID, i)
		case got[pc.PostID] >= n:
			return fmt.Errorf("post %q has more than one entry (entry %d): one entry per post, its comments together", pc.PostID, i)
		}
		got[pc.PostID]++
		for j, c := range pc.Comments {
			switch {
			case c.ID == "":
				return fmt.Errorf("post %q comment %d has no id", pc.PostID, j)
			case c.PostID != "" && c.PostID != pc.PostID:
				return fmt.Errorf("post %q comment %q is on post %q: each comment goes in the entry of its own post", pc.PostID, c.ID, c.PostID)
			}
		}
	}
	var missing []string
	for _, p := range posts {
		if got[p.PostID] == 0 && !slices.Contains(missing, p.PostID) {
			missing = append(missing, p.PostID)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no entry for post %s of the %d asked for: return one per post, with its Err set when it could not be polled", quoteList(missing), len(posts))
	}
	return nil
}

// fillPostIDs sets each comment's empty PostID to its entry's post, as
// CheckPoll documents.
func fillPostIDs(resp *PollResponse) {
	for i := range resp.Posts {
		pc := &resp.Posts[i]
		for j := range pc.Comments {
			if pc.Comments[j].PostID == "" {
				pc.Comments[j].PostID = pc.PostID
			}
		}
	}
}
