package tools

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
)

// secretSet holds the secret values given to connect (header values, bearer
// tokens, secret-looking env values and URL parts) so that every later output
// can be scrubbed of them, even when the target echoes them back. The zero
// value is empty and ready to use; it is safe for concurrent use.
type secretSet struct {
	redact.Secrets
}

// addConnect records the secrets of a connect call's arguments.
func (s *secretSet) addConnect(in *ConnectInput) {
	var vals []string
	for name, v := range in.Env {
		if redact.IsSecretName(name) {
			vals = append(vals, v)
		}
	}
	for _, v := range in.Headers {
		vals = append(vals, v)
		// "Bearer xyz" is often given whole; the token alone is the secret.
		if _, tok, ok := strings.Cut(v, " "); ok {
			vals = append(vals, tok)
		}
	}
	vals = append(vals, in.BearerToken)
	vals = append(vals, redact.URLSecrets(in.URL)...)
	s.Add(vals...)
}

// scrubJSON masks secrets inside the string literals of the JSON document b,
// and nowhere else, so that the document stays valid whatever the secrets
// are. b is returned unchanged when it holds no secret.
func (s *secretSet) scrubJSON(b []byte) []byte {
	secrets := s.Values()
	if len(secrets) == 0 {
		return b
	}
	// Quick checks against each secret's raw, JSON-escaped and URL-escaped
	// forms; only a literal that contains one is decoded and re-encoded.
	var forms [][]byte
	for _, v := range secrets {
		forms = append(forms, []byte(v))
		if q, err := json.Marshal(v); err == nil {
			forms = append(forms, q[1:len(q)-1])
		}
		forms = append(forms, []byte(url.QueryEscape(v)))
	}
	var out []byte // nil until something is masked
	copied := 0    // b[:copied] has been copied to out
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		j := i + 1
		for j < len(b) && b[j] != '"' {
			if b[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(b) {
			break
		}
		lit := b[i : j+1]
		if slices.ContainsFunc(forms, func(f []byte) bool { return bytes.Contains(lit, f) }) {
			var str string
			if err := json.Unmarshal(lit, &str); err == nil {
				if masked := s.Scrub(str); masked != str {
					enc, _ := json.Marshal(masked)
					out = append(out, b[copied:i]...)
					out = append(out, enc...)
					copied = j + 1
				}
			}
		}
		i = j
	}
	if out == nil {
		return b
	}
	return append(out, b[copied:]...)
}
