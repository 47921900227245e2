package check

import (
	"context"
	"fmt"
	"time"
)

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
