//lint:file-ignore SA1019 sampling and roots are deprecated from protocol 2026-07-28 on, but the tester offers only earlier versions, where targets use them.

// Package check runs unattended checks against an MCP server: it connects,
// lists what the server offers, optionally calls every tool with arguments
// generated from its schema, runs the steps of a spec file with their
// expectations, compares the surface with a snapshot, and reports the
// outcome as text, JSON or JUnit XML. `mcp-test-mcp check` and the
// run_checks tool are built on it.
package check

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/audit"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/oauthflow"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/schemacheck"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// Options configures Run. Only Spec or Target is required.
type Options struct {
	// Spec holds the target, the client answers and the steps; nil means
	// no steps (a surface check).
	Spec *Spec
	// Target replaces the spec's target when set (the command line's).
	Target *Target
	// Client is merged over the spec's client answers: its set fields win.
	Client *Client
	// CallAll calls every tool with generated arguments.
	CallAll bool
	// IncludeDestructive calls tools annotated destructiveHint: true too.
	IncludeDestructive bool
	// Strict fails a generated call that the tool answers isError: true;
	// false makes it a warning, since generated arguments may be wrong.
	Strict bool
	// Skip names tools that CallAll leaves out.
	Skip []string
	// Snapshot is the path of the surface snapshot; empty means none.
	Snapshot string
	// UpdateSnapshot rewrites the snapshot instead of failing on a change.
	UpdateSnapshot bool
	// ConnectTimeout and CallTimeout replace the target's timeouts when
	// positive; zero means the target's, else the Manager's defaults.
	ConnectTimeout, CallTimeout time.Duration
	// Progress receives one line per check as it completes; nil means none.
	Progress io.Writer
	// Logger receives the connection's logs; nil discards them.
	Logger *slog.Logger
	// Manager configures the run's connection manager (the host's timeouts,
	// message cap and command policy); nil means connmgr's defaults. Its
	// Logger is replaced by Logger.
	Manager *connmgr.Options
	// Secrets are extra values to scrub from the report.
	Secrets []string
	// Audit runs the audit (internal/audit) after the other checks; each
	// finding becomes a check, failed at FailOn or worse.
	Audit bool
	// AuditProbe runs the audit's active probes.
	AuditProbe bool
	// FailOn is the least severity that fails a finding; empty means error.
	FailOn audit.Severity
	// OAuth runs the OAuth authorization-code flow when the target answers
	// 401 or 403; nil means none. It needs a streamable HTTP target without
	// a bearer token.
	OAuth *oauthflow.Options
}

// ErrNoTarget is returned by Run when neither the spec nor the options
// name a target.
var ErrNoTarget = errors.New("no target: give a URL, a command after --, or a spec with a target")

// Run connects to the target and runs the checks. The error is non-nil only
// for a problem with the options (ErrNoTarget, oauthflow.ErrInvalid); a target
// that cannot be reached is reported in Report.ConnectError.
func Run(ctx context.Context, opts *Options) (*Report, error) {
	if opts == nil {
		opts = &Options{}
	}
	spec := opts.Spec
	if spec == nil {
		spec = &Spec{}
	}
	target := spec.Target
	if opts.Target != nil {
		target = opts.Target
	}
	if target == nil || (target.URL == "" && target.Command == "") {
		return nil, ErrNoTarget
	}
	if opts.OAuth != nil {
		if err := opts.OAuth.Validate(oauthflow.Target{URL: target.URL, Transport: target.Transport, BearerToken: target.BearerToken, Headers: target.Headers}); err != nil {
			return nil, err
		}
	}
	client := mergeClient(spec.Client, opts.Client)
	r := &runner{
		opts:   opts,
		spec:   spec,
		target: target,
		client: client,
		mgr:    connmgr.New(managerOptions(opts)),
		report: &Report{Name: spec.Name, Target: describeTarget(target), Checks: []Check{}},
	}
	r.secrets.Add(spec.secrets...)
	r.secrets.Add(opts.Secrets...)
	r.secrets.Add(targetSecrets(target)...)
	if opts.OAuth != nil {
		flow, err := oauthflow.New(opts.OAuth, &r.secrets)
		if err != nil {
			return nil, err
		}
		defer flow.Close()
		r.oauth = flow
	}
	defer r.mgr.Close()
	r.run(ctx)
	return r.finish()
}

