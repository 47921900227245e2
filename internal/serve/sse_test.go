package serve

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openSSE sends GET /sse and reads its endpoint event; the stream stays open
// until the server ends it or the test does.
func openSSE(t *testing.T, sseURL string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, sseURL, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	if resp.StatusCode == http.StatusOK {
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "event: endpoint\n", line)
	}
	return resp
}

// sseStatus answers the status code of a new GET /sse, and ends it.
func sseStatus(t *testing.T, sseURL string) int {
	t.Helper()
	resp := openSSE(t, sseURL)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// ended reports whether the server ends resp's stream within a deadline.
func ended(resp *http.Response) bool {
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(15 * time.Second):
		_ = resp.Body.Close()
		<-done
		return false
	}
}

func TestServeSSESessionsCannotHoldAPlaceForever(t *testing.T) {
	t.Run("a GET /sse that never posts is closed and its place freed", func(t *testing.T) {
		s := startServe(t, Options{SSE: true, MaxSessions: 1, UnusedSessionTimeout: time.Second})
		sseURL := strings.TrimSuffix(s.url, "/mcp") + "/sse"
		idle := openSSE(t, sseURL)
		require.Equal(t, http.StatusOK, idle.StatusCode)
		require.Equal(t, http.StatusServiceUnavailable, sseStatus(t, sseURL), "the one place is taken")
		assert.True(t, ended(idle), "the idle stream is ended by the server")
		var cs *mcp.ClientSession
		require.Eventually(t, func() bool {
			var err error
			cs, err = mcp.NewClient(&mcp.Implementation{Name: "sse-host", Version: "0"}, nil).
				Connect(t.Context(), &mcp.SSEClientTransport{Endpoint: sseURL}, nil)
			return err == nil
		}, 10*time.Second, 50*time.Millisecond, "a new session is accepted")
		t.Cleanup(func() { _ = cs.Close() })
		res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "status"})
		require.NoError(t, err)
		assert.False(t, res.IsError)
	})
	t.Run("an SSE session idle for SessionTimeout is closed", func(t *testing.T) {
		s := startServe(t, Options{SSE: true, MaxSessions: 1, SessionTimeout: time.Second})
		sseURL := strings.TrimSuffix(s.url, "/mcp") + "/sse"
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "sse-host", Version: "0"}, nil).
			Connect(t.Context(), &mcp.SSEClientTransport{Endpoint: sseURL}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = cs.Close() })
		_, err = cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "status"})
		require.NoError(t, err)
		require.Equal(t, http.StatusServiceUnavailable, sseStatus(t, sseURL), "the one place is taken")
		waited := make(chan error, 1)
		go func() { waited <- cs.Wait() }()
		select {
		case <-waited:
		case <-time.After(15 * time.Second):
			t.Fatal("the idle SSE session was not closed")
		}
		require.Eventually(t, func() bool {
			return sseStatus(t, sseURL) == http.StatusOK
		}, 10*time.Second, 50*time.Millisecond, "a new session is accepted")
	})
}
