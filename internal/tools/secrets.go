package tools

import (
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
	s.Add(redact.ConnectionSecrets(in.URL, in.Env, in.Headers, in.BearerToken)...)
}

// scrubJSON masks secrets inside the string literals of the JSON document b.
func (s *secretSet) scrubJSON(b []byte) []byte { return s.ScrubJSON(b) }
