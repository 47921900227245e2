package connmgr

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/surface"
)

// The test binary run as "surface-server FILE" serves the tools that FILE
// lists, one "name property" per line (the tool's input schema has that one
// string property). A FILE that says "exit" makes it fail to start, as a
// broken build would. So a test changes the target between generations by
// rewriting the file.
func init() {
	if len(os.Args) == 3 && os.Args[1] == "surface-server" {
		os.Exit(surfaceServer(os.Args[2]))
	}
}

func surfaceServer(file string) int {
	b, err := os.ReadFile(file)
	if err != nil || strings.TrimSpace(string(b)) == "exit" {
		fmt.Fprintln(os.Stderr, "surface-server: broken build")
		return 3
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "surface", Version: "1"}, nil)
	for line := range strings.Lines(string(b)) {
		name, prop, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		schema := &jsonschema.Schema{Type: "object", Properties: map[string]*jsonschema.Schema{prop: {Type: "string"}}}
		s.AddTool(&mcp.Tool{Name: name, Description: "lists " + prop, InputSchema: schema}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name}}}, nil
		})
	}
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintln(os.Stderr, err)
	}
	return 0
}

// surfaceSpec runs the surface server on a file holding lines.
func surfaceSpec(t *testing.T, lines ...string) (Spec, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "tools.txt")
	writeLines(t, file, lines...)
	exe, err := os.Executable()
	require.NoError(t, err)
	return Spec{Command: exe, Args: []string{"surface-server", file}}, file
}

func writeLines(t *testing.T, file string, lines ...string) {
	t.Helper()
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
}

func TestHealthScore(t *testing.T) {
	ok := func(ms int) pingSample { return pingSample{ok: true, rtt: time.Duration(ms) * time.Millisecond} }
	fail := pingSample{}
	tests := []struct {
		name   string
		window []pingSample
		want   float64
		known  bool
	}{
		{name: "no ping yet has no score", window: nil},
		{name: "fast answers score 1", window: []pingSample{ok(1), ok(2), ok(3)}, want: 1, known: true},
		{name: "failures lower the score by their share", window: []pingSample{ok(1), fail, ok(1), fail}, want: 0.5, known: true},
		{name: "only failures score 0", window: []pingSample{fail, fail}, want: 0, known: true},
		{name: "a mean round trip above 250 ms scales the score down", window: []pingSample{ok(400), ok(600)}, want: 0.5, known: true},
		{name: "both combine", window: []pingSample{ok(1000), fail}, want: 0.13, known: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, known := score(tc.window)
			assert.Equal(t, tc.known, known)
			assert.InDelta(t, tc.want, got, 0.001)
		})
	}
}

func TestMonitorKeepsTheLastTenPings(t *testing.T) {
	h := newMonitor(time.Second)
	now := time.Now()
	for range 10 {
		h.failed(now, "no answer")
	}
	for range 5 {
		h.succeeded(now, time.Millisecond)
	}
	s := h.snapshot()
	require.NotNil(t, s.Score)
	assert.InDelta(t, 0.5, *s.Score, 0.001, "5 of the last 10 answered")
	assert.Equal(t, 15, s.Pings)
	assert.Equal(t, 10, s.Failures)
	assert.Zero(t, s.ConsecutiveFailures)
	assert.Equal(t, "no answer", s.LastError)
	assert.Equal(t, time.Second, h.timeout, "the ping deadline is the interval")
	assert.Equal(t, MaxPingTimeout, newMonitor(time.Minute).timeout, "capped at MaxPingTimeout")
}

func TestBackoffDoublesWithJitterUpToTheCap(t *testing.T) {
	for n := 1; n <= 4; n++ {
		want := time.Second << (n - 1)
		d := backoff(time.Second, n)
		assert.GreaterOrEqual(t, d, want*8/10, "attempt %d", n)
		assert.LessOrEqual(t, d, want*12/10, "attempt %d", n)
	}
	assert.Equal(t, MaxReconnectDelay, backoff(time.Second, 20))
}

