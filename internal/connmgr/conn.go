package connmgr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/stats"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/surface"
)

const (
	// maxInstructions is how much of a target's instructions Info keeps.
	maxInstructions = 8 << 10
	// junkKept is how many non-JSON-RPC stdout lines are kept.
	junkKept = 20
	// sessionCloseTimeout bounds go-sdk's graceful session close.
	sessionCloseTimeout = 2 * time.Second
	// stallGrace is how long a stdio target may leave our bytes unread after
	// a request timed out before it is declared to have stopped reading.
	stallGrace = 500 * time.Millisecond
	// exitGrace is how long a failed request waits for a stdio target's
	// exit status, so that the error can say how it ended.
	exitGrace = time.Second
)

// conn is one connection to a target, from initialize to close. Its fields
// above mu are set before it is published and never change.
type conn struct {
	id       string
	log      *slog.Logger
	tgt      *target
	proc     *process   // nil for HTTP targets
	stdio    *stdioConn // nil for HTTP targets
	rt       *headerRoundTripper
	httpBase *http.Transport
	cs       *mcp.ClientSession
	client   *mcp.Client
	events   *eventLog // the manager's, shared by every connection
	// rootsDeclared is true when the roots capability was declared.
	rootsDeclared bool
	ctx           context.Context // ends when the connection is finished
	cancel        context.CancelFunc
	// reqCtx ends requests in flight when we close the connection on
	// purpose. A lost connection leaves them be: go-sdk fails them itself,
	// after delivering any answer that arrived first.
	reqCtx       context.Context
	stopRequests context.CancelFunc
	stats        *stats.Recorder
	callTimeout  time.Duration
	terminate    time.Duration
	maxBytes     int64 // the cap on one message from the target
	connectedAt  time.Time
	static       Info // the parts of Info fixed at connect
	// spec is how this connection was made, kept to reconnect with it. It
	// holds secrets: it is never shown.
	spec Spec
	// reconnects is how many times this connection's lineage was
	// re-established before this generation; stats is shared along it.
	reconnects int
	health     *monitor       // nil when the health monitor is disabled
	bg         sync.WaitGroup // the health monitor; finish waits for it

	closing atomic.Bool // set when we close it on purpose
	// version is the protocolVersion of the target's initialize answer,
	// kept because go-sdk drops an answer whose version it does not support.
	version atomic.Pointer[string]
	// stdoutLeft is set when a stdio target closed its stdout and was still
	// running a moment later (it is ended by the close that follows).
	stdoutLeft atomic.Bool

	deadOnce   sync.Once
	dead       chan struct{} // closed when the connection broke under us
	deadReason string        // written before dead is closed
	deadAt     time.Time     // written before dead is closed
	onDead     func(*conn)

	finishOnce sync.Once
	prev       *Previous // written by finish
	warning    string    // written by finish
	termWarn   string    // written by the stdio close function

	mu sync.Mutex
	// The fields below are guarded by mu.
	tools      []*mcp.Tool
	toolsFresh bool                  // tools is the target's current list
	byToken    map[string]*collector // calls in flight by progress token
	junk       []string              // last junkKept non-JSON-RPC stdout lines
	junkCount  int
	roots      []*mcp.Root      // offered to the target
	surface    *surface.Surface // the last surface fetched (reconnect diffs), or nil
}

// collector gathers what arrives while one call runs.
type collector struct {
	start time.Time
	mu    sync.Mutex
	notes callNotes // guarded by mu
}

// scrub masks the connection's secrets in text that came from the target
// (stderr and stdout lines, error messages), however it escaped them.
func (c *conn) scrub(s string) string { return c.tgt.secrets.ScrubEscaped(s) }

// isDead reports whether the connection broke under us. A stdio target's
// exit alone does not make it dead: its last answers may still be in the
// pipe (see watch).
func (c *conn) isDead() bool {
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}

// deadInfo returns why and when the connection broke, if it did.
func (c *conn) deadInfo() (reason string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deadReason, c.deadAt
}

// markDead records that the connection broke under us and hands it to
// onDead. A connection we are closing on purpose is not dead.
func (c *conn) markDead(reason string) {
	if c.closing.Load() {
		return
	}
	c.deadOnce.Do(func() {
		reason = c.scrub(reason)
		c.mu.Lock()
		c.deadReason, c.deadAt = reason, time.Now()
		c.mu.Unlock()
		close(c.dead)
		c.log.Info("connection lost", "reason", reason)
		go c.onDead(c)
	})
}

