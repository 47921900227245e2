//lint:file-ignore SA1019 the tests check the logging capability the tester declares to its hosts.

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exitcode"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/testtargets"
)

// binary is the tester, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	hostile.ServeIfAsked(nil)
	dir, err := os.MkdirTemp("", "mcp-test-mcp-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "mcp-test-mcp")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		panic("building the tester: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tester is the built binary serving MCP over pipes, with a go-sdk client
// connected to it.
type tester struct {
	cmd    *exec.Cmd
	cs     *mcp.ClientSession
	stdin  io.WriteCloser
	stderr *testtargets.Buffer

	done    chan struct{} // closed when the process has been waited for
	waitErr error         // set before done is closed

	mu       sync.Mutex
	badLines []string // stdout lines that are not JSON-RPC messages
}

func startTester(t testing.TB, env ...string) *tester {
	t.Helper()
	cmd := exec.Command(binary)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	tt := &tester{cmd: cmd, stdin: stdin, stderr: &testtargets.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = tt.stderr
	require.NoError(t, cmd.Start())

	// Every line on stdout must be a JSON-RPC message; pass them on to the
	// client.
	pr, pw := io.Pipe()
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			line := sc.Bytes()
			var msg struct {
				JSONRPC string `json:"jsonrpc"`
			}
			if err := json.Unmarshal(line, &msg); err != nil || msg.JSONRPC != "2.0" {
				tt.mu.Lock()
				tt.badLines = append(tt.badLines, string(line))
				tt.mu.Unlock()
			}
			if _, err := pw.Write(append(line, '\n')); err != nil {
				break
			}
		}
		pw.CloseWithError(sc.Err())
	}()
	go func() {
		tt.waitErr = cmd.Wait()
		close(tt.done)
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-tt.done:
		case <-time.After(10 * time.Second):
			t.Error("the tester did not exit after stdin closed")
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-tt.done
		}
		assert.Empty(t, tt.nonProtocolLines(), "the tester wrote non-protocol lines to stdout")
		if t.Failed() {
			t.Logf("tester stderr:\n%s", tt.stderr.String())
		}
	})

	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-host", Version: "0.0.1"}, nil)
	tt.cs, err = client.Connect(t.Context(), &mcp.IOTransport{Reader: pr, Writer: stdin}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	require.NoError(t, err)
	return tt
}

func (tt *tester) nonProtocolLines() []string {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.badLines
}

// call calls one of the tester's tools and returns its envelope.
func (tt *tester) call(t testing.TB, name string, args any) map[string]any {
	t.Helper()
	res, err := tt.cs.CallTool(t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	require.NoError(t, err)
	require.Len(t, res.Content, 1)
	var env map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.Content[0].(*mcp.TextContent).Text), &env))
	return env
}

func TestServesItsTools(t *testing.T) {
	tt := startTester(t)
	init := tt.cs.InitializeResult()
	assert.Equal(t, "mcp-test-mcp", init.ServerInfo.Name)
	assert.NotEmpty(t, init.Instructions)
	assert.Equal(t, "2025-11-25", init.ProtocolVersion)
	assert.NotNil(t, init.Capabilities.Logging)

	list, err := tt.cs.ListTools(t.Context(), nil)
	require.NoError(t, err)
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
		assert.NotNil(t, tool.OutputSchema, "%s declares an output schema", tool.Name)
	}
	// The exact list is checked by internal/tools; here, that the binary
	// serves it, SPEC's core five included.
	assert.Subset(t, names, []string{"connect", "disconnect", "status", "list_tools", "call_tool"})
	assert.Subset(t, names, []string{"read_resource", "get_prompt", "get_notifications", "execute_prompt"})
}

func TestTestsTheExampleServer(t *testing.T) {
	tt := startTester(t, "MCP_TEST_LOG_LEVEL=debug")
	require.NoError(t, tt.cs.SetLoggingLevel(t.Context(), &mcp.SetLoggingLevelParams{Level: "debug"}))

	env := tt.call(t, "connect", map[string]any{"command": binary, "args": []any{"example-server"}})
	require.Equal(t, true, env["success"], "%v", env)

	env = tt.call(t, "call_tool", map[string]any{"name": "echo", "arguments": map[string]any{"message": "hi"}})
	assert.Equal(t, true, env["success"], "%v", env)
	assert.Equal(t, "hi", env["tool_call"].(map[string]any)["text"])

	env = tt.call(t, "disconnect", nil)
	assert.Equal(t, true, env["was_connected"])
}