func managerOptions(opts *Options) *connmgr.Options {
	var o connmgr.Options
	if opts.Manager != nil {
		o = *opts.Manager
	}
	o.Logger = opts.Logger
	return &o
}

type runner struct {
	opts    *Options
	spec    *Spec
	target  *Target
	client  *Client
	mgr     *connmgr.Manager
	report  *Report
	secrets redact.Secrets
	start   time.Time
	// oauth authorizes requests to the target; nil without Options.OAuth.
	// It lives as long as the run, so a reconnect reuses its token.
	oauth *oauthflow.Flow

	info  *connmgr.Info
	tools []*mcp.Tool
	// listFailed says that a list failed, so that there is no surface to
	// snapshot.
	listFailed bool
	// gaveUp says that the target could not be started again after it was
	// lost; the remaining checks are skipped.
	gaveUp bool

	done    int      // checks completed, for progress, connection checks included
	total   int      // checks planned, for progress; 0 until known
	pending []string // progress lines held until total is known

	// stop is the run's ctx.Done(): once it is closed, the checks not yet
	// run are skipped as interrupted, and one that fails is put down to
	// the interruption.
	stop <-chan struct{}
}

// interrupted reports whether the run was cancelled (SIGINT, SIGTERM, or
// the caller's context).
func (r *runner) interrupted() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// skippedInterrupted is the message of a check that did not run, or did not
// finish, because the run was interrupted.
const skippedInterrupted = "skipped: interrupted"

func (r *runner) run(ctx context.Context) {
	r.stop = ctx.Done()
	r.start = time.Now()
	r.report.StartedAt = r.start.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	if !r.connect(ctx, "connect") {
		r.setTotal(r.done)
		return
	}
	steps := r.spec.Steps
	var surf *Surface
	var first []Check
	if len(steps) == 0 || r.opts.CallAll || r.opts.Snapshot != "" {
		surf, first = r.surface(ctx, len(steps) == 0)
	}
	var calls []*mcp.Tool
	if r.opts.CallAll {
		calls = slices.Clone(r.tools)
		slices.SortFunc(calls, func(a, b *mcp.Tool) int { return cmp.Compare(a.Name, b.Name) })
	}
	total := len(first) + len(calls) + len(steps)
	if r.opts.Snapshot != "" {
		total++
	}
	if r.opts.Audit {
		total++ // at least one check; findings add more
	}
	r.setTotal(r.done + total)
	for _, c := range first {
		r.add(c)
	}
	for _, t := range calls {
		if r.interrupted() {
			r.skip(GroupCallAll, "call_tool "+t.Name, skippedInterrupted)
			continue
		}
		if !r.alive(ctx) {
			r.skip(GroupCallAll, "call_tool "+t.Name, "skipped: the target could not be restarted after it was lost")
			continue
		}
		r.callGenerated(ctx, t)
	}
	for i := range steps {
		if r.interrupted() {
			r.skip(GroupSteps, steps[i].title(), skippedInterrupted)
			continue
		}
		if !r.alive(ctx) {
			r.skip(GroupSteps, steps[i].title(), "skipped: the target could not be restarted after it was lost")
			continue
		}
		r.step(ctx, &steps[i])
	}
	if r.opts.Snapshot != "" {
		r.snapshot(surf)
	}
	if r.opts.Audit {
		r.audit(ctx)
	}
}

