package tools

import (
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

// scrubJSON masks secrets inside the string literals of the JSON document b.
func (s *secretSet) scrubJSON(b []byte) []byte { return s.ScrubJSON(b) }
