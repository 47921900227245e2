package connmgr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/procgroup"
)

// newManager returns a Manager whose connection is closed when the test ends.
func newManager(t *testing.T, opts *Options) *Manager {
	t.Helper()
	m := New(opts)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func connect(t *testing.T, m *Manager, spec Spec) *Info {
	t.Helper()
	info, _, err := m.Connect(t.Context(), spec)
	require.NoError(t, err)
	return info
}

func text(t *testing.T, r *CallResult) string {
	t.Helper()
	var parts []string
	for _, c := range r.Result.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func TestConnectDescribesTheTarget(t *testing.T) {
	m := newManager(t, nil)
	spec := exampleSpec(t, "normal")
	spec.Env["EXAMPLE_MODE_NOTE"] = "plain"
	info := connect(t, m, spec)

	assert.NotEmpty(t, info.ID)
	assert.Equal(t, TransportStdio, info.Transport)
	assert.Equal(t, StatusConnected, info.Status)
	assert.Equal(t, "mcp-test-mcp-example", info.ServerInfo.Name)
	assert.Equal(t, "1.0.0", info.ServerInfo.Version)
	assert.Equal(t, DefaultProtocolVersion, info.ProtocolVersion)
	require.NotNil(t, info.Capabilities)
	assert.NotNil(t, info.Capabilities.Tools)
	assert.Contains(t, info.Instructions, "example server")
	require.NotNil(t, info.Process)
	assert.Positive(t, info.Process.PID)
	assert.Equal(t, []string{"EXAMPLE_MODE_NOTE", hostile.Behaviour}, info.Process.EnvNames)
	assert.Contains(t, info.ServerURL, "--mode normal")
	assert.False(t, info.HeadersProvided)
	assert.Nil(t, info.AuthType)
	assert.WithinDuration(t, time.Now(), info.ConnectedAt, time.Minute)
}

func TestCallTool(t *testing.T) {
	m := newManager(t, nil)
	connect(t, m, exampleSpec(t, "faults"))

	t.Run("a text tool answers with its text", func(t *testing.T) {
		r, err := m.CallTool(t.Context(), "echo", map[string]any{"message": "hello"}, 0)
		require.NoError(t, err)
		assert.Equal(t, "hello", text(t, r))
		assert.False(t, r.Result.IsError)
		require.NotNil(t, r.Tool, "the tool's definition comes with the result")
		assert.Equal(t, "echo", r.Tool.Name)
		assert.False(t, r.CompletedAt.Before(r.StartedAt))
	})
	t.Run("a structured tool returns structured content and its output schema", func(t *testing.T) {
		r, err := m.CallTool(t.Context(), "add", map[string]any{"a": 2, "b": 3.5}, 0)
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"sum": 5.5}, r.Result.StructuredContent)
		assert.NotNil(t, r.Tool.OutputSchema)
	})
	t.Run("an image tool returns the image block", func(t *testing.T) {
		r, err := m.CallTool(t.Context(), "tiny_image", nil, 0)
		require.NoError(t, err)
		var img *mcp.ImageContent
		for _, c := range r.Result.Content {
			if ic, ok := c.(*mcp.ImageContent); ok {
				img = ic
			}
		}
		require.NotNil(t, img)
		assert.Equal(t, "image/png", img.MIMEType)
		assert.Equal(t, []byte("\x89PNG"), img.Data[:4])
	})
	t.Run("progress and logs sent during the call come back with it, in order", func(t *testing.T) {
		r, err := m.CallTool(t.Context(), "slow", map[string]any{"steps": 4, "delay_ms": 5}, 0)
		require.NoError(t, err)
		require.Len(t, r.Progress, 4)
		for i, p := range r.Progress {
			assert.InDelta(t, float64(i+1), p.Progress, 0)
			assert.InDelta(t, 4.0, p.Total, 0)
		}
		assert.Len(t, r.Logs, 4)
		assert.NotEmpty(t, r.Logs[0].Level)
	})
	t.Run("an error result is an answer, not a failure", func(t *testing.T) {
		r, err := m.CallTool(t.Context(), "fail", map[string]any{"message": "bad input"}, 0)
		require.NoError(t, err)
		assert.True(t, r.Result.IsError)
		assert.Contains(t, text(t, r), "bad input")
	})
	t.Run("an unknown tool is refused with the names that exist", func(t *testing.T) {
		_, err := m.CallTool(t.Context(), "ecko", nil, 0)
		var nf *ToolNotFoundError
		require.ErrorAs(t, err, &nf)
		assert.Equal(t, "ecko", nf.Name)
		assert.Contains(t, nf.Available, "echo")
		assert.Contains(t, nf.Available, "add")
	})
	t.Run("arguments the target rejects come back as it answered them", func(t *testing.T) {
		// go-sdk servers answer schema-invalid arguments with an isError
		// result, not with -32602.
		r, err := m.CallTool(t.Context(), "add", map[string]any{"a": "two"}, 0)
		require.NoError(t, err)
		assert.True(t, r.Result.IsError)
		assert.Contains(t, text(t, r), "validating")
	})
}