func TestHealthPingsShowInStatusButNotInStatistics(t *testing.T) {
	m := newManager(t, nil)
	spec := exampleSpec(t, "normal")
	spec.HealthCheckInterval = 100 * time.Millisecond
	connect(t, m, spec)
	// A ping's deadline is the interval: on a loaded machine one may miss
	// it, which is the monitor telling the truth. Wait for three pings, the
	// last one answered, rather than assume none missed.
	var in *Info
	require.Eventually(t, func() bool {
		in = m.Status().Info
		return in.Health.Pings >= 3 && in.Health.ConsecutiveFailures == 0
	}, 10*time.Second, 5*time.Millisecond)
	require.NotNil(t, in.Health.Score)
	assert.Positive(t, *in.Health.Score)
	require.NotNil(t, in.Health.LastPingMS)
	assert.InDelta(t, 0.1, in.Health.IntervalSeconds, 0.001)
	assert.Zero(t, in.Statistics.Requests, "the monitor's pings are not the user's requests")
	assert.NotContains(t, in.Statistics.ByMethod, "ping")

	spec.HealthCheckInterval = 0
	info := connect(t, m, spec)
	assert.Nil(t, info.Health, "interval 0 turns the monitor off")
}

func TestAMonitoredTargetThatIsKilledShowsWithinOneInterval(t *testing.T) {
	// Long enough that a -race build on a loaded machine still notices the
	// exit well within it.
	const interval = 2 * time.Second
	m := newManager(t, nil)
	spec := exampleSpec(t, "normal")
	spec.HealthCheckInterval = interval
	info := connect(t, m, spec)

	require.NoError(t, syscall.Kill(info.Process.PID, syscall.SIGKILL))
	require.Eventually(t, func() bool { return !m.Status().Connected }, interval, 5*time.Millisecond)
	st := m.Status()
	require.NotNil(t, st.Last)
	assert.Equal(t, EndedByLost, st.Last.EndedBy)
	assert.Contains(t, st.Last.Reason, "SIGKILL")
	assert.Nil(t, st.Reconnect, "without auto_reconnect, nothing reconnects")
	assert.Nil(t, st.Info)
}

// reconnectEvents returns the outcomes of the reconnect events so far.
func reconnectEvents(m *Manager) []string {
	var out []string
	for _, e := range m.Events(EventQuery{Kinds: []string{EventReconnect}}).Events {
		var d struct {
			Outcome string `json:"outcome"`
		}
		_ = json.Unmarshal(e.Data, &d)
		out = append(out, d.Outcome)
	}
	return out
}

// waitReconnected waits until m is connected again with reconnects
// Info.Reconnects and returns that status and the reconnect outcomes
// recorded at that moment: whoever sees the connection back must also find
// the event that says so.
func waitReconnected(t *testing.T, m *Manager, reconnects int) (StatusReport, []string) {
	t.Helper()
	var st StatusReport
	var outcomes []string
	back := waitFor(10*time.Second, func() bool {
		st = m.Status()
		if !st.Connected || st.Info.Reconnects < reconnects {
			return false
		}
		outcomes = reconnectEvents(m)
		return true
	})
	if !back || st.Info.Reconnects != reconnects {
		t.Fatalf("not connected after %d reconnect(s) (connected %v, reconnect %+v); reconnect events:%s", reconnects, st.Connected, st.Reconnect, reconnectLog(m))
	}
	return st, outcomes
}

// reconnectLog returns the reconnect events' data, one a line, for
// failure messages.
func reconnectLog(m *Manager) string {
	var b strings.Builder
	for _, e := range m.Events(EventQuery{Kinds: []string{EventReconnect}}).Events {
		fmt.Fprintf(&b, "\n%s %s", e.At.Format("15:04:05.000"), e.Data)
	}
	return b.String()
}

func TestAutoReconnectOverStdio(t *testing.T) {
	m := newManager(t, nil)
	spec := exampleSpec(t, "faults")
	// The monitor runs, with a deadline no stall of a loaded machine
	// reaches three times in a row: the crash is the only loss.
	spec.AutoReconnect, spec.ReconnectDelay, spec.HealthCheckInterval = true, 10*time.Millisecond, time.Second
	first := connect(t, m, spec)

	_, err := m.CallTool(t.Context(), "echo", map[string]any{"message": "before"}, 0)
	require.NoError(t, err)
	_, err = m.CallTool(t.Context(), "crash", nil, 0)
	require.Error(t, err, "the target exits under the call")

	st, seen := waitReconnected(t, m, 1)
	assert.Equal(t, []string{"lost", "attempt", "reconnected"}, seen, "the event is there as soon as the connection is")
	assert.Equal(t, first.ID, st.Info.ID, "the connection keeps its identity")
	assert.NotEqual(t, first.Process.PID, st.Info.Process.PID, "a new process")
	assert.True(t, st.Info.AutoReconnect)
	require.NotNil(t, st.Last)
	assert.Equal(t, EndedByLost, st.Last.EndedBy)

	r, err := m.CallTool(t.Context(), "echo", map[string]any{"message": "after"}, 0)
	require.NoError(t, err)
	assert.Equal(t, "after", text(t, r))
	s := r.Statistics
	assert.Equal(t, 2, s.ToolsCalled, "statistics carry over: both echoes")
	assert.Equal(t, 3, s.ByMethod["tools/call"].Count)
	assert.Equal(t, 1, s.Errors, "the crashed call")
	assert.Equal(t, []string{"lost", "attempt", "reconnected"}, reconnectEvents(m), "reconnect events:%s", reconnectLog(m))
}

