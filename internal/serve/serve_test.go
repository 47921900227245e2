package serve

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

func TestServeGivesEachSessionItsOwnTarget(t *testing.T) {
	s := startServe(t, Options{})
	a, b := s.session(t, ""), s.session(t, "")

	envA := a.call(t, "connect", exampleServer(nil))
	require.Equal(t, true, envA["success"], "%v", envA)
	envB := b.call(t, "connect", exampleServer(nil, "--mode", "junk-stdout"))
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

func TestServeClosingASlowTargetBlocksNoOtherSession(t *testing.T) {
	s := startServe(t, Options{MaxSessions: 3})
	slow, other := s.session(t, ""), s.session(t, "")
	env := slow.call(t, "connect", map[string]any{"command": binary, "env": map[string]any{hostile.Behaviour: hostile.Stubborn}})
	require.Equal(t, true, env["success"], "%v", env)
	pid := pidOf(env)
	require.NotZero(t, pid)

	require.NoError(t, slow.cs.Close(), "ending the session (DELETE) closes its target, which ignores SIGTERM")
	start := time.Now()
	assert.Equal(t, true, other.call(t, "status", nil)["success"], "another session's request is answered")
	assert.Equal(t, http.StatusOK, initialize(t, s.url, nil), "a new session starts")
	assert.Less(t, time.Since(start), time.Second, "nothing waited for the slow target")
	assert.False(t, gone(pid), "the slow target was still being closed meanwhile")
	require.Eventually(t, func() bool { return gone(pid) }, 15*time.Second, 20*time.Millisecond, "the slow target is killed in the end")
}

func TestServeChecksTheToken(t *testing.T) {
	s := startServe(t, Options{Token: "s3cret-token"})
	assert.Equal(t, http.StatusUnauthorized, initialize(t, s.url, nil), "no token")
	assert.Equal(t, http.StatusUnauthorized, initialize(t, s.url, map[string]string{"Authorization": "Bearer wrong"}), "a wrong token")
	assert.Equal(t, http.StatusOK, initialize(t, s.url, map[string]string{"Authorization": "Bearer s3cret-token"}))
	env := s.session(t, "s3cret-token").call(t, "status", nil)
	assert.Equal(t, true, env["success"])
	assert.NotContains(t, s.logText(t), "s3cret-token", "the token is never logged")
}

func TestServeRejectsForeignHostAndOrigin(t *testing.T) {
	s := startServe(t, Options{AllowHosts: []string{"tester.internal"}})
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
		{name: "an allowed host is accepted", header: map[string]string{"Host": "tester.internal:" + port}, want: http.StatusOK},
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
		name string
		opts Options
		args map[string]any
		ok   bool
	}{
		{name: "a command not allowed is refused", opts: Options{AllowCommands: []string{binary}},
			args: map[string]any{"command": "sh", "args": []any{"-c", "touch " + marker}}},
		{name: "its absolute path is refused too", opts: Options{AllowCommands: []string{binary}},
			args: map[string]any{"command": sh, "args": []any{"-c", "touch " + marker}}},
		{name: "an allowed path runs", opts: Options{AllowCommands: []string{binary}},
			args: exampleServer(nil), ok: true},
		{name: "no-stdio refuses every command", opts: Options{NoStdio: true},
			args: exampleServer(nil)},
		{name: "an allowed command cannot be made to run other code through env", opts: Options{AllowCommands: []string{sh}},
			args: map[string]any{"command": sh, "args": []any{"-c", "exit 0"}, "env": map[string]any{"BASH_ENV": marker}}},
		{name: "nor through the dynamic loader", opts: Options{AllowCommands: []string{binary}},
			args: exampleServer(map[string]any{"LD_PRELOAD": "/tmp/evil.so"})},
		{name: "a harmless env variable is fine", opts: Options{AllowCommands: []string{binary}},
			args: exampleServer(map[string]any{"APP_MODE": "test"}), ok: true},
		{name: "a relative allowed path matches", opts: Options{AllowCommands: []string{relativeTo(t, binary)}},
			args: exampleServer(nil), ok: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := startServe(t, tc.opts).session(t, "").call(t, "connect", tc.args)
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

func TestServeStopsWhenItsContextEndsAndClosesEveryTarget(t *testing.T) {
	s := startServe(t, Options{})
	var pids []int
	for range 2 {
		env := s.session(t, "").call(t, "connect", exampleServer(nil))
		require.Equal(t, true, env["success"], "%v", env)
		pids = append(pids, pidOf(env))
	}
	start := time.Now()
	late, err := s.stop()
	require.False(t, late, "Serve returns within ShutdownTimeout")
	assert.NoError(t, err, "the end of the context is a clean stop")
	assert.Less(t, time.Since(start), ShutdownTimeout)
	for _, pid := range pids {
		assert.True(t, gone(pid), "target %d is gone", pid)
	}
}

// TestConformanceDNSRebinding runs the official conformance suite's
// dns-rebinding-protection server scenario against the server, when make
// conformance has installed the suite (make conformance-server always runs it).
func TestConformanceDNSRebinding(t *testing.T) {
	dir, err := filepath.Abs("../../.cache/conformance/node_modules/.bin")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(dir, "conformance")); err != nil {
		t.Skip("the conformance suite is not installed (make conformance-server installs and runs it)")
	}
	s := startServe(t, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "conformance"), "server", "--url", s.url, "--scenario", "dns-rebinding-protection")
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "%s", out)
}

