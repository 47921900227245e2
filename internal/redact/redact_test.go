package redact

import (
	"encoding/json"
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
	// Ym9iOmh1bnRlcjI= is base64("bob:hunter2"), as sent in Authorization: Basic.
	assert.ElementsMatch(t, []string{"bob", "hunter2", "Ym9iOmh1bnRlcjI=", "abc123"}, URLSecrets("https://bob:hunter2@h/mcp?token=abc123&page=2"))
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
	assert.ElementsMatch(t, []string{"k1", "Bearer tok-9", "tok-9", "bearer-1", "u", "pw", "dTpwdw==", "t1"}, got,
		"a plain header's value (X-Tenant: acme) is not a secret")
	got = ConnectionSecrets("", nil, map[string]string{"X-Api-Key": "key-1", "Cookie": "sid=c00kie", "X-Session-Id": "sess-1"}, "")
	assert.ElementsMatch(t, []string{"key-1", "sid=c00kie", "c00kie", "sess-1"}, got[:len(got)-1])
}

func TestScrubJSONFindsSecretsHoweverTheyAreEscaped(t *testing.T) {
	var s Secrets
	s.Add("abc/def-SECRET-42")
	tests := []struct{ name, in string }{
		{"plain", `{"a":"x abc/def-SECRET-42 y"}`},
		{"slash escaped", `{"a":"x abc\/def-SECRET-42 y"}`},
		{"every character escaped", `{"a":"x \u0061\u0062\u0063\u002f\u0064\u0065\u0066-SECRET-42 y"}`},
		{"in a nested array", `{"a":[1,{"b":"\u0061bc\/def-SECRET-42"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is masked", func(t *testing.T) {
			out := string(s.ScrubJSON([]byte(tt.in)))
			assert.Contains(t, out, Mask)
			var v any
			assert.NoError(t, json.Unmarshal([]byte(out), &v), "still valid JSON: %s", out)
			b, _ := json.Marshal(v)
			assert.NotContains(t, string(b), "SECRET-42", out)
		})
	}
	plain := `{"a":"no \u0073ecret here"}`
	assert.Equal(t, plain, string(s.ScrubJSON([]byte(plain))), "a literal without a secret keeps its escapes")
}

func TestScrubEscapedFindsSecretsWrittenWithJSONEscapes(t *testing.T) {
	var s Secrets
	s.Add("tok-SECRET-123", "pa&ss<w0rd>-XYZ", `back\slash`)
	tests := []struct{ name, in, want string }{
		{"a plain secret is masked", "Bearer tok-SECRET-123 refused", "Bearer *** refused"},
		{"a \\u-escaped secret is masked", `{"error":"bad token \u0074ok-SECRET-123"}`, `{"error":"bad token ***"}`},
		{"Go's HTML escapes are seen through", `"pa\u0026ss\u003cw0rd\u003e-XYZ"`, `"***"`},
		{"an escaped slash is seen through", `tok-SECRET\/x and \u0074ok-SECRET-123`, `tok-SECRET/x and ***`},
		{"escapes inside escaped JSON text are seen through", `"{\"m\":\"\\u0074ok-SECRET-123\"}"`, `"{"m":"***"}"`},
		{"a secret with a backslash is masked as it is", `x back\slash y`, `x *** y`},
		{"a surrogate pair decodes", `\ud83d\ude00 \u0074ok-SECRET-123`, "😀 ***"},
		{"text without a secret is left as it is", `{"a":"\u0041\/b"}`, `{"a":"\u0041\/b"}`},
		{"a stray backslash is kept", `C:\path \u0074ok-SECRET-123 \uZZZZ\`, `C:\path *** \uZZZZ\`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, s.ScrubEscaped(tt.in))
		})
	}
	var none Secrets
	assert.Equal(t, `\u0074ok`, none.ScrubEscaped(`\u0074ok`))
}
