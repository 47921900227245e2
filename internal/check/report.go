package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/audit"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exitcode"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// Check statuses.
const (
	StatusPassed  = "passed"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
	// StatusWarning is a check that did not fail but deserves a look: a
	// tool that answered isError: true to generated arguments, which may
	// be wrong. It does not fail the run.
	StatusWarning = "warning"
)

// Check groups: where a check comes from. Each is a JUnit testsuite.
const (
	GroupConnection = "connection"
	GroupSurface    = "surface"
	GroupCallAll    = "call_all"
	GroupSteps      = "steps"
	GroupSnapshot   = "snapshot"
	GroupAudit      = "audit"
)

var groups = []string{GroupConnection, GroupSurface, GroupCallAll, GroupSteps, GroupSnapshot, GroupAudit}

// Report is the outcome of a run.
type Report struct {
	Name       string      `json:"name"`
	Target     string      `json:"target" jsonschema:"the target, redacted"`
	Transport  string      `json:"transport,omitempty"`
	Server     *ServerInfo `json:"server,omitempty"`
	StartedAt  string      `json:"started_at" jsonschema:"RFC 3339, UTC"`
	DurationMS float64     `json:"duration_ms"`
	// Passed is true when no check failed and the run was not interrupted.
	Passed bool `json:"passed"`
	// Interrupted says that the run was cancelled (SIGINT, SIGTERM) before
	// every check ran; those that did not are skipped.
	Interrupted bool    `json:"interrupted,omitempty"`
	Summary     Summary `json:"summary"`
	// Surface is what the target offers, when it was listed.
	Surface *SurfaceSummary `json:"surface,omitempty"`
	Checks  []Check         `json:"checks"`
	// ConnectError says why the target could not be started or reached.
	ConnectError *ConnectError `json:"connect_error,omitempty"`
	Snapshot     *SnapshotDiff `json:"snapshot,omitempty"`
	// Audit is the audit's full report, when --audit ran.
	Audit *audit.Report `json:"audit,omitempty"`
}

// ServerInfo is the target's self-description.
type ServerInfo struct {
	Name            string `json:"name"`
	Version         string `json:"version"`
	ProtocolVersion string `json:"protocol_version"`
}

// Summary counts the checks.
type Summary struct {
	Total   int `json:"total"`
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	// Warnings counts the checks with status warning; they are not in
	// Passed.
	Warnings int `json:"warnings"`
}

// SurfaceSummary counts what the target offers.
type SurfaceSummary struct {
	Tools             []string `json:"tools"`
	Resources         int      `json:"resources"`
	ResourceTemplates int      `json:"resource_templates"`
	Prompts           []string `json:"prompts"`
	// Undeclared lists the capabilities (resources, prompts) the target did
	// not declare, so their lists were not requested.
	Undeclared []string `json:"undeclared,omitempty"`
}

// ConnectError says why the target could not be started or reached.
type ConnectError struct {
	Type       string `json:"type"`
	Message    string `json:"message"`
	StderrTail string `json:"stderr_tail,omitempty"`
}

// Check is one testcase: a step of the spec, or one of the checks the
// runner makes on its own (connect, the lists, ping, a generated call, the
// snapshot).
type Check struct {
	Name       string  `json:"name"`
	Group      string  `json:"group"`
	Action     string  `json:"action,omitempty"`
	Status     string  `json:"status"`
	DurationMS float64 `json:"duration_ms"`
	// Message says in one sentence what happened.
	Message  string    `json:"message"`
	Failures []Failure `json:"failures,omitempty"`
	Notes    []string  `json:"notes,omitempty"`
	// Line is the step's line in the spec.
	Line      int    `json:"line,omitempty"`
	Arguments any    `json:"arguments,omitempty"`
	ErrorType string `json:"error_type,omitempty"`
}

// Failure is one expectation that was not met.
type Failure struct {
	Expectation string `json:"expectation"`
	Expected    string `json:"expected"`
	Actual      string `json:"actual"`
}

func (f Failure) String() string {
	return fmt.Sprintf("%s: expected %s, got %s", f.Expectation, f.Expected, f.Actual)
}

// ExitCode is the exit code of `mcp-test-mcp check` for this report:
// exitcode.OK when every check passed, exitcode.Failed when one failed
// (before an interruption, if there was one), exitcode.CannotConnect when
// the target could not be started or reached, and exitcode.Interrupted when
// the run was interrupted before any check failed.
func (r *Report) ExitCode() int {
	switch {
	case r.ConnectError != nil:
		return exitcode.CannotConnect
	case r.Summary.Failed > 0:
		return exitcode.Failed
	case r.Interrupted:
		return exitcode.Interrupted
	case !r.Passed:
		return exitcode.Failed
	}
	return exitcode.OK
}

