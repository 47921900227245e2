// Package connmgr owns the one connection from the tester to a target MCP
// server: it turns a Spec into a transport, supervises a stdio target's
// process, tracks the connection's state and statistics, and remembers the
// previous connection so that disconnect and status can report it.
package connmgr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Defaults for Options' zero values.
const (
	DefaultConnectTimeout   = 30 * time.Second
	DefaultCallTimeout      = 60 * time.Second
	DefaultTerminateTimeout = 3 * time.Second
	DefaultMaxMessageBytes  = 32 << 20
	DefaultStderrBytes      = 64 << 10
	DefaultWriteTimeout     = 10 * time.Second
)

// Options configures a Manager. A nil *Options means all defaults.
type Options struct {
	// Logger receives the manager's logs; nil discards them.
	Logger *slog.Logger
	// ConnectTimeout is the default spawn + initialize deadline; zero means
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// CallTimeout is the default deadline of requests; zero means
	// DefaultCallTimeout.
	CallTimeout time.Duration
	// TerminateTimeout bounds closing a stdio target (stdin EOF, SIGTERM,
	// SIGKILL to its process group); zero means DefaultTerminateTimeout.
	TerminateTimeout time.Duration
	// MaxMessageBytes caps one message from the target; zero means
	// DefaultMaxMessageBytes.
	MaxMessageBytes int64
	// StderrBytes is the size of the ring that keeps a stdio target's
	// stderr; zero means DefaultStderrBytes.
	StderrBytes int
	// MaxEvents bounds the events kept for Events; zero means
	// DefaultMaxEvents.
	MaxEvents int
	// WriteTimeout bounds one write to a stdio target's stdin; zero means
	// DefaultWriteTimeout. A target that stops reading is reported lost
	// after it.
	WriteTimeout time.Duration
	// ClientInfo is sent in initialize; nil means "mcp-test-mcp".
	ClientInfo *mcp.Implementation
	// Policy restricts the programs started for stdio targets, at every
	// start (connect, reconnect, automatic reconnect); nil allows every
	// program.
	Policy *CommandPolicy
}

// Manager holds at most one live connection. It is safe for concurrent use.
type Manager struct {
	opts Options
	// drainGrace replaces the constant drainGrace for its connections when
	// set (tests make it short).
	drainGrace time.Duration
	log        *slog.Logger
	events     *eventLog // what targets sent on their own, across connections

	// connectMu serialises Connect and Disconnect, so that a make-before-break
	// swap never interleaves with another. It is held while dialing, never
	// while a tool call runs.
	connectMu sync.Mutex

	mu sync.Mutex
	// The fields below are guarded by mu. cur is nil iff there is no live
	// connection; last is the most recently ended one. The reconnect event
	// that explains a change of cur or pending is added to events (which
	// takes only its own lock) before mu is released, so that no observer
	// sees the change without the event.
	cur        *conn
	last       *Previous
	lastStderr []string
	lastJunk   []string
	lastJunkN  int
	// pending is the automatic recovery of a lost connection, reconnecting
	// or given up (state error); it is nil whenever cur is set. lastLin is
	// the lineage of the last connection that ended while current, for
	// Reconnect.
	pending *recovery
	lastLin *lineage

	// closed is set by Close: no connection is installed, and no recovery
	// or cleanup is started, after it. bg and cleanups are added to only
	// under mu while closed is false, so that Close's waits see them all.
	closed bool

	bg sync.WaitGroup // recovery goroutines, and the retiring of lost connections
	// cleanups are the closes of targets whose connect timed out; Close
	// waits for them.
	cleanups sync.WaitGroup
}

// New returns a Manager with no connection.
func New(opts *Options) *Manager {
	m := &Manager{}
	if opts != nil {
		m.opts = *opts
	}
	o := &m.opts
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.ConnectTimeout = orDefault(o.ConnectTimeout, DefaultConnectTimeout)
	o.CallTimeout = orDefault(o.CallTimeout, DefaultCallTimeout)
	o.TerminateTimeout = orDefault(o.TerminateTimeout, DefaultTerminateTimeout)
	o.MaxMessageBytes = orDefault(o.MaxMessageBytes, DefaultMaxMessageBytes)
	o.StderrBytes = orDefault(o.StderrBytes, DefaultStderrBytes)
	o.WriteTimeout = orDefault(o.WriteTimeout, DefaultWriteTimeout)
	o.MaxEvents = orDefault(o.MaxEvents, DefaultMaxEvents)
	m.events = newEventLog(o.MaxEvents)
	if o.ClientInfo == nil {
		o.ClientInfo = &mcp.Implementation{Name: "mcp-test-mcp", Version: moduleVersion()}
	}
	m.log = o.Logger
	return m
}

