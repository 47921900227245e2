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
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/stats"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
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
	opts   Options
	log    *slog.Logger
	events *eventLog // what targets sent on their own, across connections

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

	bg sync.WaitGroup // recovery goroutines
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
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.TerminateTimeout <= 0 {
		o.TerminateTimeout = DefaultTerminateTimeout
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.StderrBytes <= 0 {
		o.StderrBytes = DefaultStderrBytes
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultMaxEvents
	}
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
	go c.watch()
	if old != nil {
		replaced, _ = m.retire(old, EndedByReplaced)
	}
	in := c.info()
	return &in, replaced, nil
}

// dial starts or reaches the target and initializes a session with it. from,
// when set, is the lineage this connection continues (a reconnect): it keeps
// its id and statistics.
func (m *Manager) dial(ctx context.Context, spec Spec, from *lineage) (*conn, error) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	tgt, err := resolve(spec)
	if err == nil {
		err = m.opts.Policy.check(tgt, spec)
	} else {
		err = m.opts.Policy.unresolved(err, spec)
	}
	if err == nil && tgt.transport == TransportStdio {
		err = tgt.checkDir(spec)
	}
	if err != nil {
		return nil, err
	}
	connectTimeout := spec.ConnectTimeout
	if connectTimeout <= 0 {
		connectTimeout = m.opts.ConnectTimeout
	}
	callTimeout := spec.CallTimeout
	if callTimeout <= 0 {
		callTimeout = m.opts.CallTimeout
	}
	version := spec.ProtocolVersion
	if version == "" {
		version = DefaultProtocolVersion
	}
	// The session outlives this call: legacy SSE keeps its stream on the
	// context given to Connect.
	sessCtx, cancel := context.WithCancel(context.Background())
	reqCtx, stopRequests := context.WithCancel(context.Background())
	c := &conn{
		reqCtx:       reqCtx,
		stopRequests: stopRequests,
		id:           newID(),
		tgt:          tgt,
		ctx:          sessCtx,
		cancel:       cancel,
		stats:        stats.New(),
		callTimeout:  callTimeout,
		terminate:    m.opts.TerminateTimeout,
		maxBytes:     m.opts.MaxMessageBytes,
		dead:         make(chan struct{}),
		byToken:      map[string]*collector{},
		onDead:       func(c *conn) { m.retire(c, EndedByLost) },
		events:       m.events,
		spec:         spec,
	}
	if from != nil {
		c.id, c.stats, c.reconnects = from.id, from.stats, from.reconnects+1
	}
	if spec.HealthCheckInterval > 0 {
		c.health = newMonitor(spec.HealthCheckInterval)
	}
	c.log = m.log.With("connection", c.id, "transport", tgt.transport)
	caps := &mcp.ClientCapabilities{}
	copts := &mcp.ClientOptions{
		Logger:                 c.log,
		Capabilities:           caps,
		ToolListChangedHandler: c.onToolsChanged,
	}
	if tgt.transport != TransportStdio {
		// A stdio target's progress and logs are taken in read order by
		// stdioConn instead (see conn.onNotification).
		copts.ProgressNotificationHandler = c.onProgress
		copts.LoggingMessageHandler = c.onLog
	}
	if h := spec.Client.Sampling; h != nil {
		copts.CreateMessageHandler = func(ctx context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			res, who, err := h(ctx, req.Params)
			setAnsweredBy(ctx, who)
			return res, err
		}
	}
	if h := spec.Client.Elicitation; h != nil {
		copts.ElicitationHandler = func(ctx context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			res, who, err := h(ctx, req.Params)
			setAnsweredBy(ctx, who)
			return res, err
		}
	}
	if spec.Client.Roots != nil || spec.Client.ListRoots != nil {
		caps.RootsV2 = &mcp.RootCapabilities{ListChanged: true}
		c.rootsDeclared = true
		c.roots = slices.Clone(spec.Client.Roots)
	}
	client := mcp.NewClient(m.opts.ClientInfo, copts)
	client.AddRoots(c.roots...)
	if h := spec.Client.ListRoots; h != nil {
		// go-sdk answers roots/list from its own list; answer it here.
		client.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
			return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
				if method != "roots/list" {
					return next(ctx, method, req)
				}
				roots, who, err := h(ctx)
				setAnsweredBy(ctx, who)
				if err != nil {
					return nil, err
				}
				return &mcp.ListRootsResult{Roots: roots}, nil
			}
		})
	}
	if h := spec.Client.Elicitation; h != nil {
		client.AddReceivingMiddleware(answerElicitation(h)) // elicit.go
	}
	// Added last, so outermost: they see every request, roots/list included.
	client.AddReceivingMiddleware(recoverPanics(c.log), c.recordEvents)
	client.AddSendingMiddleware(captureRawTools, c.captureVersion)
	c.client = client

	var transport mcp.Transport
	switch tgt.transport {
	case TransportStdio:
		c.proc, err = startProcess(tgt.path, tgt.argv, tgt.env, tgt.dir, m.opts.StderrBytes, c.onStderrLine)
		if err != nil {
			cancel()
			return nil, commandNotFound(tgt.path, nil, err)
		}
		c.stdio = newStdioConn(c.proc.stdin, &eofReader{r: c.proc.stdout, onEOF: c.onStdoutEOF}, m.opts.MaxMessageBytes, c.onJunk, c.onNotification, func() {
			c.termWarn = c.proc.terminate(c.terminate)
		})
		c.stdio.writeTimeout = m.opts.WriteTimeout
		transport = &stdioTransport{conn: c.stdio}
	default:
		c.httpBase = http.DefaultTransport.(*http.Transport).Clone()
		c.rt, err = newHeaderRoundTripper(c.httpBase, tgt.url, tgt.headers, tgt.secrets)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("%w: %v", ErrInvalidSpec, err)
		}
		c.rt.sse = tgt.transport == TransportSSE
		c.rt.maxBytes = m.opts.MaxMessageBytes
		hc := &http.Client{Transport: c.rt, CheckRedirect: checkRedirect}
		if tgt.transport == TransportSSE {
			transport = &mcp.SSEClientTransport{Endpoint: tgt.url, HTTPClient: hc, MaxEventSize: int(m.opts.MaxMessageBytes)}
		} else {
			transport = &mcp.StreamableClientTransport{Endpoint: tgt.url, HTTPClient: hc, MaxRetries: 2, MaxEventSize: int(m.opts.MaxMessageBytes), OAuthHandler: spec.OAuth}
		}
	}
	c.log.Info("connecting", "target", tgt.display)

	type result struct {
		cs  *mcp.ClientSession
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		cs, err := client.Connect(sessCtx, transport, &mcp.ClientSessionOptions{ProtocolVersion: version})
		done <- result{cs, err}
	}()
	timer := time.NewTimer(connectTimeout)
	defer timer.Stop()
	var r result
	returned := false
	select {
	case r = <-done:
		returned = true
	case <-timer.C:
		r.err = context.DeadlineExceeded
	case <-ctx.Done():
		r.err = ctx.Err()
	}
	if r.err != nil {
		failure := m.connectFailure(ctx, c, r.err, connectTimeout, returned)
		c.closing.Store(true)
		c.log.Info("connect failed", "error", failure)
		if returned {
			c.finish(EndedByDisconnect)
			return nil, failure
		}
		// A deadline is a deadline: the close (stdin EOF, SIGTERM, SIGKILL
		// of the group) goes on in the background, and Close waits for it.
		cleanup := func() {
			c.finish(EndedByDisconnect)
			// Connect returns soon after its transport is closed; collect a
			// session that raced our deadline.
			select {
			case late := <-done:
				if late.cs != nil {
					_ = late.cs.Close()
				}
			case <-time.After(sessionCloseTimeout):
			}
		}
		m.mu.Lock()
		background := !m.closed
		if background {
			m.cleanups.Add(1) // under mu, while not closed: see Manager.closed
		}
		m.mu.Unlock()
		if !background {
			cleanup() // the Manager is closing: finish before Close returns
			return nil, failure
		}
		go func() {
			defer m.cleanups.Done()
			cleanup()
		}()
		return nil, failure
	}
	c.cs = r.cs
	c.connectedAt = time.Now().UTC()
	c.static = m.describe(c, tgt, version)
	if spec.OAuth != nil {
		oauth := "oauth"
		c.static.AuthType = &oauth
	}
	c.log.Info("connected", "server", c.static.ServerInfo.Name, "elapsed", time.Since(start).Round(time.Millisecond))

	// Targets built on the SDKs drop log notifications until the client sets
	// a level; ask for everything so that call_tool can show it.
	if caps := c.static.Capabilities; caps != nil && caps.Logging != nil && !spec.QuietLogs {
		lctx, lcancel := context.WithTimeout(ctx, 2*time.Second)
		if err := c.cs.SetLoggingLevel(lctx, &mcp.SetLoggingLevelParams{Level: "debug"}); err != nil {
			c.log.Debug("logging/setLevel failed", "error", c.scrub(err.Error()))
		}
		lcancel()
	}
	c.startMonitor()
	return c, nil
}

