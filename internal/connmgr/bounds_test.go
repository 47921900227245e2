package connmgr

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

// hostileSpec runs the test binary as the hostile target with behaviour and
// extra environment.
func hostileSpec(t testing.TB, behaviour string, env map[string]string) Spec {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	e := map[string]string{hostile.Behaviour: behaviour}
	for k, v := range env {
		e[k] = v
	}
	return Spec{Command: exe, Env: e}
}

func TestNotificationsAreCutWhenStored(t *testing.T) {
	const logBytes = 100 << 10
	m := newManager(t, nil)
	connect(t, m, hostileSpec(t, hostile.LogFlood, map[string]string{
		"HOSTILE_LOGS": "150", "HOSTILE_PROGRESS": "130", "HOSTILE_LOG_BYTES": strconv.Itoa(logBytes),
	}))
	r, err := m.CallTool(t.Context(), hostile.Tool, nil, 0)
	require.NoError(t, err)

	t.Run("a call keeps the newest logs, each cut, and counts the dropped ones", func(t *testing.T) {
		require.Len(t, r.Logs, MaxCallLogs)
		assert.Equal(t, 50, r.LogsDropped)
		for _, l := range r.Logs {
			assert.True(t, l.Truncated)
			assert.Equal(t, logBytes+2, l.SizeBytes, "the size of the JSON string before the cut")
			assert.LessOrEqual(t, len(l.Data), MaxLogData)
			assert.True(t, strings.HasPrefix(string(l.Data), `"\"LLL`), "the data is the start of its JSON text, as a string")
		}
	})
	t.Run("a call keeps the newest progress, each message cut", func(t *testing.T) {
		require.Len(t, r.Progress, MaxCallProgress)
		assert.Equal(t, 30, r.ProgressDropped)
		assert.Equal(t, float64(129), r.Progress[len(r.Progress)-1].Progress, "the newest are kept")
		for _, p := range r.Progress {
			assert.Len(t, p.Message, MaxProgressMessage)
			assert.Equal(t, logBytes, p.MessageSizeBytes)
		}
	})
	t.Run("the event log stores each notification cut", func(t *testing.T) {
		page := m.Events(EventQuery{Kinds: []string{EventLog, EventProgress}})
		require.Len(t, page.Events, 280)
		for _, e := range page.Events {
			assert.True(t, e.Truncated)
			assert.Greater(t, e.SizeBytes, logBytes)
			assert.LessOrEqual(t, len(e.Data), MaxEventData)
		}
	})
}

func TestStderrLinesAreCutWithANote(t *testing.T) {
	stderrEvent := func(t *testing.T, m *Manager) string {
		var line string
		require.Eventually(t, func() bool {
			page := m.Events(EventQuery{Kinds: []string{EventStderr}})
			if len(page.Events) == 0 {
				return false
			}
			var d struct{ Line string }
			require.NoError(t, json.Unmarshal(page.Events[0].Data, &d))
			line = d.Line
			return true
		}, 10*time.Second, 10*time.Millisecond)
		return line
	}
	t.Run("a 100,000-byte line, cut before it is scrubbed, says how long it was as written", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, hostileSpec(t, hostile.Silent, map[string]string{"HOSTILE_STDERR_LINE": "100000"}))
		assert.Equal(t, strings.Repeat("e", stderrLineMax)+"…[cut: 100000 bytes in all]", stderrEvent(t, m))
	})
	t.Run("a 20,000-byte line is cut in the event log and in status's stderr tail", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, hostileSpec(t, hostile.Silent, map[string]string{"HOSTILE_STDERR_LINE": "20000"}))
		want := strings.Repeat("e", stderrLineMax) + "…[cut: 20000 bytes in all]"
		assert.Equal(t, want, stderrEvent(t, m))
		assert.Equal(t, []string{want}, m.Status().StderrTail)
	})
}

