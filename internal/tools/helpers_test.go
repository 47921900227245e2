package tools

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/schemacheck"
)

// TestMain lets the test binary be its own target (hostile.ServeIfAsked):
// the example server (targetArgs) or a hostile target, so that targets are
// real processes.
func TestMain(m *testing.M) {
	hostile.ServeIfAsked(nil)
	os.Exit(m.Run())
}

// targetArgs returns connect's arguments for the example server in mode,
// run as a re-executed test binary.
func targetArgs(mode exampleserver.Mode, extra map[string]any) map[string]any {
	env := map[string]any{hostile.Behaviour: hostile.ExampleServer}
	args := map[string]any{
		"command": os.Args[0],
		"args":    []any{"--mode", string(mode)},
		"env":     env,
	}
	for k, v := range extra {
		if k == "env" {
			for ek, ev := range v.(map[string]any) {
				env[ek] = ev
			}
			continue
		}
		args[k] = v
	}
	return args
}

// host is an MCP client talking to a server with every tool registered, in
// process, over in-memory transports. The connmgr and the targets are real.
type host struct {
	t       *testing.T
	cs      *mcp.ClientSession
	mgr     *connmgr.Manager
	schemas map[string]*jsonschema.Resolved // output schema of each tool

	frames *frameRecorder

	mu  sync.Mutex
	raw []string // the text of every result, for secret checks
}

// frameRecorder wraps the server's transport and records the encoded size of
// every response it sends: the frame a host receives, with both copies of
// an answer (structuredContent and the text block).
type frameRecorder struct {
	mcp.Transport

	mu    sync.Mutex
	sizes []int // of every response frame, in order
}

func (r *frameRecorder) Connect(ctx context.Context) (mcp.Connection, error) {
	c, err := r.Transport.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &recordingConn{Connection: c, r: r}, nil
}

// last returns the size of the last response frame.
func (r *frameRecorder) last() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sizes[len(r.sizes)-1]
}

// largest returns the size of the largest response frame.
func (r *frameRecorder) largest() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Max(r.sizes)
}

type recordingConn struct {
	mcp.Connection
	r *frameRecorder
}

func (c *recordingConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	if _, ok := msg.(*jsonrpc.Response); ok {
		b, err := jsonrpc.EncodeMessage(msg)
		if err != nil {
			return err
		}
		c.r.mu.Lock()
		c.r.sizes = append(c.r.sizes, len(b))
		c.r.mu.Unlock()
	}
	return c.Connection.Write(ctx, msg)
}

type hostOptions struct {
	roots           []*mcp.Root // the host's own roots
	maxTextBytes    int
	maxMessageBytes int64
	maxEvents       int // connmgr.Options.MaxEvents; zero means its default
	policy          *connmgr.CommandPolicy
	remote          bool   // Deps.Remote
	workdir         string // Deps.Workdir
	// client configures the test host's client: its handlers declare
	// sampling and elicitation; nil means go-sdk's defaults.
	client *mcp.ClientOptions
}

