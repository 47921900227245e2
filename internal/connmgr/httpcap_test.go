package connmgr

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

// startBombServer serves hostile.BombHandler.
func startBombServer(t testing.TB, sse bool) string {
	t.Helper()
	srv := httptest.NewServer(hostile.BombHandler(sse))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

func TestDecodedBytesAreCapped(t *testing.T) {
	for _, sse := range []bool{false, true} {
		kind := "a JSON answer"
		if sse {
			kind = "an SSE event"
		}
		t.Run(fmt.Sprintf("%s that gunzips to 400 MB fails its call naming the limit, and the connection stays usable", kind), func(t *testing.T) {
			m := newManager(t, nil)
			connect(t, m, Spec{URL: startBombServer(t, sse)})
			_, err := m.CallTool(t.Context(), hostile.BombTool, nil, 0)
			var tooLarge *MessageTooLargeError
			require.ErrorAs(t, err, &tooLarge)
			assert.Contains(t, err.Error(), "32 MiB limit (MCP_TEST_MAX_MESSAGE_BYTES)")
			_, err = m.Ping(t.Context(), 0)
			assert.NoError(t, err)
		})
	}
}

func TestSSECap(t *testing.T) {
	big := strings.Repeat("x", 200<<10) // several reads of the 64 KiB buffer
	event := func(id, text string) string {
		return "id: e" + id + "\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":{\"text\":\"" + text + "\"}}\n\n"
	}
	t.Run("events under the cap pass through byte for byte", func(t *testing.T) {
		in := ": comment\n\n" + event("1", big) + event("2", "small") + "data: {\"jsonrpc\":\"2.0\",\"method\":\"x\"}\r\n\r\n"
		out, err := io.ReadAll(newSSECap(io.NopCloser(strings.NewReader(in)), 1<<20, false))
		require.NoError(t, err)
		assert.Equal(t, in, string(out))
	})
	t.Run("an event over the cap is replaced by a made-up error answer for its id", func(t *testing.T) {
		in := event("1", big) + event("2", "small")
		out, err := io.ReadAll(newSSECap(io.NopCloser(strings.NewReader(in)), 100<<10, false))
		require.NoError(t, err)
		assert.True(t, strings.HasSuffix(string(out), event("2", "small")), "the next event passes")
		first := strings.TrimSuffix(string(out), event("2", "small"))
		assert.True(t, strings.HasPrefix(first, "id: e1\nevent: message\ndata: "), "the SSE id goes on, for resumption: %.80q", first)
		assert.Contains(t, first, `"id":1,"error":{"code":-32099`)
		assert.Contains(t, first, "over the 102400 byte limit (MCP_TEST_MAX_MESSAGE_BYTES)")
	})
	t.Run("on a POST's stream, a real answer after an oversized one with its id wins", func(t *testing.T) {
		in := event("1", big) + event("1", "real")
		out, err := io.ReadAll(newSSECap(io.NopCloser(strings.NewReader(in)), 100<<10, true))
		require.NoError(t, err)
		assert.Equal(t, "id: e1\n\n"+event("1", "real"), string(out))
	})
	t.Run("on a POST's stream, an oversized answer with no real one fails its call at the end of the stream", func(t *testing.T) {
		in := event("1", big) + event("2", "small")
		out, err := io.ReadAll(newSSECap(io.NopCloser(strings.NewReader(in)), 100<<10, true))
		require.NoError(t, err)
		rest, ok := strings.CutPrefix(string(out), "id: e1\n\n"+event("2", "small"))
		require.True(t, ok, "%.200q", out)
		assert.Contains(t, rest, `"id":1,"error":{"code":-32099`)
	})
	t.Run("an event over the cap without an id is dropped", func(t *testing.T) {
		in := "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"data\":\"" + big + "\"}}\n\n" + event("2", "small")
		out, err := io.ReadAll(newSSECap(io.NopCloser(strings.NewReader(in)), 100<<10, false))
		require.NoError(t, err)
		assert.Equal(t, event("2", "small"), string(out))
	})
	t.Run("an event over the cap without a JSON-RPC id leaves its SSE id", func(t *testing.T) {
		in := "id: e7\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"data\":\"" + big + "\"}}\n\n"
		out, err := io.ReadAll(newSSECap(io.NopCloser(strings.NewReader(in)), 100<<10, false))
		require.NoError(t, err)
		assert.Equal(t, "id: e7\n\n", string(out))
	})
}

func TestSSECapReads(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	t.Run("an oversized answer without an SSE id never makes Read return nothing", func(t *testing.T) {
		in := "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"text\":\"" + big + "\"}}\n\n"
		s := newSSECap(io.NopCloser(strings.NewReader(in)), 100<<10, false)
		var out []byte
		buf := make([]byte, 512)
		for {
			n, err := s.Read(buf)
			out = append(out, buf[:n]...)
			if err != nil {
				require.ErrorIs(t, err, io.EOF)
				break
			}
			require.Positive(t, n, "Read returned (0, nil)")
		}
		assert.Contains(t, string(out), `"id":1,"error":{"code":`)
	})
	t.Run("on a POST's stream kept open, an oversized answer is handed out after the grace", func(t *testing.T) {
		pr, pw := io.Pipe()
		t.Cleanup(func() { _ = pw.Close() })
		s := newSSECap(pr, 100<<10, true)
		s.grace = 50 * time.Millisecond
		go func() {
			_, _ = io.WriteString(pw, "id: e1\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"text\":\""+big+"\"}}\n\n")
		}()
		got := make(chan string, 1)
		go func() {
			var out []byte
			buf := make([]byte, 4096)
			for !strings.Contains(string(out), `"error"`) {
				n, err := s.Read(buf)
				if err != nil {
					break
				}
				out = append(out, buf[:n]...)
			}
			got <- string(out)
		}()
		select {
		case out := <-got:
			assert.Contains(t, out, "id: e1\n\n", "the SSE id goes on")
			assert.Contains(t, out, `"id":1,"error":{"code":`)
		case <-time.After(10 * time.Second):
			t.Fatal("the made-up answer did not come while the stream stayed open")
		}
		require.NoError(t, s.Close())
	})
}
