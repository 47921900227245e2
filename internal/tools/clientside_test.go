package tools

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/check"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/testtargets"
)

// answeringHost returns host options whose client supports sampling and
// elicitation, answering with fixed text, and counters of the requests it
// answered.
func answeringHost() (*hostOptions, *atomic.Int32, *atomic.Int32) {
	var samples, elicits atomic.Int32
	return &hostOptions{client: &mcp.ClientOptions{
		CreateMessageHandler: func(_ context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			samples.Add(1)
			return &mcp.CreateMessageResult{Model: "host-model", Role: "assistant", Content: &mcp.TextContent{Text: "the host's own answer"}}, nil
		},
		ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			elicits.Add(1)
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "Host User"}}, nil
		},
	}}, &samples, &elicits
}

// requestEvents returns the recorded requests from the target, by method.
func requestEvents(t *testing.T, h *host) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, e := range h.mgr.Events(connmgr.EventQuery{Kinds: []string{connmgr.EventRequest}}).Events {
		var data map[string]any
		require.NoError(t, json.Unmarshal(e.Data, &data))
		out[e.Method] = data
	}
	return out
}

// TestTheTargetsRequestsAreAnswered drives server-everything's tools that
// send sampling, elicitation and roots requests back to the client, through
// each way the tester answers them.
func TestTheTargetsRequestsAreAnswered(t *testing.T) {
	node, script := testtargets.NodeEverything(t)
	roots := []any{map[string]any{"uri": "file:///tmp/project-x", "name": "project-x"}}
	type want struct {
		sampling, elicitation, roots string // in the tool's text
		isError                      bool   // the sampling and elicitation tools report an error
		answeredBy                   string
	}
	cases := []struct {
		name  string
		host  func() (*hostOptions, *atomic.Int32, *atomic.Int32)
		extra map[string]any
		want  want
	}{
		{
			name:  "forwarded to a host that supports sampling and elicitation",
			host:  answeringHost,
			extra: map[string]any{"roots": roots},
			want: want{
				sampling: "the host's own answer", elicitation: "Host User", roots: "file:///tmp/project-x",
				answeredBy: answeredByHost,
			},
		},
		{
			name: "answered from connect's options when the host does not support them",
			host: func() (*hostOptions, *atomic.Int32, *atomic.Int32) { return nil, nil, nil },
			extra: map[string]any{
				"sampling_response":  map[string]any{"text": "a canned reply", "model": "canned-model"},
				"elicitation_action": "accept",
				"roots":              roots,
			},
			want: want{
				sampling: "a canned reply", elicitation: "It was a dark and stormy night.", roots: "project-x",
				answeredBy: answeredByOptions,
			},
		},
		{
			name:  "declined when neither the host nor connect can answer",
			host:  func() (*hostOptions, *atomic.Int32, *atomic.Int32) { return nil, nil, nil },
			extra: map[string]any{"client_capabilities": map[string]any{"sampling": true, "elicitation": true, "roots": true}},
			want: want{
				sampling: "declined sampling/createMessage", elicitation: "declined elicitation/create",
				roots: "no roots are currently configured", isError: true, answeredBy: answeredByDecline,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts, samples, elicits := tc.host()
			h := newHost(t, opts)
			args := map[string]any{"command": node, "args": []any{script, "stdio"}}
			for k, v := range tc.extra {
				args[k] = v
			}
			env := h.call("connect", args)
			require.True(t, env["success"].(bool), "connect: %v", env)
			for _, c := range []string{"sampling", "elicitation", "roots"} {
				assert.Equal(t, true, get(env, "client_capabilities", c, "declared"), c)
			}
			assert.Equal(t, tc.want.answeredBy, get(env, "client_capabilities", "sampling", "answered_by"))

			callTarget := func(tool string, arguments map[string]any) map[string]any {
				start := time.Now()
				env := h.call("call_tool", map[string]any{"name": tool, "arguments": arguments, "timeout_seconds": 20})
				assert.Less(t, time.Since(start), 15*time.Second, "%s answers without hanging", tool)
				require.NotNil(t, env["tool_call"], "%s: %v", tool, env)
				return env
			}
			for _, c := range []struct {
				tool, text string
				args       map[string]any
				isError    bool
			}{
				{"trigger-sampling-request", tc.want.sampling, map[string]any{"prompt": "What is the capital of France?"}, tc.want.isError},
				{"trigger-elicitation-request", tc.want.elicitation, map[string]any{}, tc.want.isError},
				{"get-roots-list", tc.want.roots, map[string]any{}, false},
			} {
				env := callTarget(c.tool, c.args)
				assert.Contains(t, get(env, "tool_call", "text"), c.text, c.tool)
				assert.Equal(t, c.isError, get(env, "tool_call", "is_error"), "%s: %v", c.tool, env)
			}
			if samples != nil {
				assert.Equal(t, int32(1), samples.Load(), "the host's sampling handler was called")
				assert.Equal(t, int32(1), elicits.Load(), "the host's elicitation handler was called")
			}

			events := requestEvents(t, h)
			for _, method := range []string{"sampling/createMessage", "elicitation/create"} {
				require.Contains(t, events, method)
				assert.Equal(t, tc.want.answeredBy, events[method]["answered_by"], method)
			}
			require.Contains(t, events, "roots/list")
			if tc.want.answeredBy == answeredByOptions {
				// Accepting with no content sends the schema's defaults, and
				// says which they were.
				content := get(events["elicitation/create"], "result", "content")
				assert.Equal(t, "It was a dark and stormy night.", get(content, "firstLine"))
				assert.EqualValues(t, 42, get(content, "integer"))
				assert.Contains(t, get(events["elicitation/create"], "result", "_meta", check.MetaDefaulted), "firstLine")
				assert.Contains(t, get(events["elicitation/create"], "result", "_meta", check.MetaPlaceholders), "name")
				assert.Contains(t, get(events["sampling/createMessage"], "result", "model"), "canned-model")
			}
			if tc.want.answeredBy == answeredByDecline {
				assert.Contains(t, events["sampling/createMessage"]["error"], "sampling_response")
			}

			st := h.call("status", nil)
			assert.Equal(t, tc.want.answeredBy, get(st, "client_capabilities", "elicitation", "answered_by"))
			assert.GreaterOrEqual(t, get(st, "notification_counts", connmgr.EventRequest), 3.0)
		})
	}
}

