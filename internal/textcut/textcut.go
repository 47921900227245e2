// Package textcut cuts strings to a size in bytes, at a rune boundary, for
// the bounds on what a target controls (SPEC §12): the one home for cutting
// text, with or without a note that says how long the text was.
package textcut

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Cut returns s cut to at most n bytes at a rune boundary, as a copy that
// does not keep s alive. It returns s itself when s is at most n bytes.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n = max(n, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.Clone(s[:n])
}

// CutRunes returns s cut to at most n characters (runes), as a copy that
// does not keep s alive. It returns s itself when s has at most n.
func CutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for range max(n, 0) {
		if i >= len(s) {
			return s
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	if i >= len(s) {
		return s
	}
	return strings.Clone(s[:i])
}

// CutNote returns s if it is at most n bytes, else Cut(s, n) and a note that
// says how long s was: "…[cut: 2097152 bytes in all]".
func CutNote(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return Note(Cut(s, n), len(s))
}

// Note returns kept, the start of a text of size bytes, with the note
// CutNote adds. It is for text changed between reading and cutting (masked,
// or already cut to a window), whose size is no longer len(kept).
func Note(kept string, size int) string {
	return kept + fmt.Sprintf("…[cut: %d bytes in all]", size)
}

// Mark returns s if it is at most n bytes, else Cut(s, n) and "…": for
// short labels in messages, where the size would be noise.
func Mark(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return Cut(s, n) + "…"
}

// Value shows a JSON value in a message: a string quoted, anything else as
// JSON, Mark-ed at n bytes.
func Value(v any, n int) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(Mark(s, n))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return Mark(string(b), n)
}
