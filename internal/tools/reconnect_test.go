package tools

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

func TestReconnectTool(t *testing.T) {
	h := newHost(t, nil)

	env := h.call("reconnect", nil)
	assert.Equal(t, false, env["success"])
	assert.Equal(t, string(errtype.NotConnected), errType(env))
	assert.Contains(t, get(env, "error", "message"), "no connection to repeat")

	first := h.connect(exampleserver.ModeNormal, map[string]any{"health_check_interval_seconds": 0.1})
	env = h.call("call_tool", map[string]any{"name": "echo", "arguments": map[string]any{"message": "hi"}})
	require.Equal(t, true, env["success"], "%v", env)

	// A ping's deadline is the interval: on a loaded machine one may miss
	// it, which status rightly shows. Wait for two pings, the last one
	// answered, rather than assume none missed.
	var health map[string]any
	require.Eventually(t, func() bool {
		env = h.call("status", nil)
		health, _ = get(env, "connection", "health").(map[string]any)
		pings, _ := health["pings"].(float64)
		return pings >= 2 && health["consecutive_failures"] == 0.0
	}, 10*time.Second, 10*time.Millisecond)
	assert.Greater(t, health["score"], 0.0)
	assert.NotNil(t, health["last_ping_ms"])
	assert.Nil(t, env["reconnect"])
	assert.NotContains(t, get(env, "connection", "statistics", "by_method"), "ping", "health pings are not the user's requests")

	env = h.call("reconnect", nil)
	require.Equal(t, true, env["success"], "%v", env)
	assert.Equal(t, get(first, "connection", "id"), get(env, "connection", "id"))
	assert.Equal(t, 1.0, get(env, "connection", "reconnects"))
	assert.Equal(t, 1.0, get(env, "connection", "statistics", "tools_called"), "statistics carry over")
	assert.NotEqual(t, get(first, "connection", "process", "pid"), get(env, "connection", "process", "pid"))
	assert.Equal(t, false, get(env, "changes", "changed"))
	assert.Equal(t, true, get(env, "changes", "tools", "compared"))
	assert.Equal(t, true, get(env, "changes", "prompts", "compared"))
	assert.Equal(t, "replaced", get(env, "metadata", "previous_connection", "ended_by"))
	assert.Contains(t, env["message"], "Nothing changed")
	for _, out := range h.rawOutputs() {
		assert.NotContains(t, out, hostile.Behaviour+"\":\""+hostile.ExampleServer, "the spec's env values are never shown")
	}
}

func TestConnectChecksHealthArguments(t *testing.T) {
	h := newHost(t, nil)
	for _, args := range []map[string]any{
		{"health_check_interval_seconds": -1},
		{"max_reconnect_attempts": 0},
		{"reconnect_delay_seconds": 0},
	} {
		env := h.call("connect", targetArgs(exampleserver.ModeNormal, args))
		assert.Equal(t, string(errtype.InvalidArguments), errType(env), "%v", args)
	}
	env := h.call("connect", targetArgs(exampleserver.ModeNormal, map[string]any{"health_check_interval_seconds": 0}))
	require.Equal(t, true, env["success"], "%v", env)
	assert.Nil(t, get(env, "connection", "health"), "0 turns health pings off")
}

func TestAutoReconnectShowsInStatus(t *testing.T) {
	h := newHost(t, nil)
	// The delay is the window in which status shows the reconnect going on:
	// wide enough for a loaded machine to look in time.
	h.connect(exampleserver.ModeFaults, map[string]any{"auto_reconnect": true, "reconnect_delay_seconds": 1})
	env := h.call("call_tool", map[string]any{"name": "crash", "arguments": map[string]any{}})
	require.Equal(t, string(errtype.ConnectionLost), errType(env), "%v", env)

	var reconnecting map[string]any
	require.Eventually(t, func() bool {
		env := h.call("status", nil)
		if env["reconnect"] != nil {
			reconnecting = env
		}
		return env["connected"] == true
	}, 10*time.Second, 5*time.Millisecond)
	require.NotNil(t, reconnecting, "status said it was reconnecting while it did")
	assert.Equal(t, "reconnecting", get(reconnecting, "connection", "status"))
	assert.Equal(t, "reconnecting", get(reconnecting, "reconnect", "state"))
	assert.Contains(t, reconnecting["message"], "Reconnecting")
	assert.Equal(t, false, reconnecting["connected"])

	env = h.call("call_tool", map[string]any{"name": "echo", "arguments": map[string]any{"message": "back"}})
	require.Equal(t, true, env["success"], "%v", env)
	assert.Equal(t, 1.0, get(env, "metadata", "connection_statistics", "errors"), "the crashed call still counts")

	env = h.call("get_notifications", map[string]any{"kinds": []any{"reconnect"}})
	require.Equal(t, true, env["success"], "%v", env)
	b, err := json.Marshal(env)
	require.NoError(t, err)
	assert.Contains(t, string(b), "reconnected")
}

func TestCommandPolicyRefusesBeforeStarting(t *testing.T) {
	h := newHost(t, &hostOptions{policy: &connmgr.CommandPolicy{Allow: []string{"node"}}})
	marker := filepath.Join(t.TempDir(), "ran")
	env := h.call("connect", map[string]any{"command": "sh", "args": []any{"-c", "touch " + marker}})
	assert.Equal(t, string(errtype.InvalidArguments), errType(env))
	assert.Contains(t, get(env, "error", "message"), "is not one of the allowed programs (node)")
	assert.Contains(t, get(env, "error", "message"), "nothing was started")
	script := filepath.Join(t.TempDir(), "server.py")
	require.NoError(t, os.WriteFile(script, nil, 0o644))
	env = h.call("connect", map[string]any{"url": script})
	assert.Equal(t, string(errtype.InvalidArguments), errType(env), "a script path is a stdio target too: %v", env)
	env = h.call("connect", map[string]any{"url": "http://127.0.0.1:1/mcp"})
	assert.Equal(t, string(errtype.ConnectionFailed), errType(env), "HTTP targets are not the policy's business")

	_, err := os.Stat(marker)
	assert.ErrorIs(t, err, os.ErrNotExist, "the refused command never ran")
}