// tally fills in Summary and Passed from Checks.
func (r *Report) tally() {
	r.Summary = Summary{Total: len(r.Checks)}
	for _, c := range r.Checks {
		switch c.Status {
		case StatusPassed:
			r.Summary.Passed++
		case StatusFailed:
			r.Summary.Failed++
		case StatusSkipped:
			r.Summary.Skipped++
		case StatusWarning:
			r.Summary.Warnings++
		}
	}
	r.Passed = r.Summary.Failed == 0 && r.ConnectError == nil && !r.Interrupted
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// TextOptions configures WriteText.
type TextOptions struct {
	// Color adds ANSI colours; false means plain text.
	Color bool
}

// WriteText writes the report for a person to read. Every string that came
// from the target is shown through visible, so that its control characters
// appear as escapes instead of acting on the terminal.
func (r *Report) WriteText(w io.Writer, opts *TextOptions) error {
	color := opts != nil && opts.Color
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	var b strings.Builder
	title := visible(r.Name)
	if r.Server != nil {
		title = fmt.Sprintf("%s %s (protocol %s)", visible(r.Server.Name), visible(r.Server.Version), visible(r.Server.ProtocolVersion))
	}
	fmt.Fprintf(&b, "%s\n", paint("1", "mcp-test-mcp check: "+title))
	fmt.Fprintf(&b, "target: %s", visible(r.Target))
	if r.Transport != "" {
		fmt.Fprintf(&b, " (%s)", r.Transport)
	}
	b.WriteString("\n\n")
	width := 0
	for _, c := range r.Checks {
		width = max(width, len([]rune(visible(c.Name))))
	}
	width = min(width, 48)
	for _, c := range r.Checks {
		mark := paint("32", "✓")
		switch c.Status {
		case StatusFailed:
			mark = paint("31", "✗")
		case StatusSkipped:
			mark = paint("33", "-")
		case StatusWarning:
			mark = paint("33", "!")
		}
		name := visible(c.Name)
		if pad := width - len([]rune(name)); pad > 0 {
			name += strings.Repeat(" ", pad)
		}
		fmt.Fprintf(&b, "  %s %s %8s  %s\n", mark, name, fmtMS(c.DurationMS), visible(c.Message))
		indent := "      "
		if c.Line > 0 && c.Status == StatusFailed {
			fmt.Fprintf(&b, "%sspec line %d\n", indent, c.Line)
		}
		for _, f := range c.Failures {
			if len(c.Failures) == 1 && f.Actual == c.Message {
				continue // the message says it all
			}
			fmt.Fprintf(&b, "%s%s\n", indent, paint("31", visible(f.Expectation)))
			fmt.Fprintf(&b, "%s  expected: %s\n", indent, visible(f.Expected))
			fmt.Fprintf(&b, "%s  got:      %s\n", indent, visible(f.Actual))
		}
		if c.Status == StatusPassed && c.Group == GroupCallAll {
			continue // the generated arguments matter only when a call fails
		}
		for _, n := range c.Notes {
			fmt.Fprintf(&b, "%s%s\n", indent, paint("2", visible(n)))
		}
	}
	// The connect check above already says why it failed; only the
	// stderr tail is added here.
	if e := r.ConnectError; e != nil && e.StderrTail != "" {
		fmt.Fprintf(&b, "\nstderr tail of the target:\n%s\n", indentLines(visibleLines(strings.TrimRight(e.StderrTail, "\n")), "  | "))
	}
	if s := r.Surface; s != nil {
		fmt.Fprintf(&b, "\nsurface: %d %s, %d %s, %d resource %s, %d %s",
			len(s.Tools), plural(len(s.Tools), "tool", "tools"),
			s.Resources, plural(s.Resources, "resource", "resources"),
			s.ResourceTemplates, plural(s.ResourceTemplates, "template", "templates"),
			len(s.Prompts), plural(len(s.Prompts), "prompt", "prompts"))
		if len(s.Undeclared) > 0 {
			fmt.Fprintf(&b, " (not declared: %s)", strings.Join(s.Undeclared, ", "))
		}
		b.WriteString("\n")
	}
	if d := r.Snapshot; d != nil {
		fmt.Fprintf(&b, "\nsnapshot %s: %s\n", visible(d.Path), d.Status)
		for _, x := range d.Breaking {
			fmt.Fprintf(&b, "  %s %s\n", paint("31", "breaking:"), visible(x))
		}
		for _, x := range d.Additive {
			fmt.Fprintf(&b, "  %s %s\n", paint("32", "added:   "), visible(x))
		}
		for _, x := range d.Changed {
			fmt.Fprintf(&b, "  %s %s\n", paint("2", "changed: "), visible(x))
		}
	}
	s := r.Summary
	verdict := paint("32", "PASSED")
	switch {
	case r.Summary.Failed > 0 || r.ConnectError != nil:
		verdict = paint("31", "FAILED")
	case r.Interrupted:
		verdict = paint("33", "INTERRUPTED")
	}
	warnings := ""
	if s.Warnings > 0 {
		warnings = fmt.Sprintf(", %d %s", s.Warnings, plural(s.Warnings, "warning", "warnings"))
	}
	fmt.Fprintf(&b, "\n%s: %d %s, %d passed, %d failed, %d skipped%s in %s\n",
		verdict, s.Total, plural(s.Total, "check", "checks"), s.Passed, s.Failed, s.Skipped, warnings, fmtMS(r.DurationMS))
	_, err := io.WriteString(w, b.String())
	return err
}

func indentLines(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// fmtMS formats milliseconds for a person.
func fmtMS(ms float64) string {
	switch {
	case ms >= 10_000:
		return fmt.Sprintf("%.1f s", ms/1000)
	case ms >= 1000:
		return fmt.Sprintf("%.2f s", ms/1000)
	case ms >= 10:
		return fmt.Sprintf("%.0f ms", ms)
	default:
		return fmt.Sprintf("%.1f ms", ms)
	}
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
