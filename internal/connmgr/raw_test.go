package connmgr

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

func TestRawRequest(t *testing.T) {
	t.Run("a list go-sdk cannot decode comes back as the target sent it", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, hostileSpec(t, hostile.BadAnnotations, nil))
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