// connectFailure explains why initialize did not succeed.
func (m *Manager) connectFailure(ctx context.Context, c *conn, err error, timeout time.Duration, returned bool) error {
	// go-sdk closes the session when the answer's version is one it does not
	// support, and the target then exits: the version is the cause.
	if v := c.answeredVersion(); v != "" && !slices.Contains(mcp.SupportedProtocolVersions(), v) {
		return &ProtocolError{Msg: fmt.Sprintf("the server answered initialize with protocol version %q, which the tester does not support (it supports %s)",
			c.scrub(v), strings.Join(mcp.SupportedProtocolVersions(), ", "))}
	}
	if c.proc != nil {
		// A target that exits during initialize usually said why on stderr.
		// At the deadline only one that has already exited is waited for.
		grace := exitGrace
		if !returned && !c.proc.hasExited() {
			grace = 0
		}
		if c.proc.waitExit(grace) {
			return &ExitError{Exit: c.proc.exitReport(c.scrub), During: "initialize"}
		}
	}
	if c.rt != nil {
		if herr := c.rt.failure(); herr != nil {
			return herr
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return &TimeoutError{Method: "initialize", After: timeout, StderrTail: c.stderrTail()}
	case ctx.Err() != nil:
		return ctx.Err()
	case c.stdio != nil && c.stdio.stalled.Load():
		return &TimeoutError{Method: "initialize", After: timeout, Lost: true, StderrTail: c.stderrTail()}
	case errors.Is(err, io.EOF) || errors.Is(err, mcp.ErrConnectionClosed):
		return &LostError{Reason: "the connection closed during initialize", Err: err}
	}
	return &ProtocolError{Msg: "initialize failed", Err: scrubbed{c.scrub(err.Error()), err}}
}

// describe builds the fixed part of Info from the initialize result.
func (m *Manager) describe(c *conn, tgt *target, offered string) Info {
	res := c.cs.InitializeResult()
	in := Info{
		ID:              c.id,
		ServerURL:       tgt.display,
		Transport:       tgt.transport,
		ConnectedAt:     c.connectedAt,
		ProtocolVersion: offered,
		HeaderNames:     []string{},
		CallTimeout:     c.callTimeout,
	}
	if res != nil {
		in.ProtocolVersion = res.ProtocolVersion
		in.Capabilities = res.Capabilities
		if si := res.ServerInfo; si != nil {
			in.ServerInfo = ServerInfo{Name: textcut.CutNote(si.Name, MaxInfoField), Title: textcut.CutNote(si.Title, MaxInfoField), Version: textcut.CutNote(si.Version, MaxInfoField)}
		}
		// Scrub first, so that no prefix of a secret survives the cut.
		in.InstructionsBytes = len(res.Instructions)
		in.Instructions = c.scrub(res.Instructions)
		if len(in.Instructions) > maxInstructions {
			in.Instructions = textcut.Note(textcut.Cut(in.Instructions, maxInstructions), len(res.Instructions))
		}
	}
	if c.proc != nil {
		args := make([]string, len(tgt.argv))
		for i, a := range tgt.argv {
			args[i] = c.scrub(a)
		}
		in.Process = &ProcessInfo{PID: c.proc.pid, Command: tgt.path, Args: args, EnvNames: tgt.envNames}
		if in.Process.EnvNames == nil {
			in.Process.EnvNames = []string{}
		}
	}
	for name := range tgt.headers {
		if name == "Authorization" && strings.HasPrefix(tgt.headers.Get(name), "Bearer ") {
			auth := "bearer"
			in.AuthType = &auth
		}
		in.HeaderNames = append(in.HeaderNames, name)
	}
	slices.Sort(in.HeaderNames)
	in.HeadersProvided = len(in.HeaderNames) > 0
	return in
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
	Tools      []*mcp.Tool
	ServerInfo ServerInfo
	ServerURL  string
}

// ListTools fetches every page of the target's tools.
func (m *Manager) ListTools(ctx context.Context) (*ToolList, error) {
	c, err := m.acquire(ctx, 0)
	if err != nil {
		return nil, err
	}
	tools, err := c.listTools(ctx, 0)
	if err != nil {
		return nil, err
	}
	return &ToolList{Tools: tools, ServerInfo: c.static.ServerInfo, ServerURL: c.static.ServerURL}, nil
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
		if timeout <= 0 {
			timeout = c.callTimeout
		}
		if timeout -= waited; timeout <= 0 {
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
	m.bg.Wait()
	m.cleanups.Wait()
	return err
}

// recoverPanics turns a panic in a handler of the target's requests into a
// JSON-RPC error: go-sdk does not recover them, and one would end the tester.
func recoverPanics(log *slog.Logger) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (res mcp.Result, err error) {
			defer func() {
				if r := recover(); r != nil {
					log.Error("panic handling a request from the target", "method", method, "panic", r, "stack", string(debug.Stack()))
					res, err = nil, fmt.Errorf("internal error in mcp-test-mcp handling %s", method)
				}
			}()
			return next(ctx, method, req)
		}
	}
}
