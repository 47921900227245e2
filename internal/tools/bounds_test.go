package tools

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

// hostileArgs returns connect's arguments for the hostile target with
// behaviour and extra environment.
func hostileArgs(behaviour string, env map[string]any) map[string]any {
	e := map[string]any{hostile.Behaviour: behaviour}
	for k, v := range env {
		e[k] = v
	}
	return map[string]any{"command": os.Args[0], "env": e}
}

func TestCallToolBoundsLogsAndProgress(t *testing.T) {
	const logBytes = 256 << 10
	h := newHost(t, nil)
	env := h.call("connect", hostileArgs(hostile.LogFlood, map[string]any{
		"HOSTILE_LOGS": "120", "HOSTILE_PROGRESS": "110", "HOSTILE_LOG_BYTES": strconv.Itoa(logBytes),
	}))
	require.Equal(t, true, env["success"], "%v", env)

	env = h.call("call_tool", map[string]any{"name": hostile.Tool})
	require.Equal(t, true, env["success"], "%v", env)
	call := env["tool_call"].(map[string]any)
	logs := call["logs"].([]any)
	assert.Len(t, logs, connmgr.MaxCallLogs)
	assert.EqualValues(t, 20, call["logs_dropped"])
	assert.Equal(t, true, get(logs, 0, "truncated"))
	assert.EqualValues(t, logBytes+2, get(logs, 0, "size_bytes"))
	assert.Len(t, call["progress"], connmgr.MaxCallProgress)
	assert.EqualValues(t, 10, call["progress_dropped"])
	assert.EqualValues(t, logBytes, get(call, "progress", 0, "message_size_bytes"))
	assert.Contains(t, env["message"], "120 log messages (the newest 100 kept) (100 cut at 16 KiB)")
	assert.Contains(t, env["message"], "110 progress notifications (the newest 100 kept)")
	assert.Less(t, h.frames.last(), maxAnswerBytes, "the answer's frame, both copies, stays under 4 MiB")

	env = h.call("get_notifications", map[string]any{"kinds": []any{"log"}, "limit": 1})
	assert.Equal(t, true, get(env, "notifications", 0, "data_truncated"))
	assert.Greater(t, get(env, "notifications", 0, "data_size_bytes"), float64(logBytes))
}

func TestAnswersStayUnderTheBound(t *testing.T) {
	t.Run("a target whose tools/list pages hold 50,000 tools gets a protocol error naming the bound", func(t *testing.T) {
		h := newHost(t, nil)
		env := h.call("connect", hostileArgs(hostile.HugePages, nil))
		require.Equal(t, true, env["success"], "%v", env)
		env = h.call("list_tools", nil)
		assert.Equal(t, string(errtype.ProtocolError), errType(env))
		assert.Contains(t, env["message"], "more than 10000 items")
	})

	h := newHost(t, nil)
	env := h.call("connect", hostileArgs(hostile.LongStrings, nil))
	require.Equal(t, true, env["success"], "%v", env)

	t.Run("serverInfo strings of 2 MiB are cut with a note", func(t *testing.T) {
		for _, field := range []string{"name", "title", "version"} {
			s := get(env, "connection", "server_info", field).(string)
			assert.Less(t, len(s), 2<<10, field)
			assert.Contains(t, s, "[cut: 2097152 bytes in all]", field)
		}
		assert.Less(t, len(get(env, "connection", "instructions").(string)), 16<<10)
		assert.Less(t, h.frames.last(), 128<<10, "the frame, both copies")
	})
	t.Run("a 2 MiB error message from the target is cut with a note", func(t *testing.T) {
		env := h.call("call_tool", map[string]any{"name": hostile.Tool})
		require.Equal(t, false, env["success"])
		msg := get(env, "error", "message").(string)
		assert.Less(t, len(msg), 9<<10)
		assert.Contains(t, msg, "bytes in all]")
		assert.Less(t, h.frames.last(), 128<<10, "the frame, both copies")
	})
	t.Run("a 14 MiB tool list is cut to the 4 MiB bound, says so, and still matches the output schema", func(t *testing.T) {
		env := h.call("list_tools", nil)
		require.Equal(t, true, env["success"], "%v", env["message"])
		assert.LessOrEqual(t, h.frames.last(), maxAnswerBytes, "the frame, both copies")
		assert.Contains(t, env["message"], "over the 4 MiB bound, so it was cut")
		assert.Len(t, env["tools"], 8, "the list itself is whole")
	})
}

