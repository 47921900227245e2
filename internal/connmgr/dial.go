// Dialing a target: the client options and handlers of a Spec, the
// transport (stdio process, streamable HTTP or legacy SSE), and the
// initialize handshake with its deadline.

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
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/stats"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

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
	c := m.newConn(spec, tgt, from)
	c.client = m.newClient(c, spec)
	transport, err := m.newTransport(c, spec)
	if err != nil {
		c.cancel()
		c.stopRequests()
		return nil, err
	}
	if err := m.handshake(ctx, c, transport); err != nil {
		return nil, err
	}
	return c, nil
}

// newConn builds the connection to tgt, not yet started: its contexts,
// limits and statistics (a reconnect's from lineage lends its id and
// statistics).
func (m *Manager) newConn(spec Spec, tgt *target, from *lineage) *conn {
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
		callTimeout:  orDefault(spec.CallTimeout, m.opts.CallTimeout),
		terminate:    m.opts.TerminateTimeout,
		drainGrace:   orDefault(m.drainGrace, drainGrace),
		maxBytes:     m.opts.MaxMessageBytes,
		dead:         make(chan struct{}),
		byToken:      map[string]*collector{},
		onDead:       m.onDead,
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
	return c
}

// newClient builds c's go-sdk client: the capabilities spec declares, the
// handlers of the target's notifications and requests, and the middleware
// that records them.
func (m *Manager) newClient(c *conn, spec Spec) *mcp.Client {
	caps := &mcp.ClientCapabilities{}
	copts := &mcp.ClientOptions{
		Logger:                 c.log,
		Capabilities:           caps,
		ToolListChangedHandler: c.onToolsChanged,
	}
	if c.tgt.transport != TransportStdio {
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
	return client
}

// newTransport starts a stdio target's process, or prepares the HTTP client
// of a streamable HTTP or SSE target, and returns the transport to it.
func (m *Manager) newTransport(c *conn, spec Spec) (mcp.Transport, error) {
	tgt := c.tgt
	if tgt.transport == TransportStdio {
		var err error
		c.proc, err = startProcess(tgt.path, tgt.argv, tgt.env, tgt.dir, m.opts.StderrBytes, c.onStderrLine)
		if err != nil {
			return nil, commandNotFound(tgt.path, nil, err)
		}
		c.stdio = newStdioConn(c.proc.stdin, &eofReader{r: c.proc.stdout, onEOF: c.onStdoutEOF}, m.opts.MaxMessageBytes, c.onJunk, c.onNotification, func() {
			c.termWarn = c.proc.terminate(c.terminate)
		})
		c.stdio.writeTimeout = m.opts.WriteTimeout
		return &stdioTransport{conn: c.stdio}, nil
	}
	c.httpBase = http.DefaultTransport.(*http.Transport).Clone()
	rt, err := newHeaderRoundTripper(c.httpBase, tgt.url, tgt.headers, tgt.secrets)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSpec, err)
	}
	c.rt = rt
	c.rt.sse = tgt.transport == TransportSSE
	c.rt.maxBytes = m.opts.MaxMessageBytes
	hc := &http.Client{Transport: c.rt, CheckRedirect: checkRedirect}
	if tgt.transport == TransportSSE {
		return &mcp.SSEClientTransport{Endpoint: tgt.url, HTTPClient: hc, MaxEventSize: int(m.opts.MaxMessageBytes)}, nil
	}
	return &mcp.StreamableClientTransport{Endpoint: tgt.url, HTTPClient: hc, MaxRetries: 2, MaxEventSize: int(m.opts.MaxMessageBytes), OAuthHandler: spec.OAuth}, nil
}

// handshake initializes c's session over transport within the connect
// timeout, then describes the target, asks it for every log level and
// starts the health monitor. When it fails, c is closed (in the background
// after a deadline: see connectTimedOut).
func (m *Manager) handshake(ctx context.Context, c *conn, transport mcp.Transport) error {
	spec := c.spec
	connectTimeout := orDefault(spec.ConnectTimeout, m.opts.ConnectTimeout)
	version := spec.ProtocolVersion
	if version == "" {
		version = DefaultProtocolVersion
	}
	c.log.Info("connecting", "target", c.tgt.display)

	done := make(chan connectResult, 1)
	start := time.Now()
	// The initialize answer as sent: go-sdk's InitializeResult drops
	// unknown capabilities and serverInfo fields.
	initialized := &rawCapture{}
	go func() {
		cs, err := c.client.Connect(context.WithValue(c.ctx, rawCaptureKey{}, initialized), transport, &mcp.ClientSessionOptions{ProtocolVersion: version})
		done <- connectResult{cs, err}
	}()
	timer := time.NewTimer(connectTimeout)
	defer timer.Stop()
	var r connectResult
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
		} else {
			m.connectTimedOut(c, done)
		}
		return failure
	}
	c.cs = r.cs
	c.connectedAt = time.Now().UTC()
	c.static = m.describe(c, c.tgt, version)
	if raw, _, ok := initialized.get(); ok {
		c.static.describeWire(raw)
	}
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
	return nil
}

// connectResult is how go-sdk's Connect ended.
type connectResult struct {
	cs  *mcp.ClientSession
	err error
}

// connectTimedOut closes c, whose initialize passed its deadline while
// done, Connect's result, is still to come. A deadline is a deadline: the
// close (stdin EOF, SIGTERM, SIGKILL of the group) goes on in the
// background, and Close waits for it.
func (m *Manager) connectTimedOut(c *conn, done <-chan connectResult) {
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
		return
	}
	go func() {
		defer m.cleanups.Done()
		cleanup()
	}()
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
		in.WireCapabilities, _ = json.Marshal(res.Capabilities)
		if si := res.ServerInfo; si != nil {
			in.ServerInfo = ServerInfo{Name: textcut.CutNote(si.Name, MaxInfoField), Title: textcut.CutNote(si.Title, MaxInfoField), Version: textcut.CutNote(si.Version, MaxInfoField)}
			if raw, err := json.Marshal(si); err == nil {
				in.ServerInfo.setOther(raw)
			}
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

// describeWire replaces the capabilities and serverInfo's other fields in
// in with those of raw, the initialize result as the target sent it.
func (in *Info) describeWire(raw json.RawMessage) {
	var res struct {
		Capabilities json.RawMessage `json:"capabilities"`
		ServerInfo   json.RawMessage `json:"serverInfo"`
	}
	if json.Unmarshal(raw, &res) != nil {
		return
	}
	if len(res.Capabilities) > 0 && len(res.Capabilities) <= MaxWireCapabilities {
		in.WireCapabilities = res.Capabilities
	}
	in.ServerInfo.setOther(res.ServerInfo)
}

// setOther sets si.Other from raw, a serverInfo as sent.
func (si *ServerInfo) setOther(raw json.RawMessage) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return
	}
	si.Other = nil
	for k, v := range fields {
		if k == "name" || k == "title" || k == "version" {
			continue
		}
		if si.Other == nil {
			si.Other = map[string]any{}
		}
		v, _, _ = cutJSON(v, MaxEventData)
		si.Other[k] = v
	}
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

// captureVersion is a sending middleware that keeps the protocol version
// of the initialize answer before go-sdk judges it.
func (c *conn) captureVersion(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		if r, ok := res.(*mcp.InitializeResult); ok && r != nil && method == "initialize" {
			v := r.ProtocolVersion
			c.version.Store(&v)
		}
		return res, err
	}
}

// answeredVersion is the protocol version the target answered initialize
// with, or "".
func (c *conn) answeredVersion() string {
	if v := c.version.Load(); v != nil {
		return *v
	}
	return ""
}