// loseAutoReconnecting connects m to the example server over stdio with
// AutoReconnect, whose first attempt comes after delay, and kills the
// target.
func loseAutoReconnecting(t *testing.T, m *Manager, delay time.Duration) {
	t.Helper()
	spec := exampleSpec(t, "normal")
	spec.AutoReconnect, spec.ReconnectDelay = true, delay
	info := connect(t, m, spec)
	require.NoError(t, syscall.Kill(info.Process.PID, syscall.SIGKILL))
}

func TestCallsWaitForAReconnectInProgress(t *testing.T) {
	m := newManager(t, nil)
	// The delay is the window in which the test sees the reconnect going
	// on: wide enough for a loaded machine to look in time.
	loseAutoReconnecting(t, m, time.Second)
	var st StatusReport
	var seen []string
	require.Eventually(t, func() bool {
		st = m.Status()
		if st.Reconnect == nil {
			return false
		}
		seen = reconnectEvents(m)
		return true
	}, 5*time.Second, time.Millisecond)
	assert.Equal(t, []string{"lost"}, seen, "whoever sees the reconnect also finds why it started")
	assert.False(t, st.Connected)
	require.NotNil(t, st.Info, "status shows the connection being reconnected")
	assert.Equal(t, StatusReconnecting, st.Info.Status)
	assert.Equal(t, StatusReconnecting, st.Reconnect.State)
	assert.Equal(t, 5, st.Reconnect.MaxAttempts)
	assert.Contains(t, st.Reconnect.LostReason, "SIGKILL")

	r, err := m.CallTool(t.Context(), "echo", map[string]any{"message": "waited"}, 0)
	require.NoError(t, err, "the call waited for the reconnect")
	assert.Equal(t, "waited", text(t, r))
	assert.Equal(t, 1, m.Status().Info.Reconnects)

	t.Run("a call that cannot wait long enough fails clearly", func(t *testing.T) {
		require.NoError(t, syscall.Kill(m.Status().Info.Process.PID, syscall.SIGKILL))
		require.Eventually(t, func() bool { return m.Status().Reconnect != nil }, 5*time.Second, time.Millisecond)
		_, err := m.CallTool(t.Context(), "echo", map[string]any{"message": "x"}, time.Millisecond)
		var lost *LostError
		require.ErrorAs(t, err, &lost)
		assert.Contains(t, lost.Reason, "is being reconnected")
	})
}

func TestAutoReconnectGivesUpAndReconnectRecovers(t *testing.T) {
	m := newManager(t, nil)
	spec, file := surfaceSpec(t, "alpha text")
	spec.AutoReconnect, spec.ReconnectDelay, spec.MaxReconnectAttempts = true, 5*time.Millisecond, 2
	info := connect(t, m, spec)

	writeLines(t, file, "exit") // the next start fails
	require.NoError(t, syscall.Kill(info.Process.PID, syscall.SIGKILL))
	var st StatusReport
	var seen []string
	require.Eventually(t, func() bool {
		st = m.Status()
		if st.Reconnect == nil || st.Reconnect.State != StatusError {
			return false
		}
		seen = reconnectEvents(m)
		return true
	}, 10*time.Second, 5*time.Millisecond)
	assert.False(t, st.Connected)
	assert.Equal(t, StatusError, st.Info.Status)
	assert.Equal(t, 2, st.Reconnect.Attempt)
	assert.Contains(t, st.Reconnect.LastError, "broken build", "the last attempt's error, with the target's stderr")
	assert.Equal(t, []string{"lost", "attempt", "failed", "attempt", "failed", "gave_up"}, seen, "the event is there as soon as the state is")

	_, err := m.CallTool(t.Context(), "alpha", nil, 0)
	var lost *LostError
	require.ErrorAs(t, err, &lost)
	assert.ErrorIs(t, err, ErrReconnectFailed)
	assert.Contains(t, lost.Reason, "2 reconnect attempts failed")
	assert.Contains(t, lost.Reason, "broken build")

	writeLines(t, file, "alpha text", "beta text")
	res, err := m.Reconnect(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, res.Info.Reconnects)
	assert.Nil(t, m.Status().Reconnect)
	assert.Equal(t, []string{"beta"}, res.Changes.Tools.Added, "compared with what the first connection listed")
	_, err = m.CallTool(t.Context(), "beta", nil, 0)
	assert.NoError(t, err)
}