// audit runs the audit and records each finding as a check, and each of
// its checks that could not run as a skipped one.
func (r *runner) audit(ctx context.Context) {
	if r.interrupted() {
		r.skip(GroupAudit, "audit", skippedInterrupted)
		return
	}
	if !r.alive(ctx) {
		r.skip(GroupAudit, "audit", "skipped: the target could not be restarted after it was lost")
		return
	}
	start := time.Now()
	rep, err := audit.Run(ctx, r.mgr, audit.Options{Probe: r.opts.AuditProbe})
	if err != nil {
		r.add(Check{Name: "audit", Group: GroupAudit, Status: StatusFailed, DurationMS: ms(time.Since(start)), Message: "the audit could not run: " + err.Error()})
		return
	}
	r.report.Audit = rep
	failOn := r.opts.FailOn
	if failOn == "" {
		failOn = audit.SeverityError
	}
	// "no findings" must not read as "all checked".
	r.total += len(rep.Skipped)
	defer func() {
		for _, s := range rep.Skipped {
			r.skip(GroupAudit, "audit "+s.Check, s.Reason)
		}
	}()
	if len(rep.Findings) == 0 {
		r.add(Check{Name: "audit", Group: GroupAudit, Status: StatusPassed, DurationMS: rep.DurationMS, Message: "no findings"})
		return
	}
	r.total += len(rep.Findings) - 1
	for _, f := range rep.Findings {
		c := Check{
			Name:    fmt.Sprintf("%s %s", f.Rule, f.Where),
			Group:   GroupAudit,
			Status:  StatusPassed,
			Message: fmt.Sprintf("%s: %s Fix: %s (%s)", f.Severity, f.Message, f.Fix, f.Spec),
		}
		if (&audit.Report{Findings: []audit.Finding{f}}).Failed(failOn) {
			c.Status = StatusFailed
			c.Failures = []Failure{{Expectation: "audit", Expected: "no finding at " + string(failOn) + " or worse", Actual: string(f.Severity) + ": " + f.Message}}
		}
		r.add(c)
	}
}

// finish tallies the report and scrubs it of secrets.
func (r *runner) finish() (*Report, error) {
	rep := r.report
	if rep.Name == "" {
		rep.Name = rep.Target
		if rep.Server != nil && rep.Server.Name != "" {
			rep.Name = rep.Server.Name
		}
	}
	rep.DurationMS = ms(time.Since(r.start))
	rep.tally()
	if len(r.secrets.Values()) == 0 {
		return rep, nil
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return nil, fmt.Errorf("scrubbing the report: %w", err)
	}
	var clean Report
	if err := json.Unmarshal(r.secrets.ScrubJSON(b), &clean); err != nil {
		return nil, fmt.Errorf("scrubbing the report: %w", err)
	}
	return &clean, nil
}

// connect connects to the target and records the check.
func (r *runner) connect(ctx context.Context, name string) bool {
	spec := r.connSpec()
	start := time.Now()
	info, _, err := r.mgr.Connect(ctx, spec)
	c := Check{Name: name, Group: GroupConnection, Action: "connect", DurationMS: ms(time.Since(start))}
	if err != nil && r.interrupted() {
		r.skip(GroupConnection, name, skippedInterrupted)
		return false
	}
	if err != nil {
		c.Status, c.ErrorType = StatusFailed, ErrorType(err, true)
		msg := err.Error()
		if r.oauth != nil {
			if ferr := r.oauth.Failure(); ferr != nil {
				msg += "; the OAuth flow failed: " + ferr.Error()
			}
		}
		c.Message = fmt.Sprintf("could not connect (%s): %s", c.ErrorType, r.secrets.Scrub(msg))
		// The same words as the message, so that the text report says
		// them once.
		c.Failures = []Failure{{Expectation: "connect", Expected: "the target to start and answer initialize", Actual: c.Message}}
		if r.report.ConnectError == nil {
			r.report.ConnectError = &ConnectError{Type: c.ErrorType, Message: msg, StderrTail: stderrTail(err)}
		}
		r.add(c)
		return false
	}
	r.info = info
	r.report.Transport = info.Transport
	r.report.Target = info.ServerURL
	r.report.Server = &ServerInfo{Name: info.ServerInfo.Name, Version: info.ServerInfo.Version, ProtocolVersion: info.ProtocolVersion}
	c.Status = StatusPassed
	c.Message = fmt.Sprintf("%s %s, protocol %s", info.ServerInfo.Name, info.ServerInfo.Version, info.ProtocolVersion)
	r.add(c)
	return true
}

// alive reports whether the connection is up, reconnecting once if the
// target was lost.
func (r *runner) alive(ctx context.Context) bool {
	if r.mgr.Status().Connected {
		return true
	}
	if r.gaveUp {
		return false
	}
	ok := r.connect(ctx, "reconnect")
	r.gaveUp = !ok
	return ok
}

