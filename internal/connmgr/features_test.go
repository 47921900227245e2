package connmgr

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/testtargets"
)

func TestResourcesAndPrompts(t *testing.T) {
	m := newManager(t, nil)
	connect(t, m, exampleSpec(t, "normal"))

	t.Run("resources and templates are listed", func(t *testing.T) {
		rs, err := m.ListResources(t.Context())
		require.NoError(t, err)
		var uris []string
		for _, r := range rs {
			uris = append(uris, r.URI)
		}
		assert.Contains(t, uris, "example://readme")
		assert.Contains(t, uris, "example://logo.png")
		ts, err := m.ListResourceTemplates(t.Context())
		require.NoError(t, err)
		require.NotEmpty(t, ts)
		assert.Equal(t, "example://items/{id}", ts[0].URITemplate)
	})
	t.Run("a binary resource comes back byte for byte", func(t *testing.T) {
		res, err := m.ReadResource(t.Context(), "example://logo.png", 0)
		require.NoError(t, err)
		require.Len(t, res.Contents, 1)
		assert.Equal(t, "image/png", res.Contents[0].MIMEType)
		assert.Equal(t, []byte("\x89PNG"), res.Contents[0].Blob[:4])
	})
	t.Run("an unknown resource is reported as not found", func(t *testing.T) {
		_, err := m.ReadResource(t.Context(), "example://no-such-thing", 0)
		var nf *ResourceNotFoundError
		require.ErrorAs(t, err, &nf)
		assert.Equal(t, "example://no-such-thing", nf.URI)
	})
	t.Run("a prompt renders with its arguments", func(t *testing.T) {
		ps, err := m.ListPrompts(t.Context())
		require.NoError(t, err)
		assert.NotEmpty(t, ps)
		pr, err := m.GetPrompt(t.Context(), "greet", map[string]string{"name": "Ada"}, 0)
		require.NoError(t, err)
		require.NotEmpty(t, pr.Result.Messages)
		assert.Contains(t, pr.Result.Messages[0].Content.(*mcp.TextContent).Text, "Ada")
		require.NotNil(t, pr.Prompt)
	})
	t.Run("missing required arguments are refused before sending, by name", func(t *testing.T) {
		before := m.Status().Info.Statistics.ByMethod["prompts/get"].Count
		_, err := m.GetPrompt(t.Context(), "greet", nil, 0)
		var missing *MissingArgumentsError
		require.ErrorAs(t, err, &missing)
		assert.Equal(t, []string{"name"}, missing.Missing)
		assert.Equal(t, before, m.Status().Info.Statistics.ByMethod["prompts/get"].Count, "nothing was sent")
	})
	t.Run("an unknown prompt names the ones that exist", func(t *testing.T) {
		_, err := m.GetPrompt(t.Context(), "gret", nil, 0)
		var nf *PromptNotFoundError
		require.ErrorAs(t, err, &nf)
		assert.Contains(t, nf.Available, "greet")
	})
	t.Run("completion of a prompt argument", func(t *testing.T) {
		res, err := m.Complete(t.Context(), &mcp.CompleteParams{
			Ref:      &mcp.CompleteReference{Type: "ref/prompt", Name: "greet"},
			Argument: mcp.CompleteParamsArgument{Name: "style", Value: ""},
		})
		require.NoError(t, err)
		assert.NotEmpty(t, res.Completion.Values)
	})
	t.Run("ping measures a round trip", func(t *testing.T) {
		rtt, err := m.Ping(t.Context(), 0)
		require.NoError(t, err)
		assert.Positive(t, rtt)
	})
	t.Run("subscribing needs the subscribe capability", func(t *testing.T) {
		err := m.Subscribe(t.Context(), "example://readme")
		var capErr *CapabilityError
		require.ErrorAs(t, err, &capErr)
		assert.Equal(t, "resources.subscribe", capErr.Capability)
	})
	t.Run("statistics count resources and prompts", func(t *testing.T) {
		s := m.Status().Info.Statistics
		assert.Equal(t, 1, s.ResourcesAccessed, "one successful read")
		assert.Equal(t, 1, s.PromptsExecuted)
	})
}