func TestUndeliverableAnswers(t *testing.T) {
	t.Run("an answer nested too deep to decode fails its call at once with a protocol error", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, hostileSpec(t, hostile.DeepNest, nil))
		_, err := m.CallTool(t.Context(), hostile.Tool, nil, 30*time.Second)
		var perr *ProtocolError
		require.ErrorAs(t, err, &perr, "not a timeout: %v", err)
		assert.Contains(t, err.Error(), "could not be decoded")
		assert.Contains(t, err.Error(), "depth")
		_, err = m.Ping(t.Context(), 0)
		assert.NoError(t, err, "the connection stays usable")
	})
	t.Run("an oversized message with the id of a call in flight does not fail it: the real answer after it wins", func(t *testing.T) {
		m := newManager(t, &Options{MaxMessageBytes: 1 << 20})
		connect(t, m, hostileSpec(t, hostile.OversizedThenAnswer, nil))
		r, err := m.CallTool(t.Context(), hostile.Tool, nil, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "real", text(t, r))
		page := m.Events(EventQuery{Kinds: []string{EventStdout}})
		require.NotEmpty(t, page.Events)
		assert.Contains(t, string(page.Events[len(page.Events)-1].Data), "of a request in flight: over the 1 MiB limit")
	})
	t.Run("an oversized answer with no real one after it fails its call naming the limit", func(t *testing.T) {
		m := newManager(t, &Options{MaxMessageBytes: 1 << 20})
		connect(t, m, hostileSpec(t, hostile.OversizedOnly, nil))
		_, err := m.CallTool(t.Context(), hostile.Tool, nil, 30*time.Second)
		var tooLarge *MessageTooLargeError
		require.ErrorAs(t, err, &tooLarge, "not a timeout: %v", err)
		assert.Contains(t, err.Error(), "over the 1 MiB limit (MCP_TEST_MAX_MESSAGE_BYTES)")
		assert.Greater(t, tooLarge.Size, int64(2<<20))
	})
}

func TestTargetStringsAreCut(t *testing.T) {
	t.Run("a 512 KiB WWW-Authenticate header is cut with a note", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+strings.Repeat("r", 512<<10)+`"`)
			w.WriteHeader(http.StatusUnauthorized)
		}))
		t.Cleanup(srv.Close)
		m := newManager(t, nil)
		_, _, err := m.Connect(t.Context(), Spec{URL: srv.URL + "/mcp"})
		var herr *HTTPError
		require.ErrorAs(t, err, &herr)
		assert.Contains(t, herr.WWWAuthenticate, "[cut: 524303 bytes in all]")
		assert.Less(t, len(err.Error()), 4<<10)
	})
	t.Run("serverInfo strings and instructions of 2 MiB are cut with a note", func(t *testing.T) {
		m := newManager(t, nil)
		info := connect(t, m, hostileSpec(t, hostile.LongStrings, nil))
		for _, s := range []string{info.ServerInfo.Name, info.ServerInfo.Title, info.ServerInfo.Version} {
			assert.Less(t, len(s), 2<<10)
			assert.Contains(t, s, "[cut: 2097152 bytes in all]")
		}
		assert.Less(t, len(info.Instructions), maxInstructions+64)
		assert.True(t, strings.HasSuffix(info.Instructions, "…[cut: 2097152 bytes in all]"), "the instructions' note is the same as every other cut's")
		assert.Equal(t, 2<<20, info.InstructionsBytes)
	})
	t.Run("pages of 50,000 tools stop the walk with a protocol error naming the bound", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, hostileSpec(t, hostile.HugePages, map[string]string{"HOSTILE_PAGE_ITEMS": "4000"}))
		_, err := m.ListTools(t.Context())
		var perr *ProtocolError
		require.ErrorAs(t, err, &perr)
		assert.Contains(t, err.Error(), `tools/list returned more than 10000 items (12000 by page 3, whose cursor was "page-2")`)
	})
}

func TestACancelledRequestIsNoLongerInFlight(t *testing.T) {
	m := newManager(t, nil)
	connect(t, m, hostileSpec(t, hostile.Silent, nil))
	_, err := m.CallTool(t.Context(), hostile.Tool, nil, 200*time.Millisecond)
	var te *TimeoutError
	require.ErrorAs(t, err, &te)
	m.mu.Lock()
	c := m.cur
	m.mu.Unlock()
	require.NotNil(t, c)
	require.Eventually(t, func() bool {
		n := 0
		c.stdio.inFlight.Range(func(any, any) bool { n++; return true })
		return n == 0
	}, 5*time.Second, 10*time.Millisecond, "notifications/cancelled removes the id, so a late junk frame with it fails nothing")
}

func TestPaginationLoopsAreStopped(t *testing.T) {
	tests := []struct {
		cursor string
		spec   func(t *testing.T) Spec
		want   string
	}{
		{"repeat-cursor", func(t *testing.T) Spec { return hostileSpec(t, hostile.RepeatCursor, nil) }, `returned the cursor "again" twice`},
		{"endless", func(t *testing.T) Spec {
			return hostileSpec(t, hostile.HugePages, map[string]string{"HOSTILE_PAGE_ITEMS": "1"})
		}, `more than 100 pages; the last cursor was "page-100"`},
	}
	for _, tt := range tests {
		t.Run("a server whose tools/list cursor is "+tt.cursor+" gets a protocol error naming the cursor", func(t *testing.T) {
			m := newManager(t, nil)
			connect(t, m, tt.spec(t))
			_, err := m.ListTools(t.Context())
			var perr *ProtocolError
			require.ErrorAs(t, err, &perr)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, m.Status().Connected, "the connection stays usable")
		})
	}
}

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
