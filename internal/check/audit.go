package check

import (
	"context"
	"fmt"
	"time"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/audit"
)

// audit runs the audit and records each finding as a check, and each of
// its checks that could not run as a skipped one.
func (r *runner) audit(ctx context.Context) {
	if !r.ready(ctx, GroupAudit, "audit") {
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