func TestStatisticsAndDisconnect(t *testing.T) {
	m := newManager(t, nil)
	info := connect(t, m, exampleSpec(t, "faults"))
	pgid := info.Process.PID

	for range 3 {
		_, err := m.CallTool(t.Context(), "echo", map[string]any{"message": "x"}, 0)
		require.NoError(t, err)
	}
	_, err := m.CallTool(t.Context(), "fail", map[string]any{"message": "x"}, 0)
	require.NoError(t, err)
	_, err = m.CallTool(t.Context(), "no_such_tool", nil, 0)
	require.Error(t, err)

	st := m.Status()
	require.True(t, st.Connected)
	s := st.Info.Statistics
	assert.Equal(t, 4, s.ToolsCalled, "isError results count as calls")
	assert.Equal(t, 1, s.Errors, "the refused call counts only as an error")
	assert.Equal(t, 4, s.ByMethod["tools/call"].Count)
	assert.Positive(t, s.ByMethod["tools/list"].Count)
	assert.Equal(t, s.ByMethod["tools/call"].Count+s.ByMethod["tools/list"].Count, s.Requests)
	require.NotNil(t, s.LastRequestAt)

	prev, was, err := m.Disconnect(t.Context())
	require.NoError(t, err)
	assert.True(t, was)
	assert.Equal(t, EndedByDisconnect, prev.EndedBy)
	assert.Equal(t, s.ToolsCalled, prev.Statistics.ToolsCalled)
	real := prev.DisconnectedAt.Sub(prev.ConnectedAt).Seconds()
	assert.InDelta(t, real, prev.DurationSeconds, 0.01, "duration_seconds is the real elapsed time")
	require.NotNil(t, prev.Exit)
	require.NotNil(t, prev.Exit.Code)
	assert.Equal(t, 0, *prev.Exit.Code, "the target exits cleanly when its stdin closes")
	assert.False(t, procgroup.Alive(pgid), "no process of the target's group is left once Disconnect returns")

	st = m.Status()
	assert.False(t, st.Connected)
	assert.Nil(t, st.Info)
	require.NotNil(t, st.Last)
	assert.Equal(t, EndedByDisconnect, st.Last.EndedBy)

	prev2, was, err := m.Disconnect(t.Context())
	require.NoError(t, err)
	assert.False(t, was, "a second disconnect has nothing to close")
	assert.Equal(t, prev, prev2, "and still reports the last connection")
}

func TestMakeBeforeBreak(t *testing.T) {
	m := newManager(t, nil)
	first := connect(t, m, exampleSpec(t, "normal"))

	t.Run("a failed connect leaves the current connection as it was", func(t *testing.T) {
		_, _, err := m.Connect(t.Context(), exampleSpec(t, "exit-before-init"))
		require.Error(t, err)
		st := m.Status()
		require.True(t, st.Connected)
		assert.Equal(t, first.ID, st.Info.ID)
		_, err = m.CallTool(t.Context(), "echo", map[string]any{"message": "still here"}, 0)
		assert.NoError(t, err)
	})
	t.Run("a successful connect replaces the old one and reports it", func(t *testing.T) {
		second, replaced, err := m.Connect(t.Context(), exampleSpec(t, "normal"))
		require.NoError(t, err)
		require.NotNil(t, replaced)
		assert.Equal(t, EndedByReplaced, replaced.EndedBy)
		assert.Equal(t, 1, replaced.Statistics.ToolsCalled)
		assert.NotEqual(t, first.ID, second.ID)
		assert.False(t, procgroup.Alive(first.Process.PID), "the replaced target's processes are gone")
		assert.Equal(t, 0, m.Status().Info.Statistics.ToolsCalled, "statistics are per connection")
	})
}

