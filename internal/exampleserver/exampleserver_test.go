//lint:file-ignore SA1019 the tests exercise the deprecated logging and sampling features the example server offers.

package exampleserver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/testtargets"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServerIdentity(t *testing.T) {
	cs := startStdio(t).connect(t, nil)

	init := cs.InitializeResult()
	require.NotNil(t, init)
	assert.Equal(t, ServerName, init.ServerInfo.Name)
	assert.Equal(t, ServerVersion, init.ServerInfo.Version)
	assert.Equal(t, "2025-11-25", init.ProtocolVersion)
	assert.NotEmpty(t, init.Instructions)
	assert.NotNil(t, init.Capabilities.Logging)
	assert.NotNil(t, init.Capabilities.Completions)
}

func TestTools(t *testing.T) {
	t.Setenv("TESTSERVER_EXAMPLE_VAR", "example value")
	cs := startStdio(t, "--mode", "faults").connect(t, nil)

	tests := []struct {
		name           string
		tool           string
		args           map[string]any
		wantText       string
		wantStructured string // JSON, "" means none
		wantIsError    bool
	}{
		{name: "echo returns the message", tool: "echo", args: map[string]any{"message": "hi there"}, wantText: "hi there"},
		{name: "add returns the sum as text and structured content", tool: "add", args: map[string]any{"a": 2, "b": 3.5}, wantText: "5.5", wantStructured: `{"sum":5.5}`},
		{name: "get_weather returns valid structured content", tool: "get_weather", args: map[string]any{"city": "Paris"},
			wantText: `{"city":"Paris","temperature_c":5.5,"conditions":"cloudy"}`, wantStructured: `{"city":"Paris","temperature_c":5.5,"conditions":"cloudy"}`},
		{name: "bad_structured returns a string temperature", tool: "bad_structured",
			wantText: `{"city":"Nowhere","temperature_c":"warm","conditions":"sunny"}`, wantStructured: `{"city":"Nowhere","temperature_c":"warm","conditions":"sunny"}`},
		{name: "fail returns an error result with the message", tool: "fail", args: map[string]any{"message": "boom"}, wantText: "boom", wantIsError: true},
		{name: "huge returns exactly size_bytes", tool: "huge", args: map[string]any{"size_bytes": 100}, wantText: strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!\n", 2)[:100]},
		{name: "huge refuses a negative size", tool: "huge", args: map[string]any{"size_bytes": -1}, wantText: "size_bytes must be between 1 and 1073741824", wantIsError: true},
		{name: "env returns a variable of the server process", tool: "env", args: map[string]any{"name": "TESTSERVER_EXAMPLE_VAR"}, wantText: "example value"},
		{name: "env reports an unset variable as a tool error", tool: "env", args: map[string]any{"name": "TESTSERVER_UNSET_VAR"}, wantText: `environment variable "TESTSERVER_UNSET_VAR" is not set`, wantIsError: true},
		{name: "headers is an empty object over stdio", tool: "headers", wantText: "{}"},
		{name: "log reports the level", tool: "log", args: map[string]any{"level": "warning", "message": "careful"}, wantText: "logged at level warning"},
		{name: "log refuses an unknown level", tool: "log", args: map[string]any{"level": "loud", "message": "x"}, wantText: `unknown log level "loud"`, wantIsError: true},
		{name: "slow says how many steps it took", tool: "slow", args: map[string]any{"steps": 2, "delay_ms": 1}, wantText: "done after 2 steps"},
		{name: "sample is a tool error when the client lacks sampling", tool: "sample", wantText: "the client does not support sampling", wantIsError: true},
		{name: "destructive_reset does nothing harmful", tool: "destructive_reset", wantText: "reset complete (nothing was actually deleted)"},
		{name: "echo rejects a missing message", tool: "echo", args: map[string]any{}, wantIsError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := callTool(t, cs, tt.tool, tt.args)
			assert.Equal(t, tt.wantIsError, res.IsError, "isError; text: %s", text(res))
			switch {
			case tt.wantStructured != "":
				assert.JSONEq(t, tt.wantText, text(res))
			case tt.wantText != "":
				assert.Equal(t, tt.wantText, text(res))
			}
			if tt.wantStructured == "" {
				assert.Nil(t, res.StructuredContent)
				return
			}
			got, err := json.Marshal(res.StructuredContent)
			require.NoError(t, err)
			assert.JSONEq(t, tt.wantStructured, string(got))
		})
	}
}

