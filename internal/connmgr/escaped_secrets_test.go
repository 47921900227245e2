package connmgr

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

// unicodeEscaped writes every character of s as \uXXXX.
func unicodeEscaped(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// assertNoSecret checks text for secret as it is, as encoding/json escapes
// it and with every character \u-escaped.
func assertNoSecret(t *testing.T, text, secret, where string) {
	t.Helper()
	goEscaped, err := json.Marshal(secret)
	require.NoError(t, err)
	for _, form := range []string{secret, strings.Trim(string(goEscaped), `"`), unicodeEscaped(secret), unicodeEscaped(secret[:4])} {
		assert.False(t, strings.Contains(text, form), "%s shows the secret as %s", where, form)
	}
}

func TestSecretsEscapedByTheTargetAreMaskedInLogsAndOutput(t *testing.T) {
	const secret = "pa&ss<w0rd>-XYZ"
	m := newManager(t, nil)
	connect(t, m, hostileSpec(t, hostile.EscapedEcho, map[string]string{"HOSTILE_SECRET": secret}))
	r, err := m.CallTool(t.Context(), hostile.Tool, nil, 30*time.Second)
	require.NoError(t, err)

	t.Run("a log message over 16 KiB is cut with the secret masked", func(t *testing.T) {
		var big *LogEntry
		for i := range r.Logs {
			if r.Logs[i].Truncated {
				big = &r.Logs[i]
			}
		}
		require.NotNil(t, big, "the 20 KiB log was kept, cut: %+v", r.Logs)
		assert.True(t, strings.Contains(string(big.Data), "token is ***"), "the secret is masked, not cut off")
		b, err := json.Marshal(r.Logs)
		require.NoError(t, err)
		assertNoSecret(t, string(b), secret, "the call's logs")
	})
	t.Run("a line of stdout that is not JSON is masked", func(t *testing.T) {
		page := m.Events(EventQuery{Kinds: []string{EventStdout}})
		require.NotEmpty(t, page.Events)
		b, err := json.Marshal(page.Events)
		require.NoError(t, err)
		assert.Contains(t, string(b), "token is ***")
		assertNoSecret(t, string(b), secret, "the stdout events")
		junk, _ := m.cur.junkReport()
		assertNoSecret(t, strings.Join(junk, "\n"), secret, "the junk report")
	})
	t.Run("every event is masked", func(t *testing.T) {
		b, err := json.Marshal(m.Events(EventQuery{}).Events)
		require.NoError(t, err)
		assertNoSecret(t, string(b), secret, "the event log")
	})
}

func TestAnHTTPErrorBodyEchoingTheTokenEscapedIsMasked(t *testing.T) {
	const token = "tok-SECRET-123"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		// \u0074 is "t": the token, escaped as a JSON encoder may.
		fmt.Fprintf(w, `{"error":"invalid token \u0074ok-SECRET-123","all":"%s"}`, unicodeEscaped(r.Header.Get("Authorization")))
	}))
	t.Cleanup(srv.Close)
	m := newManager(t, nil)
	_, _, err := m.Connect(t.Context(), Spec{URL: srv.URL + "/mcp", BearerToken: token})
	var herr *HTTPError
	require.ErrorAs(t, err, &herr)
	assert.Equal(t, http.StatusUnauthorized, herr.StatusCode)
	assert.Contains(t, herr.BodySnippet, "invalid token ***")
	assertNoSecret(t, herr.BodySnippet, token, "the body snippet")
	assertNoSecret(t, err.Error(), token, "the error")
}
