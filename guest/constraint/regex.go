package constraint

import (
	"errors"
	"fmt"
)

// ErrEmpty is returned (wrapped) for a constraint that no output can satisfy.
var ErrEmpty = errors.New("constraint: the language is empty")

// Regex returns a Matcher for pattern in Go regexp/syntax (RE2) syntax, anchored at both ends: the
// whole output must match, as with regexp.MustCompile("^(?:" + pattern + ")$").MatchString.
//
// Rune classes match the UTF-8 encodings of their runes, so the Matcher accepts only valid UTF-8
// (regexp would also let an invalid byte stand for U+FFFD). All of RE2 is supported, empty-width
// assertions (^ $ \A \z \b \B, multi-line ^ $) included. The byte-level DFA is built lazily and shared
// by clones; past maxDFACells table entries it builds no more states and treats the missing ones as
// dead (only pathological patterns get there). A pattern that matches nothing returns ErrEmpty.
func Regex(pattern string) (Matcher, error) {
	re, err := parseRegexp(pattern)
	if err != nil {
		return nil, fmt.Errorf("constraint: regex: %w", err)
	}
	n := &nfa{}
	if err := n.addRegexp(re); err != nil {
		return nil, fmt.Errorf("constraint: regex: %w", err)
	}
	d := newDFA(n, nil)
	if !d.isLive(d.start) {
		return nil, fmt.Errorf("regex %q: %w", pattern, ErrEmpty)
	}
	return &regexMatcher{d: d, s: d.start}, nil
}

// regexMatcher runs a DFA; a state is a plain integer, so snapshots are free.
type regexMatcher struct {
	d *dfa
	s int32
}

func (m *regexMatcher) Advance(b byte) bool   { m.s = m.d.next(m.s, b); return m.s != deadState }
func (m *regexMatcher) Accepting() bool       { return m.d.accepting(m.s) }
func (m *regexMatcher) Done() bool            { return m.d.isDone(m.s) }
func (m *regexMatcher) Clone() Matcher        { c := *m; return &c }
func (m *regexMatcher) Snapshot() int         { return int(m.s) }
func (m *regexMatcher) Restore(h int)         { m.s = int32(h) }
func (m *regexMatcher) free() (freeRun, bool) { return m.d.free(m.s) }