func TestServeLegacySSE(t *testing.T) {
	s := startServe(t, Options{SSE: true})
	tr := &mcp.SSEClientTransport{Endpoint: strings.TrimSuffix(s.url, "/mcp") + "/sse"}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "sse-host", Version: "0"}, nil).Connect(t.Context(), tr, nil)
	require.NoError(t, err)
	defer cs.Close()
	env := (&session{cs: cs}).call(t, "connect", exampleServer(nil))
	require.Equal(t, true, env["success"], "%v", env)
	pid := pidOf(env)
	require.NoError(t, cs.Close())
	require.Eventually(t, func() bool { return gone(pid) }, 5*time.Second, 10*time.Millisecond, "ending the SSE session closes its target")
}

func TestServeBoundsTheSessions(t *testing.T) {
	s := startServe(t, Options{MaxSessions: 2})
	a := s.session(t, "")
	s.session(t, "")

	resp, body := initializeResponse(t, s.url, nil)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "a third session is refused")
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	assert.Contains(t, body, "--max-sessions")
	assert.Equal(t, true, a.call(t, "status", nil)["success"], "the live sessions still work")

	require.NoError(t, a.cs.Close(), "ending a session (DELETE)")
	require.Eventually(t, func() bool {
		return initialize(t, s.url, nil) == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond, "a new session is accepted once one has ended")
}

func TestServeRunChecksStartsOnlyAllowedPrograms(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	s := startServe(t, Options{AllowCommands: []string{binary}}).session(t, "")
	env := s.call(t, "run_checks", map[string]any{"spec": map[string]any{
		"target": map[string]any{"command": "/bin/sh", "args": []any{"-c", "touch " + marker}},
		"steps":  []any{map[string]any{"ping": true}},
	}})
	assert.Equal(t, false, env["success"])
	assert.Equal(t, "invalid_arguments", env["error"].(map[string]any)["type"], "%v", env)
	assert.Contains(t, env["error"].(map[string]any)["message"], "nothing was started")
	_, err := os.Stat(marker)
	assert.ErrorIs(t, err, os.ErrNotExist, "no process ran")

	env = s.call(t, "connect", exampleServer(nil))
	require.Equal(t, true, env["success"], "%v", env)
	env = s.call(t, "reconnect", nil)
	assert.Equal(t, true, env["success"], "reconnect starts the allowed program again: %v", env)
	env = s.call(t, "run_checks", map[string]any{"spec": map[string]any{"steps": []any{map[string]any{"ping": true}}}})
	assert.Equal(t, true, env["passed"], "the current connection's target is allowed: %v", env)
}

