// Recording what the target sends: notifications, log and progress
// messages for the call in flight, requests with our answers, and stdout
// lines that are not JSON-RPC.

package connmgr

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// collector gathers what arrives while one call runs.
type collector struct {
	start time.Time
	mu    sync.Mutex
	notes callNotes // guarded by mu
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
