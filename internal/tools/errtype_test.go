package tools

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/check"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

// TestToolsAndChecksNameRealErrorsAlike makes real failures (a refused
// connection, a target that exits before initialize, one that crashes
// during a call) and checks that a tool's envelope and a check's result
// give each the same error type: both take it from errtype.Classify.
func TestToolsAndChecksNameRealErrorsAlike(t *testing.T) {
	t.Parallel()
	exampleTarget := func(mode exampleserver.Mode) *check.Target {
		return &check.Target{Command: os.Args[0], Args: []string{"--mode", string(mode)}, Env: hostile.Env(hostile.ExampleServer)}
	}
	connectFailures := []struct {
		name    string
		connect map[string]any
		target  *check.Target
	}{
		{
			name:    "a refused connection is connection_failed",
			connect: map[string]any{"url": "http://127.0.0.1:1/mcp", "timeout_seconds": 5},
			target:  &check.Target{URL: "http://127.0.0.1:1/mcp", TimeoutSeconds: 5},
		},
		{
			name:    "a target that exits before initialize is connection_failed",
			connect: targetArgs(exampleserver.ModeExitBeforeInit, nil),
			target:  exampleTarget(exampleserver.ModeExitBeforeInit),
		},
	}
	for _, tt := range connectFailures {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newHost(t, nil).call("connect", tt.connect)
			rep, err := check.Run(t.Context(), &check.Options{Target: tt.target})
			require.NoError(t, err)
			require.NotNil(t, rep.ConnectError)
			assert.Equal(t, "connection_failed", errType(env), "%v", env)
			assert.Equal(t, errType(env), rep.ConnectError.Type)
		})
	}
	t.Run("a target that crashes during a call is connection_lost", func(t *testing.T) {
		t.Parallel()
		h := newConnectedHost(t, exampleserver.ModeFaults, nil)
		env := h.call("call_tool", map[string]any{"name": "crash", "arguments": map[string]any{"code": 7}})

		spec, err := check.ParseSpec([]byte("steps:\n  - call_tool: crash\n    arguments: {code: 7}\n"), "spec", nil)
		require.NoError(t, err)
		rep, err := check.Run(t.Context(), &check.Options{Spec: spec, Target: exampleTarget(exampleserver.ModeFaults)})
		require.NoError(t, err)
		var step *check.Check
		for i := range rep.Checks {
			if rep.Checks[i].Group == check.GroupSteps {
				step = &rep.Checks[i]
			}
		}
		require.NotNil(t, step, "%+v", rep.Checks)
		assert.Equal(t, "connection_lost", errType(env), "%v", env)
		assert.Equal(t, errType(env), step.ErrorType)
	})
}
