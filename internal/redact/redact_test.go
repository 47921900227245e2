package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestURL(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"a plain URL is unchanged", "http://127.0.0.1:8080/mcp", "http://127.0.0.1:8080/mcp"},
		{"user-info is masked", "https://bob:hunter2@example.com/mcp", "https://***@example.com/mcp"},
		{"secret-looking query values are masked and others kept", "https://h/mcp?api_key=abc123&page=2", "https://h/mcp?api_key=***&page=2"},
		{"a signature parameter is masked", "https://h/sse?sig=zzz", "https://h/sse?sig=***"},
		{"a filesystem path is not a URL", "/usr/bin/server", "/usr/bin/server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, URL(tt.in))
		})
	}
}

func TestURLSecrets(t *testing.T) {
	assert.ElementsMatch(t, []string{"bob", "hunter2", "abc123"}, URLSecrets("https://bob:hunter2@h/mcp?token=abc123&page=2"))
}

func TestValue(t *testing.T) {
	in := map[string]any{
		"query":    "weather",
		"apiKey":   "sk-123",
		"nested":   map[string]any{"password": "pw", "n": 1.0},
		"list":     []any{map[string]any{"auth_token": "t"}},
		"settings": map[string]any{"plain": true},
	}
	got := Value(in)
	assert.Equal(t, map[string]any{
		"query":    "weather",
		"apiKey":   Mask,
		"nested":   map[string]any{"password": Mask, "n": 1.0},
		"list":     []any{map[string]any{"auth_token": Mask}},
		"settings": map[string]any{"plain": true},
	}, got)
	assert.Equal(t, "sk-123", in["apiKey"], "the input is not modified")
}

func TestSecretsScrub(t *testing.T) {
	var s Secrets
	s.Add("sekrit-token-1", "ab", "p@ss word")
	got := s.Scrub("auth sekrit-token-1 failed; env p@ss word and p%40ss+word; ab stays")
	assert.Equal(t, "auth *** failed; env *** and ***; ab stays", got)
	var nilSecrets *Secrets
	assert.Equal(t, "x", nilSecrets.Scrub("x"))
}

func TestConnectionSecrets(t *testing.T) {
	got := ConnectionSecrets("https://u:pw@h/mcp?token=t1&page=2",
		map[string]string{"API_KEY": "k1", "NODE_ENV": "production"},
		map[string]string{"Authorization": "Bearer tok-9", "X-Tenant": "acme"},
		"bearer-1")
	assert.ElementsMatch(t, []string{"k1", "Bearer tok-9", "tok-9", "acme", "bearer-1", "u", "pw", "t1"}, got)
}
