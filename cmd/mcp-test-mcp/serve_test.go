package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exitcode"
)

// served is `mcp-test-mcp serve` running as a process.
type served struct {
	cmd    *exec.Cmd
	url    string // http://127.0.0.1:PORT/mcp
	stderr *syncBuffer
	done   chan struct{}
	err    error // set before done is closed
}

func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	s := &served{stderr: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(binary, append([]string{"serve", "--http", "127.0.0.1:0"}, args...)...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.cmd.Env = append(os.Environ(), "MCP_TEST_LOG_LEVEL=debug")
	pipe, err := s.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, s.cmd.Start())
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			_, _ = s.stderr.Write([]byte(line + "\n"))
			if u, ok := strings.CutPrefix(line, "listening on "); ok {
				found <- u
			}
		}
	}()
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop on SIGTERM")
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
		if t.Failed() {
			t.Logf("serve's stderr:\n%s", s.stderr.String())
		}
	})
	select {
	case s.url = <-found:
	case <-s.done:
		t.Fatalf("serve exited: %v\n%s", s.err, s.stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start listening")
	}
	return s
}

// bearer adds an Authorization header to every request.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// session is one MCP host connected to serve.
type session struct{ cs *mcp.ClientSession }

func (s *served) session(t *testing.T, token string) *session {
	t.Helper()
	tr := &mcp.StreamableClientTransport{Endpoint: s.url}
	if token != "" {
		tr.HTTPClient = &http.Client{Transport: bearer{token}}
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "http-host", Version: "0"}, nil).Connect(t.Context(), tr, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return &session{cs: cs}
}

func (s *session) call(t *testing.T, name string, args any) map[string]any {
	t.Helper()
	res, err := s.cs.CallTool(t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	require.NoError(t, err)
	var env map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.Content[0].(*mcp.TextContent).Text), &env))
	return env
}

func pidOf(env map[string]any) int {
	conn, _ := env["connection"].(map[string]any)
	proc, _ := conn["process"].(map[string]any)
	pid, _ := proc["pid"].(float64)
	return int(pid)
}

func gone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

// initialize posts an initialize request with the given headers and returns
// the status code.
func initialize(t *testing.T, url string, header map[string]string) int {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func TestServeGivesEachSessionItsOwnTarget(t *testing.T) {
	s := startServe(t)
	a, b := s.session(t, ""), s.session(t, "")

	envA := a.call(t, "connect", map[string]any{"command": binary, "args": []any{"example-server"}})
	require.Equal(t, true, envA["success"], "%v", envA)
	envB := b.call(t, "connect", map[string]any{"command": binary, "args": []any{"example-server", "--mode", "junk-stdout"}})
	require.Equal(t, true, envB["success"], "%v", envB)
	pidA, pidB := pidOf(envA), pidOf(envB)
	require.NotEqual(t, pidA, pidB)

	assert.Equal(t, pidA, pidOf(a.call(t, "status", nil)), "each session sees only its own target")
	assert.Equal(t, pidB, pidOf(b.call(t, "status", nil)))
	assert.Contains(t, b.call(t, "status", nil)["connection"].(map[string]any)["server_url"], "junk-stdout")

	env := a.call(t, "disconnect", nil)
	assert.Equal(t, true, env["was_connected"])
	assert.True(t, gone(pidA))
	env = b.call(t, "call_tool", map[string]any{"name": "echo", "arguments": map[string]any{"message": "still mine"}})
	assert.Equal(t, true, env["success"], "the other session's target is untouched: %v", env)

	require.NoError(t, b.cs.Close(), "ending the session (DELETE)")
	require.Eventually(t, func() bool { return gone(pidB) }, 5*time.Second, 10*time.Millisecond, "ending a session closes its target")
}

func TestServeChecksTheToken(t *testing.T) {
	s := startServe(t, "--auth-token", "s3cret-token")
	assert.Equal(t, http.StatusUnauthorized, initialize(t, s.url, nil), "no token")
	assert.Equal(t, http.StatusUnauthorized, initialize(t, s.url, map[string]string{"Authorization": "Bearer wrong"}), "a wrong token")
	assert.Equal(t, http.StatusOK, initialize(t, s.url, map[string]string{"Authorization": "Bearer s3cret-token"}))
	env := s.session(t, "s3cret-token").call(t, "status", nil)
	assert.Equal(t, true, env["success"])
	assert.NotContains(t, s.stderr.String(), "s3cret-token", "the token is never logged")
}

func TestServeRejectsForeignHostAndOrigin(t *testing.T) {
	s := startServe(t, "--allow-host", "tester.internal")
	port := strings.TrimSuffix(strings.TrimPrefix(s.url, "http://127.0.0.1:"), "/mcp")
	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{name: "a foreign Host is refused", header: map[string]string{"Host": "evil.example.com"}, want: http.StatusForbidden},
		{name: "a foreign Host with our port is refused", header: map[string]string{"Host": "evil.example.com:" + port}, want: http.StatusForbidden},
		{name: "a foreign Origin is refused", header: map[string]string{"Origin": "http://evil.example.com"}, want: http.StatusForbidden},
		{name: "Origin null is refused", header: map[string]string{"Origin": "null"}, want: http.StatusForbidden},
		{name: "localhost is accepted", header: map[string]string{"Host": "localhost:" + port, "Origin": "http://localhost:" + port}, want: http.StatusOK},
		{name: "an --allow-host is accepted", header: map[string]string{"Host": "tester.internal:" + port}, want: http.StatusOK},
		{name: "no Origin is fine", header: nil, want: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, initialize(t, s.url, tc.header))
		})
	}
}