func TestEventsRecordWhatTheTargetSentOnItsOwn(t *testing.T) {
	m := newManager(t, &Options{MaxEvents: 50})
	connect(t, m, exampleSpec(t, "normal"))
	_, err := m.CallTool(t.Context(), "slow", map[string]any{"steps": 3, "delay_ms": 1}, 0)
	require.NoError(t, err)

	page := m.Events(EventQuery{Kinds: []string{EventProgress}})
	require.Len(t, page.Events, 3)
	for i := 1; i < len(page.Events); i++ {
		assert.Greater(t, page.Events[i].Seq, page.Events[i-1].Seq, "in the order received")
	}
	assert.Equal(t, 3, m.Status().EventCounts[EventProgress])

	since := m.Events(EventQuery{}).LastSeq
	_, err = m.CallTool(t.Context(), "log", map[string]any{"level": "warning", "message": "careful"}, 0)
	require.NoError(t, err)
	logs := m.Events(EventQuery{Kinds: []string{EventLog}, Since: since})
	require.Len(t, logs.Events, 1)
	assert.Contains(t, string(logs.Events[0].Data), "careful")

	connect(t, m, exampleSpec(t, "stderr-flood"))
	require.Eventually(t, func() bool { return m.Events(EventQuery{}).Counts[EventStderr] > 1000 }, 10*time.Second, 10*time.Millisecond)
	all := m.Events(EventQuery{})
	assert.Len(t, all.Events, 50, "the buffer is bounded")
	assert.Positive(t, all.Dropped)
	assert.Equal(t, EventStderr, all.Events[len(all.Events)-1].Kind)

	m.ClearEvents(0)
	assert.Empty(t, m.Events(EventQuery{Kinds: []string{EventLog}}).Events)
}

// clientSide answers sampling and elicitation with fixed values.
func clientSide(roots ...*mcp.Root) ClientSide {
	return ClientSide{
		Sampling: func(_ context.Context, p *mcp.CreateMessageParams) (*mcp.CreateMessageResult, string, error) {
			return &mcp.CreateMessageResult{Content: &mcp.TextContent{Text: "sampled answer"}, Model: "test-model", Role: "assistant"}, "connect_options", nil
		},
		Elicitation: func(_ context.Context, p *mcp.ElicitParams) (*mcp.ElicitResult, string, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "Ada", "check": true}}, "connect_options", nil
		},
		Roots: roots,
	}
}