// surface lists what the target declares (and pings it, if ping is set)
// and returns the surface and the checks, in a fixed order. The requests
// are independent, so they are sent together: a plain check then costs
// little more than its slowest request.
func (r *runner) surface(ctx context.Context, ping bool) (*Surface, []Check) {
	caps := r.info.Capabilities
	sum := &SurfaceSummary{Tools: []string{}, Prompts: []string{}}
	r.report.Surface = sum
	var (
		res     []*mcp.Resource
		tmpl    []*mcp.ResourceTemplate
		prompts []*mcp.Prompt
		jobs    []func() Check
	)
	if caps == nil || caps.Tools != nil {
		jobs = append(jobs, func() Check {
			return listCheck(ActionListTools, func() (int, error) {
				list, err := r.mgr.ListTools(ctx)
				if err != nil {
					return 0, err
				}
				r.tools = list.Tools
				return len(list.Tools), nil
			})
		})
	} else {
		sum.Undeclared = append(sum.Undeclared, "tools")
	}
	if caps != nil && caps.Resources != nil {
		jobs = append(jobs, func() Check {
			return listCheck(ActionListResources, func() (n int, err error) {
				res, err = r.mgr.ListResources(ctx)
				return len(res), err
			})
		}, func() Check {
			return listCheck(ActionListResourceTemplates, func() (n int, err error) {
				tmpl, err = r.mgr.ListResourceTemplates(ctx)
				return len(tmpl), err
			})
		})
	} else {
		sum.Undeclared = append(sum.Undeclared, "resources")
	}
	if caps != nil && caps.Prompts != nil {
		jobs = append(jobs, func() Check {
			return listCheck(ActionListPrompts, func() (n int, err error) {
				prompts, err = r.mgr.ListPrompts(ctx)
				return len(prompts), err
			})
		})
	} else {
		sum.Undeclared = append(sum.Undeclared, "prompts")
	}
	if ping {
		jobs = append(jobs, func() Check { return r.ping(ctx) })
	}
	checks := make([]Check, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Go(func() { checks[i] = job() })
	}
	wg.Wait()
	for _, c := range checks {
		if c.Status == StatusFailed && c.Action != ActionPing {
			r.listFailed = true
		}
	}
	for _, t := range r.tools {
		sum.Tools = append(sum.Tools, t.Name)
	}
	for _, p := range prompts {
		sum.Prompts = append(sum.Prompts, p.Name)
	}
	slices.Sort(sum.Tools)
	slices.Sort(sum.Prompts)
	sum.Resources, sum.ResourceTemplates = len(res), len(tmpl)
	return newSurface(r.info.ServerInfo.Name, r.tools, res, tmpl, prompts, caps), checks
}

// listCheck runs a list request as a check.
func listCheck(action string, fn func() (int, error)) Check {
	start := time.Now()
	n, err := fn()
	c := Check{Name: action, Group: GroupSurface, Action: action, DurationMS: ms(time.Since(start))}
	if err != nil {
		c.Status, c.ErrorType = StatusFailed, ErrorType(err, false)
		c.Message = err.Error()
		c.Failures = []Failure{{Expectation: "success", Expected: "the list", Actual: c.ErrorType + ": " + err.Error()}}
		return c
	}
	c.Status = StatusPassed
	what := map[string]string{
		ActionListTools: "tool", ActionListResources: "resource",
		ActionListResourceTemplates: "resource template", ActionListPrompts: "prompt",
	}[action]
	c.Message = fmt.Sprintf("%d %s", n, plural(n, what, what+"s"))
	return c
}