func TestReconnectReportsSurfaceChanges(t *testing.T) {
	m := newManager(t, nil)
	_, err := m.Reconnect(t.Context())
	require.ErrorIs(t, err, ErrNotConnected, "nothing to repeat yet")

	spec, file := surfaceSpec(t, "keep text", "drop text", "reshape text")
	first := connect(t, m, spec)
	_, err = m.CallTool(t.Context(), "keep", nil, 0)
	require.NoError(t, err)

	res, err := m.Reconnect(t.Context())
	require.NoError(t, err)
	assert.False(t, res.Changes.Changed)
	assert.True(t, res.Changes.Tools.Compared)
	assert.False(t, res.Changes.Prompts.Compared, "the target has no prompts capability")
	assert.Equal(t, EndedByReplaced, res.Previous.EndedBy)
	assert.Equal(t, first.ID, res.Info.ID)
	assert.Equal(t, 1, res.Info.Reconnects)
	assert.Equal(t, 1, res.Info.Statistics.ToolsCalled, "statistics carry over")
	assert.Equal(t, 1, res.Info.Statistics.ByMethod["tools/list"].Count, "only call_tool's own list: the surface snapshots are not counted")

	writeLines(t, file, "keep text", "reshape number", "added text")
	res, err = m.Reconnect(t.Context())
	require.NoError(t, err)
	d := res.Changes
	assert.True(t, d.Changed)
	assert.Equal(t, []string{"added"}, d.Tools.Added)
	assert.Equal(t, []string{"drop"}, d.Tools.Removed)
	assert.Equal(t, []surface.ItemChange{{Name: "reshape", Reason: "description changed, inputSchema changed"}}, d.Tools.Changed)

	t.Run("after the target was lost, the last listed surface is the baseline", func(t *testing.T) {
		writeLines(t, file, "keep text")
		require.NoError(t, syscall.Kill(res.Info.Process.PID, syscall.SIGKILL))
		require.Eventually(t, func() bool { return !m.Status().Connected }, 5*time.Second, 5*time.Millisecond)
		res, err := m.Reconnect(t.Context())
		require.NoError(t, err)
		assert.Equal(t, EndedByLost, res.Previous.EndedBy)
		assert.ElementsMatch(t, []string{"added", "reshape"}, res.Changes.Tools.Removed)
		assert.Equal(t, 3, res.Info.Reconnects)
	})
	t.Run("a failed reconnect leaves the live connection as it was", func(t *testing.T) {
		writeLines(t, file, "exit")
		_, err := m.Reconnect(t.Context())
		var exit *ExitError
		require.ErrorAs(t, err, &exit)
		assert.True(t, m.Status().Connected)
		_, err = m.CallTool(t.Context(), "keep", nil, 0)
		assert.NoError(t, err)
	})
}

func TestDisconnectStopsAReconnect(t *testing.T) {
	m := newManager(t, nil)
	loseAutoReconnecting(t, m, time.Minute)
	require.Eventually(t, func() bool { return m.Status().Reconnect != nil }, 5*time.Second, time.Millisecond)

	prev, was, err := m.Disconnect(t.Context())
	require.NoError(t, err)
	assert.True(t, was, "a connection being reconnected counts as connected")
	assert.Equal(t, EndedByLost, prev.EndedBy)
	st := m.Status()
	assert.Nil(t, st.Reconnect)
	assert.Nil(t, st.Info)
	_, err = m.CallTool(t.Context(), "echo", nil, 0)
	assert.ErrorIs(t, err, ErrNotConnected)
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// serveExampleOn runs the example server in-process on addr until stop is
// called.
func serveExampleOn(t *testing.T, addr string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- exampleserver.Main(ctx, []string{"--http", addr}, strings.NewReader(""), io.Discard, pw)
	}()
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "listening on ") {
				close(listening)
			}
		}
	}()
	select {
	case <-listening:
	case err := <-done:
		t.Fatalf("the example server did not start: %v", err)
	}
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		pw.Close()
	}
	t.Cleanup(stop)
	return stop
}