// drainGrace is how long a stdio target's stdout may stay open after the
// target exited (held by a child it left behind) before the connection is
// declared lost anyway.
const drainGrace = 2 * time.Second

// watch turns the end of the session or of the process into markDead. It
// returns when the connection is finished.
func (c *conn) watch() {
	waitErr := make(chan error, 1)
	go func() { waitErr <- c.cs.Wait() }()
	var exited <-chan struct{}
	if c.proc != nil {
		exited = c.proc.exited
	}
	select {
	case err := <-waitErr:
		c.markDead(c.lossReason(err))
	case <-exited:
		// A target may answer and then exit: the session ends when the
		// reader has drained stdout and reached EOF, so that the answer
		// is delivered first.
		t := time.NewTimer(drainGrace)
		defer t.Stop()
		select {
		case err := <-waitErr:
			c.markDead(c.lossReason(err))
		case <-t.C:
			c.markDead(c.lossReason(nil))
		case <-c.ctx.Done():
		}
	case <-c.ctx.Done():
	}
}

// lossReason says why the connection broke; err is how the session ended,
// if known.
func (c *conn) lossReason(err error) string {
	switch {
	case c.stdio != nil && c.stdio.stalled.Load():
		return errWriteStalled.Error()
	case c.stdoutLeft.Load():
		return fmt.Sprintf("the target closed its stdout but is still running (pid %d); the tester closed the connection and ended its process group", c.proc.pid)
	case c.proc != nil && (c.proc.waitExit(200*time.Millisecond) || c.proc.ended() && c.proc.waitExit(exitGrace)):
		// An ended leader is reaped soon, however loaded the machine:
		// wait for its exit status rather than misname the loss.
		return "the target process " + describeExit(c.proc.exit)
	case err != nil && !errors.Is(err, io.EOF):
		return "the session ended: " + err.Error()
	case c.proc != nil:
		return "the target closed its stdout but kept running"
	default:
		return "the server ended the session"
	}
}

// finish closes the connection (once) and describes it as ended. Closing
// the transport comes first so that requests in flight fail at once.
func (c *conn) finish(endedBy string) (*Previous, string) {
	c.finishOnce.Do(func() {
		if endedBy != EndedByLost {
			c.closing.Store(true)
		}
		end := time.Now()
		reason, deadAt := c.deadInfo()
		if endedBy == EndedByLost && !deadAt.IsZero() {
			end = deadAt
		}
		if endedBy != EndedByLost {
			c.stopRequests()
		}
		c.cancel() // ends the SSE stream
		var warnings []string
		if c.stdio != nil {
			_ = c.stdio.Close()
			if c.termWarn != "" {
				warnings = append(warnings, c.scrub(c.termWarn))
			}
		}
		if c.cs != nil {
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = c.cs.Close()
			}()
			select {
			case <-done:
			case <-time.After(sessionCloseTimeout):
				warnings = append(warnings, "the session did not close within "+sessionCloseTimeout.String())
			}
		}
		c.bg.Wait() // the monitor's ping ends with the transport
		if c.httpBase != nil {
			c.httpBase.CloseIdleConnections()
		}
		prev := &Previous{
			ServerURL:       c.static.ServerURL,
			Transport:       c.static.Transport,
			ServerInfo:      c.static.ServerInfo,
			ConnectedAt:     c.connectedAt,
			DisconnectedAt:  end.UTC(),
			DurationSeconds: math.Round(end.Sub(c.connectedAt).Seconds()*100) / 100,
			Statistics:      c.stats.Snapshot(),
			EndedBy:         endedBy,
		}
		if endedBy == EndedByLost {
			prev.Reason = reason
		}
		if c.proc != nil {
			c.proc.waitExit(exitGrace)
			x := c.proc.exitReport(c.scrub)
			prev.Exit = &x
		}
		c.prev, c.warning = prev, strings.Join(warnings, "; ")
	})
	return c.prev, c.warning
}

// info returns the connection's Info with current statistics.
func (c *conn) info() Info {
	in := c.static
	in.Statistics = c.stats.Snapshot()
	in.Status = StatusConnected
	in.Reconnects = c.reconnects
	in.AutoReconnect = c.spec.AutoReconnect
	if c.health != nil {
		h := c.health.snapshot()
		in.Health = &h
	}
	return in
}

