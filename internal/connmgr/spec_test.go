package connmgr

import (
	"testing"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// anOAuth stands for a configured OAuth flow; Validate never calls it.
type anOAuth struct{ auth.OAuthHandler }

func TestSpecValidate(t *testing.T) {
	const web = "http://127.0.0.1:1/mcp"
	tests := []struct {
		name string
		spec Spec
		want string // "" means valid
	}{
		{"a command is valid", Spec{Command: "server", Args: []string{"-v"}, Env: map[string]string{"A": "b"}, Cwd: "/tmp"}, ""},
		{"a script path is valid", Spec{URL: "./server.py", Transport: TransportStdio}, ""},
		{"an http url with headers and a token is valid", Spec{URL: web, Headers: map[string]string{"X-A": "b"}, BearerToken: "t"}, ""},
		{"OAuth on a streamable HTTP url is valid", Spec{URL: web, OAuth: anOAuth{}}, ""},
		{"neither url nor command is refused", Spec{}, "neither url nor command was given: give url"},
		{"both url and command are refused", Spec{URL: web, Command: "x"}, "both url and command were given"},
		{"an unknown transport is refused", Spec{Command: "x", Transport: "websocket"}, `transport "websocket" is not one of auto, stdio, streamable-http, sse`},
		{"stdio forced on an http url is refused", Spec{URL: web, Transport: TransportStdio}, "transport stdio needs a command or a script path"},
		{"an http url without a host is refused", Spec{URL: "http:///mcp"}, "does not parse"},
		{"args for an http url are refused", Spec{URL: web, Args: []string{"x"}}, "args, env and cwd apply only to stdio targets"},
		{"OAuth on an SSE url is refused", Spec{URL: "http://127.0.0.1:1/sse", OAuth: anOAuth{}}, "a URL ending in /sse means legacy SSE"},
		{"OAuth on the sse transport is refused", Spec{URL: web, Transport: TransportSSE, OAuth: anOAuth{}}, "OAuth needs the streamable-http transport, not sse"},
		{"OAuth with an Authorization header is refused", Spec{URL: web, OAuth: anOAuth{}, Headers: map[string]string{"authorization": "Basic x"}}, "an Authorization header and OAuth exclude each other"},
		{"OAuth with a bearer token is refused", Spec{URL: web, OAuth: anOAuth{}, BearerToken: "t"}, "give a bearer token or OAuth, not both"},
		{"a bad header name is refused", Spec{URL: web, Headers: map[string]string{"X A": "b"}}, `header name "X A" is not a valid`},
		{"a bearer token with a newline is refused", Spec{URL: web, BearerToken: "t\nx"}, "bearer_token has characters not allowed"},
		{"a non-http scheme is refused", Spec{URL: "ws://h/mcp"}, "neither http(s) nor a file path"},
		{"an HTTP transport for a command is refused", Spec{Command: "x", Transport: TransportSSE}, "transport sse needs an http(s) url"},
		{"OAuth for a command is refused", Spec{Command: "x", OAuth: anOAuth{}}, "OAuth needs an http(s) URL target, not a stdio command"},
		{"a bearer token for a command is refused", Spec{Command: "x", BearerToken: "t"}, "apply only to HTTP targets"},
		{"a bad variable name is refused", Spec{Command: "x", Env: map[string]string{"A=B": "c"}}, `environment variable name "A=B" is not valid`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidSpec)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestSpecSecrets(t *testing.T) {
	s := Spec{URL: "https://u:pw@h/mcp?token=t1", Headers: map[string]string{"X-Api-Key": "key-1"}, BearerToken: "bear-1"}
	assert.Subset(t, s.Secrets(), []string{"pw", "t1", "key-1", "bear-1"})
	cmd := Spec{Command: "server --api-key=k-1", Args: []string{"--token", "t-2", "--verbose"}, Env: map[string]string{"API_TOKEN": "e-3"}}
	assert.Subset(t, cmd.Secrets(), []string{"k-1", "t-2", "e-3"}, "flag values on the command line, also in one string, and env values")
	assert.NotContains(t, cmd.Secrets(), "--verbose")
}
