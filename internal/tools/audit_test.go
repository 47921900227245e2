package tools

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
)

func TestAuditServer(t *testing.T) {
	t.Parallel()
	t.Run("without a connection it says to connect first", func(t *testing.T) {
		t.Parallel()
		h := newHost(t, nil)
		env := h.call("audit_server", map[string]any{})
		assert.Equal(t, "not_connected", errType(env))
	})
	t.Run("a bad fail_on is refused before anything is sent", func(t *testing.T) {
		t.Parallel()
		h := newHost(t, nil)
		env := h.call("audit_server", map[string]any{"fail_on": "fatal"})
		assert.Equal(t, "invalid_arguments", errType(env))
		assert.Contains(t, get(env, "error", "message"), "fail_on must be error, warning or info")
	})
	t.Run("the example server passes, with the probes on by default", func(t *testing.T) {
		t.Parallel()
		h := newConnectedHost(t, exampleserver.ModeNormal, nil)
		env := h.call("audit_server", map[string]any{"fail_on": "warning"})
		require.True(t, env["success"].(bool), "%v", env)
		assert.Equal(t, true, env["passed"])
		assert.Equal(t, "warning", env["fail_on"])
		assert.Equal(t, true, get(env, "report", "probed"))
		assert.Positive(t, get(env, "report", "summary", "probe_calls"), "the example server's read-only tools are called")
		assert.Equal(t, "mcp-test-mcp-example", get(env, "report", "server", "name"))
		assert.EqualValues(t, 9, get(env, "report", "summary", "tools"))
		assert.NotNil(t, get(env, "report", "findings"))
		assert.Contains(t, env["message"], "it passes at fail_on warning")
		assert.NotEmpty(t, get(env, "metadata", "server_url"))
		env = h.call("status", nil)
		assert.Equal(t, true, env["connected"], "the target survives the probes")
	})
	t.Run("probe false sends no probe", func(t *testing.T) {
		t.Parallel()
		h := newConnectedHost(t, exampleserver.ModeNormal, nil)
		env := h.call("audit_server", map[string]any{"probe": false})
		require.True(t, env["success"].(bool), "%v", env)
		assert.Equal(t, false, get(env, "report", "probed"))
		assert.EqualValues(t, 0, get(env, "report", "summary", "probe_calls"))
	})
}