// onStdoutEOF runs in the read goroutine when a stdio target's stdout
// ends. A target that exits closes it too; one still running a moment
// later closed it on purpose, and the close that follows kills it, which
// must not be mistaken for the cause.
func (c *conn) onStdoutEOF() {
	if c.closing.Load() || c.proc.waitExit(stdoutEOFGrace) || c.proc.ended() {
		return
	}
	c.stdoutLeft.Store(true)
}

// stdoutEOFGrace is how long a target whose stdout ended has to exit before
// it is said to have closed its stdout while running.
const stdoutEOFGrace = 200 * time.Millisecond

// eofReader calls onEOF once, before returning the first io.EOF of r.
type eofReader struct {
	r     io.Reader
	once  sync.Once
	onEOF func()
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) {
		e.once.Do(e.onEOF)
	}
	return n, err
}

func (c *conn) stderrLines() []string {
	if c.proc == nil {
		return nil
	}
	return scrubLines(c.proc.stderr, c.scrub)
}

func (c *conn) onJunk(line string) {
	line = scrubCut(line, len(line), c.scrub)
	c.events.add(EventStdout, "", c.id, map[string]string{"line": line})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.junkCount++
	c.junk = append(c.junk, line)
	if len(c.junk) > junkKept {
		c.junk = c.junk[len(c.junk)-junkKept:]
	}
}

func (c *conn) junkReport() ([]string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.junk), c.junkCount
}

func (c *conn) onProgress(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
	c.recordProgress(req.Params)
}

func (c *conn) onLog(_ context.Context, req *mcp.LoggingMessageRequest) {
	c.recordLog(req.Params)
}

// onNotification sees a stdio target's notifications in the order they were
// read, before the answer that follows them is delivered: go-sdk runs
// notification handlers on a queue that may lag behind a response, which
// would lose the last progress and log messages of a call.
func (c *conn) onNotification(method string, params json.RawMessage) {
	data := json.RawMessage(c.tgt.secrets.ScrubJSON(params))
	if len(params) == 0 {
		data = nil
	}
	c.events.add(kindOf(method), method, c.id, data)
	switch method {
	case "notifications/progress":
		var p mcp.ProgressNotificationParams
		if json.Unmarshal(params, &p) == nil {
			c.recordProgress(&p)
		}
	case "notifications/message":
		var p mcp.LoggingMessageParams
		if json.Unmarshal(params, &p) == nil {
			c.recordLog(&p)
		}
	}
}

func (c *conn) recordProgress(p *mcp.ProgressNotificationParams) {
	c.mu.Lock()
	col := c.byToken[fmt.Sprint(p.ProgressToken)]
	c.mu.Unlock()
	if col == nil {
		return
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	col.notes.addProgress(Progress{
		Progress: p.Progress,
		Total:    p.Total,
		Message:  c.scrub(p.Message),
		AtMS:     msSince(col.start),
	})
}

func (c *conn) recordLog(p *mcp.LoggingMessageParams) {
	e := logEntry(p, c.tgt.secrets.ScrubJSON)
	c.mu.Lock()
	cols := make([]*collector, 0, len(c.byToken))
	for _, col := range c.byToken {
		cols = append(cols, col)
	}
	c.mu.Unlock()
	for _, col := range cols {
		col.mu.Lock()
		col.notes.addLog(e)
		col.mu.Unlock()
	}
}

func (c *conn) onStderrLine(line string, size int) {
	c.events.add(EventStderr, "", c.id, map[string]string{"line": scrubCut(line, size, c.scrub)})
}

// answeredByKey carries a *string in which a handler of the target's
// requests says who answered.
type answeredByKey struct{}

// recordEvents is a receiving middleware that records every notification
// the target sends, and every request with our answer, in the event log.
func (c *conn) recordEvents(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		params := req.GetParams()
		if strings.HasPrefix(method, "notifications/") {
			if c.stdio == nil { // stdio records them in read order: onNotification
				c.events.add(kindOf(method), method, c.id, c.scrubData(params))
			}
			return next(ctx, method, req)
		}
		answeredBy := "tester"
		res, err := next(context.WithValue(ctx, answeredByKey{}, &answeredBy), method, req)
		data := map[string]any{"params": params, "answered_by": answeredBy}
		if err != nil {
			data["error"] = c.scrub(err.Error())
		} else {
			data["result"] = res
		}
		c.events.add(EventRequest, method, c.id, c.scrubData(data))
		return res, err
	}
}

// scrubData encodes v with every secret masked inside its strings.
func (c *conn) scrubData(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"unencodable": err.Error()})
	}
	return c.tgt.secrets.ScrubJSON(b)
}