func TestAutoReconnectToAnHTTPTargetThatComesBack(t *testing.T) {
	addr := freeAddr(t)
	stop := serveExampleOn(t, addr)
	m := newManager(t, nil)
	// A ping's deadline is the interval, and three missed in a row count as
	// a loss: the interval is long enough that a loaded machine never
	// misses three, so the stopped server is the only loss.
	spec := Spec{URL: "http://" + addr + "/mcp", AutoReconnect: true, HealthCheckInterval: 500 * time.Millisecond,
		ReconnectDelay: 20 * time.Millisecond, MaxReconnectAttempts: 8}
	first := connect(t, m, spec)
	_, err := m.CallTool(t.Context(), "echo", map[string]any{"message": "one"}, 0)
	require.NoError(t, err)

	stop()
	var lost StatusReport
	require.Eventually(t, func() bool {
		lost = m.Status()
		return lost.Reconnect != nil
	}, 5*time.Second, 5*time.Millisecond, "a failed health ping shows the server is gone")
	assert.Equal(t, StatusReconnecting, lost.Info.Status)

	serveExampleOn(t, addr)
	st, seen := waitReconnected(t, m, 1)
	assert.Equal(t, first.ID, st.Info.ID)
	require.NotEmpty(t, seen)
	assert.Equal(t, "reconnected", seen[len(seen)-1], "the event is there as soon as the connection is")
	r, err := m.CallTool(t.Context(), "echo", map[string]any{"message": "two"}, 0)
	require.NoError(t, err)
	assert.Equal(t, "two", text(t, r))
	assert.Equal(t, 2, r.Statistics.ToolsCalled, "statistics continue")
	assert.Equal(t, 1, m.Status().Info.Reconnects, "one loss, one reconnect:%s", reconnectLog(m))
}

// BenchmarkSoak runs 200 connect/call/disconnect cycles against monitored
// stdio targets and fails when they leave goroutines, file descriptors or
// child processes behind.
func BenchmarkSoak(b *testing.B) {
	const cycles, slack = 200, 3
	m := New(nil)
	defer m.Close()
	spec := exampleSpec(b, "normal")
	spec.HealthCheckInterval = 5 * time.Millisecond
	cycle := func() {
		_, _, err := m.Connect(b.Context(), spec)
		require.NoError(b, err)
		_, err = m.CallTool(b.Context(), "echo", map[string]any{"message": "x"}, 0)
		require.NoError(b, err)
		_, _, err = m.Disconnect(b.Context())
		require.NoError(b, err)
	}
	cycle() // warm up: the first spawn starts os/exec's and the runtime's own goroutines
	before := resources(b)
	for b.Loop() {
		for range cycles {
			cycle()
		}
	}
	var after counts
	settled := waitFor(5*time.Second, func() bool {
		after = resources(b)
		return after.goroutines <= before.goroutines+slack && after.fds <= before.fds+slack && after.children <= before.children
	})
	b.ReportMetric(float64(before.goroutines), "goroutines-before")
	b.ReportMetric(float64(after.goroutines), "goroutines-after")
	b.ReportMetric(float64(before.fds), "fds-before")
	b.ReportMetric(float64(after.fds), "fds-after")
	b.ReportMetric(float64(before.children), "children-before")
	b.ReportMetric(float64(after.children), "children-after")
	if !settled {
		b.Errorf("%d cycles leaked: before %+v, after %+v (tolerance %d goroutines and fds, no children)", cycles, before, after, slack)
	}
}

type counts struct{ goroutines, fds, children int }

func resources(tb testing.TB) counts {
	tb.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(tb, err)
	return counts{goroutines: runtime.NumGoroutine(), fds: len(fds), children: childProcesses(tb)}
}

// childProcesses counts the processes (zombies included) whose parent is
// this one.
func childProcesses(tb testing.TB) int {
	tb.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(tb, err)
	self, n := os.Getpid(), 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // it ended meanwhile
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(self) {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
	return true
}