// Options returns the Manager's options with its defaults filled in, for a
// Manager of the same host (run_checks' own connection).
func (m *Manager) Options() *Options {
	o := m.opts
	return &o
}

// orDefault returns v, or def when v is zero or less (unset).
func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func newID() string { return uuid.NewString() }

// current returns the live connection or nil. A connection found dead is
// retired first, so that nobody is told a dead target is connected.
func (m *Manager) current() *conn {
	m.mu.Lock()
	c := m.cur
	m.mu.Unlock()
	if c != nil && c.isDead() {
		m.retire(c, EndedByLost)
		return nil
	}
	return c
}

// retire finishes c and, if it is still the current connection, moves it to
// last. It returns c's description and any cleanup warning.
//
// A current connection that was lost, made with Spec.AutoReconnect, starts
// its recovery (see Manager.recover).
func (m *Manager) retire(c *conn, endedBy string) (*Previous, string) {
	prev, warning := c.finish(endedBy)
	junk, junkN := c.junkReport()
	stderr := c.stderrLines()
	lin := c.lineage()
	var r *recovery
	var lostData json.RawMessage
	if prev.EndedBy == EndedByLost && c.spec.AutoReconnect {
		lostData = encodeEvent(map[string]any{"outcome": "lost", "reason": prev.Reason, "max_attempts": maxAttempts(lin.spec)})
	}
	m.mu.Lock()
	if m.cur == c {
		m.cur = nil
		m.lastLin = lin
		if prev.EndedBy == EndedByLost && c.spec.AutoReconnect && !m.closed {
			r = newRecovery(lin, prev.Reason)
			// Recorded before the recovery is published, so that whoever
			// sees it in Status also finds the event that says why.
			m.events.add(EventReconnect, "", lin.id, lostData)
			m.pending = r
			m.bg.Add(1) // under mu, while not closed: see Manager.closed
		}
	}
	if m.last == nil || !prev.DisconnectedAt.Before(m.last.DisconnectedAt) {
		m.last, m.lastStderr, m.lastJunk, m.lastJunkN = prev, stderr, junk, junkN
	}
	m.mu.Unlock()
	if r != nil {
		m.startRecovery(r)
	}
	return prev, warning
}

// Connect connects to the target described by spec and makes it the current
// connection. It is make-before-break: the old connection, if any, is closed
// only after the new one is initialized, and is returned as replaced. When
// Connect fails, the old connection is left as it was.
func (m *Manager) Connect(ctx context.Context, spec Spec) (info *Info, replaced *Previous, err error) {
	m.connectMu.Lock()
	defer m.connectMu.Unlock()
	// An automatic reconnect of the lost connection ends first, so that it
	// cannot start a second copy of a target beside the new one.
	m.takePending().stop()
	c, err := m.dial(ctx, spec, nil)
	if err != nil {
		return nil, nil, err
	}
	if spec.AutoReconnect {
		// The baseline of what an automatic reconnect reports as changed.
		c.fetchSurface(ctx)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		c.closing.Store(true)
		c.finish(EndedByDisconnect)
		return nil, nil, ErrClosed
	}
	old := m.cur
	m.cur = c
	r := m.pending
	m.pending = nil
	m.mu.Unlock()
	r.stop()
	c.startWatch()
	if old != nil {
		replaced, _ = m.retire(old, EndedByReplaced)
	}
	in := c.info()
	return &in, replaced, nil
}

// Disconnect closes the current connection, if any, and returns what it was.
// When there is none, prev is the last connection that ended (if any) and
// wasConnected is false. cleanupErr reports a problem closing it; the state
// is cleared anyway.
func (m *Manager) Disconnect(ctx context.Context) (prev *Previous, wasConnected bool, cleanupErr error) {
	m.connectMu.Lock()
	defer m.connectMu.Unlock()
	c := m.current()
	if c != nil {
		var warning string
		prev, warning = m.retire(c, EndedByDisconnect)
		if warning != "" {
			cleanupErr = errors.New(warning)
		}
	}
	// After retire: a connection lost meanwhile may have started one.
	r := m.takePending()
	r.stop()
	if c == nil {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.last, r != nil, nil
	}
	return prev, true, cleanupErr
}