func TestToolList(t *testing.T) {
	toolNames := func(t *testing.T, args ...string) map[string]*mcp.Tool {
		res, err := startStdio(t, args...).connect(t, nil).ListTools(t.Context(), nil)
		require.NoError(t, err)
		tools := map[string]*mcp.Tool{}
		for _, tool := range res.Tools {
			tools[tool.Name] = tool
		}
		return tools
	}
	correct := []string{"echo", "add", "get_weather", "tiny_image", "slow", "log", "headers", "sample", "destructive_reset"}
	t.Run("the default server has no fault tools", func(t *testing.T) {
		tools := toolNames(t)
		for _, name := range correct {
			assert.Contains(t, tools, name)
		}
		for _, name := range FaultTools {
			assert.NotContains(t, tools, name)
		}
	})
	tools := toolNames(t, "--mode", "faults")
	for _, name := range append(correct, FaultTools...) {
		assert.Contains(t, tools, name)
	}
	require.Contains(t, tools, "echo")
	require.Contains(t, tools, "destructive_reset")

	t.Run("read-only tools are annotated as such", func(t *testing.T) {
		for _, name := range []string{"echo", "add", "get_weather"} {
			require.NotNil(t, tools[name].Annotations, name)
			assert.True(t, tools[name].Annotations.ReadOnlyHint, name)
			assert.NotEmpty(t, tools[name].Title, name)
		}
	})
	t.Run("destructive_reset is annotated destructive", func(t *testing.T) {
		a := tools["destructive_reset"].Annotations
		require.NotNil(t, a)
		require.NotNil(t, a.DestructiveHint)
		assert.True(t, *a.DestructiveHint)
	})
	t.Run("structured tools declare an output schema", func(t *testing.T) {
		for _, name := range []string{"add", "get_weather", "bad_structured"} {
			assert.NotNil(t, tools[name].OutputSchema, name)
		}
		assert.Nil(t, tools["echo"].OutputSchema)
	})
	t.Run("input schemas describe their properties", func(t *testing.T) {
		b, err := json.Marshal(tools["echo"].InputSchema)
		require.NoError(t, err)
		assert.Contains(t, string(b), "the text to send back")
	})
}

func TestTinyImage(t *testing.T) {
	cs := startStdio(t).connect(t, nil)

	res := callTool(t, cs, "tiny_image", nil)
	require.Len(t, res.Content, 2)
	img, ok := res.Content[0].(*mcp.ImageContent)
	require.True(t, ok, "first block is %T", res.Content[0])
	assert.Equal(t, "image/png", img.MIMEType)
	assert.Equal(t, "\x89PNG\r\n\x1a\n", string(img.Data[:8]))
	assert.Equal(t, logoPNG(), img.Data)
	assert.Equal(t, "a 16×16 PNG", text(res))
}

func TestHugeDefaultIsTwentyMegabytes(t *testing.T) {
	// Called directly: 20 MB through the race-instrumented JSON codec takes
	// seconds. The tool table covers the protocol path.
	res, _, err := huge(t.Context(), nil, hugeIn{})
	require.NoError(t, err)
	assert.Len(t, text(res), 20_000_000)
}

// notifications collects what the server sends a client.
type notifications struct {
	mu       sync.Mutex // guards progress and logs
	progress []*mcp.ProgressNotificationParams
	logs     []*mcp.LoggingMessageParams
}

func (n *notifications) clientOptions() *mcp.ClientOptions {
	return &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.progress = append(n.progress, req.Params)
		},
		LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.logs = append(n.logs, req.Params)
		},
	}
}