func TestFaults(t *testing.T) {
	t.Run("a target that exits before initialize is reported with its status and stderr", func(t *testing.T) {
		m := newManager(t, nil)
		spec := exampleSpec(t, "exit-before-init")
		// With this deadline a slow detection would be a timeout, not an exit.
		spec.ConnectTimeout = 3 * time.Second
		_, _, err := m.Connect(t.Context(), spec)
		var exit *ExitError
		require.ErrorAs(t, err, &exit)
		require.NotNil(t, exit.Exit.Code)
		assert.Equal(t, 3, *exit.Exit.Code)
		assert.Contains(t, exit.Exit.StderrTail, "fatal: missing configuration file example.toml")
		assert.Contains(t, err.Error(), "exited with status 3")
		assert.Contains(t, err.Error(), "fatal: missing configuration file")
		assert.False(t, m.Status().Connected)
	})
	t.Run("a command that is not found fails at once with a hint", func(t *testing.T) {
		m := newManager(t, nil)
		_, _, err := m.Connect(t.Context(), Spec{Command: "no-such-mcp-server-xyz"})
		var spawn *SpawnError
		require.ErrorAs(t, err, &spawn)
		assert.Contains(t, spawn.Hint, "PATH")
	})
	t.Run("a command line given as one string gets a hint to split it", func(t *testing.T) {
		m := newManager(t, nil)
		_, _, err := m.Connect(t.Context(), Spec{Command: "npx -y foo"})
		var spawn *SpawnError
		require.ErrorAs(t, err, &spawn)
		assert.Contains(t, spawn.Hint, `pass command: "npx", args: [-y, foo]`)
	})
	t.Run("a target that crashes during a call is reported lost with its exit", func(t *testing.T) {
		m := newManager(t, nil)
		info := connect(t, m, exampleSpec(t, "crash-on-call"))
		_, err := m.CallTool(t.Context(), "echo", map[string]any{"message": "x"}, 0)
		var exit *ExitError
		require.ErrorAs(t, err, &exit)
		assert.Equal(t, "tools/call", exit.During)
		require.NotNil(t, exit.Exit.Code)
		assert.Equal(t, 2, *exit.Exit.Code)
		assert.Contains(t, exit.Exit.StderrTail, "crash: tools/call received, exiting")

		st := m.Status()
		assert.False(t, st.Connected, "a dead target is not shown as connected")
		require.NotNil(t, st.Last)
		assert.Equal(t, EndedByLost, st.Last.EndedBy)
		assert.Contains(t, st.Last.Reason, "exited with status 2")
		assert.Contains(t, strings.Join(st.StderrTail, "\n"), "crash: tools/call received")
		assert.False(t, procgroup.Alive(info.Process.PID))
		_, err = m.CallTool(t.Context(), "echo", nil, 0)
		assert.ErrorIs(t, err, ErrNotConnected)
	})
	t.Run("a hanging call times out, is cancelled on the target, and the connection stays usable", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, exampleSpec(t, "hang-on-call"))
		_, err := m.CallTool(t.Context(), "get_weather", map[string]any{"city": "Oslo"}, time.Second)
		var to *TimeoutError
		require.ErrorAs(t, err, &to)
		assert.True(t, to.Cancelled)
		assert.False(t, to.Lost)
		assert.Equal(t, time.Second, to.After)
		require.Eventually(t, func() bool {
			return strings.Contains(strings.Join(m.Status().StderrTail, "\n"), "hang: cancelled by client")
		}, 5*time.Second, 10*time.Millisecond, "the target saw notifications/cancelled")
		r, err := m.CallTool(t.Context(), "echo", map[string]any{"message": "next"}, 0)
		require.NoError(t, err)
		assert.Equal(t, "next", text(t, r))
		st := m.Status().Info.Statistics
		assert.Equal(t, 1, st.Errors, "the timed-out call counts as an error")
		assert.Equal(t, 1, st.ToolsCalled, "and not as a call")
	})
	t.Run("junk on stdout is kept as a diagnostic and does not break the session", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, exampleSpec(t, "junk-stdout"))
		r, err := m.CallTool(t.Context(), "echo", map[string]any{"message": "through the junk"}, 0)
		require.NoError(t, err)
		assert.Equal(t, "through the junk", text(t, r))
		st := m.Status()
		assert.GreaterOrEqual(t, st.JunkCount, 3)
		assert.Contains(t, st.Junk, "Example server v1 starting...")
		assert.Contains(t, st.Junk, "debug: handled a request")
	})
	t.Run("a target that ignores SIGTERM and leaves a grandchild is killed with its whole group", func(t *testing.T) {
		m := newManager(t, nil)
		info := connect(t, m, exampleSpec(t, "ignore-sigterm"))
		grandchild := stderrPID(t, m, "grandchild")

		prev, _, err := m.Disconnect(t.Context())
		require.Error(t, err, "the forced kill is reported as a cleanup warning")
		assert.Contains(t, err.Error(), "SIGKILL")
		assert.False(t, procgroup.Alive(info.Process.PID), "no process of the group remains")
		assert.False(t, procgroup.Running(grandchild), "the grandchild is gone (at most a zombie nobody reaped)")
		require.NotNil(t, prev.Exit)
		assert.Equal(t, "SIGKILL", prev.Exit.Signal)
	})
	t.Run("an answer over the size cap fails that call clearly and the connection stays usable", func(t *testing.T) {
		m := newManager(t, &Options{MaxMessageBytes: 1 << 20})
		connect(t, m, exampleSpec(t, "faults"))
		_, err := m.CallTool(t.Context(), "huge", map[string]any{"size_bytes": 3 << 20}, 0)
		var tooLarge *MessageTooLargeError
		require.ErrorAs(t, err, &tooLarge)
		assert.Contains(t, err.Error(), "1 MiB limit (MCP_TEST_MAX_MESSAGE_BYTES)")
		_, err = m.CallTool(t.Context(), "echo", map[string]any{"message": "ok"}, 0)
		assert.NoError(t, err)
	})
	t.Run("a 20 MB answer under the cap arrives whole", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, exampleSpec(t, "huge-result"))
		r, err := m.CallTool(t.Context(), "huge", map[string]any{"size_bytes": 20_000_000}, 0)
		require.NoError(t, err)
		assert.Len(t, text(t, r), 20_000_000)
	})
	t.Run("a target that stops reading its stdin cannot block us", func(t *testing.T) {
		m := newManager(t, &Options{WriteTimeout: 300 * time.Millisecond})
		info := connect(t, m, exampleSpec(t, "faults"))
		_, err := m.CallTool(t.Context(), "stop_reading", nil, 0)
		require.NoError(t, err)
		// More than a pipe buffer, so the write must block.
		big := strings.Repeat("x", 1<<20)
		_, err = m.CallTool(t.Context(), "echo", map[string]any{"message": big}, 5*time.Second)
		var to *TimeoutError
		require.ErrorAs(t, err, &to)
		assert.True(t, to.Lost)
		st := m.Status()
		assert.False(t, st.Connected)
		require.NotNil(t, st.Last)
		assert.Equal(t, EndedByLost, st.Last.EndedBy)
		assert.Contains(t, st.Last.Reason, "stopped reading its stdin")
		assert.False(t, procgroup.Alive(info.Process.PID))
	})
	t.Run("a stderr flood stays bounded and does not slow the session", func(t *testing.T) {
		m := newManager(t, nil)
		connect(t, m, exampleSpec(t, "stderr-flood"))
		for range 3 {
			_, err := m.CallTool(t.Context(), "echo", map[string]any{"message": "x"}, 0)
			require.NoError(t, err)
		}
		tail := m.Status().StderrTail
		assert.LessOrEqual(t, len(tail), 20)
		for _, l := range tail {
			assert.LessOrEqual(t, len([]rune(l)), 513)
		}
	})
}

