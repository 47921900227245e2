package exampleserver

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/testtargets"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	listeningRE = regexp.MustCompile(`listening on (http://\S+)\n`)
	endpointsRE = regexp.MustCompile(`streamable HTTP: (http://\S+)\n.*legacy SSE: +(http://\S+)\n`)
)

// startHTTP runs the example server over HTTP and returns its base URL.
func startHTTP(t *testing.T, args ...string) string {
	t.Helper()
	return startHTTPOutput(t, args...)[0]
}

// startHTTPOutput runs the example server over HTTP and returns the base,
// streamable HTTP and SSE URLs it printed.
func startHTTPOutput(t *testing.T, args ...string) [3]string {
	t.Helper()
	var stderr testtargets.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, append([]string{"--http", "127.0.0.1:0"}, args...), strings.NewReader(""), nil, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Error("Main did not return after its context was cancelled")
		}
	})
	base := stderr.WaitFor(t, listeningRE)[1]
	m := stderr.WaitFor(t, endpointsRE)
	return [3]string{base, m[1], m[2]}
}

// headerTransport adds headers to every request.
type headerTransport struct {
	header http.Header
}

func (h headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, v := range h.header {
		req.Header[k] = v
	}
	return http.DefaultTransport.RoundTrip(req)
}

func TestHTTPRequiresTheToken(t *testing.T) {
	base := startHTTP(t, "--require-token", "s3cret")

	tests := []struct {
		name          string
		authorization string
		wantStatus    int
	}{
		{name: "a request without a token is refused", wantStatus: http.StatusUnauthorized},
		{name: "a request with the wrong token is refused", authorization: "Bearer nope", wantStatus: http.StatusUnauthorized},
		{name: "a request with the token gets through", authorization: "Bearer s3cret", wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/mcp", strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, tt.wantStatus, resp.StatusCode)
			if tt.wantStatus == http.StatusUnauthorized {
				assert.Equal(t, `Bearer realm="example", error="invalid_token"`, resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestHTTPTransports(t *testing.T) {
	urls := startHTTPOutput(t, "--require-token", "s3cret")
	base := urls[0]
	httpClient := &http.Client{Transport: headerTransport{header: http.Header{
		"Authorization": {"Bearer s3cret"},
		"X-Example":     {"yes"},
	}}}

	tests := []struct {
		name      string
		transport mcp.Transport
	}{
		{name: "streamable HTTP is served at the printed /mcp URL", transport: &mcp.StreamableClientTransport{Endpoint: urls[1], HTTPClient: httpClient}},
		{name: "legacy SSE is served at the printed /sse URL", transport: &mcp.SSEClientTransport{Endpoint: urls[2], HTTPClient: httpClient}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n notifications
			c := mcp.NewClient(&mcp.Implementation{Name: "exampleserver-test", Version: "0.0.1"}, n.clientOptions())
			cs, err := c.Connect(t.Context(), tt.transport, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
			require.NoError(t, err)
			defer cs.Close()

			assert.Equal(t, ServerName, cs.InitializeResult().ServerInfo.Name)
			res := callTool(t, cs, "echo", map[string]any{"message": "over http"})
			assert.Equal(t, "over http", text(res))

			// Logs flow without logging/setLevel on HTTP sessions too.
			callTool(t, cs, "log", map[string]any{"message": "hello"})
			require.Eventually(t, func() bool { _, l := n.counts(); return l == 1 }, 5*time.Second, time.Millisecond)
		})
	}

	t.Run("headers returns the request headers over streamable HTTP", func(t *testing.T) {
		c := mcp.NewClient(&mcp.Implementation{Name: "exampleserver-test", Version: "0.0.1"}, nil)
		cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: base + "/mcp", HTTPClient: httpClient},
			&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		require.NoError(t, err)
		defer cs.Close()

		res := callTool(t, cs, "headers", nil)
		var got http.Header
		require.NoError(t, json.Unmarshal([]byte(text(res)), &got), text(res))
		assert.Equal(t, "yes", got.Get("X-Example"))
		assert.Equal(t, "Bearer s3cret", got.Get("Authorization"))
	})
}

func TestHTTPListenError(t *testing.T) {
	err := Run(t.Context(), &Options{HTTPAddr: "256.0.0.1:bad"})
	assert.ErrorContains(t, err, "listening on 256.0.0.1:bad")
}
