package connmgr

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

func TestDefectsFoundInReview(t *testing.T) {
	t.Run("a target's own error -32099 is its error, not a size-cap error", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, hostileSpec(t, hostile.OwnError, nil))
		_, err := m.CallTool(t.Context(), hostile.Tool, nil, 0)
		var rpc *RPCError
		require.ErrorAs(t, err, &rpc, "%T %v", err, err)
		assert.EqualValues(t, -32099, rpc.Code)
		assert.Equal(t, "backend down", rpc.Message)
	})
	// A target may answer and then exit: the answer is delivered, also
	// when the drain grace is far shorter than reading and decoding 8 MB
	// takes, because the grace counts only the time stdout is silent.
	for name, grace := range map[string]time.Duration{
		"an answer written just before the target exits is delivered":       0,
		"an answer still being read when the drain grace ends is delivered": time.Millisecond,
	} {
		t.Run(name, func(t *testing.T) {
			m := newManager(t, nil)
			m.drainGrace = grace
			connect(t, m, hostileSpec(t, hostile.AnswerThenExit, map[string]string{"HOSTILE_BIG": strconv.Itoa(8 << 20)}))
			r, err := m.CallTool(t.Context(), hostile.Tool, nil, 0)
			require.NoError(t, err)
			assert.Len(t, text(t, r), 8<<20)
			require.Eventually(t, func() bool { return !m.Status().Connected }, 5*time.Second, 10*time.Millisecond)
			assert.Contains(t, m.Status().Last.Reason, "exited with status 0")
		})
	}
	t.Run("a secret past the display cut leaves no prefix behind", func(t *testing.T) {
		const secret = "sk-cut-boundary-SECRET-1234"
		m := newManager(t, nil)
		connect(t, m, hostileSpec(t, hostile.Silent, map[string]string{"HOSTILE_STDERR_LINE": "505", "HOSTILE_SECRET": secret}))
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
		connect(t, m, hostileSpec(t, hostile.HeaderTools, nil))
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
		connect(t, m, hostileSpec(t, hostile.SlowList, nil))
		_, err := m.CallTool(t.Context(), hostile.Tool, nil, 300*time.Millisecond)
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