func (r *runner) ping(ctx context.Context) Check {
	start := time.Now()
	rtt, err := r.mgr.Ping(ctx, 0)
	c := Check{Name: ActionPing, Group: GroupSurface, Action: ActionPing, DurationMS: ms(time.Since(start))}
	if err != nil {
		c.Status, c.ErrorType = StatusFailed, ErrorType(err, false)
		c.Message = err.Error()
		c.Failures = []Failure{{Expectation: "success", Expected: "a ping answer", Actual: c.ErrorType + ": " + err.Error()}}
		return c
	}
	c.Status = StatusPassed
	c.Message = fmt.Sprintf("answered in %s", fmtMS(ms(rtt)))
	return c
}

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
		c.Status, c.ErrorType = StatusFailed, "tool_error"
		c.Message = "answered isError: true with generated arguments: " + firstLine(obs.text)
		c.Failures = []Failure{{Expectation: "is_error", Expected: "false (with generated arguments " + show(args) + ")", Actual: "true: " + show(obs.text)}}
	case obs.isError:
		c.Status, c.ErrorType = StatusWarning, "tool_error"
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
	if typ != "timeout" && typ != "connection_lost" && typ != "not_connected" {
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

// observation is what a request came back with, in a form expectations can
// be checked against.
type observation struct {
	err      error
	errType  string
	isError  bool
	text     string
	struc    any
	hasStruc bool
	types    []string
	duration time.Duration
	schema   schemaVerdict
}

func (r *runner) callTool(ctx context.Context, name string, args map[string]any, timeout time.Duration) observation {
	start := time.Now()
	res, err := r.mgr.CallTool(ctx, name, args, timeout)
	obs := observation{duration: time.Since(start)}
	if err != nil {
		obs.err, obs.errType = err, ErrorType(err, false)
		return obs
	}
	obs.duration = res.CompletedAt.Sub(res.StartedAt)
	cr := res.Result
	if cr == nil {
		cr = &mcp.CallToolResult{}
	}
	obs.isError = cr.IsError
	obs.text = joinText(cr.Content)
	obs.types = contentTypes(cr.Content)
	if cr.StructuredContent != nil {
		obs.struc, obs.hasStruc = plain(cr.StructuredContent), true
	}
	obs.schema = checkOutput(res.Tool, cr)
	return obs
}

func describeObs(o observation) string {
	var parts []string
	if len(o.types) > 0 {
		parts = append(parts, strings.Join(o.types, ", "))
	}
	if o.hasStruc {
		parts = append(parts, "structured content")
	}
	if o.schema.checked {
		parts = append(parts, "matches its outputSchema")
	}
	if len(parts) == 0 {
		return "ok"
	}
	return "ok: " + strings.Join(parts, "; ")
}

// step runs one step of the spec.
func (r *runner) step(ctx context.Context, st *Step) {
	timeout := seconds2(st.TimeoutSeconds)
	var obs observation
	start := time.Now()
	switch st.action {
	case ActionCallTool:
		obs = r.callTool(ctx, st.CallTool, st.Arguments, timeout)
	case ActionReadResource:
		res, err := r.mgr.ReadResource(ctx, st.ReadResource, timeout)
		obs = r.fromRead(res, err)
	case ActionGetPrompt:
		args, err := PromptArguments(st.Arguments)
		if err != nil {
			obs = observation{err: err}
			break
		}
		if args == nil {
			args = map[string]string{}
		}
		res, err := r.mgr.GetPrompt(ctx, st.GetPrompt, args, timeout)
		obs = r.fromPrompt(res, err)
	case ActionPing:
		rtt, err := r.mgr.Ping(ctx, timeout)
		obs = observation{struc: map[string]any{"round_trip_ms": ms(rtt)}, hasStruc: err == nil}
		obs.err = err
	default:
		obs = r.fromList(ctx, st.action)
	}
	if obs.err != nil {
		obs.errType = ErrorType(obs.err, false)
	}
	if st.action != ActionCallTool || obs.duration == 0 {
		obs.duration = time.Since(start)
	}
	c := Check{Name: st.title(), Group: GroupSteps, Action: st.action, Line: st.line, DurationMS: ms(obs.duration)}
	if st.Arguments != nil {
		c.Arguments = st.Arguments
	}
	exp := st.Expect
	if exp == nil {
		exp = &Expect{}
	}
	c.Failures = evaluate(exp, st.action, obs)
	c.ErrorType = obs.errType
	if obs.isError && obs.err == nil {
		c.ErrorType = "tool_error"
	}
	switch {
	case len(c.Failures) > 0:
		c.Status = StatusFailed
		var what []string
		for _, f := range c.Failures {
			what = append(what, f.Expectation)
		}
		c.Message = "not as expected: " + strings.Join(what, ", ")
	case obs.err != nil:
		c.Status = StatusPassed
		c.Message = "failed as expected: " + obs.errType
	default:
		c.Status = StatusPassed
		c.Message = describeObs(obs)
	}
	r.add(c)
}

func (r *runner) fromRead(res *mcp.ReadResourceResult, err error) observation {
	if err != nil {
		return observation{err: err}
	}
	obs := observation{hasStruc: true}
	var texts []string
	items := []any{}
	for _, c := range res.Contents {
		if c == nil {
			continue
		}
		item := map[string]any{"uri": c.URI, "mime_type": c.MIMEType}
		if c.Blob != nil {
			item["size_bytes"] = len(c.Blob)
			if !containsString(obs.types, "blob") {
				obs.types = append(obs.types, "blob")
			}
		} else {
			item["text"] = c.Text
			texts = append(texts, c.Text)
			if !containsString(obs.types, "text") {
				obs.types = append(obs.types, "text")
			}
		}
		items = append(items, item)
	}
	obs.text = strings.Join(texts, "\n")
	obs.struc = plain(map[string]any{"contents": items})
	return obs
}

func (r *runner) fromPrompt(res *connmgr.PromptResult, err error) observation {
	if err != nil {
		return observation{err: err}
	}
	obs := observation{hasStruc: true}
	var blocks []mcp.Content
	msgs := []any{}
	if res.Result != nil {
		for _, m := range res.Result.Messages {
			if m == nil {
				continue
			}
			blocks = append(blocks, m.Content)
			msgs = append(msgs, map[string]any{"role": string(m.Role), "content": m.Content})
		}
		obs.struc = plain(map[string]any{"description": res.Result.Description, "messages": msgs})
	}
	obs.text = joinText(blocks)
	obs.types = contentTypes(blocks)
	return obs
}

func (r *runner) fromList(ctx context.Context, action string) observation {
	var names []string
	var items any
	var err error
	switch action {
	case ActionListTools:
		var list *connmgr.ToolList
		if list, err = r.mgr.ListTools(ctx); err == nil {
			for _, t := range list.Tools {
				names = append(names, t.Name)
			}
			items = list.Tools
		}
	case ActionListResources:
		var list []*mcp.Resource
		if list, err = r.mgr.ListResources(ctx); err == nil {
			for _, x := range list {
				names = append(names, x.URI)
			}
			items = list
		}
	case ActionListResourceTemplates:
		var list []*mcp.ResourceTemplate
		if list, err = r.mgr.ListResourceTemplates(ctx); err == nil {
			for _, x := range list {
				names = append(names, x.URITemplate)
			}
			items = list
		}
	case ActionListPrompts:
		var list []*mcp.Prompt
		if list, err = r.mgr.ListPrompts(ctx); err == nil {
			for _, x := range list {
				names = append(names, x.Name)
			}
			items = list
		}
	}
	if err != nil {
		return observation{err: err}
	}
	if names == nil {
		names = []string{}
	}
	return observation{
		text:     strings.Join(names, "\n"),
		struc:    plain(map[string]any{"count": len(names), "names": names, "items": items}),
		hasStruc: true,
	}
}

// evaluate checks an observation against a step's expectations.
func evaluate(e *Expect, action string, o observation) []Failure {
	var fails []Failure
	fail := func(exp, want, got string) { fails = append(fails, Failure{exp, want, got}) }
	wantToolError := e.ErrorType == "tool_error"
	if o.err != nil {
		switch {
		case e.ErrorType == "":
			fail("success", "the step to succeed", o.errType+": "+o.err.Error())
		case e.ErrorType != o.errType:
			fail("error_type", e.ErrorType, o.errType+": "+o.err.Error())
		}
		if e.MaxMS > 0 && ms(o.duration) > e.MaxMS {
			fail("max_ms", fmt.Sprintf("at most %g ms", e.MaxMS), fmtMS(ms(o.duration)))
		}
		return fails
	}
	if e.ErrorType != "" && !(wantToolError && o.isError) {
		fail("error_type", e.ErrorType, "the step succeeded: "+show(firstLine(o.text)))
	}
	if action == ActionCallTool {
		want := wantToolError
		if e.IsError != nil {
			want = *e.IsError
		}
		if o.isError != want {
			got := "false"
			if o.isError {
				got = "true: " + show(firstLine(o.text))
			}
			fail("is_error", fmt.Sprint(want), got)
		}
		switch v := e.OutputSchemaValid; {
		case v != nil && !o.schema.checked:
			fail("output_schema_valid", fmt.Sprint(*v), "not checked: the tool declares no outputSchema or returned an error without structured content")
		case v != nil && *v != o.schema.valid:
			fail("output_schema_valid", fmt.Sprint(*v), fmt.Sprintf("%v %s", o.schema.valid, strings.Join(o.schema.errors, "; ")))
		case v == nil && o.schema.checked && !o.schema.valid:
			fail("output_schema_valid", "structured content that matches the outputSchema", strings.Join(o.schema.errors, "; "))
		}
	}
	for _, s := range e.TextContains {
		if !strings.Contains(o.text, s) {
			fail("text_contains", show(s), "text "+show(o.text))
		}
	}
	for _, re := range e.TextMatches {
		if !regexp.MustCompile(re).MatchString(o.text) {
			fail("text_matches", "/"+re+"/", "text "+show(o.text))
		}
	}
	for _, p := range slices.Sorted(mapsKeys(e.Structured)) {
		// Without structured content nothing is at any path, which is what
		// exists: false and ne expect.
		var got any
		found := false
		if o.hasStruc {
			got, found = lookup(o.struc, p)
		}
		if ok, want := compareValue(e.Structured[p], got, found); !ok {
			actual := "nothing at that path"
			switch {
			case !o.hasStruc:
				actual = "no structured content"
			case found:
				actual = show(got)
			}
			fail("structured."+p, want, actual)
		}
	}
	if e.ContentTypes != nil {
		want := slices.Clone([]string(e.ContentTypes))
		got := slices.Clone(o.types)
		slices.Sort(want)
		slices.Sort(got)
		want, got = slices.Compact(want), slices.Compact(got)
		if !slices.Equal(want, got) {
			fail("content_types", show(want), show(got))
		}
	}
	if e.MaxMS > 0 && ms(o.duration) > e.MaxMS {
		fail("max_ms", fmt.Sprintf("at most %g ms", e.MaxMS), fmtMS(ms(o.duration)))
	}
	return fails
}

func (r *runner) snapshot(surf *Surface) {
	start := time.Now()
	c := Check{Name: "snapshot " + path.Base(r.opts.Snapshot), Group: GroupSnapshot, Action: "snapshot"}
	if r.interrupted() {
		// The lists may be cut short: neither compare nor write them.
		r.skip(GroupSnapshot, c.Name, skippedInterrupted)
		return
	}
	if surf == nil || r.listFailed {
		r.skip(GroupSnapshot, c.Name, "skipped: the surface could not be listed")
		return
	}
	d, err := compareSnapshot(r.opts.Snapshot, surf, r.opts.UpdateSnapshot)
	c.DurationMS = ms(time.Since(start))
	switch {
	case err != nil:
		c.Status, c.Message = StatusFailed, err.Error()
		c.Failures = []Failure{{Expectation: "snapshot", Expected: "a readable snapshot", Actual: err.Error()}}
	case d.Status == "breaking":
		r.report.Snapshot = d
		c.Status = StatusFailed
		c.Message = fmt.Sprintf("%d breaking %s since the snapshot", len(d.Breaking), plural(len(d.Breaking), "change", "changes"))
		for _, b := range d.Breaking {
			c.Failures = append(c.Failures, Failure{Expectation: "snapshot", Expected: "no breaking change", Actual: b})
		}
		c.Notes = append(c.Notes, d.Additive...)
	default:
		r.report.Snapshot = d
		c.Status = StatusPassed
		switch d.Status {
		case "created":
			c.Message = "snapshot written to " + d.Path
		case "updated":
			c.Message = "snapshot rewritten"
		case "unchanged":
			c.Message = "the surface matches the snapshot"
		default:
			c.Message = fmt.Sprintf("%d additive %s", len(d.Additive)+len(d.Changed), plural(len(d.Additive)+len(d.Changed), "change", "changes"))
		}
		c.Notes = append(append(c.Notes, d.Breaking...), d.Additive...)
		c.Notes = append(c.Notes, d.Changed...)
	}
	r.add(c)
}

func (r *runner) skip(group, name, why string) {
	r.add(Check{Name: name, Group: group, Status: StatusSkipped, Message: why})
}

// reportInterrupt marks the report interrupted when the run was, and turns
// a failure that the interruption caused into a skip.
func (r *runner) reportInterrupt(c *Check) {
	if !r.interrupted() {
		return
	}
	r.report.Interrupted = true
	if c.Status == StatusFailed {
		c.Status, c.Message, c.Failures, c.ErrorType = StatusSkipped, skippedInterrupted, nil, ""
	}
}

// add records a check and prints its progress line.
func (r *runner) add(c Check) {
	r.reportInterrupt(&c)
	c.Message = r.secrets.Scrub(c.Message)
	for i := range c.Failures {
		c.Failures[i].Actual = r.secrets.Scrub(c.Failures[i].Actual)
	}
	r.report.Checks = append(r.report.Checks, c)
	if r.opts.Progress == nil {
		return
	}
	status := map[string]string{StatusPassed: "ok", StatusFailed: "FAIL", StatusSkipped: "skip", StatusWarning: "WARN"}[c.Status]
	line := fmt.Sprintf("%s … %s %s", visible(c.Name), status, fmtMS(c.DurationMS))
	if c.Status != StatusPassed {
		line += ": " + visible(firstLine(c.Message))
	}
	line = r.secrets.Scrub(line)
	r.done++
	if c.Group == GroupConnection && r.total > 0 {
		// A reconnect is one more check than was planned.
		r.total++
	}
	if r.total == 0 {
		r.pending = append(r.pending, line)
		return
	}
	fmt.Fprintf(r.opts.Progress, "[%d/%d] %s\n", r.done, r.total, line)
}

// setTotal sets the number of checks and prints the lines held until then.
func (r *runner) setTotal(n int) {
	r.total = max(n, 1)
	if r.opts.Progress == nil {
		return
	}
	for i, line := range r.pending {
		fmt.Fprintf(r.opts.Progress, "[%d/%d] %s\n", r.done-len(r.pending)+i+1, r.total, line)
	}
	r.pending = nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return textcut.Mark(s, 160)
}

func ms(d time.Duration) float64 {
	return float64(d.Microseconds()/10) / 100
}

func seconds2(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func mapsKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// answeredBy is recorded with the target's requests that a check answers.
const answeredBy = "check_options"

// side turns the client answers into connmgr's handlers.
func (c *Client) side() connmgr.ClientSide {
	var side connmgr.ClientSide
	if c == nil {
		return side
	}
	if c.SamplingResponse != nil {
		text := *c.SamplingResponse
		side.Sampling = func(context.Context, *mcp.CreateMessageParams) (*mcp.CreateMessageResult, string, error) {
			return &mcp.CreateMessageResult{
				Content: &mcp.TextContent{Text: text}, Model: "mcp-test-mcp", Role: "assistant", StopReason: "endTurn",
			}, answeredBy, nil
		}
	}
	if c.ElicitationAction != "" {
		action := c.ElicitationAction
		var content map[string]any
		if c.ElicitationContent != nil {
			content, _ = plain(c.ElicitationContent).(map[string]any)
		}
		side.Elicitation = func(_ context.Context, p *mcp.ElicitParams) (*mcp.ElicitResult, string, error) {
			return ElicitAnswer(action, content, p), answeredBy, nil
		}
	}
	if c.Roots != nil {
		side.Roots = make([]*mcp.Root, 0, len(c.Roots))
		for _, u := range c.Roots {
			side.Roots = append(side.Roots, &mcp.Root{URI: u, Name: path.Base(u)})
		}
	}
	return side
}