func TestRootsAreForwardedFromTheHost(t *testing.T) {
	node, script := testtargets.NodeEverything(t)
	h := newHost(t, &hostOptions{roots: []*mcp.Root{{URI: "file:///host/workspace", Name: "workspace"}}})
	env := h.call("connect", map[string]any{"command": node, "args": []any{script, "stdio"}})
	require.True(t, env["success"].(bool), "connect: %v", env)
	assert.Equal(t, answeredByHost, get(env, "client_capabilities", "roots", "answered_by"))
	env = h.call("call_tool", map[string]any{"name": "get-roots-list", "arguments": map[string]any{}})
	assert.Contains(t, get(env, "tool_call", "text"), "file:///host/workspace", "%v", env)
	assert.Equal(t, answeredByHost, requestEvents(t, h)["roots/list"]["answered_by"])
}

func TestConnectDeclaresOnlyWhatItIsAsked(t *testing.T) {
	node, script := testtargets.NodeEverything(t)
	t.Run("an explicit false hides a capability the host has", func(t *testing.T) {
		opts, samples, _ := answeringHost()
		h := newHost(t, opts)
		env := h.call("connect", map[string]any{
			"command": node, "args": []any{script, "stdio"},
			"client_capabilities": map[string]any{"sampling": false},
		})
		require.True(t, env["success"].(bool), "connect: %v", env)
		assert.Equal(t, false, get(env, "client_capabilities", "sampling", "declared"))
		assert.Equal(t, answeredByHost, get(env, "client_capabilities", "elicitation", "answered_by"))
		// go-sdk's client declares roots by default, so the host has them.
		assert.Equal(t, true, get(env, "client_capabilities", "roots", "declared"))
		assert.Equal(t, answeredByHost, get(env, "client_capabilities", "roots", "answered_by"))
		env = h.call("call_tool", map[string]any{"name": "trigger-sampling-request", "arguments": map[string]any{"prompt": "x"}})
		assert.Equal(t, string(errtype.ToolNotFound), errType(env), "server-everything offers the tool only to clients with sampling")
		assert.Zero(t, samples.Load())
	})
	t.Run("the defaults declare nothing for a host without capabilities", func(t *testing.T) {
		h := newHost(t, &hostOptions{client: &mcp.ClientOptions{Capabilities: &mcp.ClientCapabilities{}}})
		env := h.call("connect", targetArgs(exampleserver.ModeNormal, nil))
		require.True(t, env["success"].(bool), "connect: %v", env)
		for _, c := range []string{"sampling", "elicitation", "roots"} {
			assert.Equal(t, false, get(env, "client_capabilities", c, "declared"), c)
			assert.Nil(t, get(env, "client_capabilities", c, "answered_by"), c)
		}
		env = h.call("call_tool", map[string]any{"name": "sample", "arguments": map[string]any{}})
		assert.Contains(t, get(env, "tool_call", "text"), "the client does not support sampling")
	})
	for _, tc := range []struct {
		name string
		args map[string]any
		want string
	}{
		{"a contradiction is refused", map[string]any{"client_capabilities": map[string]any{"roots": false}, "roots": []any{}}, "client_capabilities.roots is false"},
		{"an unknown elicitation action is refused", map[string]any{"elicitation_action": "maybe"}, `elicitation_action "maybe"`},
		{"content without accept is refused", map[string]any{"elicitation_action": "decline", "elicitation_content": map[string]any{"a": 1}}, "elicitation_content"},
		{"a root without a scheme is refused", map[string]any{"roots": []any{map[string]any{"uri": "/tmp"}}}, "roots[0].uri"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, nil)
			env := h.call("connect", targetArgs(exampleserver.ModeNormal, tc.args))
			assert.Equal(t, string(errtype.InvalidArguments), errType(env))
			assert.Contains(t, get(env, "error", "message"), tc.want)
		})
	}
}

