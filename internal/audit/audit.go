// Package audit finds what is wrong with an MCP server before its users do.
// Run reads everything the connected target offers (its initialize result,
// tools, resources, resource templates and prompts), checks each against the
// rules in Rules, and, when asked, sends a few read-only probes. The result
// is a Report of Findings, each with a stable rule id, a severity, where it
// was found, how to fix it and the section of the MCP specification it rests
// on.
//
// The MCP tool audit_server and `mcp-test-mcp check --audit` both use Run.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
)

// Severity says how bad a finding is.
type Severity string

// Severities, from the least to the most severe.
const (
	SeverityInfo    Severity = "info"
	SeverityWarning Severity = "warning"
	SeverityError   Severity = "error"
)

// Severities lists every severity, least severe first.
var Severities = []Severity{SeverityInfo, SeverityWarning, SeverityError}

func (s Severity) rank() int { return slices.Index(Severities, s) }

// ParseSeverity returns the severity named s ("error", "warning" or "info").
func ParseSeverity(s string) (Severity, error) {
	sev := Severity(strings.ToLower(strings.TrimSpace(s)))
	if sev.rank() < 0 {
		return "", fmt.Errorf("unknown severity %q: use error, warning or info", s)
	}
	return sev, nil
}

// Finding is one thing wrong with the target.
type Finding struct {
	// Rule is the stable id of the rule that found it, such as
	// tool.name.invalid.
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	// Where points at the offending part, such as
	// tools/search.inputSchema.properties.limit.
	Where   string `json:"where"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
	// Spec links to the section of the MCP specification (2025-11-25).
	Spec string `json:"spec"`
}

// Skipped is a check that could not run, and why.
type Skipped struct {
	Check  string `json:"check"`
	Reason string `json:"reason"`
}

// Summary counts what was audited.
type Summary struct {
	Tools             int `json:"tools"`
	Resources         int `json:"resources"`
	ResourceTemplates int `json:"resource_templates"`
	Prompts           int `json:"prompts"`
	// ToolListBytes is the size of the tool list as JSON, and
	// ToolListTokens its estimate in LLM tokens (bytes/4).
	ToolListBytes  int `json:"tool_list_bytes"`
	ToolListTokens int `json:"tool_list_tokens"`
	// ProbeCalls counts the tools/call requests the probes sent.
	ProbeCalls int `json:"probe_calls"`
}

// Report is the outcome of an audit.
type Report struct {
	Server          connmgr.ServerInfo `json:"server"`
	ProtocolVersion string             `json:"protocol_version"`
	// Probed is true when the active probes ran.
	Probed bool `json:"probed"`
	// Raw is true when the raw requests (RawRequester) were available.
	Raw bool `json:"raw"`
	// Findings are ordered by severity (errors first), then rule, then where.
	Findings   []Finding        `json:"findings"`
	Counts     map[Severity]int `json:"counts"`
	Summary    Summary          `json:"summary"`
	Skipped    []Skipped        `json:"skipped"`
	Duration   time.Duration    `json:"-"`
	DurationMS float64          `json:"duration_ms"`
}

// Failed reports whether the report has a finding at failOn or worse. An
// empty failOn means SeverityError.
func (r *Report) Failed(failOn Severity) bool {
	if failOn == "" {
		failOn = SeverityError
	}
	for _, f := range r.Findings {
		if f.Severity.rank() >= failOn.rank() {
			return true
		}
	}
	return false
}

// JSON returns the report as indented JSON.
func (r *Report) JSON() ([]byte, error) {
	return json.MarshalIndent(r, "", "  ")
}

// WriteText writes the report for a human: one block per finding, then the
// counts.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	name := r.Server.Name
	if r.Server.Version != "" {
		name += " " + r.Server.Version
	}
	fmt.Fprintf(&b, "audit of %s (protocol %s): %d tools, %d resources, %d resource templates, %d prompts; tool list ~%d tokens\n",
		name, r.ProtocolVersion, r.Summary.Tools, r.Summary.Resources, r.Summary.ResourceTemplates, r.Summary.Prompts, r.Summary.ToolListTokens)
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "\n%-7s %s at %s\n  %s\n  fix: %s\n  spec: %s\n", strings.ToUpper(string(f.Severity)), f.Rule, f.Where, f.Message, f.Fix, f.Spec)
	}
	if len(r.Skipped) > 0 {
		b.WriteString("\nnot checked:\n")
		for _, s := range r.Skipped {
			fmt.Fprintf(&b, "  %s: %s\n", s.Check, s.Reason)
		}
	}
	fmt.Fprintf(&b, "\n%d errors, %d warnings, %d info\n", r.Counts[SeverityError], r.Counts[SeverityWarning], r.Counts[SeverityInfo])
	_, err := io.WriteString(w, b.String())
	return err
}

// Defaults for Options' zero values.
const (
	DefaultProbeTimeout         = 10 * time.Second
	DefaultMaxToolTokens        = 25_000
	DefaultMaxInstructionsBytes = 8 << 10
	DefaultMaxProbeCalls        = 20
)

// Options configures Run.
type Options struct {
	// Probe runs the active probes: ping, an unknown method, an unknown
	// tool, schema-invalid arguments and calls of read-only tools, then a
	// last ping. They only read, but they do call the target's tools
	// (those annotated readOnlyHint). False runs none.
	Probe bool
	// ProbeTimeout is the deadline of each probe; zero means
	// DefaultProbeTimeout.
	ProbeTimeout time.Duration
	// MaxProbeCalls bounds the tools/call requests of each tool probe
	// (invalid arguments, read-only calls); zero means DefaultMaxProbeCalls.
	MaxProbeCalls int
	// MaxToolTokens is the estimated size (bytes/4) of the tool list past
	// which tool.list.large warns; zero means DefaultMaxToolTokens.
	MaxToolTokens int
	// MaxInstructionsBytes is the size of the instructions past which
	// lifecycle.instructions.large warns; zero means
	// DefaultMaxInstructionsBytes.
	MaxInstructionsBytes int
	// Raw sends requests exactly as given. Nil means the Manager's own, if
	// it has one (see RawRequester); without either, the checks that need
	// it are listed in Report.Skipped.
	Raw RawRequester
}

// RawRequester sends one request on the live connection exactly as given,
// with none of connmgr's own checks (declared capabilities, known tool
// names), and returns the raw JSON result. A JSON-RPC error answer is a
// *connmgr.RPCError; a request that outlives timeout is a
// *connmgr.TimeoutError; a connection that broke is a *connmgr.ExitError or
// *connmgr.LostError. timeout zero means the connection's call timeout.
type RawRequester interface {
	RawRequest(ctx context.Context, method string, params any, timeout time.Duration) (json.RawMessage, error)
}

// Run audits the target mgr is connected to.
func Run(ctx context.Context, mgr *connmgr.Manager, opts Options) (*Report, error) {
	start := time.Now()
	st := mgr.Status()
	if !st.Connected || st.Info == nil {
		return nil, connmgr.ErrNotConnected
	}
	// The audit's requests are the tester's own: out of the user's
	// statistics, and an HTTP error answer to one never ends the user's
	// connection.
	ctx = connmgr.WithProbe(ctx)
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = DefaultProbeTimeout
	}
	if opts.MaxProbeCalls <= 0 {
		opts.MaxProbeCalls = DefaultMaxProbeCalls
	}
	if opts.MaxToolTokens <= 0 {
		opts.MaxToolTokens = DefaultMaxToolTokens
	}
	if opts.MaxInstructionsBytes <= 0 {
		opts.MaxInstructionsBytes = DefaultMaxInstructionsBytes
	}
	if opts.Raw == nil {
		if r, ok := any(mgr).(RawRequester); ok {
			opts.Raw = r
		}
	}
	a := &auditor{mgr: mgr, opts: opts, info: st.Info}
	a.report = &Report{
		Server:          st.Info.ServerInfo,
		ProtocolVersion: st.Info.ProtocolVersion,
		Probed:          opts.Probe,
		Raw:             opts.Raw != nil,
	}
	a.lifecycle()
	a.collect(ctx)
	a.checkTools()
	a.checkResources()
	a.checkPrompts()
	if opts.Probe {
		a.probe(ctx)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := a.report
	slices.SortStableFunc(r.Findings, func(x, y Finding) int {
		if d := y.Severity.rank() - x.Severity.rank(); d != 0 {
			return d
		}
		if d := strings.Compare(x.Rule, y.Rule); d != 0 {
			return d
		}
		return strings.Compare(x.Where, y.Where)
	})
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	if r.Skipped == nil {
		r.Skipped = []Skipped{}
	}
	r.Counts = map[Severity]int{SeverityError: 0, SeverityWarning: 0, SeverityInfo: 0}
	for _, f := range r.Findings {
		r.Counts[f.Severity]++
	}
	r.Duration = time.Since(start)
	r.DurationMS = float64(r.Duration.Microseconds()) / 1000
	return r, nil
}

// auditor holds one audit's state. It is used by one goroutine.
type auditor struct {
	mgr    *connmgr.Manager
	opts   Options
	info   *connmgr.Info
	report *Report

	tools     []*tool
	resources []rawResource
	templates []rawTemplate
	prompts   []rawPrompt
	// callsLeft is what remains of the current tool probe's budget.
	callsLeft int
}

// add records a finding of rule at where.
func (a *auditor) add(rule, where, format string, args ...any) {
	r, ok := ruleByID[rule]
	if !ok {
		panic("audit: unknown rule " + rule)
	}
	a.report.Findings = append(a.report.Findings, Finding{
		Rule:     rule,
		Severity: r.Severity,
		Where:    where,
		Message:  fmt.Sprintf(format, args...),
		Fix:      r.Fix,
		Spec:     r.Spec,
	})
}

func (a *auditor) skip(check, reason string) {
	a.report.Skipped = append(a.report.Skipped, Skipped{Check: check, Reason: reason})
}

// guard runs fn and returns its panic as an error, so that a schema that
// trips a bug in the audit costs one check, not the whole audit.
func guard(fn func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("the audit failed on it: %v", v)
		}
	}()
	fn()
	return nil
}