func TestServeRefusesClientPathsOutsideTheWorkdir(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "checks.yaml")
	require.NoError(t, os.WriteFile(spec, []byte("steps:\n  - ping: true\n"), 0o644))

	sess := startServe(t, Options{}).session(t, "")
	require.Equal(t, true, sess.call(t, "connect", exampleServer(nil))["success"])
	env := sess.call(t, "run_checks", map[string]any{"spec_path": spec})
	assert.Equal(t, "invalid_arguments", env["error"].(map[string]any)["type"], "%v", env)
	assert.Contains(t, env["error"].(map[string]any)["message"], "spec_path is refused")

	workdir, err := filepath.EvalSymlinks(filepath.Dir(spec))
	require.NoError(t, err)
	sess = startServe(t, Options{Tester: testerFor(workdir)}).session(t, "")
	require.Equal(t, true, sess.call(t, "connect", exampleServer(nil))["success"])
	env = sess.call(t, "run_checks", map[string]any{"spec_path": "checks.yaml"})
	assert.Equal(t, true, env["passed"], "%v", env)
}

func TestServeClosesSessionsThatSentNothingAfterInitialize(t *testing.T) {
	s := startServe(t, Options{MaxSessions: 2, UnusedSessionTimeout: time.Second})
	used := s.session(t, "")
	require.Equal(t, true, used.call(t, "status", nil)["success"])

	require.Equal(t, http.StatusOK, initialize(t, s.url, nil)) // abandoned: never sends another request
	require.Equal(t, http.StatusServiceUnavailable, initialize(t, s.url, nil), "both places are taken")
	require.Eventually(t, func() bool {
		return initialize(t, s.url, nil) == http.StatusOK
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

// openSSE sends GET /sse and reads its endpoint event; the stream stays open
// until the server ends it or the test does.
func openSSE(t *testing.T, sseURL string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, sseURL, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	if resp.StatusCode == http.StatusOK {
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "event: endpoint\n", line)
	}
	return resp
}

// sseStatus answers the status code of a new GET /sse, and ends it.
func sseStatus(t *testing.T, sseURL string) int {
	t.Helper()
	resp := openSSE(t, sseURL)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// ended reports whether the server ends resp's stream within a deadline.
func ended(resp *http.Response) bool {
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(15 * time.Second):
		_ = resp.Body.Close()
		<-done
		return false
	}
}

func TestServeSSESessionsCannotHoldAPlaceForever(t *testing.T) {
	t.Run("a GET /sse that never posts is closed and its place freed", func(t *testing.T) {
		s := startServe(t, Options{SSE: true, MaxSessions: 1, UnusedSessionTimeout: time.Second})
		sseURL := strings.TrimSuffix(s.url, "/mcp") + "/sse"
		idle := openSSE(t, sseURL)
		require.Equal(t, http.StatusOK, idle.StatusCode)
		require.Equal(t, http.StatusServiceUnavailable, sseStatus(t, sseURL), "the one place is taken")
		assert.True(t, ended(idle), "the idle stream is ended by the server")
		var cs *mcp.ClientSession
		require.Eventually(t, func() bool {
			var err error
			cs, err = mcp.NewClient(&mcp.Implementation{Name: "sse-host", Version: "0"}, nil).
				Connect(t.Context(), &mcp.SSEClientTransport{Endpoint: sseURL}, nil)
			return err == nil
		}, 10*time.Second, 50*time.Millisecond, "a new session is accepted")
		t.Cleanup(func() { _ = cs.Close() })
		res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "status"})
		require.NoError(t, err)
		assert.False(t, res.IsError)
	})
	t.Run("an SSE session idle for SessionTimeout is closed", func(t *testing.T) {
		s := startServe(t, Options{SSE: true, MaxSessions: 1, SessionTimeout: time.Second})
		sseURL := strings.TrimSuffix(s.url, "/mcp") + "/sse"
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "sse-host", Version: "0"}, nil).
			Connect(t.Context(), &mcp.SSEClientTransport{Endpoint: sseURL}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = cs.Close() })
		_, err = cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "status"})
		require.NoError(t, err)
		require.Equal(t, http.StatusServiceUnavailable, sseStatus(t, sseURL), "the one place is taken")
		waited := make(chan error, 1)
		go func() { waited <- cs.Wait() }()
		select {
		case <-waited:
		case <-time.After(15 * time.Second):
			t.Fatal("the idle SSE session was not closed")
		}
		require.Eventually(t, func() bool {
			return sseStatus(t, sseURL) == http.StatusOK
		}, 10*time.Second, 50*time.Millisecond, "a new session is accepted")
	})
}
