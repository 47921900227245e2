package connmgr

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/procgroup"
)

func TestAnUnsupportedProtocolVersionIsAProtocolErrorNamingIt(t *testing.T) {
	m := newManager(t, nil)
	_, _, err := m.Connect(t.Context(), hostileSpec(t, hostile.BadVersion, nil))
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
	info := connect(t, m, hostileSpec(t, hostile.CloseStdoutOnCall, nil))
	_, err := m.CallTool(t.Context(), hostile.Tool, nil, 10*time.Second)
	var lost *LostError
	require.ErrorAs(t, err, &lost, "%T: %v", err, err)
	assert.Contains(t, lost.Reason, fmt.Sprintf("the target closed its stdout but is still running (pid %d)", info.Process.PID))
	assert.NotContains(t, err.Error(), "SIGTERM")
	require.Eventually(t, func() bool { return !m.Status().Connected }, 10*time.Second, 10*time.Millisecond)
	assert.Contains(t, m.Status().Last.Reason, "closed its stdout but is still running")
}

func testClosedStdoutWhileIdle(t *testing.T) {
	m := newManager(t, nil)
	info := connect(t, m, hostileSpec(t, hostile.CloseStdout, nil))
	require.Eventually(t, func() bool { return !m.Status().Connected }, 10*time.Second, 10*time.Millisecond)
	last := m.Status().Last
	require.NotNil(t, last)
	assert.Equal(t, EndedByLost, last.EndedBy)
	assert.Contains(t, last.Reason, fmt.Sprintf("the target closed its stdout but is still running (pid %d)", info.Process.PID))
	assert.NotContains(t, last.Reason, "SIGTERM")
	require.Eventually(t, func() bool { return !procgroup.Alive(info.Process.PID) }, 10*time.Second, 10*time.Millisecond,
		"the target is ended once its connection is lost")
}

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

// The overshoots below are logged. A call must return within 0.5 s of its
// deadline (issue 9's bound; measured overshoot is milliseconds), a connect
// within 1.5 s, which leaves room for a loaded machine.
func TestDeadlinesHoldWhenTheTargetStopsReading(t *testing.T) {
	for _, tc := range []struct {
		name, message string
	}{
		// More than a pipe buffer: the write blocks.
		{"call_tool returns at its deadline when its request cannot be written", strings.Repeat("x", 1<<20)},
		{"call_tool returns at its deadline when its small request stays unread", "small"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t, nil)
			info := connect(t, m, exampleSpec(t, "faults"))
			_, err := m.CallTool(t.Context(), "stop_reading", nil, 0)
			require.NoError(t, err)
			const deadline = 2 * time.Second
			start := time.Now()
			_, err = m.CallTool(t.Context(), "echo", map[string]any{"message": tc.message}, deadline)
			took := time.Since(start)
			t.Logf("call_tool with a %s deadline returned after %s (overshoot %s)", deadline, took.Round(time.Millisecond), (took - deadline).Round(time.Millisecond))
			var to *TimeoutError
			require.ErrorAs(t, err, &to)
			assert.True(t, to.Lost)
			assert.Less(t, took, deadline+500*time.Millisecond)
			require.Eventually(t, func() bool { return !procgroup.Alive(info.Process.PID) }, 10*time.Second, 10*time.Millisecond)
		})
	}
	t.Run("a call behind a stuck write returns at its own deadline, and the stuck call says how long it waited", func(t *testing.T) {
		m := newManager(t, nil)
		info := connect(t, m, exampleSpec(t, "faults"))
		_, err := m.CallTool(t.Context(), "stop_reading", nil, 0)
		require.NoError(t, err)
		m.mu.Lock()
		c := m.cur
		m.mu.Unlock()
		before := c.stdio.written.Load()

		const longDeadline = 30 * time.Second
		big := strings.Repeat("x", 1<<20) // more than a pipe buffer: the write blocks
		aDone := make(chan error, 1)
		aStart := time.Now()
		go func() {
			_, err := m.CallTool(t.Context(), "echo", map[string]any{"message": big}, longDeadline)
			aDone <- err
		}()
		require.Eventually(t, func() bool { return c.stdio.written.Load() > before }, 10*time.Second, time.Millisecond,
			"call A is writing (and holds the write slot)")

		const deadline = 2 * time.Second
		start := time.Now()
		_, err = m.CallTool(t.Context(), "echo", map[string]any{"message": "small"}, deadline)
		took := time.Since(start)
		t.Logf("call B with a %s deadline behind a stuck write returned after %s (overshoot %s): %v", deadline, took.Round(time.Millisecond), (took - deadline).Round(time.Millisecond), err)
		var to *TimeoutError
		require.ErrorAs(t, err, &to, "%T: %v", err, err)
		assert.Less(t, took, deadline+500*time.Millisecond)

		var errA error
		select {
		case errA = <-aDone:
		case <-time.After(20 * time.Second):
			t.Fatal("call A did not return")
		}
		tookA := time.Since(aStart)
		t.Logf("call A (deadline %s) returned after %s: %v", longDeadline, tookA.Round(time.Millisecond), errA)
		require.ErrorAs(t, errA, &to, "%T: %v", errA, errA)
		assert.True(t, to.Lost)
		assert.Less(t, to.Waited, longDeadline)
		assert.InDelta(t, tookA.Seconds(), to.Waited.Seconds(), 0.5, "A reports the time it really waited")
		assert.NotContains(t, errA.Error(), "within 30s", "A did not wait 30s")
		assert.Contains(t, errA.Error(), "stopped reading")
		require.Eventually(t, func() bool { return !procgroup.Alive(info.Process.PID) }, 10*time.Second, 10*time.Millisecond)
	})
	// The mute target ignores the end of its stdin and SIGTERM: its
	// cleanup takes the whole terminate budget, past connect's deadline.
	muteConnect := func(t *testing.T, m *Manager) {
		t.Helper()
		spec := hostileSpec(t, hostile.Mute, nil)
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
		pids := hostilePids(t, hostile.Mute)
		require.Len(t, pids, 1, "the cleanup is still under way")
		require.Eventually(t, func() bool { return !procgroup.Alive(pids[0]) }, 10*time.Second, 10*time.Millisecond)
	})
	t.Run("Close waits for the cleanup of a connect that timed out", func(t *testing.T) {
		m := New(nil)
		muteConnect(t, m)
		require.NoError(t, m.Close())
		assert.Empty(t, hostilePids(t, hostile.Mute), "no process of the mute target is left once Close returns")
	})
}