// Status reports the live connection, or the last one and why it ended.
func (m *Manager) Status() StatusReport {
	c := m.current()
	var r StatusReport
	var lin *lineage
	m.mu.Lock()
	r.Last = m.last
	if c == nil {
		r.StderrTail, r.Junk, r.JunkCount = m.lastStderr, m.lastJunk, m.lastJunkN
		if p := m.pending; p != nil {
			r.Reconnect, lin = p.stateLocked(), p.lin
		}
	}
	m.mu.Unlock()
	if lin != nil {
		in := lin.static
		in.Status, in.Statistics = r.Reconnect.State, lin.stats.Snapshot()
		in.Reconnects, in.AutoReconnect = lin.reconnects, lin.spec.AutoReconnect
		r.Info = &in
	}
	if c != nil {
		in := c.info()
		r.Connected, r.Info = true, &in
		r.StderrTail = c.stderrLines()
		r.Junk, r.JunkCount = c.junkReport()
		r.ConnectionDuration = time.Since(c.connectedAt)
	}
	if r.StderrTail == nil {
		r.StderrTail = []string{}
	}
	r.EventCounts = m.events.countsByKind()
	return r
}

// ToolList is the target's complete tool list.
type ToolList struct {
	Tools []*mcp.Tool
	// Wire holds each tool as the target sent it over stdio (icons,
	// execution, _meta, unknown fields, schemas byte for byte), by name;
	// over HTTP it is empty.
	Wire       map[string]json.RawMessage
	ServerInfo ServerInfo
	ServerURL  string
}

// ListTools fetches every page of the target's tools.
func (m *Manager) ListTools(ctx context.Context) (*ToolList, error) {
	c, err := m.acquire(ctx, 0)
	if err != nil {
		return nil, err
	}
	wire := map[string]json.RawMessage{}
	tools, err := c.listTools(ctx, 0, wire)
	if err != nil {
		return nil, err
	}
	return &ToolList{Tools: tools, Wire: wire, ServerInfo: c.static.ServerInfo, ServerURL: c.static.ServerURL}, nil
}

// CallTool calls a tool on the target. timeout zero means the connection's
// call timeout. args may be nil.
func (m *Manager) CallTool(ctx context.Context, name string, args map[string]any, timeout time.Duration) (*CallResult, error) {
	start := time.Now()
	c, err := m.acquire(ctx, timeout)
	if err != nil {
		return nil, err
	}
	// Time spent waiting for a reconnect counts against the call's deadline.
	if waited := time.Since(start); waited > time.Millisecond {
		if timeout = orDefault(timeout, c.callTimeout) - waited; timeout <= 0 {
			return nil, &TimeoutError{Method: "tools/call", After: waited, StderrTail: c.stderrTail()}
		}
	}
	return c.callTool(ctx, name, args, timeout)
}

// Close ends the current connection, and any recovery of a lost one, for
// shutdown. It is idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	_, _, err := m.Disconnect(context.Background())
	wait := m.opts.TerminateTimeout + closeWaitSlack
	if !returnsWithin(func() { m.bg.Wait(); m.cleanups.Wait() }, wait) {
		err = errors.Join(err, fmt.Errorf("closing the connection manager: a reconnect or a cleanup of a target did not end within %s; its process may still be running", wait))
	}
	return err
}

// closeWaitSlack is how much longer than the terminate timeout Close waits
// for the recoveries and cleanups in progress: a close of a target also
// waits for its session (sessionCloseTimeout) and exit status (exitGrace).
const closeWaitSlack = 10 * time.Second

// onDead retires c, which broke under us, in a goroutine the Manager owns:
// markDead runs in c's own goroutines (watch, the health monitor), which
// finishing c waits for. After Close nothing is started: Close retires the
// current connection itself, and whoever dials one finishes it.
func (m *Manager) onDead(c *conn) {
	m.mu.Lock()
	closed := m.closed
	if !closed {
		m.bg.Add(1) // under mu, while not closed: see Manager.closed
	}
	m.mu.Unlock()
	if closed {
		return
	}
	go func() {
		defer m.bg.Done()
		m.retire(c, EndedByLost)
	}()
}