func TestSecretsNeverShow(t *testing.T) {
	const secret = "sk-live-SECRET-value-123"
	m := newManager(t, nil)
	spec := exampleSpec(t, "exit-before-init", "--api-key="+secret)
	spec.Env["API_TOKEN"] = secret

	_, _, err := m.Connect(t.Context(), spec)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secret)

	spec = exampleSpec(t, "faults")
	spec.Env["API_TOKEN"] = secret
	info, _, err := m.Connect(t.Context(), spec)
	require.NoError(t, err)
	r, err := m.CallTool(t.Context(), "env", map[string]any{"name": "API_TOKEN"}, 0)
	require.NoError(t, err)
	assert.Equal(t, secret, text(t, r), "the target did get the value")

	assertDisconnectShowsNone(t, m, info, secret, "LIVE-SECRET")
}

// assertDisconnectShowsNone checks that none of secrets shows in the
// connection's info, in the status, or in what Disconnect then returns.
func assertDisconnectShowsNone(t *testing.T, m *Manager, info *Info, secrets ...string) {
	t.Helper()
	st := m.Status()
	prev, _, err := m.Disconnect(t.Context())
	require.NoError(t, err)
	for name, v := range map[string]any{"info": info, "status": st, "previous": prev} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		for _, secret := range secrets {
			assert.NotContains(t, string(b), secret, name)
		}
	}
}

