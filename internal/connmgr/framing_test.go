package connmgr

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

// framingTarget serves a stateless streamable HTTP MCP target whose one
// tool, hostile.Tool, answers as answer says:
//
//	deep-json   a result nested in 100,000 arrays, as application/json
//	deep-sse    the same, as an event of the POST's event stream
//	big-open    an event over the cap with the call's id, then nothing,
//	            keeping the stream open until the test ends
func framingTarget(t testing.TB, answer string) string {
	t.Helper()
	stop := make(chan struct{})
	srv := httptest.NewServer(hostile.HTTPTarget(hostile.Tool, func(w http.ResponseWriter, r *http.Request, id json.RawMessage) {
		const depth = 100_000
		deep := fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{"content":[],"structuredContent":{"deep":%s%s}}}`, id, strings.Repeat("[", depth), strings.Repeat("]", depth))
		switch answer {
		case "deep-json":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(deep))
		case "deep-sse":
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write([]byte("event: message\ndata: " + deep + "\n\n"))
		case "big-open":
			w.Header().Set("Content-Type", "text/event-stream")
			big := fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"%s"}]}}`, id, strings.Repeat("o", 2<<20))
			_, _ = w.Write([]byte("event: message\ndata: " + big + "\n\n"))
			w.(http.Flusher).Flush()
			select {
			case <-stop:
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(func() {
		close(stop)
		srv.Close()
	})
	return srv.URL + "/mcp"
}

// An undecodable answer is an answer: its call fails at once, and the
// bound below is far under the 30 s timeout and the 1 s grace an oversized
// answer gets.
func TestAnUndecodableAnswerFailsOnlyItsCallAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec func(t *testing.T) Spec
	}{
		{"over stdio", func(t *testing.T) Spec { return hostileSpec(t, hostile.DeepNest, nil) }},
		{"as an HTTP JSON answer", func(t *testing.T) Spec { return Spec{URL: framingTarget(t, "deep-json")} }},
		{"as an event of an HTTP POST's stream", func(t *testing.T) Spec { return Spec{URL: framingTarget(t, "deep-sse")} }},
	} {
		t.Run(tc.name+", the call fails with a protocol error and the connection stays", func(t *testing.T) {
			m := newManager(t, nil)
			connect(t, m, tc.spec(t))
			start := time.Now()
			_, err := m.CallTool(t.Context(), hostile.Tool, nil, 30*time.Second)
			took := time.Since(start)
			t.Logf("an answer nested 100,000 deep failed its call after %s: %v", took.Round(time.Millisecond), err)
			var perr *ProtocolError
			require.ErrorAs(t, err, &perr, "%T: %v", err, err)
			assert.Contains(t, err.Error(), "could not be decoded")
			assert.Less(t, took, 500*time.Millisecond)
			_, err = m.Ping(t.Context(), 0)
			assert.NoError(t, err, "the connection stays usable")
			_, err = m.ListTools(t.Context())
			assert.NoError(t, err)
			assert.True(t, m.Status().Connected)
		})
	}
}

func TestAnOversizedAnswerOnAnOpenStreamFailsItsCallAfterTheGrace(t *testing.T) {
	m := newManager(t, &Options{MaxMessageBytes: 1 << 20})
	connect(t, m, Spec{URL: framingTarget(t, "big-open")})
	const timeout = 10 * time.Second
	start := time.Now()
	_, err := m.CallTool(t.Context(), hostile.Tool, nil, timeout)
	took := time.Since(start)
	t.Logf("an oversized answer on a stream kept open failed its call after %s (grace %s): %v", took.Round(time.Millisecond), defaultHoldGrace, err)
	var tooLarge *MessageTooLargeError
	require.ErrorAs(t, err, &tooLarge, "not a timeout: %T: %v", err, err)
	assert.GreaterOrEqual(t, took, defaultHoldGrace, "the real answer had its grace")
	assert.Less(t, took, defaultHoldGrace+2*time.Second)
	_, err = m.Ping(t.Context(), 0)
	assert.NoError(t, err, "the connection stays usable")
}

func TestFrameIDTellsAnswersFromTheTargetsRequests(t *testing.T) {
	for _, tc := range []struct {
		name, frame string
		want        any // nil: not an answer
	}{
		{"go-sdk's answer, id first", `{"jsonrpc":"2.0","id":7,"result":{}}`, int64(7)},
		{"the TypeScript SDK's answer, id last", `{"result":{},"jsonrpc":"2.0","id":"a7"}`, "a7"},
		{"Python's spacing", `{"jsonrpc": "2.0", "id": 7, "result": {}}`, int64(7)},
		{"an answer whose result mentions a method", `{"jsonrpc":"2.0","id":7,"result":{"method":"x"}}`, int64(7)},
		{"go-sdk's request", `{"jsonrpc":"2.0","id":7,"method":"roots/list"}`, nil},
		{"the TypeScript SDK's request, id last", `{"method":"roots/list","params":{},"jsonrpc":"2.0","id":7}`, nil},
		{"Python's request", `{"jsonrpc": "2.0", "id": 7, "method": "roots/list", "params": {}}`, nil},
		{"a notification", `{"jsonrpc":"2.0","method":"notifications/message","params":{}}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(tc.frame)
			id, ok := frameID(b[:min(len(b), peek)], b[max(0, len(b)-peek):])
			if tc.want == nil {
				assert.False(t, ok, "a request or notification is no answer: %v", id.Raw())
				return
			}
			require.True(t, ok)
			assert.Equal(t, tc.want, id.Raw())
		})
	}
}

func TestATargetCannotForgeAMadeUpAnswer(t *testing.T) {
	id, err := jsonrpc.MakeID(float64(1))
	require.NoError(t, err)
	ours := madeUp(id, &ProtocolError{Msg: "the target's answer could not be decoded"})
	werr, ok := ours.Error.(*jsonrpc.Error)
	require.True(t, ok)
	require.NotNil(t, madeUpError(werr, "tools/call", 1<<20), "the tester's own made-up answer is recognised")
	for _, data := range []string{
		`{"mcp_test_mcp_undecodable":true}`,
		`{"mcp_test_mcp_undecodable":"guess"}`,
		`{"mcp_test_mcp_probe_http_error":true,"status_code":400,"body_snippet":"x"}`,
	} {
		forged := &jsonrpc.Error{Code: codeUndecodable, Message: "forged", Data: json.RawMessage(data)}
		assert.Nil(t, madeUpError(forged, "tools/call", 1<<20), "a target's error with %s stays the target's own", data)
		forged.Code = codeProbeHTTPError
		assert.Nil(t, madeUpError(forged, "tools/call", 1<<20), "a target's error with %s stays the target's own", data)
	}
}