func newHost(t *testing.T, opts *hostOptions) *host {
	t.Helper()
	if opts == nil {
		opts = &hostOptions{}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	mgr := connmgr.New(&connmgr.Options{Logger: logger, MaxMessageBytes: opts.maxMessageBytes, MaxEvents: opts.maxEvents, Policy: opts.policy})
	t.Cleanup(func() { assert.NoError(t, mgr.Close()) })

	server := mcp.NewServer(&mcp.Implementation{Name: "mcp-test-mcp", Version: "test"}, &mcp.ServerOptions{
		Logger:                    logger,
		SupportedProtocolVersions: []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"},
	})
	server.AddReceivingMiddleware(RecoverPanics(logger))
	Register(server, &Deps{Manager: mgr, Logger: logger, MaxTextBytes: opts.maxTextBytes, Remote: opts.remote, Workdir: opts.workdir})

	st, ct := mcp.NewInMemoryTransports()
	frames := &frameRecorder{Transport: st}
	ss, err := server.Connect(context.Background(), frames, nil)
	require.NoError(t, err)
	client := mcp.NewClient(&mcp.Implementation{Name: "test-host", Version: "0.0.1"}, opts.client)
	client.AddRoots(opts.roots...)
	cs, err := client.Connect(t.Context(), ct, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	require.NoError(t, err)
	t.Cleanup(func() {
		cs.Close()
		ss.Wait()
	})

	h := &host{t: t, cs: cs, mgr: mgr, schemas: map[string]*jsonschema.Resolved{}, frames: frames}
	list, err := cs.ListTools(t.Context(), nil)
	require.NoError(t, err)
	for _, tool := range list.Tools {
		require.NotNil(t, tool.OutputSchema, "tool %s has no output schema", tool.Name)
		r, err := schemacheck.Resolve(tool.OutputSchema)
		require.NoError(t, err, "output schema of %s", tool.Name)
		h.schemas[tool.Name] = r
	}
	return h
}

// call calls one of our tools and checks what every result must satisfy
// (SPEC §1): one text block holding the same JSON as structuredContent, which
// matches the tool's outputSchema; isError true exactly when success is false,
// except for tool_error; metadata.request_time_ms. It returns the envelope.
func (h *host) call(name string, args any) map[string]any {
	h.t.Helper()
	res, err := h.cs.CallTool(h.t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	require.NoError(h.t, err, "calling %s", name)
	if os.Getenv("MCP_TOOLS_TEST_FRAMES") != "" {
		h.t.Logf("frame of %s: %d bytes", name, h.frames.last())
	}
	assert.LessOrEqual(h.t, h.frames.largest(), maxAnswerBytes, "every answer's frame, both copies, stays within the bound (last: %s)", name)
	require.Len(h.t, res.Content, 1, "%s returns one content block", name)
	text, ok := res.Content[0].(*mcp.TextContent)
	require.True(h.t, ok, "%s returns a text block", name)
	h.mu.Lock()
	h.raw = append(h.raw, text.Text)
	h.mu.Unlock()

	var env map[string]any
	require.NoError(h.t, json.Unmarshal([]byte(text.Text), &env), "%s's text is JSON", name)
	structured, err := schemacheck.Plain(res.StructuredContent)
	require.NoError(h.t, err)
	assert.Equal(h.t, env, structured, "%s's text block is its structured content", name)
	assert.NoError(h.t, h.schemas[name].Validate(structured), "%s's output matches its outputSchema:\n%s", name, text.Text)

	success, _ := env["success"].(bool)
	wantIsError := !success && errType(env) != string(errtype.ToolError)
	assert.Equal(h.t, wantIsError, res.IsError, "%s's isError for %s", name, text.Text)
	if !success {
		e, _ := env["error"].(map[string]any)
		require.NotNil(h.t, e, "a failed %s has an error object", name)
		assert.NotEmpty(h.t, e["message"])
		assert.NotEmpty(h.t, e["suggestion"])
	}
	_, ok = env["metadata"].(map[string]any)["request_time_ms"].(float64)
	assert.True(h.t, ok, "%s has metadata.request_time_ms", name)
	return env
}

// rawOutputs returns the text of every result so far.
func (h *host) rawOutputs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.raw...)
}

// connect connects to the example server in mode and requires success.
func (h *host) connect(mode exampleserver.Mode, extra map[string]any) map[string]any {
	h.t.Helper()
	env := h.call("connect", targetArgs(mode, extra))
	require.True(h.t, env["success"].(bool), "connect: %v", env)
	return env
}

// newConnectedHost is newHost connected to the example server in mode,
// with connect's extra arguments: the start of most tests.
func newConnectedHost(t *testing.T, mode exampleserver.Mode, extra map[string]any) *host {
	t.Helper()
	h := newHost(t, nil)
	h.connect(mode, extra)
	return h
}

// runEcho runs a spec of one step, a call of the example server's echo
// with message, expecting expect (nil: nothing), and returns run_checks'
// envelope.
func (h *host) runEcho(message string, expect map[string]any) map[string]any {
	h.t.Helper()
	step := map[string]any{"call_tool": "echo", "arguments": map[string]any{"message": message}}
	if expect != nil {
		step["expect"] = expect
	}
	return h.call("run_checks", map[string]any{"spec": map[string]any{"steps": []any{step}}})
}

func errType(env map[string]any) string {
	e, _ := env["error"].(map[string]any)
	s, _ := e["type"].(string)
	return s
}

// get walks a decoded JSON value along a path of keys and indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[p]
		case int:
			s, _ := v.([]any)
			if p >= len(s) {
				return nil
			}
			v = s[p]
		}
	}
	return v
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+)`)

// startHTTPTarget runs the example server over HTTP in process and returns
// its base URL.
func startHTTPTarget(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan struct{})
	var err error // set before done is closed
	go func() {
		err = exampleserver.Main(ctx, append([]string{"--http", "127.0.0.1:0"}, args...), strings.NewReader(""), io.Discard, pw)
		pw.Close()
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("the HTTP target did not stop")
		}
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case u := <-urls:
		return u
	case <-done:
		t.Fatalf("the HTTP target ended before listening: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the HTTP target did not start listening")
	}
	return ""
}