func TestSecretLookingArgumentsAreMaskedInTheCommandLine(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	tgt, err := resolve(Spec{Command: exe, Args: []string{"serve", "--api-key=abc12345", "--token", "tok-98765", "--name", "demo", "--password"}})
	require.NoError(t, err)
	assert.NotContains(t, tgt.display, "abc12345")
	assert.NotContains(t, tgt.display, "tok-98765")
	assert.Contains(t, tgt.display, "--api-key=*** --token *** --name demo --password")
	assert.Equal(t, []string{"serve", "--api-key=abc12345", "--token", "tok-98765", "--name", "demo", "--password"}, tgt.argv, "the target still gets the real values")
}

func TestInvalidSpecs(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"neither url nor command", Spec{}, "neither url nor command was given"},
		{"both url and command", Spec{URL: "http://127.0.0.1:1/mcp", Command: "x"}, "not both"},
		{"an unknown transport", Spec{Command: exe, Transport: "websocket"}, `"websocket" is not one of`},
		{"headers for a stdio target", Spec{Command: exe, Headers: map[string]string{"X-A": "b"}}, "only to HTTP targets"},
		{"stdio forced on an http url", Spec{URL: "http://127.0.0.1:1/mcp", Transport: "stdio"}, "transport stdio needs"},
		{"env for an http target", Spec{URL: "http://127.0.0.1:1/mcp", Env: map[string]string{"A": "b"}}, "only to stdio targets"},
		{"a header value with a newline", Spec{URL: "http://127.0.0.1:1/mcp", Headers: map[string]string{"X-A": "b\r\nEvil: 1"}}, "not allowed in HTTP"},
		{"a non-http url scheme", Spec{URL: "ws://127.0.0.1:1/mcp"}, "neither http(s) nor a file path"},
	}
	m := newManager(t, nil)
	for _, tt := range tests {
		t.Run(tt.name+" is refused before anything starts", func(t *testing.T) {
			_, _, err := m.Connect(t.Context(), tt.spec)
			require.ErrorIs(t, err, ErrInvalidSpec)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestScriptPaths(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := dir + "/" + name
		require.NoError(t, os.WriteFile(p, []byte(body), mode))
		return p
	}
	tests := []struct {
		name     string
		path     string
		wantPath string
		wantHint string
	}{
		{"a .py script runs with python3", write("server.py", "", 0o644), "python3", ""},
		{"a .js script runs with node", write("server.js", "", 0o644), "node", ""},
		{"a file that is not executable gets a chmod hint", write("server", "#!/bin/sh\n", 0o644), "", "chmod +x"},
		{"a TypeScript file gets a build hint", write("server.ts", "", 0o644), "", "tsx"},
		{"a missing file says what url must be", dir + "/missing.js", "", "neither an http(s) URL nor an existing file"},
		{"a directory points at the entry script", dir, "", "entry script"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt, err := resolve(Spec{URL: tt.path})
			if tt.wantHint != "" {
				var spawn *SpawnError
				require.ErrorAs(t, err, &spawn)
				assert.Contains(t, spawn.Hint, tt.wantHint)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantPath, pathBase(tgt.path))
			assert.Equal(t, tt.path, tgt.argv[0])
		})
	}
}

func pathBase(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

var _ = errors.New

func TestAClosedManagerStartsNothing(t *testing.T) {
	m := New(nil)
	connect(t, m, exampleSpec(t, "normal"))
	require.NoError(t, m.Close())
	_, _, err := m.Connect(t.Context(), exampleSpec(t, "normal"))
	require.ErrorIs(t, err, ErrClosed)
	_, err = m.Reconnect(t.Context())
	require.ErrorIs(t, err, ErrClosed)
	assert.False(t, m.Status().Connected)
	require.NoError(t, m.Close(), "Close stays idempotent")
}

func TestOrDefaultFillsOnlyUnsetValues(t *testing.T) {
	tests := []struct {
		name    string
		v, want time.Duration
	}{
		{"zero is unset", 0, time.Minute},
		{"a negative value is unset", -time.Second, time.Minute},
		{"a positive value is kept", time.Second, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, orDefault(tt.v, time.Minute))
		})
	}
}

