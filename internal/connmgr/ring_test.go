package connmgr

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRing(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		writes []string
		want   string
	}{
		{"short writes are kept in order", 16, []string{"ab", "cd"}, "abcd"},
		{"a write that wraps keeps the newest bytes", 8, []string{"012345", "6789"}, "23456789"},
		{"a write larger than the ring keeps its tail", 4, []string{"0123456789"}, "6789"},
		{"filling exactly to the end then writing wraps", 4, []string{"0123", "45"}, "2345"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRing(tt.size)
			for _, w := range tt.writes {
				n, err := r.Write([]byte(w))
				assert.NoError(t, err)
				assert.Equal(t, len(w), n)
			}
			assert.Equal(t, tt.want, string(r.Bytes()))
		})
	}
}

func TestRingLines(t *testing.T) {
	r := newRing(64)
	for i := range 20 {
		fmt.Fprintf(r, "line %02d\n", i)
	}
	lines := r.Lines(3)
	assert.Equal(t, []string{"line 17", "line 18", "line 19"}, lines)
	all := r.Lines(100)
	assert.NotContains(t, all[0], "ine 1\n", "a line cut by the wrap is dropped")
	assert.True(t, strings.HasPrefix(all[0], "line "))

	r2 := newRing(1024)
	fmt.Fprintf(r2, "%s\n", strings.Repeat("x", 600))
	assert.Equal(t, strings.Repeat("x", 512)+"…[cut: 600 bytes in all]", scrubLines(r2, func(s string) string { return s })[0],
		"long lines are cut at 512 characters with a note of their size")
	r3 := newRing(4096)
	fmt.Fprintf(r3, "%s\n", strings.Repeat("é", 600))
	assert.Equal(t, strings.Repeat("é", 512)+"…[cut: 1200 bytes in all]", scrubLines(r3, func(s string) string { return s })[0])
}

func TestLineWriterCountsWhatItCuts(t *testing.T) {
	type line struct {
		s    string
		size int
	}
	var got []line
	w := &lineWriter{max: 4, emit: func(s string, size int) { got = append(got, line{s, size}) }}
	fmt.Fprint(w, "ab\r\nabcdefgh")
	fmt.Fprint(w, "ij\n\nxyz\n")
	assert.Equal(t, []line{{"ab", 2}, {"abcd", 10}, {"xyz", 3}}, got)
}