func TestServerEverythingFeatures(t *testing.T) {
	node, script := testtargets.NodeEverything(t)
	m := newManager(t, nil)
	spec := Spec{Command: node, Args: []string{script, "stdio"}, Client: clientSide(&mcp.Root{URI: "file:///work", Name: "work"})}
	connect(t, m, spec)

	t.Run("every resource is read", func(t *testing.T) {
		rs, err := m.ListResources(t.Context())
		require.NoError(t, err)
		require.NotEmpty(t, rs)
		for _, r := range rs {
			res, err := m.ReadResource(t.Context(), r.URI, 0)
			require.NoError(t, err, r.URI)
			assert.NotEmpty(t, res.Contents, r.URI)
		}
	})
	t.Run("a binary resource decodes to what the server encoded", func(t *testing.T) {
		// server-everything's blobs carry a timestamp, so they are checked by
		// content rather than by a checksum against a second read.
		res, err := m.ReadResource(t.Context(), "demo://resource/dynamic/blob/7", 0)
		require.NoError(t, err)
		require.Len(t, res.Contents, 1)
		assert.True(t, strings.HasPrefix(string(res.Contents[0].Blob), "Resource 7: This is a base64 blob"), "%q", res.Contents[0].Blob)
	})
	t.Run("every prompt renders", func(t *testing.T) {
		ps, err := m.ListPrompts(t.Context())
		require.NoError(t, err)
		for _, p := range ps {
			// Valid values come from the server's own completions.
			args := map[string]string{}
			for _, a := range p.Arguments {
				if !a.Required {
					continue
				}
				args[a.Name] = "1"
				res, err := m.Complete(t.Context(), &mcp.CompleteParams{
					Ref:      &mcp.CompleteReference{Type: "ref/prompt", Name: p.Name},
					Argument: mcp.CompleteParamsArgument{Name: a.Name},
					Context:  &mcp.CompleteContext{Arguments: args},
				})
				if err == nil && len(res.Completion.Values) > 0 {
					args[a.Name] = res.Completion.Values[0]
				}
			}
			_, err := m.GetPrompt(t.Context(), p.Name, args, 0)
			assert.NoError(t, err, p.Name)
		}
	})
	t.Run("subscriptions deliver resources/updated", func(t *testing.T) {
		rs, err := m.ListResources(t.Context())
		require.NoError(t, err)
		since := m.Events(EventQuery{}).LastSeq
		require.NoError(t, m.Subscribe(t.Context(), rs[0].URI))
		_, err = m.CallTool(t.Context(), "toggle-subscriber-updates", nil, 0)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			return len(m.Events(EventQuery{Kinds: []string{EventResourceUpdated}, Since: since}).Events) > 0
		}, 10*time.Second, 20*time.Millisecond)
		require.NoError(t, m.Unsubscribe(t.Context(), rs[0].URI))
	})
	t.Run("sampling is answered and recorded", func(t *testing.T) {
		r, err := m.CallTool(t.Context(), "trigger-sampling-request", map[string]any{"prompt": "hi"}, 0)
		require.NoError(t, err)
		assert.Contains(t, text(t, r), "sampled answer")
		reqs := m.Events(EventQuery{Kinds: []string{EventRequest}}).Events
		require.NotEmpty(t, reqs)
		last := reqs[len(reqs)-1]
		assert.Equal(t, "sampling/createMessage", last.Method)
		var data map[string]any
		require.NoError(t, json.Unmarshal(last.Data, &data))
		assert.Equal(t, "connect_options", data["answered_by"])
		assert.NotNil(t, data["result"])
	})
	t.Run("elicitation is answered", func(t *testing.T) {
		r, err := m.CallTool(t.Context(), "trigger-elicitation-request", nil, 0)
		require.NoError(t, err)
		assert.Contains(t, text(t, r), "Ada")
	})
	t.Run("roots are listed and can change", func(t *testing.T) {
		r, err := m.CallTool(t.Context(), "get-roots-list", nil, 0)
		require.NoError(t, err)
		assert.Contains(t, text(t, r), "file:///work")
		require.NoError(t, m.SetRoots([]*mcp.Root{{URI: "file:///elsewhere", Name: "elsewhere"}}))
		require.Eventually(t, func() bool {
			r, err := m.CallTool(t.Context(), "get-roots-list", nil, 0)
			return err == nil && strings.Contains(text(t, r), "file:///elsewhere") && !strings.Contains(text(t, r), "file:///work")
		}, 5*time.Second, 20*time.Millisecond)
	})
}

func TestBinaryResourcesAreIntact(t *testing.T) {
	spec := Spec{Command: testtargets.GoEverythingServer(t)}
	m := newManager(t, nil)
	connect(t, m, spec)
	res, err := m.ReadResource(t.Context(), "test://static-binary", 0)
	require.NoError(t, err)
	require.Len(t, res.Contents, 1)
	require.NotEmpty(t, res.Contents[0].Blob)
	assert.Equal(t, directBlobSum(t, spec, "test://static-binary"), sha256.Sum256(res.Contents[0].Blob))
}

func directBlobSum(t *testing.T, spec Spec, uri string) [32]byte {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "reference", Version: "1"}, &mcp.ClientOptions{Capabilities: &mcp.ClientCapabilities{}})
	cs, err := client.Connect(t.Context(), &mcp.CommandTransport{Command: execCommand(spec.Command, spec.Args...), TerminateDuration: time.Second}, &mcp.ClientSessionOptions{ProtocolVersion: DefaultProtocolVersion})
	require.NoError(t, err)
	defer func() { _ = cs.Close() }()
	res, err := cs.ReadResource(t.Context(), &mcp.ReadResourceParams{URI: uri})
	require.NoError(t, err)
	for _, c := range res.Contents {
		if c.Blob != nil {
			return sha256.Sum256(c.Blob)
		}
	}
	t.Fatalf("%s has no blob when read directly", uri)
	return [32]byte{}
}

func TestRequestsWeDoNotAnswerGetAnErrorNotAHang(t *testing.T) {
	m := newManager(t, nil)
	connect(t, m, exampleSpec(t, "normal"))
	r, err := m.CallTool(t.Context(), "sample", nil, 5*time.Second)
	require.NoError(t, err)
	assert.True(t, r.Result.IsError, "the target's tool reports that sampling failed")
	reqs := m.Events(EventQuery{Kinds: []string{EventRequest}}).Events
	if len(reqs) > 0 {
		assert.Contains(t, string(reqs[len(reqs)-1].Data), "error")
	}
}

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