func TestSignalStopsTheTargetToo(t *testing.T) {
	tt := startTester(t)
	env := tt.call(t, "connect", map[string]any{"command": binary, "args": []any{"example-server"}})
	require.Equal(t, true, env["success"], "%v", env)
	pid := int(env["connection"].(map[string]any)["process"].(map[string]any)["pid"].(float64))

	require.NoError(t, tt.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-tt.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the tester did not exit on SIGTERM")
	}
	assert.NoError(t, tt.waitErr, "SIGTERM is a clean exit")
	require.Eventually(t, func() bool {
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	}, 5*time.Second, 20*time.Millisecond, "the target process %d is gone", pid)
}

// peakRSSKB reads a process's peak resident set size.
func peakRSSKB(tb testing.TB, pid int) int64 {
	tb.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(tb, err)
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(tb, err)
			return kb
		}
	}
	tb.Fatalf("no VmHWM in %s", status)
	return 0
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "version prints the version and the SDK's", args: []string{"--version"}, wantStdout: "go-sdk"},
		{name: "help lists the subcommands and variables", args: []string{"--help"}, wantStdout: "MCP_TEST_MAX_TEXT_BYTES"},
		{name: "-h is help", args: []string{"-h"}, wantStdout: "example-server"},
		{name: "an unknown flag is a usage error", args: []string{"--bogus"}, wantCode: 2, wantStderr: `unknown flag "--bogus"`},
		{name: "an unknown command is a usage error", args: []string{"frobnicate"}, wantCode: 2, wantStderr: `unknown command "frobnicate"`},
		{name: "a bad log level names the valid ones", env: []string{"MCP_TEST_LOG_LEVEL=loud"}, wantCode: 2, wantStderr: "debug, info, warn or error"},
		{name: "a bad timeout names the variable", env: []string{"MCP_TEST_CALL_TIMEOUT=soon"}, wantCode: 2, wantStderr: "MCP_TEST_CALL_TIMEOUT"},
		{name: "a bad example-server mode is a usage error", args: []string{"example-server", "--mode", "nope"}, wantCode: 2, wantStderr: "nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runBinary(t, tc.env, tc.args...)
			assert.Equal(t, tc.wantCode, code, "stderr: %s", stderr)
			assert.Contains(t, stdout, tc.wantStdout)
			assert.Contains(t, stderr, tc.wantStderr)
			if tc.wantCode != 0 {
				assert.Empty(t, stdout, "errors go to stderr")
			}
		})
	}
}

func TestEverySubcommandHelpExitsZero(t *testing.T) {
	t.Parallel()
	// The commands run dispatches (run.go).
	for _, cmd := range []string{"check", "serve", "example-server", "conformance-client"} {
		for _, flag := range []string{"--help", "-h"} {
			t.Run(cmd+" "+flag, func(t *testing.T) {
				t.Parallel()
				code, stdout, stderr := runBinary(t, nil, cmd, flag)
				assert.Equal(t, 0, code, "stderr: %s", stderr)
				assert.Contains(t, stdout, "Usage:", "help goes to stdout")
				assert.Contains(t, stdout, "mcp-test-mcp "+cmd)
				assert.Equal(t, 1, strings.Count(stdout, "Usage:"), "once")
				assert.Empty(t, stderr, "nothing on stderr")
			})
		}
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr string
	}{
		{name: "nothing set means defaults", want: config{logLevel: slog.LevelInfo}},
		{
			name: "every variable is read",
			env: map[string]string{
				"MCP_TEST_LOG_LEVEL": "DEBUG", "MCP_TEST_CONNECT_TIMEOUT": "2.5", "MCP_TEST_CALL_TIMEOUT": "90",
				"MCP_TEST_MAX_MESSAGE_BYTES": "1000000", "MCP_TEST_MAX_TEXT_BYTES": "4096",
			},
			want: config{logLevel: slog.LevelDebug, connectTimeout: 2500 * time.Millisecond, callTimeout: 90 * time.Second,
				maxMessageBytes: 1000000, maxTextBytes: 4096},
		},
		{name: "a zero timeout is refused", env: map[string]string{"MCP_TEST_CONNECT_TIMEOUT": "0"}, wantErr: "MCP_TEST_CONNECT_TIMEOUT"},
		{name: "a negative size is refused", env: map[string]string{"MCP_TEST_MAX_TEXT_BYTES": "-1"}, wantErr: "MCP_TEST_MAX_TEXT_BYTES"},
		{name: "a fractional size is refused", env: map[string]string{"MCP_TEST_MAX_MESSAGE_BYTES": "1.5"}, wantErr: "MCP_TEST_MAX_MESSAGE_BYTES"},
		{name: "an unknown log level is refused", env: map[string]string{"MCP_TEST_LOG_LEVEL": "trace"}, wantErr: "must be debug, info, warn or error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := loadConfig(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Equal(t, exitcode.Usage, exitCode(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// runBinary runs the built binary with args and extra environment, stdin
// empty, and returns its exit code, stdout and stderr.
func runBinary(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, stdout.String(), stderr.String()
}

// startHTTPExampleProcess runs `mcp-test-mcp example-server --http` as a
// process and returns its base URL.
func startHTTPExampleProcess(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"example-server", "--http", "127.0.0.1:0"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				found <- u
			}
		}
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(10 * time.Second):
		t.Fatal("the example server did not start listening")
		return ""
	}
}