// setAnsweredBy records who answered the target's request handled in ctx.
func setAnsweredBy(ctx context.Context, who string) {
	if p, ok := ctx.Value(answeredByKey{}).(*string); ok {
		*p = who
	}
}

func (c *conn) onToolsChanged(context.Context, *mcp.ToolListChangedRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.toolsFresh = false
}

// do runs one request to the target with a deadline, records it in the
// statistics, and turns its failure into one of the package's errors.
func (c *conn) do(ctx context.Context, method string, kind stats.Kind, timeout time.Duration, fn func(context.Context) error) error {
	if timeout <= 0 {
		timeout = c.callTimeout
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stop := context.AfterFunc(c.reqCtx, cancel) // a disconnect ends requests in flight
	defer stop()
	var httpFailures int
	if c.rt != nil {
		httpFailures = c.rt.failures()
	}
	var probe *readProbe
	if c.stdio != nil {
		probe = c.probeReading(timeout - stallGrace)
		defer probe.stop()
	}
	start := time.Now()
	err := fn(rctx)
	if !unrecorded(ctx) {
		c.stats.Record(method, kind, start, time.Since(start), err != nil)
	}
	if err == nil {
		return nil
	}
	if c.rt != nil && rctx.Err() == nil && !c.closing.Load() {
		// go-sdk reports an HTTP failure as a made-up JSON-RPC error; say
		// what the server really answered.
		if herr := c.rt.failureSince(httpFailures); herr != nil {
			return &LostError{Reason: herr.Error(), Err: herr}
		}
	}
	return c.classify(ctx, rctx, method, timeout, time.Since(start), err, probe)
}

// classify explains why a request failed.
// waited is how long the request ran.
func (c *conn) classify(parent, rctx context.Context, method string, timeout, waited time.Duration, err error, probe *readProbe) error {
	var werr *jsonrpc.Error
	switch {
	case c.closing.Load():
		return &LostError{Reason: "the connection was closed while " + method + " was in flight", Err: err}
	case c.stdio != nil && c.stdio.stalled.Load():
		c.markDead(errWriteStalled.Error())
		return &TimeoutError{Method: method, After: timeout, Waited: waited, Lost: true, StderrTail: c.stderrTail()}
	case errors.As(err, &werr) && madeUpError(werr, method, c.maxBytes) != nil:
		return madeUpError(werr, method, c.maxBytes)
	case errors.As(err, &werr):
		return &RPCError{Method: method, Code: werr.Code, Message: c.scrub(werr.Message)}
	case parent.Err() != nil:
		return parent.Err()
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		// go-sdk sends notifications/cancelled. A target that leaves it
		// unread can neither see it nor take another request.
		if c.stdio != nil && c.stoppedReading(probe) {
			c.stdio.stalled.Store(true)
			c.markDead("the target stopped reading its stdin (it may be single-threaded and still busy with the request)")
			return &TimeoutError{Method: method, After: timeout, Waited: waited, Lost: true, StderrTail: c.stderrTail()}
		}
		return &TimeoutError{Method: method, After: timeout, Waited: waited, Cancelled: true, StderrTail: c.stderrTail()}
	}
	// The connection broke under the request (a lost connection is also
	// finished, which cancels rctx).
	if c.stdoutLeft.Load() {
		c.markDead(c.lossReason(err))
		return &LostError{Reason: c.lossReason(err), Err: err}
	}
	if c.proc != nil && (c.proc.hasExited() || c.isDead() || isConnErr(err) || rctx.Err() != nil) && c.proc.waitExit(exitGrace) {
		c.markDead(c.lossReason(nil))
		return &ExitError{Exit: c.proc.exitReport(c.scrub), During: method}
	}
	if c.isDead() || isConnErr(err) || rctx.Err() != nil {
		reason, _ := c.deadInfo()
		if reason == "" {
			reason = c.scrub(err.Error())
		}
		return &LostError{Reason: reason, Err: err}
	}
	return &ProtocolError{Msg: method + " failed", Err: scrubbed{c.scrub(err.Error()), err}}
}

// readProbe notes how many bytes had been written to a stdio target at one
// moment of a request, so that at the request's deadline we can tell at
// once whether the target has read them since.
type readProbe struct {
	timer *time.Timer // nil when taken at once

	mu      sync.Mutex
	at      time.Time // zero until taken
	written int64
}

// probeReading takes a readProbe after d, or at once when d <= 0.
func (c *conn) probeReading(d time.Duration) *readProbe {
	p := &readProbe{}
	take := func() {
		w := c.stdio.written.Load()
		p.mu.Lock()
		defer p.mu.Unlock()
		p.at, p.written = time.Now(), w
	}
	if d <= 0 {
		take()
	} else {
		p.timer = time.AfterFunc(d, take)
	}
	return p
}

func (p *readProbe) stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
}

