package audit

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
)

// plainText400 serves the example server over streamable HTTP, except that
// a request of a method it does not know gets a text/plain 400, as some
// HTTP frameworks answer.
func plainText400(t *testing.T) string {
	t.Helper()
	s, err := exampleserver.NewServer(exampleserver.ModeNormal, nil, nil)
	require.NoError(t, err)
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, err := io.ReadAll(r.Body)
			require.NoError(t, err)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var msg struct {
				Method string `json:"method"`
			}
			if json.Unmarshal(body, &msg) == nil && msg.Method == unknownMethod {
				http.Error(w, "Bad Request: unknown method", http.StatusBadRequest)
				return
			}
		}
		mcpHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

func TestAProbeAnsweredWithAnHTTPErrorIsAFindingNotALostConnection(t *testing.T) {
	t.Parallel()
	url := plainText400(t) // first: the connection closes before the server
	mgr := connmgr.New(&connmgr.Options{CallTimeout: 20 * time.Second})
	t.Cleanup(func() { mgr.Close() })
	_, _, err := mgr.Connect(t.Context(), connmgr.Spec{URL: url, HealthCheckInterval: -1})
	require.NoError(t, err)
	_, err = mgr.CallTool(t.Context(), "echo", map[string]any{"message": "mine"}, 0)
	require.NoError(t, err)
	before := mgr.Status().Info.Statistics

	r, err := Run(t.Context(), mgr, testOptions())
	require.NoError(t, err)
	var rules []string
	for _, f := range r.Findings {
		rules = append(rules, f.Rule)
	}
	assert.NotContains(t, rules, "probe.crash", "%+v", r.Findings)
	assert.Contains(t, rules, "probe.unknown_method.wrong_answer", "%+v", r.Findings)
	for _, f := range r.Findings {
		if f.Rule == "probe.unknown_method.wrong_answer" {
			assert.Contains(t, f.Message, "HTTP 400")
		}
	}

	st := mgr.Status()
	require.True(t, st.Connected, "the user's connection survives the audit")
	_, err = mgr.CallTool(t.Context(), "echo", map[string]any{"message": "still mine"}, 0)
	require.NoError(t, err)
	after := mgr.Status().Info.Statistics
	assert.Equal(t, before.Requests+1, after.Requests, "the probes are not in the user's statistics: %+v", after.ByMethod)
	assert.Equal(t, before.ToolsCalled+1, after.ToolsCalled)
	assert.Equal(t, before.Errors, after.Errors)
}

// The tester's made-up answers have codes of their own, marked in their
// data: a target that answers with one of those codes itself is judged by
// what it said, not taken for an HTTP error.
func TestATargetsOwnErrorCodeIsNotTakenForAMadeUpAnswer(t *testing.T) {
	t.Parallel()
	r := auditRaw(t, "an unknown method answered with the target's own error -32099")
	require.Equal(t, []string{"probe.unknown_method.wrong_answer"}, rules(r), "%+v", r.Findings)
	msg := r.Findings[0].Message
	assert.Contains(t, msg, "was answered with error -32099 (no such method here), not -32601")
	assert.NotContains(t, msg, "HTTP")
}
