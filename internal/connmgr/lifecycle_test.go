package connmgr

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/procgroup"
)

// The test binary run as "lifecycle-target MODE" is a hostile stdio target
// for the connection's lifecycle:
//
//	bad-version    answers initialize with protocolVersion "1999-01-01"
//	close-stdout   answers initialize, closes its stdout, and sleeps on
//	close-stdout-on-call  the same, on tools/call
//	mute           never answers; ignores SIGTERM and the end of its stdin
//	setsid-daemon  starts a daemon that leaves its process group (setsid,
//	               double fork), writes "daemon pid N" to stderr, serves
//	setsid-child   starts a child that leaves its group (setsid) with an
//	               empty environment, writes "daemon pid N", serves
//	daemonize      (internal) starts the daemon and exits at once
//	daemon         (internal) sleeps
func init() {
	if len(os.Args) >= 3 && os.Args[1] == "lifecycle-target" {
		os.Exit(lifecycleTarget(os.Args[2]))
	}
}

func lifecycleTarget(mode string) int {
	switch mode {
	case "daemon":
		time.Sleep(time.Minute)
		return 0
	case "daemonize":
		cmd := exec.Command(os.Args[0], "lifecycle-target", "daemon", "--api-key="+daemonSecret)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("%d\n", cmd.Process.Pid)
		return 0
	case "mute":
		signal.Ignore(syscall.SIGTERM)
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
		}
		time.Sleep(time.Minute)
		return 0
	case "setsid-child":
		cmd := exec.Command(os.Args[0], "lifecycle-target", "daemon")
		cmd.Env = []string{}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "daemon pid %d\n", cmd.Process.Pid)
	case "setsid-daemon":
		out, err := exec.Command(os.Args[0], "lifecycle-target", "daemonize").Output()
		if err != nil {
			fmt.Fprintln(os.Stderr, "daemonize:", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "daemon pid %s", out)
	}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	out := json.NewEncoder(os.Stdout)
	for sc.Scan() {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(sc.Bytes(), &req) != nil || req.ID == nil {
			continue
		}
		switch req.Method {
		case "initialize":
			version := DefaultProtocolVersion
			if mode == "bad-version" {
				version = "1999-01-01"
			}
			_ = out.Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": map[string]any{
				"protocolVersion": version,
				"capabilities":    map[string]any{"tools": map[string]any{}},
				"serverInfo":      map[string]any{"name": "lifecycle-" + mode, "version": "0"},
			}})
			if mode == "close-stdout" {
				_ = os.Stdout.Close()
				time.Sleep(time.Minute)
				return 0
			}
		case "tools/list":
			_ = out.Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": map[string]any{"tools": []any{
				map[string]any{"name": "t", "inputSchema": map[string]any{"type": "object"}},
			}}})
		case "tools/call":
			if mode == "close-stdout-on-call" {
				_ = os.Stdout.Close()
				time.Sleep(time.Minute)
				return 0
			}
			_ = out.Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": map[string]any{"content": []any{}}})
		default:
			_ = out.Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "error": map[string]any{"code": -32601, "message": "method not found"}})
		}
	}
	return 0
}

// daemonSecret is on the daemon's command line, to be masked.
const daemonSecret = "sk-daemon-SECRET-42"

func lifecycleSpec(t *testing.T, mode string) Spec {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	return Spec{Command: exe, Args: []string{"lifecycle-target", mode}}
}

func TestAnUnsupportedProtocolVersionIsAProtocolErrorNamingIt(t *testing.T) {
	m := newManager(t, nil)
	_, _, err := m.Connect(t.Context(), lifecycleSpec(t, "bad-version"))
	var perr *ProtocolError
	require.ErrorAs(t, err, &perr, "%T: %v", err, err)
	assert.Contains(t, err.Error(), `"1999-01-01"`)
	assert.Contains(t, err.Error(), DefaultProtocolVersion, "the error names the versions the tester supports")
	assert.NotContains(t, err.Error(), "exited with status")
	assert.False(t, m.Status().Connected)
}

func TestATargetThatClosesItsStdoutButRunsOnIsReportedSo(t *testing.T) {
	t.Run("while idle", testClosedStdoutWhileIdle)
	t.Run("during a call", testClosedStdoutDuringACall)
}

