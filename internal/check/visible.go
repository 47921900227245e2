package check

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// visible makes a target-controlled string safe to print on a terminal: C0
// and C1 controls, ESC, DEL and newlines are shown as \x1b-style escapes,
// bidirectional overrides and isolates as \u202e-style ones, and bytes that
// are not UTF-8 as \xff. A target cannot clear the screen, move the cursor,
// write the clipboard (OSC 52) or reorder what the reader sees. The JSON
// report keeps the strings exact: JSON escapes controls itself.
func visible(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f, isBidiControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// visibleLines is visible for text whose newlines are meant as line breaks
// (a stderr tail): each line is escaped on its own.
func visibleLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = visible(l)
	}
	return strings.Join(lines, "\n")
}

// Visible is visible for the command line: it escapes the controls in a
// message that carries target-controlled text before it reaches a
// terminal.
func Visible(s string) string { return visible(s) }

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return true
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || (r >= 0x80 && r <= 0x9f) || isBidiControl(r) {
			return true
		}
		i += size
	}
	return false
}

// isBidiControl reports whether r changes the direction of the text around
// it (the "Trojan Source" characters).
func isBidiControl(r rune) bool {
	switch {
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e:
		return true
	case r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