func (p *readProbe) taken() (time.Time, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.at, p.written
}

// stoppedReading reports whether a stdio target left bytes we wrote unread
// for stallGrace: it is not reading its stdin (it hangs, or it is
// single-threaded and busy), so it can neither see a cancellation nor take
// another request. The probe, taken stallGrace before the deadline, lets
// it answer at the deadline; otherwise it watches for up to stallGrace.
func (c *conn) stoppedReading(p *readProbe) bool {
	p.stop()
	at, w := p.taken()
	if at.IsZero() {
		at, w = time.Now(), c.stdio.written.Load()
	}
	limit := time.Now().Add(stallGrace)
	for {
		unread := c.stdio.unread()
		if unread == 0 {
			return false
		}
		now := time.Now()
		if read := c.stdio.written.Load() - int64(unread); read < w {
			// Some of what was written before the probe is still unread.
			if now.Sub(at) >= stallGrace {
				return true
			}
		} else {
			// The target read that; watch what is pending now.
			if now.After(limit) {
				return false
			}
			at, w = now, c.stdio.written.Load()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isConnErr(err error) bool {
	return errors.Is(err, mcp.ErrConnectionClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func (c *conn) stderrTail() string {
	return strings.Join(c.stderrLines(), "\n")
}

// scrubbed is an error whose message has had secrets removed.
type scrubbed struct {
	msg string
	err error
}

func (s scrubbed) Error() string { return s.msg }
func (s scrubbed) Unwrap() error { return s.err }

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

// callTool calls a tool and gathers the progress and logs that arrive while
// it runs.
func (c *conn) callTool(ctx context.Context, name string, args map[string]any, timeout time.Duration) (*CallResult, error) {
	tool, err := c.findTool(ctx, name, timeout)
	if err != nil {
		var nf *ToolNotFoundError
		if errors.As(err, &nf) {
			c.stats.RecordRefused()
		}
		return nil, err
	}
	token := newID()
	col := &collector{start: time.Now()}
	c.mu.Lock()
	c.byToken[token] = col
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.byToken, token)
		c.mu.Unlock()
	}()

	if args == nil {
		args = map[string]any{}
	}
	// The token goes in through Meta: CallToolParams.SetProgressToken
	// rejects some token types.
	params := &mcp.CallToolParams{Name: name, Arguments: args, Meta: mcp.Meta{"progressToken": token}}
	var res *mcp.CallToolResult
	started := time.Now()
	err = c.do(ctx, "tools/call", stats.KindTool, timeout, func(ctx context.Context) (err error) {
		res, err = c.cs.CallTool(ctx, params)
		return err
	})
	completed := time.Now()
	if err != nil {
		return nil, err
	}
	if c.stdio == nil {
		col.settle()
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	out := &CallResult{
		Result:      res,
		Tool:        tool,
		Progress:    slices.Clone(col.notes.progress),
		Logs:        slices.Clone(col.notes.logs),
		StartedAt:   started.UTC(),
		CompletedAt: completed.UTC(),
		ServerURL:   c.static.ServerURL,
		Statistics:  c.stats.Snapshot(),
	}
	out.ProgressDropped, out.LogsDropped = col.notes.progressDropped, col.notes.logsDropped
	return out, nil
}

// settle gives notifications that arrived just before an HTTP target's
// answer time to pass go-sdk's handler queue, which lags behind responses:
// it waits until none has come for settleQuiet, at most settleMax.
func (col *collector) settle() {
	deadline := time.Now().Add(settleMax)
	for n := col.count(); time.Now().Before(deadline); {
		time.Sleep(settleQuiet)
		if m := col.count(); m == n {
			return
		} else {
			n = m
		}
	}
}

const (
	settleQuiet = 5 * time.Millisecond
	settleMax   = 50 * time.Millisecond
)

func (col *collector) count() int {
	col.mu.Lock()
	defer col.mu.Unlock()
	return col.notes.count()
}

func msSince(t time.Time) float64 {
	return math.Round(float64(time.Since(t))/float64(time.Millisecond)*100) / 100
}
