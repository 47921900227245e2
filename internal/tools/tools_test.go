package tools

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/schemacheck"
)

func TestRegisterDeclaresEveryTool(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	list, err := h.cs.ListTools(t.Context(), nil)
	require.NoError(t, err)
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
		assert.NotEmpty(t, tool.Description, tool.Name)
		assert.NotNil(t, tool.OutputSchema, tool.Name)
		assert.Equal(t, "object", tool.InputSchema.(map[string]any)["type"], tool.Name)
		assert.Equal(t, "object", tool.OutputSchema.(map[string]any)["type"], tool.Name)
	}
	assert.ElementsMatch(t, []string{"connect", "disconnect", "status", "list_tools", "call_tool",
		"list_resources", "list_resource_templates", "read_resource", "subscribe_resource", "unsubscribe_resource",
		"list_prompts", "get_prompt", "complete", "ping", "set_log_level", "get_notifications", "set_roots", "execute_prompt", "audit_server", "run_checks", "export_checks", "reconnect"}, names)
}

func TestWithoutAConnection(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	tests := []struct {
		name, tool string
		args       map[string]any
		check      func(t *testing.T, env map[string]any)
	}{
		{"list_tools says to connect first", "list_tools", nil, func(t *testing.T, env map[string]any) {
			assert.Equal(t, "not_connected", errType(env))
			assert.Contains(t, get(env, "error", "suggestion"), "connect")
		}},
		{"call_tool says to connect first", "call_tool", map[string]any{"name": "echo"}, func(t *testing.T, env map[string]any) {
			assert.Equal(t, "not_connected", errType(env))
		}},
		{"status reports no connection", "status", nil, func(t *testing.T, env map[string]any) {
			assert.Equal(t, true, env["success"])
			assert.Equal(t, false, env["connected"])
			assert.Nil(t, env["connection"])
			assert.Nil(t, env["last_connection"])
			assert.Equal(t, []any{}, env["stderr_tail"])
			assert.Equal(t, 0.0, get(env, "stdout_junk", "count"))
		}},
		{"disconnect succeeds with nothing to do", "disconnect", nil, func(t *testing.T, env map[string]any) {
			assert.Equal(t, true, env["success"])
			assert.Equal(t, "No active connection to disconnect", env["message"])
			assert.Equal(t, false, env["was_connected"])
			assert.Equal(t, false, get(env, "metadata", "was_connected"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, h.call(tt.tool, tt.args))
		})
	}
}

func TestInvalidArguments(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	tests := []struct {
		name, tool string
		args       any
		inMessage  string
	}{
		{"connect without url or command", "connect", map[string]any{}, "neither url nor command was given"},
		{"connect with both url and command", "connect", map[string]any{"url": "http://localhost:1/mcp", "command": "x"}, "both url and command were given"},
		{"connect with an unknown transport", "connect", map[string]any{"command": "x", "transport": "pigeon"}, `"pigeon"`},
		{"connect with a zero timeout", "connect", map[string]any{"command": "x", "timeout_seconds": 0}, "timeout_seconds"},
		{"connect with a negative call timeout", "connect", map[string]any{"command": "x", "call_timeout_seconds": -1}, "call_timeout_seconds"},
		{"connect with a misspelt argument", "connect", map[string]any{"command": "x", "timeout": 3}, `"timeout"`},
		{"connect with args as a string", "connect", map[string]any{"command": "x", "args": "-y foo"}, `"args"`},
		{"call_tool without a name", "call_tool", map[string]any{"arguments": map[string]any{}}, "name"},
		{"call_tool with arguments that are not JSON", "call_tool", map[string]any{"name": "echo", "arguments": "{message: hi"}, "not valid JSON"},
		{"call_tool with arguments holding an array", "call_tool", map[string]any{"name": "echo", "arguments": "[1, 2]"}, "an array"},
		{"call_tool with arguments as a number", "call_tool", map[string]any{"name": "echo", "arguments": 42}, "a number"},
		{"call_tool with a zero timeout", "call_tool", map[string]any{"name": "echo", "timeout_seconds": 0}, "timeout_seconds"},
		{"list_tools with include_schemas as a string", "list_tools", map[string]any{"include_schemas": "no"}, `"include_schemas"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := h.call(tt.tool, tt.args)
			assert.Equal(t, false, env["success"])
			assert.Equal(t, "invalid_arguments", errType(env))
			assert.Contains(t, env["message"], tt.inMessage)
		})
	}
}

func TestMisspeltArgumentIsNamed(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	env := h.call("connect", map[string]any{"command": "x", "timeout": 3})
	assert.Contains(t, get(env, "error", "suggestion"), `"timeout_seconds"`)
}

// TestSession walks one connection through every tool, in order.
func TestSession(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)

	t.Run("connect describes the new connection", func(t *testing.T) {
		env := h.connect(exampleserver.ModeFaults, nil)
		conn := env["connection"].(map[string]any)
		assert.Equal(t, "stdio", conn["transport"])
		assert.Equal(t, "connected", conn["status"])
		assert.Equal(t, exampleserver.ServerName, get(conn, "server_info", "name"))
		assert.Equal(t, "2025-11-25", conn["protocol_version"])
		assert.NotNil(t, conn["capabilities"])
		connectedAt, err := time.Parse(time.RFC3339, conn["connected_at"].(string))
		require.NoError(t, err)
		assert.Equal(t, time.UTC, connectedAt.Location())
		assert.Contains(t, get(conn, "process", "env_names"), hostile.Behaviour)
		assert.NotContains(t, env, "replaced_connection")
		assert.Contains(t, env["message"], "Connected to "+exampleserver.ServerName)
	})

	t.Run("status shows the live connection", func(t *testing.T) {
		env := h.call("status", nil)
		assert.Equal(t, true, env["connected"])
		assert.NotNil(t, env["connection"])
		assert.IsType(t, 0.0, get(env, "metadata", "connection_duration_seconds"))
	})

	t.Run("list_tools returns every tool with its schemas", func(t *testing.T) {
		env := h.call("list_tools", nil)
		tools := env["tools"].([]any)
		assert.Equal(t, float64(len(tools)), get(env, "metadata", "total_tools"))
		assert.Equal(t, exampleserver.ServerName, get(env, "metadata", "server_name"))
		add := findTool(tools, "add")
		require.NotNil(t, add)
		assert.Equal(t, "object", get(add, "input_schema", "type"))
		assert.Equal(t, "object", get(add, "output_schema", "type"))
		assert.Equal(t, true, get(add, "annotations", "readOnlyHint"))
	})

	t.Run("list_tools filters and drops schemas on request", func(t *testing.T) {
		env := h.call("list_tools", map[string]any{"filter": "ECHO", "include_schemas": false})
		tools := env["tools"].([]any)
		require.Len(t, tools, 1)
		assert.Equal(t, "echo", get(tools, 0, "name"))
		assert.NotContains(t, tools[0], "input_schema")
		assert.Equal(t, 1.0, get(env, "metadata", "returned_tools"))
		assert.Greater(t, get(env, "metadata", "total_tools"), 1.0)
	})

	t.Run("call_tool shows the text a tool returned", func(t *testing.T) {
		env := h.call("call_tool", map[string]any{"name": "echo", "arguments": map[string]any{"message": "hello"}})
		assert.Equal(t, true, env["success"])
		call := env["tool_call"].(map[string]any)
		assert.Equal(t, "echo", call["tool_name"])
		assert.Equal(t, map[string]any{"message": "hello"}, call["arguments"])
		assert.Equal(t, false, call["is_error"])
		assert.Equal(t, "hello", call["text"])
		assert.Equal(t, []any{map[string]any{"type": "text", "text": "hello"}}, call["content"])
		assert.Equal(t, false, get(call, "output_schema_check", "checked"))
		assert.Equal(t, []any{}, call["progress"])
		assert.IsType(t, 0.0, get(call, "execution", "duration_ms"))
		assert.NotEmpty(t, get(env, "metadata", "server_url"))
		assert.GreaterOrEqual(t, get(env, "metadata", "connection_statistics", "tools_called"), 1.0)
	})

	t.Run("call_tool accepts arguments as a JSON string", func(t *testing.T) {
		env := h.call("call_tool", map[string]any{"name": "add", "arguments": `{"a": 2, "b": 3}`})
		assert.Equal(t, true, env["success"])
		assert.Equal(t, map[string]any{"sum": 5.0}, get(env, "tool_call", "structured_content"))
		assert.Equal(t, true, get(env, "tool_call", "output_schema_check", "valid"))
		assert.Equal(t, true, get(env, "tool_call", "output_schema_check", "checked"))
	})

	t.Run("call_tool passes large integers through exactly", func(t *testing.T) {
		h.call("call_tool", map[string]any{"name": "echo", "arguments": `{"message": "x", "id": 9007199254740993}`})
		raw := h.rawOutputs()
		assert.Contains(t, raw[len(raw)-1], `"id":9007199254740993`)
	})

	t.Run("call_tool reports structured content that breaks the outputSchema", func(t *testing.T) {
		env := h.call("call_tool", map[string]any{"name": "bad_structured", "arguments": map[string]any{"city": "Paris"}})
		assert.Equal(t, true, env["success"])
		chk := get(env, "tool_call", "output_schema_check")
		assert.Equal(t, true, get(chk, "checked"))
		assert.Equal(t, false, get(chk, "valid"))
		assert.NotEmpty(t, get(chk, "errors"))
		assert.Contains(t, env["message"], "NOT match")
	})

	t.Run("call_tool reports an isError result as tool_error without isError", func(t *testing.T) {
		env := h.call("call_tool", map[string]any{"name": "fail", "arguments": map[string]any{"message": "boom"}})
		assert.Equal(t, false, env["success"])
		assert.Equal(t, "tool_error", errType(env))
		assert.Equal(t, true, get(env, "tool_call", "is_error"))
		assert.Equal(t, "boom", get(env, "tool_call", "text"))
		assert.Contains(t, env["message"], "boom")
	})

	t.Run("call_tool names close matches of an unknown tool", func(t *testing.T) {
		env := h.call("call_tool", map[string]any{"name": "ecko"})
		assert.Equal(t, "tool_not_found", errType(env))
		assert.Contains(t, get(env, "error", "details", "available_tools"), "echo")
		assert.Contains(t, get(env, "error", "suggestion"), `Did you mean "echo"`)
		assert.Contains(t, get(env, "error", "suggestion"), "list_tools")
	})

	t.Run("call_tool passes on the target's invalid-params error", func(t *testing.T) {
		env := h.call("call_tool", map[string]any{"name": "add", "arguments": map[string]any{"a": "two"}})
		assert.Equal(t, false, env["success"])
		assert.Contains(t, []string{"invalid_arguments", "tool_error"}, errType(env),
			"the SDK answers bad arguments with -32602 or an isError result, depending on its version")
	})

	t.Run("call_tool collects progress and logs", func(t *testing.T) {
		env := h.call("call_tool", map[string]any{"name": "slow", "arguments": map[string]any{"steps": 3, "delay_ms": 1}})
		assert.Equal(t, true, env["success"])
		progress := get(env, "tool_call", "progress").([]any)
		assert.Len(t, progress, 3)
		assert.Contains(t, progress[0], "at_ms")
		assert.NotEmpty(t, get(env, "tool_call", "logs"))
	})

	t.Run("call_tool shows images in wire form", func(t *testing.T) {
		env := h.call("call_tool", map[string]any{"name": "tiny_image"})
		content := get(env, "tool_call", "content").([]any)
		var types []string
		for _, c := range content {
			types = append(types, get(c, "type").(string))
		}
		assert.Contains(t, types, "image")
		img := content[slices.Index(types, "image")]
		assert.Equal(t, "image/png", get(img, "mimeType"))
		assert.NotEmpty(t, get(img, "data"))
		assert.NotContains(t, img, "truncated")
	})

	t.Run("connect again replaces the connection", func(t *testing.T) {
		env := h.connect(exampleserver.ModeFaults, nil)
		prev := get(env, "metadata", "replaced_connection")
		require.NotNil(t, prev)
		assert.Equal(t, "replaced", get(prev, "ended_by"))
		assert.Contains(t, env["message"], "previous connection")
	})

	t.Run("disconnect reports the closed connection", func(t *testing.T) {
		env := h.call("disconnect", nil)
		assert.Equal(t, "Successfully disconnected from MCP server", env["message"])
		assert.Equal(t, true, env["was_connected"])
		prev := get(env, "metadata", "previous_connection")
		require.NotNil(t, prev)
		assert.Equal(t, "disconnect", get(prev, "ended_by"))
		assert.IsType(t, 0.0, get(prev, "duration_seconds"))
	})

	t.Run("status remembers the last connection", func(t *testing.T) {
		env := h.call("status", nil)
		assert.Equal(t, false, env["connected"])
		assert.Equal(t, "disconnect", get(env, "last_connection", "ended_by"))
	})
}

func findTool(tools []any, name string) any {
	for _, t := range tools {
		if get(t, "name") == name {
			return t
		}
	}
	return nil
}

func TestConnectFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     map[string]any
		wantType string
		check    func(t *testing.T, env map[string]any)
	}{
		{
			name:     "a command that does not exist fails fast",
			args:     map[string]any{"command": "mcp-test-no-such-command-xyz"},
			wantType: "connection_failed",
			check: func(t *testing.T, env map[string]any) {
				assert.Equal(t, "mcp-test-no-such-command-xyz", get(env, "error", "details", "command"))
			},
		},
		{
			name:     "a command line given as one string gets a hint",
			args:     map[string]any{"command": "npx -y some-server"},
			wantType: "connection_failed",
			check: func(t *testing.T, env map[string]any) {
				assert.Contains(t, get(env, "error", "suggestion"), "args")
			},
		},
		{
			name:     "a target that exits before initialize shows its stderr",
			args:     targetArgs(exampleserver.ModeExitBeforeInit, nil),
			wantType: "connection_failed",
			check: func(t *testing.T, env map[string]any) {
				assert.NotEmpty(t, get(env, "error", "details", "stderr_tail"))
				assert.Equal(t, 3.0, get(env, "error", "details", "exit_code"))
			},
		},
		{
			name:     "a url where nothing listens fails",
			args:     map[string]any{"url": "http://127.0.0.1:1/mcp", "timeout_seconds": 5},
			wantType: "connection_failed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t, nil)
			env := h.call("connect", tt.args)
			assert.Equal(t, false, env["success"])
			assert.Equal(t, tt.wantType, errType(env), "%v", env)
			if tt.check != nil {
				tt.check(t, env)
			}
		})
	}
}

func TestFailedConnectKeepsThePreviousConnection(t *testing.T) {
	t.Parallel()
	h := newConnectedHost(t, exampleserver.ModeNormal, nil)
	env := h.call("connect", map[string]any{"command": "mcp-test-no-such-command-xyz"})
	assert.Equal(t, "connection_failed", errType(env))
	assert.Contains(t, env["message"], "still active")
	assert.Equal(t, true, get(env, "error", "details", "previous_connection_active"))
	assert.Equal(t, true, h.call("status", nil)["connected"])
}

func TestCrashedTarget(t *testing.T) {
	t.Parallel()
	h := newConnectedHost(t, exampleserver.ModeFaults, nil)

	env := h.call("call_tool", map[string]any{"name": "crash", "arguments": map[string]any{"code": 7}})
	assert.Equal(t, "connection_lost", errType(env), "%v", env)
	assert.Equal(t, 7.0, get(env, "error", "details", "exit_code"))

	t.Run("status does not show it as connected", func(t *testing.T) {
		st := h.call("status", nil)
		assert.Equal(t, false, st["connected"])
		assert.Equal(t, "lost", get(st, "last_connection", "ended_by"))
		assert.Contains(t, st["message"], "lost")
	})
	t.Run("later calls say to connect", func(t *testing.T) {
		assert.Equal(t, "not_connected", errType(h.call("list_tools", nil)))
	})
}

func TestTimeoutLeavesTheConnectionUsable(t *testing.T) {
	t.Parallel()
	h := newConnectedHost(t, exampleserver.ModeFaults, nil)

	env := h.call("call_tool", map[string]any{"name": "hang", "timeout_seconds": 0.3})
	assert.Equal(t, "timeout", errType(env), "%v", env)
	assert.Equal(t, false, get(env, "error", "details", "connection_closed"))

	env = h.call("call_tool", map[string]any{"name": "echo", "arguments": map[string]any{"message": "still here"}})
	assert.Equal(t, "still here", get(env, "tool_call", "text"))
}

func TestConcurrentCallsKeepTheirOwnProgress(t *testing.T) {
	t.Parallel()
	h := newConnectedHost(t, exampleserver.ModeNormal, nil)

	steps := []int{2, 4}
	results := make([]*mcp.CallToolResult, len(steps))
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, n := range steps {
		wg.Go(func() {
			results[i], errs[i] = h.cs.CallTool(t.Context(), &mcp.CallToolParams{
				Name:      "call_tool",
				Arguments: map[string]any{"name": "slow", "arguments": map[string]any{"steps": n, "delay_ms": 20}},
			})
		})
	}
	wg.Wait()
	for i, n := range steps {
		require.NoError(t, errs[i])
		var env map[string]any
		require.NoError(t, json.Unmarshal([]byte(results[i].Content[0].(*mcp.TextContent).Text), &env))
		assert.Len(t, get(env, "tool_call", "progress"), n, "call %d", i)
	}
}

func TestJunkOnStdoutIsReported(t *testing.T) {
	t.Parallel()
	h := newConnectedHost(t, exampleserver.ModeJunkStdout, nil)
	h.call("call_tool", map[string]any{"name": "echo", "arguments": map[string]any{"message": "x"}})
	env := h.call("status", nil)
	assert.Greater(t, get(env, "stdout_junk", "count"), 0.0)
	assert.NotEmpty(t, get(env, "stdout_junk", "last_lines"))
	assert.Contains(t, env["message"], "stdout_junk")
}

func TestLargeTextIsCut(t *testing.T) {
	t.Parallel()
	const limit = 1000
	h := newHost(t, &hostOptions{maxTextBytes: limit})
	h.connect(exampleserver.ModeFaults, nil)

	env := h.call("call_tool", map[string]any{"name": "huge", "arguments": map[string]any{"size_bytes": 5000}})
	require.Equal(t, true, env["success"], "%v", env)
	block := get(env, "tool_call", "content", 0)
	assert.Equal(t, true, get(block, "truncated"))
	assert.Equal(t, 5000.0, get(block, "size_bytes"))
	assert.Len(t, get(block, "text"), limit)
	assert.Len(t, get(env, "tool_call", "text"), limit)
	assert.Equal(t, true, get(env, "tool_call", "text_truncated"))
	assert.Equal(t, 5000.0, get(env, "tool_call", "text_size_bytes"))
}

func TestMessageOverTheLimitNamesIt(t *testing.T) {
	t.Parallel()
	h := newHost(t, &hostOptions{maxMessageBytes: 1 << 20})
	h.connect(exampleserver.ModeFaults, nil)
	env := h.call("call_tool", map[string]any{"name": "huge", "arguments": map[string]any{"size_bytes": 2 << 20}})
	assert.Equal(t, "protocol_error", errType(env), "%v", env)
	assert.Contains(t, env["message"], "1 MiB")
	assert.Contains(t, get(env, "error", "suggestion"), "MCP_TEST_MAX_MESSAGE_BYTES")
}

func TestTwentyMegabyteResult(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("moves 20 MB through a pipe")
	}
	h := newConnectedHost(t, exampleserver.ModeFaults, nil)
	env := h.call("call_tool", map[string]any{"name": "huge", "arguments": map[string]any{"size_bytes": 20_000_000}})
	require.Equal(t, true, env["success"], "%v", env["message"])
	assert.Equal(t, 20_000_000.0, get(env, "tool_call", "content", 0, "size_bytes"))
	// The envelope holds the text cut at the text cap twice (text and
	// content), and the host gets the envelope twice: over 4 MiB, so the
	// two copies are cut a little more, and the message says so.
	text := get(env, "tool_call", "text").(string)
	assert.Less(t, len(text), DefaultMaxTextBytes)
	assert.Greater(t, len(text), DefaultMaxTextBytes*3/4, "the cut keeps most of what fits")
	assert.Contains(t, env["message"], "over the 4 MiB bound, so it was cut: 2 strings to")
	assert.LessOrEqual(t, h.frames.last(), maxAnswerBytes)
}

func TestResultsUnderTheTextCapPassWhole(t *testing.T) {
	t.Parallel()
	h := newConnectedHost(t, exampleserver.ModeFaults, nil)
	env := h.call("call_tool", map[string]any{"name": "huge", "arguments": map[string]any{"size_bytes": 600 << 10}})
	require.Equal(t, true, env["success"], "%v", env["message"])
	assert.Len(t, get(env, "tool_call", "text"), 600<<10)
	assert.NotContains(t, env["message"], "cut")
	assert.Greater(t, h.frames.last(), 2*(600<<10), "the frame holds four copies of the text")
}

func TestSecretsNeverAppear(t *testing.T) {
	t.Parallel()
	const (
		envSecret    = "env-secret-5f1b2c"
		headerSecret = "header-secret-9a8b7c"
		tokenSecret  = "bearer-secret-3d4e5f"
		querySecret  = "query-secret-0a0b0c"
	)
	h := newHost(t, nil)

	t.Run("over stdio, with a secret env value the target echoes", func(t *testing.T) {
		h.connect(exampleserver.ModeFaults, map[string]any{"env": map[string]any{"MY_API_KEY": envSecret}})
		env := h.call("call_tool", map[string]any{"name": "env", "arguments": map[string]any{"name": "MY_API_KEY"}})
		assert.Equal(t, true, env["success"], "%v", env)
		h.call("status", nil)
		h.call("list_tools", nil)
	})

	t.Run("over HTTP, with a bearer token, headers and a secret query", func(t *testing.T) {
		base := startHTTPTarget(t, "--require-token", tokenSecret)
		h.call("connect", map[string]any{
			"url":          base + "/mcp?api_key=" + querySecret,
			"bearer_token": tokenSecret,
			"headers":      map[string]any{"X-Custom-Auth": headerSecret},
		})
		env := h.call("call_tool", map[string]any{"name": "headers"})
		assert.Equal(t, true, env["success"], "%v", env)
		h.call("status", nil)
		h.call("disconnect", nil)
		h.call("status", nil)
	})

	t.Run("with a connect that fails", func(t *testing.T) {
		h.call("connect", map[string]any{
			"url":          "http://127.0.0.1:1/mcp?token=" + querySecret,
			"bearer_token": tokenSecret,
			"headers":      map[string]any{"X-Custom-Auth": headerSecret},
		})
	})

	for _, out := range h.rawOutputs() {
		for _, secret := range []string{envSecret, headerSecret, tokenSecret, querySecret} {
			assert.NotContains(t, out, secret)
		}
	}
}

func TestPanicsBecomeInternalErrors(t *testing.T) {
	server := mcp.NewServer(&mcp.Implementation{Name: "panicky", Version: "0"}, nil)
	server.AddReceivingMiddleware(RecoverPanics(discardLogger()))
	mcp.AddTool(server, &mcp.Tool{Name: "boom"}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
		panic("kaboom")
	})
	st, ct := mcp.NewInMemoryTransports()
	ss, err := server.Connect(t.Context(), st, nil)
	require.NoError(t, err)
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "0"}, nil).Connect(t.Context(), ct, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	require.NoError(t, err)
	defer cs.Close()

	_, err = cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "boom"})
	var rpcErr *jsonrpc.Error
	require.True(t, errors.As(err, &rpcErr), "got %v", err)
	assert.Equal(t, int64(jsonrpc.CodeInternalError), rpcErr.Code)
	assert.Contains(t, rpcErr.Message, "kaboom")

	// The session survives.
	_, err = cs.ListTools(t.Context(), nil)
	assert.NoError(t, err)
}

func TestOutputSchemasAcceptEveryEnvelope(t *testing.T) {
	// Envelopes built from zero values (as for failures) must match the
	// declared schemas too, or strict hosts would reject them.
	tests := []struct {
		name   string
		schema any
		value  any
	}{
		{"a failed connect", outputSchemaFor[ConnectOutput](), &ConnectOutput{Result: Result{Error: &ErrorInfo{Type: errtype.ConnectionFailed}}}},
		{"an empty status", outputSchemaFor[StatusOutput](), &StatusOutput{}},
		{"an empty disconnect", outputSchemaFor[DisconnectOutput](), &DisconnectOutput{}},
		{"a failed list_tools", outputSchemaFor[ListToolsOutput](), &ListToolsOutput{}},
		{"a failed call_tool", outputSchemaFor[CallToolOutput](), &CallToolOutput{}},
		{"a call_tool with empty fields", outputSchemaFor[CallToolOutput](), &CallToolOutput{ToolCall: &ToolCall{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := schemacheck.Resolve(tt.schema)
			require.NoError(t, err)
			b, err := json.Marshal(tt.value)
			require.NoError(t, err)
			var v any
			require.NoError(t, json.Unmarshal(b, &v))
			assert.NoError(t, r.Validate(v), "%s", b)
		})
	}
}

func TestErrorTypesAreDeclared(t *testing.T) {
	s := outputSchemaFor[CallToolOutput]()
	enum := s.Properties["error"].Properties["type"].Enum
	for _, typ := range errtype.Types {
		assert.Contains(t, enum, string(typ))
	}
	assert.True(t, strings.Contains(toJSON(t, s), `"tool_error"`))
}

func toJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
