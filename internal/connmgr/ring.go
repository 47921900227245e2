package connmgr

import (
	"bytes"
	"strings"
	"sync"
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

// Lines returns the last n non-empty lines, each cut at maxLen characters.
// A line cut by the ring's wrap-around is dropped.
func (r *ring) Lines(n, maxLen int) []string {
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
		out = append(out, cut(l, maxLen))
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// cut shortens s to at most max runes, marking the cut.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "…"
}

// scrubWindow is how much of a line is kept for scrubbing before it is cut
// for display: a secret is masked whole before the cut, so no prefix of it
// survives at the edge.
const scrubWindow = 64 << 10

// scrubCut masks secrets in line, then cuts it at stderrLineMax characters.
func scrubCut(line string, scrub func(string) string) string {
	if len(line) > scrubWindow {
		line = line[:scrubWindow]
	}
	return cut(scrub(line), stderrLineMax)
}

// scrubLines returns the last stderrTailLines lines of r, masked, then cut.
func scrubLines(r *ring, scrub func(string) string) []string {
	lines := r.Lines(stderrTailLines, scrubWindow)
	for i, l := range lines {
		lines[i] = scrubCut(l, scrub)
	}
	return lines
}