// fitted fits the answer b to limit, checks that it was cut to fit rather
// than failed, and returns the cut answer, also decoded.
func fitted(t *testing.T, b []byte, limit int) ([]byte, map[string]any) {
	t.Helper()
	out, failed := fitAnswer(b, limit, frameSize)
	assert.False(t, failed)
	assert.LessOrEqual(t, frameSize(out), limit)
	var v map[string]any
	require.NoError(t, json.Unmarshal(out, &v))
	return out, v
}

func TestFitAnswer(t *testing.T) {
	t.Run("an answer under the bound is left alone", func(t *testing.T) {
		b := []byte(`{"success":true,"message":"ok"}`)
		out, failed := fitAnswer(b, 16<<10, frameSize)
		assert.Equal(t, b, out)
		assert.False(t, failed)
	})
	t.Run("a list of many small items is shortened when cutting strings is not enough", func(t *testing.T) {
		items := make([]any, 50_000)
		for i := range items {
			items[i] = map[string]any{"name": "tool_" + strconv.Itoa(i)}
		}
		b, err := json.Marshal(map[string]any{"success": true, "message": "many", "tools": items, "metadata": map[string]any{"n": json.Number("12345678901234567890")}})
		require.NoError(t, err)
		out, v := fitted(t, b, 256<<10)
		assert.Contains(t, v["message"], "lists or objects to")
		assert.NotEmpty(t, v["tools"])
		assert.Contains(t, string(out), "12345678901234567890", "numbers stay exact")
	})
}

func TestFitAnswerMeasuresTheFrame(t *testing.T) {
	t.Run("a string of quotes, escaped twice in the text copy, is cut until the frame fits", func(t *testing.T) {
		b, err := json.Marshal(map[string]any{"success": true, "message": "quotes", "text": strings.Repeat(`"`, 200<<10)})
		require.NoError(t, err)
		require.Less(t, 2*len(b), 1<<20, "twice the envelope would look as if it fitted")
		require.Greater(t, frameSize(b), 1<<20, "the frame does not")
		_, v := fitted(t, b, 1<<20)
		assert.Contains(t, v["message"], "so it was cut: 1 strings to")
		assert.Greater(t, len(v["text"].(string)), 120<<10, "the cut keeps most of what fits")
	})
}

// BenchmarkFitAnswer fits a 32 MiB answer (the message cap's worth of
// strings and small items) to the bound: it decodes once and cuts copies.
func BenchmarkFitAnswer(b *testing.B) {
	items := make([]any, 100_000)
	for i := range items {
		items[i] = map[string]any{"name": "tool_" + strconv.Itoa(i), "description": strings.Repeat("d", 300)}
	}
	env, err := json.Marshal(map[string]any{"success": true, "message": "big", "tools": items})
	require.NoError(b, err)
	b.SetBytes(int64(len(env)))
	for b.Loop() {
		out, failed := fitAnswer(env, maxAnswerBytes, frameSize)
		if failed || frameSize(out) > maxAnswerBytes {
			b.Fatal("not fitted")
		}
	}
}

func TestQuotedLenIsWhatTheEncoderWrites(t *testing.T) {
	for _, s := range []string{"", "plain", `"\\`, "<a&b>", "\n\t\x01\x7f", "é–\u2028\u2029", "bad \xff utf-8", `{"k":"v\"w"}`} {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		assert.Equal(t, len(want), quotedLen([]byte(s)), "%q", s)
	}
}

func TestFitAnswerNeverSendsMoreThanTheBound(t *testing.T) {
	inner := map[string]any{}
	for i := range 100 {
		inner["k"+strconv.Itoa(i)] = i
	}
	outer := map[string]any{}
	for i := range 100 {
		outer["o"+strconv.Itoa(i)] = inner
	}
	b, err := json.Marshal(map[string]any{"success": true, "message": "wide", "data": outer, "metadata": map[string]any{"request_time_ms": 1.5}})
	require.NoError(t, err)
	out, failed := fitAnswer(b, 8<<10, frameSize)
	assert.True(t, failed, "the host is told with isError")
	assert.LessOrEqual(t, frameSize(out), 8<<10)
	var v map[string]any
	require.NoError(t, json.Unmarshal(out, &v))
	assert.Equal(t, false, v["success"])
	assert.Equal(t, string(errtype.InternalError), get(v, "error", "type"))
	assert.Contains(t, v["message"], "could not be cut to fit")
	assert.Equal(t, 1.5, get(v, "metadata", "request_time_ms"))
}