// unicodeEscaped writes every character of s as \uXXXX.
func unicodeEscaped(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// assertNoSecret checks text for secret as it is, as encoding/json escapes
// it and with every character \u-escaped.
func assertNoSecret(t *testing.T, text, secret, where string) {
	t.Helper()
	goEscaped, err := json.Marshal(secret)
	require.NoError(t, err)
	for _, form := range []string{secret, strings.Trim(string(goEscaped), `"`), unicodeEscaped(secret), unicodeEscaped(secret[:4])} {
		assert.False(t, strings.Contains(text, form), "%s shows the secret as %s", where, form)
	}
}

func TestSecretsEscapedByTheTargetAreMaskedInLogsAndOutput(t *testing.T) {
	const secret = "pa&ss<w0rd>-XYZ"
	m := newManager(t, nil)
	connect(t, m, hostileSpec(t, hostile.EscapedEcho, map[string]string{"HOSTILE_SECRET": secret}))
	r, err := m.CallTool(t.Context(), hostile.Tool, nil, 30*time.Second)
	require.NoError(t, err)

	t.Run("a log message over 16 KiB is cut with the secret masked", func(t *testing.T) {
		var big *LogEntry
		for i := range r.Logs {
			if r.Logs[i].Truncated {
				big = &r.Logs[i]
			}
		}
		require.NotNil(t, big, "the 20 KiB log was kept, cut: %+v", r.Logs)
		assert.True(t, strings.Contains(string(big.Data), "token is ***"), "the secret is masked, not cut off")
		b, err := json.Marshal(r.Logs)
		require.NoError(t, err)
		assertNoSecret(t, string(b), secret, "the call's logs")
	})
	t.Run("a line of stdout that is not JSON is masked", func(t *testing.T) {
		page := m.Events(EventQuery{Kinds: []string{EventStdout}})
		require.NotEmpty(t, page.Events)
		b, err := json.Marshal(page.Events)
		require.NoError(t, err)
		assert.Contains(t, string(b), "token is ***")
		assertNoSecret(t, string(b), secret, "the stdout events")
		junk, _ := m.cur.junkReport()
		assertNoSecret(t, strings.Join(junk, "\n"), secret, "the junk report")
	})
	t.Run("every event is masked", func(t *testing.T) {
		b, err := json.Marshal(m.Events(EventQuery{}).Events)
		require.NoError(t, err)
		assertNoSecret(t, string(b), secret, "the event log")
	})
}

func TestAnHTTPErrorBodyEchoingTheTokenEscapedIsMasked(t *testing.T) {
	const token = "tok-SECRET-123"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		// \u0074 is "t": the token, escaped as a JSON encoder may.
		fmt.Fprintf(w, `{"error":"invalid token \u0074ok-SECRET-123","all":"%s"}`, unicodeEscaped(r.Header.Get("Authorization")))
	}))
	t.Cleanup(srv.Close)
	m := newManager(t, nil)
	_, _, err := m.Connect(t.Context(), Spec{URL: srv.URL + "/mcp", BearerToken: token})
	var herr *HTTPError
	require.ErrorAs(t, err, &herr)
	assert.Equal(t, http.StatusUnauthorized, herr.StatusCode)
	assert.Contains(t, herr.BodySnippet, "invalid token ***")
	assertNoSecret(t, herr.BodySnippet, token, "the body snippet")
	assertNoSecret(t, err.Error(), token, "the error")
}
