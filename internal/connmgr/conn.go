package connmgr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	// drainGrace is how long stdout may stay silent after the target
	// exited (see watch).
	drainGrace time.Duration
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
	health     *monitor // nil when the health monitor is disabled
	// bg owns the connection's goroutines (watch, its session waiter, the
	// health monitor); finish waits for them.
	bg group

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
	onDead     func(*conn)   // must not block: markDead runs in c's own goroutines

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

// scrub masks the connection's secrets in text that came from the target
// (stderr and stdout lines, error messages), however it escaped them.
func (c *conn) scrub(s string) string { return c.tgt.secrets.ScrubEscaped(s) }

// isDead reports whether the connection broke under us. A stdio target's
// exit alone does not make it dead: its last answers may still be in the
// pipe (see watch).
func (c *conn) isDead() bool { return isClosed(c.dead) }

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
		c.onDead(c)
	})
}

// drainGrace is how long a stdio target's stdout may stay silent after the
// target exited (held open by a child it left behind) before the connection
// is declared lost anyway. While the tester is still reading, decoding or
// delivering what the target wrote before it exited (an 8 MB answer takes
// seconds on a loaded machine), the wait goes on, up to drainMax.
const (
	drainGrace = 2 * time.Second
	drainMax   = 15 * time.Second
)

// startWatch runs watch in a goroutine of c's, once c is the current
// connection; finish waits for it.
func (c *conn) startWatch() { c.bg.start(c.watch) }

// watch turns the end of the session or of the process into markDead. It
// returns when the connection is finished.
func (c *conn) watch() {
	waitErr := make(chan error, 1)
	c.bg.start(func() { waitErr <- c.cs.Wait() })
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
		giveUp := time.Now().Add(drainMax)
		t := time.NewTimer(c.drainGrace)
		defer t.Stop()
		for {
			select {
			case err := <-waitErr:
				c.markDead(c.lossReason(err))
				return
			case <-t.C:
				if c.stdio != nil && time.Now().Before(giveUp) {
					if idle := c.stdio.idleFor(); idle < c.drainGrace {
						t.Reset(c.drainGrace - idle)
						continue
					}
				}
				c.markDead(c.lossReason(nil))
				return
			case <-c.ctx.Done():
				return
			}
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
		if c.cs != nil && !returnsWithin(func() { _ = c.cs.Close() }, sessionCloseTimeout) {
			warnings = append(warnings, "the session did not close within "+sessionCloseTimeout.String())
		}
		// The monitor's ping and the session waiter end with the transport.
		if !c.bg.wait(sessionCloseTimeout) {
			warnings = append(warnings, "the connection's goroutines did not end within "+sessionCloseTimeout.String())
		}
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
