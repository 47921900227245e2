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
	"slices"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/audit"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/oauthflow"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
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
		if err := opts.OAuth.Validate(target.Spec()); err != nil {
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
		if r.ready(ctx, GroupCallAll, "call_tool "+t.Name) {
			r.callGenerated(ctx, t)
		}
	}
	for i := range steps {
		if r.ready(ctx, GroupSteps, steps[i].title()) {
			r.step(ctx, &steps[i])
		}
	}
	if r.opts.Snapshot != "" {
		r.snapshot(surf)
	}
	if r.opts.Audit {
		r.audit(ctx)
	}
}

// ready reports whether the next check can run on a live connection. If
// not, the check is recorded as skipped: the run was interrupted, or the
// target was lost and could not be started again.
func (r *runner) ready(ctx context.Context, group, name string) bool {
	if r.interrupted() {
		r.skip(group, name, skippedInterrupted)
		return false
	}
	if !r.alive(ctx) {
		r.skip(group, name, "skipped: the target could not be restarted after it was lost")
		return false
	}
	return true
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