func testClosedStdoutDuringACall(t *testing.T) {
	m := newManager(t, nil)
	info := connect(t, m, lifecycleSpec(t, "close-stdout-on-call"))
	_, err := m.CallTool(t.Context(), "t", nil, 10*time.Second)
	var lost *LostError
	require.ErrorAs(t, err, &lost, "%T: %v", err, err)
	assert.Contains(t, lost.Reason, fmt.Sprintf("the target closed its stdout but is still running (pid %d)", info.Process.PID))
	assert.NotContains(t, err.Error(), "SIGTERM")
	require.Eventually(t, func() bool { return !m.Status().Connected }, 10*time.Second, 10*time.Millisecond)
	assert.Contains(t, m.Status().Last.Reason, "closed its stdout but is still running")
}

func testClosedStdoutWhileIdle(t *testing.T) {
	m := newManager(t, nil)
	info := connect(t, m, lifecycleSpec(t, "close-stdout"))
	require.Eventually(t, func() bool { return !m.Status().Connected }, 10*time.Second, 10*time.Millisecond)
	last := m.Status().Last
	require.NotNil(t, last)
	assert.Equal(t, EndedByLost, last.EndedBy)
	assert.Contains(t, last.Reason, fmt.Sprintf("the target closed its stdout but is still running (pid %d)", info.Process.PID))
	assert.NotContains(t, last.Reason, "SIGTERM")
	require.Eventually(t, func() bool { return !procgroup.Alive(info.Process.PID) }, 10*time.Second, 10*time.Millisecond,
		"the target is ended once its connection is lost")
}