func TestServeRefusesDisallowedCommandsBeforeStarting(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	sh, err := exec.LookPath("sh")
	require.NoError(t, err)
	tests := []struct {
		name  string
		flags []string
		args  map[string]any
		ok    bool
	}{
		{name: "a command not allowed is refused", flags: []string{"--allow-command", binary},
			args: map[string]any{"command": "sh", "args": []any{"-c", "touch " + marker}}},
		{name: "its absolute path is refused too", flags: []string{"--allow-command", binary},
			args: map[string]any{"command": sh, "args": []any{"-c", "touch " + marker}}},
		{name: "an allowed path runs", flags: []string{"--allow-command", binary},
			args: map[string]any{"command": binary, "args": []any{"example-server"}}, ok: true},
		{name: "no-stdio refuses every command", flags: []string{"--no-stdio"},
			args: map[string]any{"command": binary, "args": []any{"example-server"}}},
		{name: "an allowed command cannot be made to run other code through env", flags: []string{"--allow-command", sh},
			args: map[string]any{"command": sh, "args": []any{"-c", "exit 0"}, "env": map[string]any{"BASH_ENV": marker}}},
		{name: "nor through the dynamic loader", flags: []string{"--allow-command", binary},
			args: map[string]any{"command": binary, "args": []any{"example-server"}, "env": map[string]any{"LD_PRELOAD": "/tmp/evil.so"}}},
		{name: "a harmless env variable is fine", flags: []string{"--allow-command", binary},
			args: map[string]any{"command": binary, "args": []any{"example-server"}, "env": map[string]any{"APP_MODE": "test"}}, ok: true},
		{name: "a relative allowed path matches", flags: []string{"--allow-command", relativeTo(t, binary)},
			args: map[string]any{"command": binary, "args": []any{"example-server"}}, ok: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := startServe(t, tc.flags...).session(t, "").call(t, "connect", tc.args)
			if tc.ok {
				assert.Equal(t, true, env["success"], "%v", env)
				return
			}
			assert.Equal(t, false, env["success"])
			assert.Equal(t, "invalid_arguments", env["error"].(map[string]any)["type"], "%v", env)
			assert.Contains(t, env["message"], "nothing was started")
			_, err := os.Stat(marker)
			assert.ErrorIs(t, err, os.ErrNotExist, "no process ran")
		})
	}
}

// relativeTo returns path relative to the working directory.
func relativeTo(t *testing.T, path string) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	rel, err := filepath.Rel(wd, path)
	require.NoError(t, err)
	if !strings.HasPrefix(rel, ".") {
		rel = "./" + rel
	}
	return rel
}

func TestServeOffLoopbackNeedsAToken(t *testing.T) {
	cmd := exec.Command(binary, "serve", "--http", "0.0.0.0:0")
	cmd.Env = append(os.Environ(), "MCP_TEST_AUTH_TOKEN=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, exitcode.Usage, exit.ExitCode())
	assert.Contains(t, stderr.String(), "--auth-token")
}

func TestServeStopsOnSIGTERMAndClosesEveryTarget(t *testing.T) {
	s := startServe(t)
	var pids []int
	for range 2 {
		env := s.session(t, "").call(t, "connect", map[string]any{"command": binary, "args": []any{"example-server"}})
		require.Equal(t, true, env["success"], "%v", env)
		pids = append(pids, pidOf(env))
	}
	start := time.Now()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not exit within 5 s of SIGTERM")
	}
	assert.NoError(t, s.err, "SIGTERM is a clean exit")
	assert.Less(t, time.Since(start), 5*time.Second)
	for _, pid := range pids {
		assert.True(t, gone(pid), "target %d is gone", pid)
	}
}

// TestConformanceDNSRebinding runs the official conformance suite's
// dns-rebinding-protection server scenario against serve, when make
// conformance has installed the suite (make conformance-server always runs it).
func TestConformanceDNSRebinding(t *testing.T) {
	dir, err := filepath.Abs("../../.cache/conformance/node_modules/.bin")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(dir, "conformance")); err != nil {
		t.Skip("the conformance suite is not installed (make conformance-server installs and runs it)")
	}
	s := startServe(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "conformance"), "server", "--url", s.url, "--scenario", "dns-rebinding-protection")
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "%s", out)
}