func (n *notifications) counts() (progress, logs int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.progress), len(n.logs)
}

func TestSlowSendsProgressAndLogs(t *testing.T) {
	var n notifications
	cs := startStdio(t).connect(t, n.clientOptions())

	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{
		Meta:      mcp.Meta{"progressToken": "tok"},
		Name:      "slow",
		Arguments: map[string]any{"steps": 3, "delay_ms": 1},
	})
	require.NoError(t, err)
	assert.Equal(t, "done after 3 steps", text(res))
	require.Eventually(t, func() bool { p, l := n.counts(); return p == 3 && l == 3 }, 5e9, 1e6)

	n.mu.Lock()
	defer n.mu.Unlock()
	for i, p := range n.progress {
		assert.Equal(t, "tok", p.ProgressToken)
		assert.InDelta(t, float64(i+1), p.Progress, 0)
		assert.InDelta(t, 3.0, p.Total, 0)
	}
	assert.Equal(t, mcp.LoggingLevel("info"), n.logs[0].Level)
	assert.Equal(t, "step 1 of 3", n.logs[0].Data)
}

func TestLogReachesClientWithoutSetLevel(t *testing.T) {
	var n notifications
	cs := startStdio(t).connect(t, n.clientOptions())

	callTool(t, cs, "log", map[string]any{"level": "debug", "message": "hello"})
	require.Eventually(t, func() bool { _, l := n.counts(); return l == 1 }, 5e9, 1e6)
	n.mu.Lock()
	defer n.mu.Unlock()
	assert.Equal(t, mcp.LoggingLevel("debug"), n.logs[0].Level)
	assert.Equal(t, "hello", n.logs[0].Data)
}

func TestSampleAsksTheClient(t *testing.T) {
	var asked string
	cs := startStdio(t).connect(t, &mcp.ClientOptions{
		CreateMessageHandler: func(_ context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			asked = req.Params.Messages[0].Content.(*mcp.TextContent).Text
			return &mcp.CreateMessageResult{Model: "fake", Role: "assistant", Content: &mcp.TextContent{Text: "ahoy"}}, nil
		},
	})

	res := callTool(t, cs, "sample", map[string]any{"prompt": "greet me"})
	assert.False(t, res.IsError, text(res))
	assert.Equal(t, "ahoy", text(res))
	assert.Equal(t, "greet me", asked)
}

func TestHangReportsCancellation(t *testing.T) {
	tests := []struct {
		name string
		mode Mode
		tool string
		args map[string]any
	}{
		{name: "the hang tool stops when the client cancels", mode: ModeFaults, tool: "hang"},
		{name: "hang-on-call blocks any tool but echo until cancelled", mode: ModeHangOnCall, tool: "add", args: map[string]any{"a": 1, "b": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startStdio(t, "--mode", string(tt.mode))
			var n notifications
			cs := srv.connect(t, n.clientOptions())

			ctx, cancel := context.WithCancel(t.Context())
			errc := make(chan error, 1)
			go func() {
				_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tt.tool, Arguments: tt.args})
				errc <- err
			}()
			// The hang announces itself with a log notification.
			require.Eventually(t, func() bool { _, l := n.counts(); return l == 1 }, 5e9, 1e6)
			cancel()
			assert.ErrorIs(t, <-errc, context.Canceled)
			srv.stderr.WaitContains(t, "hang: cancelled by client\n")

			res := callTool(t, cs, "echo", map[string]any{"message": "still here"})
			assert.Equal(t, "still here", text(res))
		})
	}
}

func TestHangEndsWhenStdinCloses(t *testing.T) {
	srv := startStdio(t, "--mode", "faults")
	var n notifications
	cs := srv.connect(t, n.clientOptions())

	// The call is never cancelled: closing stdin must end it, and Run.
	go func() { _, _ = cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "hang"}) }()
	require.Eventually(t, func() bool { _, l := n.counts(); return l == 1 }, 5e9, 1e6)
	require.NoError(t, srv.stdin.Close())

	assert.NoError(t, srv.wait(t))
	assert.Equal(t, "hang: connection closed (EOF)\n", srv.stderr.String())
}