func TestSecretsNeverReachOutputsOrLogs(t *testing.T) {
	const (
		envSecret    = "env-SECRET-71c9"
		argSecret    = "arg-SECRET-22aa"
		tokenSecret  = "token-SECRET-8d3e"
		headerSecret = "header-SECRET-5f60"
		querySecret  = "query-SECRET-93b1"
		wrongToken   = "wrong-SECRET-0c0c"
	)
	base := startHTTPExampleProcess(t, "--require-token", tokenSecret)
	tt := startTester(t, "MCP_TEST_LOG_LEVEL=debug")
	require.NoError(t, tt.cs.SetLoggingLevel(t.Context(), &mcp.SetLoggingLevelParams{Level: "debug"}))

	var outputs []string
	call := func(name string, args any) map[string]any {
		env := tt.call(t, name, args)
		b, err := json.Marshal(env)
		require.NoError(t, err)
		outputs = append(outputs, string(b))
		return env
	}
	// stdio: a failed start with a secret flag, then a session that reads the
	// secret env var back from the target.
	env := call("connect", map[string]any{"command": binary, "args": []any{"example-server", "--mode", "exit-before-init", "--api-key=" + argSecret}, "env": map[string]any{"API_TOKEN": envSecret}})
	require.Equal(t, false, env["success"])
	env = call("connect", map[string]any{"command": binary, "args": []any{"example-server", "--mode", "faults"}, "env": map[string]any{"API_TOKEN": envSecret}})
	require.Equal(t, true, env["success"], "%v", env)
	env = call("call_tool", map[string]any{"name": "env", "arguments": map[string]any{"name": "API_TOKEN"}})
	require.Equal(t, true, env["success"], "%v", env)
	assert.Equal(t, "***", env["tool_call"].(map[string]any)["text"], "the target echoed the secret; it is masked")
	call("status", nil)

	// HTTP: a wrong token, then the right one with a header and a query secret.
	env = call("connect", map[string]any{"url": base + "/mcp", "bearer_token": wrongToken})
	require.Equal(t, false, env["success"])
	env = call("connect", map[string]any{"url": base + "/mcp?api_key=" + querySecret, "bearer_token": tokenSecret, "headers": map[string]any{"X-Api-Key": headerSecret, "X-Tenant": "example"}})
	require.Equal(t, true, env["success"], "%v", env)
	env = call("call_tool", map[string]any{"name": "headers", "arguments": map[string]any{}})
	require.Equal(t, true, env["success"], "%v", env)
	assert.Contains(t, env["tool_call"].(map[string]any)["text"], "X-Api-Key", "the target saw the header")
	assert.Contains(t, env["tool_call"].(map[string]any)["text"], `"X-Tenant":["example"]`, "a plain header's value is not a secret")
	call("status", nil)
	call("disconnect", nil)

	logs := tt.stderr.String()
	require.Contains(t, logs, "connect", "debug logs were written")
	for _, secret := range []string{envSecret, argSecret, tokenSecret, headerSecret, querySecret, wrongToken} {
		for _, out := range outputs {
			assert.NotContains(t, out, secret)
		}
		assert.NotContains(t, logs, secret, "the tester's log (stderr)")
	}
}