// hostilePids lists the live processes of this test binary run as the
// hostile target with behaviour.
func hostilePids(t *testing.T, behaviour string) []int {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	want := "\x00" + hostile.Behaviour + "=" + behaviour + "\x00"
	ents, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		path, _ := os.Readlink("/proc/" + e.Name() + "/exe")
		b, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && path == exe && strings.Contains("\x00"+string(b), want) && procgroup.Running(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestASetsidDaemonIsEndedAtDisconnect(t *testing.T) {
	t.Run("a double-forked daemon is found by the marker it inherited", func(t *testing.T) {
		testSetsidDaemon(t, hostile.SetsidDaemon)
	})
	t.Run("a child with an empty environment is found by its parent", func(t *testing.T) {
		testSetsidDaemon(t, hostile.SetsidChild)
	})
}

// stderrPID waits for the target's stderr to say "<what> pid N" and
// returns N.
func stderrPID(t *testing.T, m *Manager, what string) int {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(what) + ` pid (\d+)`)
	var pid int
	require.Eventually(t, func() bool {
		if match := re.FindStringSubmatch(strings.Join(m.Status().StderrTail, "\n")); match != nil {
			pid, _ = strconv.Atoi(match[1])
		}
		return pid > 0
	}, 5*time.Second, 10*time.Millisecond)
	return pid
}

func testSetsidDaemon(t *testing.T, behaviour string) {
	m := newManager(t, nil)
	connect(t, m, hostileSpec(t, behaviour, nil))
	daemon := stderrPID(t, m, "daemon")
	t.Cleanup(func() { _ = syscall.Kill(daemon, syscall.SIGKILL) })
	require.True(t, procgroup.Running(daemon), "the daemon runs")

	_, _, err := m.Disconnect(t.Context())
	require.Error(t, err, "the daemon is named in the cleanup warning")
	assert.Contains(t, err.Error(), fmt.Sprintf("pid %d", daemon))
	assert.Contains(t, err.Error(), "hostile-daemon --api-key=***", "with its command line")
	assert.NotContains(t, err.Error(), hostile.DaemonSecret, "whose secret-looking values are masked")
	assert.False(t, procgroup.Running(daemon), "the daemon is gone")
}

func TestNoGoroutineOutlivesTheConnectionItServed(t *testing.T) {
	targets := []struct {
		name  string
		spec  func(t *testing.T) Spec
		stdio bool
	}{
		{"over stdio", func(t *testing.T) Spec { return exampleSpec(t, "faults") }, true},
		{"over HTTP", func(t *testing.T) Spec {
			base := startHTTPExample(t)
			// A request first, so that the server's own goroutines are all
			// running before the baseline is taken.
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/nothing", nil)
			require.NoError(t, err)
			req.Close = true
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			_ = resp.Body.Close()
			return Spec{URL: base + "/mcp"}
		}, false},
	}
	ends := []struct {
		name      string
		end       func(t *testing.T, m *Manager)
		stdioOnly bool // the target crashes: over HTTP it is the test binary
	}{
		{"disconnected", func(t *testing.T, m *Manager) {
			_, _, err := m.Disconnect(t.Context())
			require.NoError(t, err)
		}, false},
		{"closed", func(t *testing.T, m *Manager) { require.NoError(t, m.Close()) }, false},
		{"lost", func(t *testing.T, m *Manager) {
			_, err := m.CallTool(t.Context(), "crash", nil, 0)
			require.Error(t, err)
			require.Eventually(t, func() bool { return !m.Status().Connected && m.Status().Last != nil }, 5*time.Second, 10*time.Millisecond)
		}, true},
	}
	for _, tt := range targets {
		for _, e := range ends {
			if e.stdioOnly && !tt.stdio {
				continue
			}
			t.Run("a connection "+tt.name+" leaves no goroutine behind once "+e.name, func(t *testing.T) {
				spec := tt.spec(t) // an HTTP target's server is started first: its goroutines are not ours
				spec.HealthCheckInterval = 20 * time.Millisecond
				baseline := runtime.NumGoroutine()
				m := New(nil)
				t.Cleanup(func() { _ = m.Close() })
				connect(t, m, spec)
				_, err := m.CallTool(t.Context(), "echo", map[string]any{"message": "hi"}, 0)
				require.NoError(t, err)
				require.Greater(t, runtime.NumGoroutine(), baseline, "the connection runs goroutines")
				e.end(t, m)
				// waitFor polls in this goroutine: assert.Eventually would add its own.
				if !waitFor(2*time.Second, func() bool { return runtime.NumGoroutine() <= baseline }) {
					var stacks strings.Builder
					_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
					t.Errorf("%d goroutines at the start, %d now:\n%s", baseline, runtime.NumGoroutine(), stacks.String())
				}
			})
		}
	}
}

func TestGroup(t *testing.T) {
	t.Run("wait returns once every goroutine started has returned", func(t *testing.T) {
		var g group
		release := make(chan struct{})
		ran := make(chan struct{}, 2)
		for range 2 {
			require.True(t, g.start(func() { <-release; ran <- struct{}{} }))
		}
		close(release)
		assert.True(t, g.wait(5*time.Second))
		assert.Len(t, ran, 2)
	})
	t.Run("a closed group starts nothing", func(t *testing.T) {
		var g group
		require.True(t, g.wait(time.Second))
		assert.False(t, g.start(func() { t.Error("started after wait") }))
	})
	t.Run("wait gives up at its deadline on a goroutine that does not return", func(t *testing.T) {
		var g group
		release := make(chan struct{})
		require.True(t, g.start(func() { <-release }))
		assert.False(t, g.wait(20*time.Millisecond))
		close(release)
		assert.True(t, g.wait(5*time.Second), "and a later wait sees it end")
	})
	t.Run("closedWithin sees a closed channel even with no time to wait", func(t *testing.T) {
		ch := make(chan struct{})
		assert.False(t, isClosed(ch))
		assert.False(t, closedWithin(ch, 10*time.Millisecond))
		close(ch)
		assert.True(t, isClosed(ch))
		assert.True(t, closedWithin(ch, 0))
	})
}
