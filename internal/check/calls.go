package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/schemacheck"
)

// callGenerated calls a tool with arguments generated from its schema.
// The arguments are made up, so a tool that answers isError: true is a
// warning (a failure with Options.Strict). What fails is what no
// arguments excuse: a crash, a hang, a protocol error, an outputSchema
// violation, or a target that stops answering after the call.
func (r *runner) callGenerated(ctx context.Context, t *mcp.Tool) {
	name := "call_tool " + t.Name
	if slices.Contains(r.opts.Skip, t.Name) {
		r.skip(GroupCallAll, name, "skipped: named by --skip")
		return
	}
	if a := t.Annotations; a != nil && a.DestructiveHint != nil && *a.DestructiveHint && !r.opts.IncludeDestructive {
		r.skip(GroupCallAll, name, "skipped: annotated destructiveHint: true (pass --include-destructive to call it)")
		return
	}
	if vis, ok := appOnly(t); ok {
		r.skip(GroupCallAll, name, fmt.Sprintf("skipped: the app calls it, not the model (_meta.ui.visibility is %s)", show(vis)))
		return
	}
	args, err := schemacheck.Arguments(t.InputSchema)
	if _, ok := errors.AsType[*schemacheck.UnsatisfiableError](err); ok {
		r.skip(GroupCallAll, name, "skipped: no arguments that satisfy its inputSchema could be generated: "+err.Error())
		return
	}
	if err != nil {
		r.skip(GroupCallAll, name, "skipped: "+err.Error())
		return
	}
	obs := r.callTool(ctx, t.Name, args, 0)
	c := Check{Name: name, Group: GroupCallAll, Action: ActionCallTool, DurationMS: ms(obs.duration), Arguments: args}
	c.Notes = append(c.Notes, "called with generated arguments "+show(args))
	switch {
	case obs.err != nil:
		c.Status, c.ErrorType = StatusFailed, obs.errType
		c.Message = obs.errType + ": " + obs.err.Error()
		c.Failures = []Failure{{Expectation: "success", Expected: "an answer", Actual: c.Message}}
	case obs.schema.checked && !obs.schema.valid:
		c.Status = StatusFailed
		c.Message = "the structured content does not match the tool's outputSchema"
		c.Failures = []Failure{{Expectation: "output_schema_valid", Expected: "structured content that matches the outputSchema", Actual: strings.Join(obs.schema.errors, "; ")}}
	case obs.isError && r.opts.Strict:
		c.Status, c.ErrorType = StatusFailed, string(errtype.ToolError)
		c.Message = "answered isError: true with generated arguments: " + firstLine(obs.text)
		c.Failures = []Failure{{Expectation: "is_error", Expected: "false (with generated arguments " + show(args) + ")", Actual: "true: " + show(obs.text)}}
	case obs.isError:
		c.Status, c.ErrorType = StatusWarning, string(errtype.ToolError)
		c.Message = "answered isError: true to generated arguments, which may be wrong: " + firstLine(obs.text)
	default:
		c.Status = StatusPassed
		c.Message = describeObs(obs)
	}
	if obs.err == nil {
		r.stillAnswers(ctx, &c)
	}
	r.add(c)
}

// stillAnswersTimeout bounds the ping after each generated call.
const stillAnswersTimeout = 5 * time.Second

// stillAnswers pings the target after a call that it answered. A target
// that no longer answers (it stopped reading, or died just after
// answering) fails this call, not the next tool's; the connection is then
// closed, so that the next check reconnects.
func (r *runner) stillAnswers(ctx context.Context, c *Check) {
	timeout := stillAnswersTimeout
	if r.opts.CallTimeout > 0 {
		timeout = min(timeout, r.opts.CallTimeout)
	}
	_, err := r.mgr.Ping(ctx, timeout)
	if err == nil || r.interrupted() {
		return
	}
	// An error answer (a target without ping) is an answer.
	typ := ErrorType(err, false)
	if typ != string(errtype.Timeout) && typ != string(errtype.ConnectionLost) && typ != string(errtype.NotConnected) {
		return
	}
	if r.mgr.Status().Connected {
		// Closing a target that stopped reading does not wait for it.
		_, _, _ = r.mgr.Disconnect(ctx)
	}
	c.Status, c.ErrorType = StatusFailed, typ
	c.Message = "the target stopped answering after this call: " + err.Error()
	c.Failures = []Failure{{Expectation: "still_answers", Expected: "the target to answer a ping after the call", Actual: c.Message}}
}

// appOnly reports whether an MCP Apps host shows the tool to its app only:
// _meta.ui.visibility is present and does not include "model". Such a tool
// is not meant to be called with made-up arguments.
func appOnly(t *mcp.Tool) (visibility []any, ok bool) {
	ui, _ := t.Meta["ui"].(map[string]any)
	if ui == nil {
		return nil, false
	}
	raw, present := ui["visibility"]
	if !present {
		return nil, false
	}
	vis, _ := raw.([]any)
	for _, v := range vis {
		if v == "model" {
			return nil, false
		}
	}
	if vis == nil {
		vis = []any{raw}
	}
	return vis, true
}
