package textcut

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestCut(t *testing.T) {
	tests := []struct {
		name, s string
		n       int
		want    string
	}{
		{"a string within the size is kept whole", "héllo", 6, "héllo"},
		{"a string over the size is cut at n bytes", "hello", 3, "hel"},
		{"a cut inside a rune backs off to its start", "aé", 2, "a"},
		{"a cut inside a four-byte rune backs off to its start", "a😀b", 4, "a"},
		{"a size of zero keeps nothing", "abc", 0, ""},
		{"a negative size keeps nothing", "abc", -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Cut(tt.s, tt.n)
			assert.Equal(t, tt.want, got)
			assert.True(t, utf8.ValidString(got))
		})
	}
}

func TestCutRunes(t *testing.T) {
	assert.Equal(t, "héllo", CutRunes("héllo", 5), "five characters in six bytes are kept whole")
	assert.Equal(t, "hé", CutRunes("héllo", 2))
	assert.Equal(t, "", CutRunes("abc", 0))
	assert.Equal(t, "a😀", CutRunes("a😀b", 2))
}

func TestCutNote(t *testing.T) {
	assert.Equal(t, "short", CutNote("short", 5))
	assert.Equal(t, "ab…[cut: 5 bytes in all]", CutNote("abcde", 2))
	long := strings.Repeat("é", 1000)
	got := CutNote(long, 101)
	assert.True(t, strings.HasPrefix(got, strings.Repeat("é", 50)+"…[cut: 2000 bytes in all]"))
}

func TestNoteAndMark(t *testing.T) {
	assert.Equal(t, "ab…[cut: 70000 bytes in all]", Note("ab", 70000))
	assert.Equal(t, "abc", Mark("abc", 3))
	assert.Equal(t, "ab…", Mark("abcd", 2))
}

func TestValue(t *testing.T) {
	tests := []struct {
		name string
		v    any
		n    int
		want string
	}{
		{"a string is quoted", "a\"b", 200, `"a\"b"`},
		{"a long string is cut inside its quotes", strings.Repeat("x", 10), 4, `"xxxx…"`},
		{"an object is JSON with sorted keys", map[string]any{"b": 1, "a": true}, 200, `{"a":true,"b":1}`},
		{"nil is null", nil, 200, "null"},
		{"long JSON is cut", []int{1, 2, 3, 4}, 4, `[1,2…`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Value(tc.v, tc.n))
		})
	}
}
