package connmgr

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
)

// startHTTPExample serves the example server over HTTP in-process and
// returns its base URL (http://127.0.0.1:PORT).
func startHTTPExample(t *testing.T, extra ...string) string {
	t.Helper()
	u, _ := startStoppableHTTPExample(t, extra...)
	return u
}

// startStoppableHTTPExample is startHTTPExample that also returns a function
// that stops the server.
func startStoppableHTTPExample(t *testing.T, extra ...string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = exampleserver.Main(ctx, append([]string{"--http", "127.0.0.1:0"}, extra...), strings.NewReader(""), io.Discard, pw)
		_ = pw.Close()
	}()
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening on (http://\S+)`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case u := <-found:
		return u, stop
	case <-time.After(10 * time.Second):
		t.Fatal("the example server did not start listening")
		return "", nil
	}
}

func TestHTTPTransports(t *testing.T) {
	base := startHTTPExample(t, "--mode", "faults")
	tests := []struct {
		name, url, transport string
	}{
		{"a /mcp URL is streamable HTTP", base + "/mcp", TransportStreamableHTTP},
		{"a /sse URL is legacy SSE", base + "/sse", TransportSSE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(t, nil)
			info := connect(t, m, Spec{URL: tt.url})
			assert.Equal(t, tt.transport, info.Transport)
			assert.Nil(t, info.Process)
			r, err := m.CallTool(t.Context(), "echo", map[string]any{"message": "over http"}, 0)
			require.NoError(t, err)
			assert.Equal(t, "over http", text(t, r))
			r, err = m.CallTool(t.Context(), "slow", map[string]any{"steps": 3, "delay_ms": 5}, 0)
			require.NoError(t, err)
			assert.Len(t, r.Progress, 3, "progress arrives over HTTP too")
			_, err = m.CallTool(t.Context(), "hang", nil, 500*time.Millisecond)
			var to *TimeoutError
			require.ErrorAs(t, err, &to)
			_, err = m.CallTool(t.Context(), "echo", map[string]any{"message": "again"}, 0)
			require.NoError(t, err, "the session survives a timed-out call")
			prev, was, err := m.Disconnect(t.Context())
			require.NoError(t, err)
			assert.True(t, was)
			assert.Nil(t, prev.Exit)
		})
	}
}

func TestHTTPAuthAndHeaders(t *testing.T) {
	const token = "tok-SECRET-4242"
	base := startHTTPExample(t, "--require-token", token)

	t.Run("a missing token is a 401 with the server's WWW-Authenticate", func(t *testing.T) {
		m := newManager(t, nil)
		_, _, err := m.Connect(t.Context(), Spec{URL: base + "/mcp"})
		var herr *HTTPError
		require.ErrorAs(t, err, &herr)
		assert.Equal(t, http.StatusUnauthorized, herr.StatusCode)
		assert.Contains(t, herr.WWWAuthenticate, `realm="example"`)
	})
	t.Run("a wrong token is refused and not echoed", func(t *testing.T) {
		m := newManager(t, nil)
		_, _, err := m.Connect(t.Context(), Spec{URL: base + "/mcp", BearerToken: "wrong-token-777"})
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "wrong-token-777")
	})
	t.Run("the token and headers reach the target but never our output", func(t *testing.T) {
		m := newManager(t, nil)
		info := connect(t, m, Spec{URL: base + "/mcp?api_key=" + token, BearerToken: token, Headers: map[string]string{"X-Tenant": "tenant-secret-1"}})
		assert.True(t, info.HeadersProvided)
		assert.ElementsMatch(t, []string{"Authorization", "X-Tenant"}, info.HeaderNames)
		require.NotNil(t, info.AuthType)
		assert.Equal(t, "bearer", *info.AuthType)
		assert.Contains(t, info.ServerURL, "api_key=***")

		r, err := m.CallTool(t.Context(), "headers", nil, 0)
		require.NoError(t, err)
		assert.Contains(t, text(t, r), "tenant-secret-1", "the target saw the header")

		assertDisconnectShowsNone(t, m, info, token, "tenant-secret-1")
	})
}

func TestHeadersGoOnlyToTheTargetsOrigin(t *testing.T) {
	var (
		mu     sync.Mutex
		leaked []string
	)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		leaked = append(leaked, r.Header.Get("Authorization"), r.Header.Get("X-Tenant"), r.Header.Get("Referer"))
		http.Error(w, "nothing here", http.StatusNotFound)
	}))
	t.Cleanup(other.Close)
	redirector := httptest.NewServer(http.RedirectHandler(other.URL+"/mcp", http.StatusTemporaryRedirect))
	t.Cleanup(redirector.Close)

	m := newManager(t, nil)
	_, _, err := m.Connect(t.Context(), Spec{URL: redirector.URL + "/mcp?token=q-secret-999", BearerToken: "tok-abcdef", Headers: map[string]string{"X-Tenant": "t-123456"}})
	require.Error(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, leaked, "the redirect was followed")
	for _, v := range leaked {
		assert.Empty(t, v, "no header crossed to another origin, nor a Referer with the secret query value")
	}
}

func TestHTTPFailuresAreExplained(t *testing.T) {
	base := startHTTPExample(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedAddr := ln.Addr().String()
	require.NoError(t, ln.Close())
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><body>Welcome to my blog</body></html>")
	}))
	t.Cleanup(html.Close)

	tests := []struct {
		name       string
		url        string
		wantStatus int
		want       string
	}{
		{"nothing listening is a refused connection", "http://" + closedAddr + "/mcp", 0, "connection refused"},
		{"a wrong path is a 404 with a hint about the endpoint", base + "/nope", http.StatusNotFound, "HTTP 404"},
		{"an HTML page is not MCP", html.URL + "/mcp", http.StatusOK, "text/html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(t, nil)
			_, _, err := m.Connect(t.Context(), Spec{URL: tt.url, ConnectTimeout: 5 * time.Second})
			var herr *HTTPError
			require.ErrorAs(t, err, &herr)
			assert.Equal(t, tt.wantStatus, herr.StatusCode)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestAnHTTPTargetThatGoesAwayIsReportedLost(t *testing.T) {
	base, stop := startStoppableHTTPExample(t)
	m := newManager(t, nil)
	connect(t, m, Spec{URL: base + "/mcp"})
	stop()
	_, err := m.CallTool(t.Context(), "echo", map[string]any{"message": "anyone?"}, 5*time.Second)
	require.Error(t, err)
	var lost *LostError
	var herr *HTTPError
	assert.True(t, errors.As(err, &lost) || errors.As(err, &herr), "got %T: %v", err, err)
	require.Eventually(t, func() bool { return !m.Status().Connected }, 10*time.Second, 20*time.Millisecond)
	st := m.Status()
	require.NotNil(t, st.Last)
	assert.Equal(t, EndedByLost, st.Last.EndedBy)
}
