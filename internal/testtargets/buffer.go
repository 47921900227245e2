package testtargets

import (
	"bytes"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Buffer is a bytes.Buffer safe for concurrent use: a process's output,
// written by the goroutine that copies it and read by the test.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitFor waits up to 5 s until re matches what b holds, and returns the
// match and its groups; it fails t, showing b, otherwise.
func (b *Buffer) WaitFor(t testing.TB, re *regexp.Regexp) []string {
	t.Helper()
	var m []string
	require.Eventually(t, func() bool {
		m = re.FindStringSubmatch(b.String())
		return m != nil
	}, 5*time.Second, 2*time.Millisecond, "the output never matched %s; it is:\n%s", re, b)
	return m
}

// WaitContains waits up to 5 s until b holds s.
func (b *Buffer) WaitContains(t testing.TB, s string) {
	t.Helper()
	b.WaitFor(t, regexp.MustCompile(regexp.QuoteMeta(s)))
}
