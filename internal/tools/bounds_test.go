package tools

import (
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
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
	raw := h.rawOutputs()
	assert.Less(t, len(raw[len(raw)-1]), 4<<20, "the answer stays under 4 MiB")

	env = h.call("get_notifications", map[string]any{"kinds": []any{"log"}, "limit": 1})
	assert.Equal(t, true, get(env, "notifications", 0, "data_truncated"))
	assert.Greater(t, get(env, "notifications", 0, "data_size_bytes"), float64(logBytes))
}
