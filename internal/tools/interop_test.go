package tools

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/testtargets"
)

// TestInteroperabilityThroughTheTools drives the tools, as a host would,
// against the two reference servers of the MCP ecosystem.
func TestInteroperabilityThroughTheTools(t *testing.T) {
	type step struct {
		tool string
		args any // call_tool's arguments: an object, or a JSON string
		// check looks at tool_call
		check func(t *testing.T, call map[string]any)
	}
	textContains := func(s string) func(t *testing.T, call map[string]any) {
		return func(t *testing.T, call map[string]any) { assert.Contains(t, call["text"], s) }
	}
	hasImage := func(t *testing.T, call map[string]any) {
		found := false
		for _, c := range call["content"].([]any) {
			if get(c, "type") == "image" {
				found = true
				assert.NotEmpty(t, get(c, "data"))
			}
		}
		assert.True(t, found, "an image block in wire form")
	}
	validStructured := func(t *testing.T, call map[string]any) {
		assert.NotNil(t, call["structured_content"])
		assert.Equal(t, true, get(call, "output_schema_check", "checked"))
		assert.Equal(t, true, get(call, "output_schema_check", "valid"), "%v", call["output_schema_check"])
	}
	progress := func(min int) func(t *testing.T, call map[string]any) {
		return func(t *testing.T, call map[string]any) {
			assert.GreaterOrEqual(t, len(call["progress"].([]any)), min)
		}
	}
	goSteps := []step{
		{"test_simple_text", map[string]any{}, textContains("simple text response")},
		{"test_image_content", `{}`, hasImage},
		{"test_tool_with_progress", map[string]any{}, progress(3)},
	}
	nodeSteps := []step{
		{"echo", `{"message": "given as a JSON string"}`, textContains("given as a JSON string")},
		{"get-sum", map[string]any{"a": 2, "b": 40}, textContains("42")},
		{"get-tiny-image", map[string]any{}, hasImage},
		{"get-structured-content", `{"location": "Chicago"}`, validStructured},
		{"trigger-long-running-operation", map[string]any{"duration": 0.3, "steps": 3}, progress(3)},
	}
	cases := []struct {
		name    string
		connect func(t *testing.T) map[string]any
		steps   []step
	}{
		{"go-sdk everything-server over stdio", func(t *testing.T) map[string]any {
			return map[string]any{"command": testtargets.GoEverythingServer(t)}
		}, goSteps},
		{"go-sdk everything-server over streamable HTTP", func(t *testing.T) map[string]any {
			return map[string]any{"url": testtargets.StartGoEverythingHTTP(t)}
		}, goSteps},
		{"server-everything over stdio", func(t *testing.T) map[string]any {
			node, script := testtargets.NodeEverything(t)
			return map[string]any{"command": node, "args": []any{script, "stdio"}}
		}, nodeSteps},
		{"server-everything over streamable HTTP", func(t *testing.T) map[string]any {
			return map[string]any{"url": testtargets.StartNodeEverything(t, "streamableHttp")}
		}, nodeSteps},
		{"server-everything over legacy SSE", func(t *testing.T) map[string]any {
			return map[string]any{"url": testtargets.StartNodeEverything(t, "sse")}
		}, nodeSteps},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, nil)
			env := h.call("connect", tc.connect(t))
			require.Equal(t, true, env["success"], "%v", env)

			list := h.call("list_tools", map[string]any{})
			require.Equal(t, true, list["success"])
			total := get(list, "metadata", "total_tools").(float64)
			assert.Positive(t, total)

			for _, s := range tc.steps {
				t.Run("call_tool "+s.tool, func(t *testing.T) {
					env := h.call("call_tool", map[string]any{"name": s.tool, "arguments": s.args})
					require.Equal(t, true, env["success"], "%v", env)
					call := env["tool_call"].(map[string]any)
					assert.Equal(t, false, call["is_error"])
					s.check(t, call)
				})
			}

			env = h.call("call_tool", map[string]any{"name": "no_such_tool_here", "arguments": map[string]any{}})
			assert.Equal(t, "tool_not_found", errType(env))
			assert.Len(t, get(env, "error", "details", "available_tools"), int(total))

			st := h.call("status", map[string]any{})
			assert.Equal(t, float64(len(tc.steps)), get(st, "connection", "statistics", "tools_called"))
			assert.Equal(t, 1.0, get(st, "connection", "statistics", "errors"))
			d := h.call("disconnect", map[string]any{})
			assert.Equal(t, "disconnect", get(d, "metadata", "previous_connection", "ended_by"))
		})
	}
}
