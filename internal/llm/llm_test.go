package llm

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestEndpoint(t *testing.T) {
	for base, want := range map[string]string{
		"http://localhost:11434/v1":                   "http://localhost:11434/v1/chat/completions",
		"http://localhost:11434/v1/":                  "http://localhost:11434/v1/chat/completions",
		"https://api.example.com/v1/chat/completions": "https://api.example.com/v1/chat/completions",
	} {
		assert.Equal(t, want, (&Client{BaseURL: base}).Endpoint(), base)
	}
}

func TestSnippetIsShortValidUTF8(t *testing.T) {
	s := snippet([]byte(strings.Repeat("é", snippetBytes)))
	assert.True(t, strings.HasSuffix(s, "…"))
	assert.LessOrEqual(t, len(s), snippetBytes+len("…"))
	assert.NotContains(t, s, "\uFFFD")
}
