package connmgr

import (
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSmoke(t *testing.T) {
	m := New(nil)
	t.Cleanup(func() { _ = m.Close() })
	info, replaced, err := m.Connect(t.Context(), exampleSpec(t, "normal"))
	require.NoError(t, err)
	assert.Nil(t, replaced)
	t.Logf("%+v", info)
	tl, err := m.ListTools(t.Context())
	require.NoError(t, err)
	t.Logf("%d tools", len(tl.Tools))
	res, err := m.CallTool(t.Context(), "echo", map[string]any{"message": "hi"}, 0)
	require.NoError(t, err)
	assert.Equal(t, "hi", res.Result.Content[0].(*mcp.TextContent).Text)
	res, err = m.CallTool(t.Context(), "slow", map[string]any{"steps": 3, "delay_ms": 10}, 0)
	require.NoError(t, err)
	t.Logf("progress %+v logs %d", res.Progress, len(res.Logs))
	prev, was, err := m.Disconnect(t.Context())
	require.NoError(t, err)
	assert.True(t, was)
	t.Logf("%+v exit=%+v", prev, prev.Exit)
}