// exitCases are the calls that end the server, for TestExits (in process)
// and TestProcessExits (a real process).
var exitCases = []struct {
	name       string
	args       []string
	tool       string
	toolArgs   map[string]any
	wantCode   int
	wantStderr string
}{
	{name: "crash exits with the given status", args: []string{"--mode", "faults"}, tool: "crash", toolArgs: map[string]any{"code": 7}, wantCode: 7, wantStderr: "crash: exiting with status 7\n"},
	{name: "crash exits with status 2 by default", args: []string{"--mode", "faults"}, tool: "crash", wantCode: 2, wantStderr: "crash: exiting with status 2\n"},
	{name: "crash-on-call exits on any call", args: []string{"--mode", "crash-on-call"}, tool: "echo", toolArgs: map[string]any{"message": "x"}, wantCode: 2, wantStderr: "crash: tools/call received, exiting\n"},
}

func TestExits(t *testing.T) {
	for _, tt := range exitCases {
		t.Run(tt.name, func(t *testing.T) {
			srv := startStdio(t, tt.args...)
			cs := srv.connect(t, nil)

			_, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tt.tool, Arguments: tt.toolArgs})
			assert.Error(t, err)
			var exitErr *ExitError
			require.ErrorAs(t, srv.wait(t), &exitErr)
			assert.Equal(t, tt.wantCode, exitErr.Code)
			assert.Equal(t, []int{tt.wantCode}, srv.exits.get())
			assert.Equal(t, tt.wantStderr, srv.stderr.String())
		})
	}
}

// failingReader fails the test if anything reads it.
type failingReader struct{ t *testing.T }

func (r failingReader) Read([]byte) (int, error) {
	r.t.Error("stdin was read")
	return 0, io.EOF
}

func TestExitBeforeInitReadsNothing(t *testing.T) {
	var stderr testtargets.Buffer
	var exits exitRecorder
	err := Run(t.Context(), &Options{Mode: ModeExitBeforeInit, Stdin: failingReader{t}, Stderr: &stderr, Exit: exits.exit})

	var exitErr *ExitError
	require.ErrorAs(t, err, &exitErr)
	assert.Equal(t, 3, exitErr.Code)
	assert.Equal(t, []int{3}, exits.get())
	assert.Equal(t, "fatal: missing configuration file example.toml\n", stderr.String())
}