// askerScript is a raw JSON-RPC target over stdio: its tool ask sends the
// client a request with the given method and returns the client's answer.
const askerScript = `
const rl = require("readline").createInterface({input: process.stdin});
const send = (m) => process.stdout.write(JSON.stringify(m) + "\n");
let pending = null;
rl.on("line", (line) => {
  const m = JSON.parse(line);
  if (m.method === "initialize") {
    send({jsonrpc: "2.0", id: m.id, result: {protocolVersion: m.params.protocolVersion, capabilities: {tools: {}}, serverInfo: {name: "asker", version: "1"}}});
  } else if (m.method === "tools/list") {
    send({jsonrpc: "2.0", id: m.id, result: {tools: [{name: "ask", inputSchema: {type: "object", properties: {method: {type: "string"}}}}]}});
  } else if (m.method === "tools/call") {
    pending = m.id;
    send({jsonrpc: "2.0", id: "q", method: m.params.arguments.method, params: {}});
  } else if (m.method === undefined && m.id === "q") {
    send({jsonrpc: "2.0", id: pending, result: {content: [{type: "text", text: JSON.stringify(m)}]}});
  } else if (m.id !== undefined) {
    send({jsonrpc: "2.0", id: m.id, result: {}});
  }
});
`

// TestARequestTheTesterCannotAnswerGetsAnError checks that go-sdk answers
// requests the tester does not support with a JSON-RPC error, at once.
func TestARequestTheTesterCannotAnswerGetsAnError(t *testing.T) {
	node, _ := testtargets.NodeEverything(t)
	h := newHost(t, nil)
	env := h.call("connect", map[string]any{"command": node, "args": []any{"-e", askerScript}})
	require.True(t, env["success"].(bool), "connect: %v", env)
	for _, method := range []string{"no/such/method", "sampling/createMessage", "elicitation/create", "tasks/list"} {
		t.Run(method, func(t *testing.T) {
			start := time.Now()
			env := h.call("call_tool", map[string]any{"name": "ask", "arguments": map[string]any{"method": method}, "timeout_seconds": 10})
			assert.Less(t, time.Since(start), 5*time.Second)
			require.True(t, env["success"].(bool), "call_tool: %v", env)
			var answer map[string]any
			require.NoError(t, json.Unmarshal([]byte(get(env, "tool_call", "text").(string)), &answer))
			assert.NotNil(t, get(answer, "error", "code"), "a JSON-RPC error: %v", answer)
			assert.NotEmpty(t, get(answer, "error", "message"))
			assert.Nil(t, answer["result"])
		})
	}
}
