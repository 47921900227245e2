package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exitcode"
	httpserve "github.com/mcp-test-mcp/mcp-test-mcp/internal/serve"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/testtargets"
)

// served is `mcp-test-mcp serve` running as a process.
type served struct {
	cmd    *exec.Cmd
	url    string // http://127.0.0.1:PORT/mcp
	stderr *testtargets.Buffer
	done   chan struct{}
	err    error // set before done is closed
}

func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	s := &served{stderr: &testtargets.Buffer{}, done: make(chan struct{})}
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

func TestServeStopsOnSIGTERM(t *testing.T) {
	// That every session and target is closed too is internal/serve's
	// TestServeStopsWhenItsContextEndsAndClosesEveryTarget.
	s := startServe(t)
	start := time.Now()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not exit within 5 s of SIGTERM")
	}
	assert.NoError(t, s.err, "SIGTERM is a clean exit")
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestServeRefusesAMissingWorkdir(t *testing.T) {
	cmd := exec.Command(binary, "serve", "--http", "127.0.0.1:0", "--workdir", filepath.Join(t.TempDir(), "missing"))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, exitcode.Usage, exit.ExitCode())
	assert.Contains(t, string(out), "--workdir")
}

func TestParseServe(t *testing.T) {
	dir := t.TempDir()
	resolved, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    *serveOptions
		wantErr string // empty: no error
	}{
		{name: "the defaults", args: []string{"--http", "127.0.0.1:8080"},
			want: &serveOptions{addr: "127.0.0.1:8080", sessionTimeout: httpserve.DefaultSessionTimeout, unusedTimeout: httpserve.DefaultUnusedSessionTimeout, maxSessions: httpserve.DefaultMaxSessions}},
		{name: "every flag", args: []string{"--http", ":9", "--sse", "--auth-token", "tok", "--allow-host", "a.internal", "--allow-host", "b.internal:9",
			"--allow-command", "node", "--no-stdio", "--session-timeout", "1m", "--unused-session-timeout", "2s", "--max-sessions", "3", "--workdir", dir},
			want: &serveOptions{addr: ":9", sse: true, token: "tok", allowHosts: []string{"a.internal", "b.internal:9"}, allowCommands: []string{"node"},
				noStdio: true, sessionTimeout: time.Minute, unusedTimeout: 2 * time.Second, maxSessions: 3, workdir: resolved}},
		{name: "the token comes from the environment", args: []string{"--http", ":9"}, env: map[string]string{"MCP_TEST_AUTH_TOKEN": "from-env"},
			want: &serveOptions{addr: ":9", token: "from-env", sessionTimeout: httpserve.DefaultSessionTimeout, unusedTimeout: httpserve.DefaultUnusedSessionTimeout, maxSessions: httpserve.DefaultMaxSessions}},
		{name: "--http is required", args: nil, wantErr: "serve needs --http ADDR"},
		{name: "no arguments are taken", args: []string{"--http", ":9", "extra"}, wantErr: "unexpected arguments"},
		{name: "the session timeout must be positive", args: []string{"--http", ":9", "--session-timeout", "0s"}, wantErr: "--session-timeout must be positive"},
		{name: "the unused session timeout must be positive", args: []string{"--http", ":9", "--unused-session-timeout", "-1s"}, wantErr: "--unused-session-timeout must be positive"},
		{name: "max sessions must be positive", args: []string{"--http", ":9", "--max-sessions", "0"}, wantErr: "--max-sessions must be positive"},
		{name: "an unknown flag", args: []string{"--http", ":9", "--nope"}, wantErr: "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clear(env)
			maps.Copy(env, tc.env)
			got, err := parseServe(tc.args, getenv, io.Discard)
			if tc.wantErr != "" {
				_, usage := errors.AsType[*usageError](err)
				assert.True(t, usage, "%v is a usage error", err)
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
