package connmgr

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawServer is a hand-written stdio MCP server for behaviours no SDK would
// produce. It answers initialize, and tools/list according to behaviour:
//
//	repeat-cursor     every tools/list page has nextCursor "again"
//	endless           every tools/list page has a new nextCursor
//	error-32099       tools/call answers with the target's own error -32099
//	answer-then-exit  tools/call answers 8 MB of text, then the process exits 0
//	stderr-secret     writes $RAW_SECRET to stderr just past 500 characters
//	header-tools      lists a tool go-sdk would drop (x-mcp-header on an object)
//	slow-list         tools/list takes 5 s
//	bad-annotations   lists a tool whose readOnlyHint is a string
func rawServer(behaviour string) {
	if behaviour == "stderr-secret" {
		fmt.Fprintf(os.Stderr, "%s%s and more\n", strings.Repeat("x", 505), os.Getenv("RAW_SECRET"))
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	page := 0
	for in.Scan() {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(in.Bytes(), &req) != nil || req.ID == nil {
			continue
		}
		var result any
		switch m := req.Method; {
		case m == "initialize":
			result = map[string]any{
				"protocolVersion": DefaultProtocolVersion,
				"capabilities":    map[string]any{"tools": map[string]any{}},
				"serverInfo":      map[string]any{"name": "raw", "version": "0"},
			}
		case m == "tools/list" && behaviour == "header-tools":
			result = map[string]any{"tools": []any{
				map[string]any{"name": "fine", "inputSchema": map[string]any{"type": "object"}},
				map[string]any{"name": "odd_header", "inputSchema": map[string]any{"type": "object", "properties": map[string]any{
					"where": map[string]any{"type": "object", "x-mcp-header": "X-Where"},
				}}},
			}}
		case m == "tools/list" && behaviour == "bad-annotations":
			result = map[string]any{"tools": []any{
				map[string]any{"name": "odd", "inputSchema": map[string]any{"type": "object"}, "annotations": map[string]any{"readOnlyHint": "yes"}},
			}}
		case m == "tools/list" && behaviour == "slow-list":
			time.Sleep(5 * time.Second)
			result = map[string]any{"tools": []any{}}
		case m == "tools/list":
			page++
			next := "again"
			if behaviour == "endless" {
				next = "page-" + strconv.Itoa(page)
			}
			result = map[string]any{
				"tools":      []any{map[string]any{"name": fmt.Sprintf("t%d", page), "inputSchema": map[string]any{"type": "object"}}},
				"nextCursor": next,
			}
		case m == "tools/call" && behaviour == "error-32099":
			_ = out.Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "error": map[string]any{"code": -32099, "message": "backend down"}})
			continue
		case m == "tools/call" && behaviour == "answer-then-exit":
			text := strings.Repeat("z", 8<<20)
			_ = out.Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": map[string]any{"content": []any{map[string]any{"type": "text", "text": text}}}})
			os.Exit(0)
		default:
			_ = out.Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "error": map[string]any{"code": -32601, "message": "method not found"}})
			continue
		}
		_ = out.Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
	}
}

func rawSpec(t *testing.T, behaviour string) Spec {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	return Spec{Command: exe, Args: []string{"raw-server", behaviour}}
}

func TestPaginationLoopsAreStopped(t *testing.T) {
	tests := []struct {
		behaviour string
		want      string
	}{
		{"repeat-cursor", `returned the cursor "again" twice`},
		{"endless", `more than 100 pages; the last cursor was "page-100"`},
	}
	for _, tt := range tests {
		t.Run("a server whose tools/list cursor is "+tt.behaviour+" gets a protocol error naming the cursor", func(t *testing.T) {
			m := newManager(t, nil)
			connect(t, m, rawSpec(t, tt.behaviour))
			_, err := m.ListTools(t.Context())
			var perr *ProtocolError
			require.ErrorAs(t, err, &perr)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, m.Status().Connected, "the connection stays usable")
		})
	}
}

