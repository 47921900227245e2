// Requests to the target: deadlines, statistics, telling why one failed
// (timeout, lost connection, a target that stopped reading), and tools/call
// with the notifications that arrive while it runs.

package connmgr

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/stats"
)

// do runs one request to the target with a deadline, records it in the
// statistics, and turns its failure into one of the package's errors.
func (c *conn) do(ctx context.Context, method string, kind stats.Kind, timeout time.Duration, fn func(context.Context) error) error {
	timeout = orDefault(timeout, c.callTimeout)
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
	capture := &rawCapture{}
	started := time.Now()
	err = c.do(context.WithValue(ctx, rawCaptureKey{}, capture), "tools/call", stats.KindTool, timeout, func(ctx context.Context) (err error) {
		res, err = c.cs.CallTool(ctx, params)
		return err
	})
	completed := time.Now()
	if err != nil {
		return nil, err
	}
	raw, _, ok := capture.get()
	if !ok || len(raw) == 0 {
		// Not over stdio: go-sdk's decoding is all there is.
		if raw, err = json.Marshal(res); err != nil {
			return nil, &ProtocolError{Msg: "encoding the tools/call result again", Err: err}
		}
	}
	if c.stdio == nil {
		col.settle()
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	out := &CallResult{
		Result:      res,
		Raw:         raw,
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
