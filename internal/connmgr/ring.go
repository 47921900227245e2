package connmgr

import (
	"bytes"
	"strings"
	"sync"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// ring keeps the last cap bytes written to it: a stdio target's stderr. It
// never blocks the writer and never grows.
type ring struct {
	mu sync.Mutex
	// buf, next and full are guarded by mu. buf holds the newest bytes
	// circularly: while full is false they are buf[:next].
	buf   []byte
	next  int
	full  bool
	total int64 // bytes ever written
}

func newRing(size int) *ring { return &ring{buf: make([]byte, size)} }

func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	r.total += int64(n)
	if len(p) >= len(r.buf) {
		copy(r.buf, p[len(p)-len(r.buf):])
		r.next, r.full = 0, true
		return n, nil
	}
	c := copy(r.buf[r.next:], p)
	if c < len(p) {
		copy(r.buf, p[c:])
		r.full = true
	}
	r.next = (r.next + len(p)) % len(r.buf)
	if r.next == 0 && len(p) > 0 {
		r.full = true
	}
	return n, nil
}

// Bytes returns a copy of the kept bytes, oldest first.
func (r *ring) Bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return bytes.Clone(r.buf[:r.next])
	}
	out := make([]byte, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}

// Lines returns the last n non-empty lines. A line cut by the ring's
// wrap-around is dropped.
func (r *ring) Lines(n int) []string {
	r.mu.Lock()
	wrapped := r.full
	r.mu.Unlock()
	text := string(r.Bytes())
	if wrapped {
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i+1:]
		}
	}
	var out []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		out = append(out, l)
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// scrubWindow is how much of a line is kept for scrubbing before it is cut
// for display: a secret is masked whole before the cut, so no prefix of it
// survives at the edge.
const scrubWindow = 64 << 10

// scrubCut masks secrets in line, then cuts it at stderrLineMax characters
// with a note of size, the line's length as the target wrote it (at least
// len(line): the line may be cut already).
func scrubCut(line string, size int, scrub func(string) string) string {
	whole := size <= len(line) && len(line) <= scrubWindow
	size = max(size, len(line))
	line = scrub(textcut.Cut(line, scrubWindow))
	kept := textcut.CutRunes(line, stderrLineMax)
	if whole && len(kept) == len(line) {
		return line
	}
	return textcut.Note(kept, size)
}

// scrubLines returns the last stderrTailLines lines of r, masked, then cut.
func scrubLines(r *ring, scrub func(string) string) []string {
	lines := r.Lines(stderrTailLines)
	for i, l := range lines {
		lines[i] = scrubCut(l, len(l), scrub)
	}
	return lines
}