func TestDefectsFoundInReview(t *testing.T) {
	t.Run("a target's own error -32099 is its error, not a size-cap error", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, rawSpec(t, "error-32099"))
		_, err := m.CallTool(t.Context(), "t1", nil, 0)
		var rpc *RPCError
		require.ErrorAs(t, err, &rpc, "%T %v", err, err)
		assert.EqualValues(t, -32099, rpc.Code)
		assert.Equal(t, "backend down", rpc.Message)
	})
	t.Run("an answer written just before the target exits is delivered", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, rawSpec(t, "answer-then-exit"))
		r, err := m.CallTool(t.Context(), "t1", nil, 0)
		require.NoError(t, err)
		assert.Len(t, text(t, r), 8<<20)
		require.Eventually(t, func() bool { return !m.Status().Connected }, 5*time.Second, 10*time.Millisecond)
		assert.Contains(t, m.Status().Last.Reason, "exited with status 0")
	})
	t.Run("a secret past the display cut leaves no prefix behind", func(t *testing.T) {
		const secret = "sk-cut-boundary-SECRET-1234"
		m := newManager(t, nil)
		spec := rawSpec(t, "stderr-secret")
		spec.Env = map[string]string{"RAW_SECRET": secret}
		connect(t, m, spec)
		require.Eventually(t, func() bool { return len(m.Status().StderrTail) > 0 }, 5*time.Second, 10*time.Millisecond)
		line := m.Status().StderrTail[0]
		assert.NotContains(t, line, secret[:7], "no prefix of the secret at the cut")
		for _, e := range m.Events(EventQuery{Kinds: []string{EventStderr}}).Events {
			assert.NotContains(t, string(e.Data), secret[:7])
		}
	})
	t.Run("a command line given as one string does not repeat its secrets", func(t *testing.T) {
		m := newManager(t, nil)
		_, _, err := m.Connect(t.Context(), Spec{Command: "my-server --api-key=sk-live-abcdef123456"})
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "sk-live-abcdef123456")
		var spawn *SpawnError
		require.ErrorAs(t, err, &spawn)
		assert.NotContains(t, spawn.Command+spawn.Hint, "sk-live-abcdef123456")
		assert.Contains(t, spawn.Hint, "--api-key=***")
	})
	t.Run("tools go-sdk would drop are still listed and callable", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, rawSpec(t, "header-tools"))
		tl, err := m.ListTools(t.Context())
		require.NoError(t, err)
		var names []string
		for _, tool := range tl.Tools {
			names = append(names, tool.Name)
		}
		assert.ElementsMatch(t, []string{"fine", "odd_header"}, names)
		_, err = m.CallTool(t.Context(), "odd_header", nil, 0)
		var nf *ToolNotFoundError
		assert.False(t, errors.As(err, &nf), "the call is sent, not refused: %v", err)
	})
	t.Run("call_tool's timeout bounds the tools/list before the call", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, rawSpec(t, "slow-list"))
		_, err := m.CallTool(t.Context(), "t1", nil, 300*time.Millisecond)
		var to *TimeoutError
		require.ErrorAs(t, err, &to)
		assert.Equal(t, "tools/list", to.Method)
		assert.Equal(t, 300*time.Millisecond, to.After)
	})
	t.Run("a target that stops reading is reported lost even for a small request", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, exampleSpec(t, "faults"))
		_, err := m.CallTool(t.Context(), "stop_reading", nil, 0)
		require.NoError(t, err)
		_, err = m.CallTool(t.Context(), "echo", map[string]any{"message": "small"}, 500*time.Millisecond)
		var to *TimeoutError
		require.ErrorAs(t, err, &to)
		assert.True(t, to.Lost)
		assert.False(t, to.Cancelled, "a cancellation it never reads is not claimed as sent")
		require.NotNil(t, m.Status().Last)
		assert.Contains(t, m.Status().Last.Reason, "stopped reading its stdin")
	})
}

func TestRawRequest(t *testing.T) {
	t.Run("a list go-sdk cannot decode comes back as the target sent it", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, rawSpec(t, "bad-annotations"))
		_, err := m.ListTools(t.Context())
		require.Error(t, err, "go-sdk cannot decode a string readOnlyHint")
		raw, err := m.RawRequest(t.Context(), "tools/list", map[string]any{}, 0)
		require.NoError(t, err)
		assert.Contains(t, string(raw), `"readOnlyHint":"yes"`)
	})
	t.Run("an unknown method is sent and its error returned", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, exampleSpec(t, "normal"))
		_, err := m.RawRequest(t.Context(), "mcp-test-mcp/does-not-exist", map[string]any{}, 0)
		var rpc *RPCError
		require.ErrorAs(t, err, &rpc)
		assert.EqualValues(t, -32601, rpc.Code)
	})
	t.Run("an unknown tool is sent, not refused", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, exampleSpec(t, "normal"))
		raw, err := m.RawRequest(t.Context(), "tools/call", map[string]any{"name": "no_such_tool", "arguments": map[string]any{}}, 0)
		if err == nil {
			assert.Contains(t, string(raw), `"isError":true`)
		} else {
			var rpc *RPCError
			require.ErrorAs(t, err, &rpc)
		}
	})
	t.Run("over HTTP the result is go-sdk's decoding", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, Spec{URL: startHTTPExample(t) + "/mcp"})
		raw, err := m.RawRequest(t.Context(), "tools/list", nil, 0)
		require.NoError(t, err)
		assert.Contains(t, string(raw), `"name":"echo"`)
	})
}
