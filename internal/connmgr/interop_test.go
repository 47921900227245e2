package connmgr

import (
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/testtargets"
)

// directToolCount lists the target's tools with a bare go-sdk client, as a
// reference for what the tester reports.
func directToolCount(t *testing.T, spec Spec) int {
	t.Helper()
	var transport mcp.Transport
	if spec.URL != "" {
		if strings.HasSuffix(spec.URL, "/sse") {
			transport = &mcp.SSEClientTransport{Endpoint: spec.URL}
		} else {
			transport = &mcp.StreamableClientTransport{Endpoint: spec.URL}
		}
	} else {
		transport = &mcp.CommandTransport{Command: execCommand(spec.Command, spec.Args...), TerminateDuration: time.Second}
	}
	// The same capabilities as the tester declares: servers may offer tools
	// depending on them.
	client := mcp.NewClient(&mcp.Implementation{Name: "reference", Version: "1"}, &mcp.ClientOptions{Capabilities: &mcp.ClientCapabilities{}})
	cs, err := client.Connect(t.Context(), transport, &mcp.ClientSessionOptions{ProtocolVersion: DefaultProtocolVersion})
	require.NoError(t, err)
	defer func() { _ = cs.Close() }()
	n := 0
	for _, err := range cs.Tools(t.Context(), nil) {
		require.NoError(t, err)
		n++
	}
	return n
}

// interopCase is one real server and the tools to exercise on it.
type interopCase struct {
	name       string
	spec       func(t *testing.T) Spec
	text       [2]any // tool name, arguments
	wantText   string
	image      string
	structured [2]any
	progress   [2]any
	wantSteps  int
}

func TestInteroperability(t *testing.T) {
	goText := [2]any{"test_simple_text", map[string]any{}}
	nodeEcho := [2]any{"echo", map[string]any{"message": "interop"}}
	nodeStructured := [2]any{"get-structured-content", map[string]any{"location": "New York"}}
	nodeProgress := [2]any{"trigger-long-running-operation", map[string]any{"duration": 0.3, "steps": 3}}
	nodeSpec := func(mode string) func(t *testing.T) Spec {
		return func(t *testing.T) Spec {
			if mode == "stdio" {
				node, script := testtargets.NodeEverything(t)
				return Spec{Command: node, Args: []string{script, "stdio"}}
			}
			return Spec{URL: testtargets.StartNodeEverything(t, mode)}
		}
	}
	cases := []interopCase{
		{
			name:     "go-sdk everything-server over stdio",
			spec:     func(t *testing.T) Spec { return Spec{Command: testtargets.GoEverythingServer(t)} },
			text:     goText,
			wantText: "simple text response",
			image:    "test_image_content", progress: [2]any{"test_tool_with_progress", map[string]any{}}, wantSteps: 3,
		},
		{
			name:     "go-sdk everything-server over stateless streamable HTTP",
			spec:     func(t *testing.T) Spec { return Spec{URL: testtargets.StartGoEverythingHTTP(t)} },
			text:     goText,
			wantText: "simple text response",
			image:    "test_image_content", progress: [2]any{"test_tool_with_progress", map[string]any{}}, wantSteps: 3,
		},
		{
			name: "server-everything over stdio", spec: nodeSpec("stdio"),
			text: nodeEcho, wantText: "interop", image: "get-tiny-image",
			structured: nodeStructured, progress: nodeProgress, wantSteps: 3,
		},
		{
			name: "server-everything over streamable HTTP", spec: nodeSpec("streamableHttp"),
			text: nodeEcho, wantText: "interop", image: "get-tiny-image",
			structured: nodeStructured, progress: nodeProgress, wantSteps: 3,
		},
		{
			name: "server-everything over legacy SSE", spec: nodeSpec("sse"),
			text: nodeEcho, wantText: "interop", image: "get-tiny-image",
			structured: nodeStructured, progress: nodeProgress, wantSteps: 3,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec(t)
			m := newManager(t, nil)
			info := connect(t, m, spec)
			assert.NotEmpty(t, info.ServerInfo.Name)

			tl, err := m.ListTools(t.Context())
			require.NoError(t, err)
			assert.Len(t, tl.Tools, directToolCount(t, spec), "the tester lists what a bare client lists")

			r, err := m.CallTool(t.Context(), tc.text[0].(string), tc.text[1].(map[string]any), 0)
			require.NoError(t, err)
			assert.Contains(t, text(t, r), tc.wantText)

			r, err = m.CallTool(t.Context(), tc.image, nil, 0)
			require.NoError(t, err)
			assert.True(t, hasImage(r), "an image block comes back")

			if tc.structured[0] != nil {
				r, err = m.CallTool(t.Context(), tc.structured[0].(string), tc.structured[1].(map[string]any), 0)
				require.NoError(t, err)
				assert.NotNil(t, r.Result.StructuredContent)
				require.NotNil(t, r.Tool)
				assert.NotNil(t, r.Tool.OutputSchema)
			}

			r, err = m.CallTool(t.Context(), tc.progress[0].(string), tc.progress[1].(map[string]any), 0)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, len(r.Progress), tc.wantSteps, "progress notifications are captured")

			_, err = m.CallTool(t.Context(), "definitely_not_a_tool", nil, 0)
			var nf *ToolNotFoundError
			require.ErrorAs(t, err, &nf)
			assert.Len(t, nf.Available, len(tl.Tools))

			st := m.Status()
			require.True(t, st.Connected)
			assert.Equal(t, 1, st.Info.Statistics.Errors)
			_, _, err = m.Disconnect(t.Context())
			require.NoError(t, err)
			if info.Process != nil {
				assert.False(t, processGroupAlive(info.Process.PID))
			}
		})
	}
}

func hasImage(r *CallResult) bool {
	for _, c := range r.Result.Content {
		if _, ok := c.(*mcp.ImageContent); ok {
			return true
		}
	}
	return false
}