func TestJunkStdout(t *testing.T) {
	srv := startStdio(t, "--mode", "junk-stdout")
	go func() {
		_, _ = io.WriteString(srv.stdin, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`+"\n")
	}()

	lines := bufio.NewScanner(srv.stdout)
	var got []string
	for range 3 {
		require.True(t, lines.Scan(), "stdout ended early: %v", lines.Err())
		got = append(got, lines.Text())
	}
	assert.Equal(t, junkBanner, got[0])
	assert.Equal(t, junkLine, got[1])
	var resp struct {
		ID     int `json:"id"`
		Result struct {
			ProtocolVersion string `json:"protocolVersion"`
		} `json:"result"`
	}
	require.NoError(t, json.Unmarshal([]byte(got[2]), &resp), "third line: %s", got[2])
	assert.Equal(t, 1, resp.ID)
	assert.Equal(t, "2025-11-25", resp.Result.ProtocolVersion)
}

func TestStderrFlood(t *testing.T) {
	srv := startStdio(t, "--mode", "stderr-flood")
	cs := srv.connect(t, nil)

	res := callTool(t, cs, "echo", map[string]any{"message": "x"})
	assert.Equal(t, "x", text(res))
	srv.stderr.WaitContains(t, "stderr-flood call line 1000: ")
	srv.stderr.WaitContains(t, "stderr-flood startup line 20000: ")
	assert.Greater(t, len(srv.stderr.String()), 2_000_000)
}

func TestStopReading(t *testing.T) {
	srv := startStdio(t, "--mode", "faults")
	cs := srv.connect(t, nil)

	res := callTool(t, cs, "stop_reading", nil)
	assert.False(t, res.IsError, text(res))
	assert.Contains(t, text(res), "stopped reading stdin")
	// Close the client: the server keeps running and must still stop when
	// its context is cancelled (checked by Cleanup).
	require.NoError(t, cs.Close())
}

func TestHugeResultModeIsNormal(t *testing.T) {
	cs := startStdio(t, "--mode", "huge-result").connect(t, nil)
	res := callTool(t, cs, "huge", map[string]any{"size_bytes": 10})
	assert.Len(t, text(res), 10)
}

func TestArguments(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr error
		wantMsg string
		want    Options
	}{
		{name: "no arguments mean normal mode over stdio", want: Options{Mode: ModeNormal}},
		{name: "mode and http are read", args: []string{"--mode", "junk-stdout", "--http", "127.0.0.1:0", "--require-token", "t"},
			want: Options{Mode: ModeJunkStdout, HTTPAddr: "127.0.0.1:0", RequireToken: "t"}},
		{name: "an unknown mode names the valid ones", args: []string{"--mode", "bogus"}, wantErr: ErrUnknownMode,
			wantMsg: `unknown mode "bogus" (valid modes: normal, faults, exit-before-init, crash-on-call, hang-on-call, junk-stdout, ignore-sigterm, sleeper, huge-result, stderr-flood)`},
		{name: "an unknown flag is a usage error", args: []string{"--nope"}, wantErr: ErrUsage},
		{name: "a stray argument is a usage error", args: []string{"extra"}, wantErr: ErrUsage},
		{name: "a token without http is a usage error", args: []string{"--require-token", "t"}, wantErr: ErrUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(tt.args, io.Discard)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				if tt.wantMsg != "" {
					assert.EqualError(t, err, tt.wantMsg)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, *got)
		})
	}
}

func TestMainRejectsAnUnknownMode(t *testing.T) {
	err := Main(t.Context(), []string{"--mode", "bogus"}, strings.NewReader(""), io.Discard, io.Discard)
	assert.ErrorIs(t, err, ErrUnknownMode)
	assert.ErrorIs(t, Run(t.Context(), &Options{Mode: "bogus"}), ErrUnknownMode)
}

func TestHelpGoesToStdout(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		var stdout, stderr strings.Builder
		err := Main(t.Context(), []string{arg}, strings.NewReader(""), &stdout, &stderr)
		require.NoError(t, err, "help is not an error")
		assert.Contains(t, stdout.String(), "Usage: mcp-test-mcp example-server")
		assert.Contains(t, stdout.String(), "-mode")
		assert.Empty(t, stderr.String())
	}
}

func TestMainReturnsWhenStdinCloses(t *testing.T) {
	err := Main(t.Context(), nil, strings.NewReader(""), io.Discard, io.Discard)
	assert.NoError(t, err)
}

func TestPanicBecomesAnError(t *testing.T) {
	var stderr testtargets.Buffer
	s, err := NewServer(ModeNormal, &stderr, nil)
	require.NoError(t, err)
	s.AddTool(&mcp.Tool{Name: "panic", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) { panic("boom") })
	st, ct := mcp.NewInMemoryTransports()
	ss, err := s.Connect(t.Context(), st, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "0"}, nil).
		Connect(t.Context(), ct, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })

	_, err = cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "panic"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "tools/call handler panicked: boom")
	assert.Contains(t, stderr.String(), "panic handling tools/call: boom")

	res := callTool(t, cs, "echo", map[string]any{"message": "alive"})
	assert.Equal(t, "alive", text(res))
}

func TestNewServerRejectsAnUnknownMode(t *testing.T) {
	_, err := NewServer("bogus", nil, nil)
	assert.True(t, errors.Is(err, ErrUnknownMode))
}