func TestServeLegacySSE(t *testing.T) {
	s := startServe(t, "--sse")
	tr := &mcp.SSEClientTransport{Endpoint: strings.TrimSuffix(s.url, "/mcp") + "/sse"}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "sse-host", Version: "0"}, nil).Connect(t.Context(), tr, nil)
	require.NoError(t, err)
	defer cs.Close()
	env := (&session{cs: cs}).call(t, "connect", map[string]any{"command": binary, "args": []any{"example-server"}})
	require.Equal(t, true, env["success"], "%v", env)
	pid := pidOf(env)
	require.NoError(t, cs.Close())
	require.Eventually(t, func() bool { return gone(pid) }, 5*time.Second, 10*time.Millisecond, "ending the SSE session closes its target")
}

// initializeResponse posts an initialize request and returns the response,
// its body read and closed.
func initializeResponse(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func TestServeBoundsTheSessions(t *testing.T) {
	s := startServe(t, "--max-sessions", "2")
	a := s.session(t, "")
	s.session(t, "")

	resp, body := initializeResponse(t, s.url)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "a third session is refused")
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	assert.Contains(t, body, "--max-sessions")
	assert.Equal(t, true, a.call(t, "status", nil)["success"], "the live sessions still work")

	require.NoError(t, a.cs.Close(), "ending a session (DELETE)")
	require.Eventually(t, func() bool {
		resp, _ := initializeResponse(t, s.url)
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond, "a new session is accepted once one has ended")
}

func TestServeRunChecksStartsOnlyAllowedPrograms(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	s := startServe(t, "--allow-command", binary).session(t, "")
	env := s.call(t, "run_checks", map[string]any{"spec": map[string]any{
		"target": map[string]any{"command": "/bin/sh", "args": []any{"-c", "touch " + marker}},
		"steps":  []any{map[string]any{"ping": true}},
	}})
	assert.Equal(t, false, env["success"])
	assert.Equal(t, "invalid_arguments", env["error"].(map[string]any)["type"], "%v", env)
	assert.Contains(t, env["error"].(map[string]any)["message"], "nothing was started")
	_, err := os.Stat(marker)
	assert.ErrorIs(t, err, os.ErrNotExist, "no process ran")

	env = s.call(t, "connect", map[string]any{"command": binary, "args": []any{"example-server"}})
	require.Equal(t, true, env["success"], "%v", env)
	env = s.call(t, "reconnect", nil)
	assert.Equal(t, true, env["success"], "reconnect starts the allowed program again: %v", env)
	env = s.call(t, "run_checks", map[string]any{"spec": map[string]any{"steps": []any{map[string]any{"ping": true}}}})
	assert.Equal(t, true, env["passed"], "the current connection's target is allowed: %v", env)
}

func TestServeRefusesClientPathsOutsideTheWorkdir(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "checks.yaml")
	require.NoError(t, os.WriteFile(spec, []byte("steps:\n  - ping: true\n"), 0o644))

	sess := startServe(t).session(t, "")
	require.Equal(t, true, sess.call(t, "connect", map[string]any{"command": binary, "args": []any{"example-server"}})["success"])
	env := sess.call(t, "run_checks", map[string]any{"spec_path": spec})
	assert.Equal(t, "invalid_arguments", env["error"].(map[string]any)["type"], "%v", env)
	assert.Contains(t, env["error"].(map[string]any)["message"], "spec_path is refused")

	sess = startServe(t, "--workdir", filepath.Dir(spec)).session(t, "")
	require.Equal(t, true, sess.call(t, "connect", map[string]any{"command": binary, "args": []any{"example-server"}})["success"])
	env = sess.call(t, "run_checks", map[string]any{"spec_path": "checks.yaml"})
	assert.Equal(t, true, env["passed"], "%v", env)

	cmd := exec.Command(binary, "serve", "--http", "127.0.0.1:0", "--workdir", filepath.Join(t.TempDir(), "missing"))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, exitcode.Usage, exit.ExitCode())
	assert.Contains(t, string(out), "--workdir")
}

func TestServeClosesSessionsThatSentNothingAfterInitialize(t *testing.T) {
	s := startServe(t, "--max-sessions", "2", "--unused-session-timeout", "1s")
	used := s.session(t, "")
	require.Equal(t, true, used.call(t, "status", nil)["success"])

	resp, _ := initializeResponse(t, s.url) // abandoned: never sends another request
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = initializeResponse(t, s.url)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "both places are taken")
	require.Eventually(t, func() bool {
		resp, _ := initializeResponse(t, s.url)
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond, "the abandoned session is closed, and its place freed")
	assert.Equal(t, true, used.call(t, "status", nil)["success"], "a session in use is kept (it is older than the abandoned one)")
}

func TestAnEndedSessionsIdleTimerIsNeverArmedAgain(t *testing.T) {
	fired := make(chan struct{}, 1)
	idle := &idleTimer{after: time.Millisecond}
	idle.t = time.AfterFunc(time.Hour, func() { fired <- struct{}{} })
	idle.begin()
	idle.stop() // the session ends while a request still runs
	idle.end()  // that request finishes afterwards
	select {
	case <-fired:
		t.Fatal("the idle timer of an ended session fired")
	case <-time.After(100 * time.Millisecond):
	}
}