// The overshoots below are logged, not asserted tightly: a loaded machine
// may be slow, and the bounds only check that the deadline is a deadline.
// The reaper goroutine may not run for a while on a loaded machine: a
// killed target whose exit it has not collected yet must still count as
// ended, or its loss is misnamed "closed its stdout but is still running".
func TestALeaderTheReaperHasNotCollectedCountsAsEnded(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	require.NoError(t, cmd.Start())
	reaped := false
	t.Cleanup(func() {
		if !reaped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	// No reaper: exited stays open, as when its goroutine is not scheduled.
	p := &process{pid: cmd.Process.Pid, exited: make(chan struct{})}
	assert.False(t, p.ended(), "a running leader has not ended")

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	require.Eventually(t, p.ended, 5*time.Second, 5*time.Millisecond, "a killed leader, not yet reaped, has ended")
	assert.True(t, p.ended(), "asking does not reap it")
	var exit *exec.ExitError
	require.ErrorAs(t, cmd.Wait(), &exit, "the exit status is still there for the reaper")
	assert.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal())
	reaped = true
	assert.True(t, p.ended(), "a leader reaped meanwhile has ended")
}

func TestDeadlinesHoldWhenTheTargetStopsReading(t *testing.T) {
	t.Run("call_tool returns at its deadline when its request cannot be written", func(t *testing.T) {
		m := newManager(t, nil)
		info := connect(t, m, exampleSpec(t, "faults"))
		_, err := m.CallTool(t.Context(), "stop_reading", nil, 0)
		require.NoError(t, err)
		const deadline = 2 * time.Second
		big := strings.Repeat("x", 1<<20) // more than a pipe buffer: the write blocks
		start := time.Now()
		_, err = m.CallTool(t.Context(), "echo", map[string]any{"message": big}, deadline)
		took := time.Since(start)
		t.Logf("call_tool with a %s deadline returned after %s (overshoot %s)", deadline, took.Round(time.Millisecond), (took - deadline).Round(time.Millisecond))
		var to *TimeoutError
		require.ErrorAs(t, err, &to)
		assert.True(t, to.Lost)
		assert.Less(t, took, deadline+1500*time.Millisecond)
		require.Eventually(t, func() bool { return !procgroup.Alive(info.Process.PID) }, 10*time.Second, 10*time.Millisecond)
	})
	t.Run("call_tool returns at its deadline when its small request stays unread", func(t *testing.T) {
		m := newManager(t, nil)
		info := connect(t, m, exampleSpec(t, "faults"))
		_, err := m.CallTool(t.Context(), "stop_reading", nil, 0)
		require.NoError(t, err)
		const deadline = 2 * time.Second
		start := time.Now()
		_, err = m.CallTool(t.Context(), "echo", map[string]any{"message": "small"}, deadline)
		took := time.Since(start)
		t.Logf("call_tool with a %s deadline returned after %s (overshoot %s)", deadline, took.Round(time.Millisecond), (took - deadline).Round(time.Millisecond))
		var to *TimeoutError
		require.ErrorAs(t, err, &to)
		assert.True(t, to.Lost)
		assert.Less(t, took, deadline+1500*time.Millisecond)
		require.Eventually(t, func() bool { return !procgroup.Alive(info.Process.PID) }, 10*time.Second, 10*time.Millisecond)
	})
	// The mute target ignores the end of its stdin and SIGTERM: its
	// cleanup takes the whole terminate budget, past connect's deadline.
	muteConnect := func(t *testing.T, m *Manager) {
		t.Helper()
		spec := lifecycleSpec(t, "mute")
		const deadline = time.Second
		spec.ConnectTimeout = deadline
		start := time.Now()
		_, _, err := m.Connect(t.Context(), spec)
		took := time.Since(start)
		t.Logf("connect with a %s deadline returned after %s (overshoot %s)", deadline, took.Round(time.Millisecond), (took - deadline).Round(time.Millisecond))
		var to *TimeoutError
		require.ErrorAs(t, err, &to)
		assert.Equal(t, "initialize", to.Method)
		assert.Less(t, took, deadline+1500*time.Millisecond)
	}
	t.Run("connect returns at its deadline and the target's group is ended after", func(t *testing.T) {
		m := newManager(t, nil)
		muteConnect(t, m)
		pids := lifecyclePids(t, "mute")
		require.Len(t, pids, 1, "the cleanup is still under way")
		require.Eventually(t, func() bool { return !procgroup.Alive(pids[0]) }, 10*time.Second, 10*time.Millisecond)
	})
	t.Run("Close waits for the cleanup of a connect that timed out", func(t *testing.T) {
		m := New(nil)
		muteConnect(t, m)
		require.NoError(t, m.Close())
		assert.Empty(t, lifecyclePids(t, "mute"), "no process of the mute target is left once Close returns")
	})
}

// lifecyclePids lists the live processes running "lifecycle-target mode"
// from this test binary.
func lifecyclePids(t *testing.T, mode string) []int {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	want := exe + "\x00lifecycle-target\x00" + mode + "\x00"
	ents, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && string(b) == want && !goneOrZombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestASetsidDaemonIsEndedAtDisconnect(t *testing.T) {
	t.Run("a double-forked daemon is found by the marker it inherited", func(t *testing.T) {
		testSetsidDaemon(t, "setsid-daemon", "lifecycle-target daemon --api-key=***")
	})
	t.Run("a child with an empty environment is found by its parent", func(t *testing.T) {
		testSetsidDaemon(t, "setsid-child", "lifecycle-target daemon")
	})
}

func testSetsidDaemon(t *testing.T, mode, wantCommand string) {
	m := newManager(t, nil)
	connect(t, m, lifecycleSpec(t, mode))
	var daemon int
	require.Eventually(t, func() bool {
		match := regexp.MustCompile(`daemon pid (\d+)`).FindStringSubmatch(strings.Join(m.Status().StderrTail, "\n"))
		if match != nil {
			daemon, _ = strconv.Atoi(match[1])
		}
		return daemon > 0
	}, 5*time.Second, 10*time.Millisecond)
	t.Cleanup(func() { _ = syscall.Kill(daemon, syscall.SIGKILL) })
	require.False(t, goneOrZombie(daemon), "the daemon runs")

	_, _, err := m.Disconnect(t.Context())
	require.Error(t, err, "the daemon is named in the cleanup warning")
	assert.Contains(t, err.Error(), fmt.Sprintf("pid %d", daemon))
	assert.Contains(t, err.Error(), wantCommand, "with its command line")
	assert.NotContains(t, err.Error(), daemonSecret, "whose secret-looking values are masked")
	assert.True(t, goneOrZombie(daemon), "the daemon is gone")
}
