package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/check"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
)

// maxRecorded bounds the requests kept for export_checks.
const maxRecorded = 1000

// recorder keeps the tool calls, resource reads and prompt renders made on
// the live connection, for export_checks, and the connect arguments of that
// connection, for run_checks. The zero value is ready to use.
type recorder struct {
	mu sync.Mutex
	// The fields below are guarded by mu. connID is the connection that
	// target and steps belong to; steps are in the order they were made.
	connID string
	target *ConnectInput
	steps  []recordedStep
}

// recordedStep is one request and what came back, as a step of a spec
// whose expectations are what was observed.
type recordedStep struct {
	step check.Step
	// text and structured are the observed outputs, turned into
	// expectations only when export_checks asks for them.
	text       string
	structured any
}

// connected starts a new record for the connection made by a successful
// connect.
func (r *recorder) connected(in *ConnectInput, out *ConnectOutput) {
	if out.Connection == nil {
		return
	}
	cp := *in
	r.mu.Lock()
	defer r.mu.Unlock()
	r.connID, r.target, r.steps = out.Connection.ID, &cp, nil
}

func (r *recorder) add(connID string, s recordedStep) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if connID == "" || connID != r.connID || len(r.steps) >= maxRecorded {
		return
	}
	r.steps = append(r.steps, s)
}

func (r *recorder) snapshot() (connID string, target *ConnectInput, steps []recordedStep) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.connID, r.target, slices.Clone(r.steps)
}

// exportable are the error types a re-run can be expected to reproduce.
var exportable = []errtype.Type{errtype.ToolNotFound, errtype.ResourceNotFound, errtype.PromptNotFound, errtype.InvalidArguments, errtype.CapabilityMissing}

// liveID is the id of the live connection, or "".
func (h *handlers) liveID() string {
	if st := h.mgr.Status(); st.Info != nil {
		return st.Info.ID
	}
	return ""
}

// recordCallTool records a call_tool; call_tool defers it.
func (h *handlers) recordCallTool(in *CallToolInput, out *CallToolOutput) {
	st := check.Step{CallTool: in.Name, Expect: &check.Expect{}}
	if args, err := in.arguments(); err == nil && len(args) > 0 {
		st.Arguments, _ = redact.Value(args).(map[string]any)
	}
	var rs recordedStep
	if tc := out.ToolCall; tc != nil {
		isErr := tc.IsError
		st.Expect.IsError = &isErr
		st.Expect.ContentTypes = []string{}
		for _, b := range tc.Content {
			st.Expect.ContentTypes = appendNew(st.Expect.ContentTypes, blockType(b))
		}
		if chk := tc.OutputSchemaCheck; chk.Checked && chk.Valid != nil {
			v := *chk.Valid
			st.Expect.OutputSchemaValid = &v
		}
		rs.text, rs.structured = tc.Text, tc.StructuredContent
	}
	h.record(st, rs, out.ToolCall != nil, out.Error)
}

// recordReadResource records a read_resource; read_resource defers it.
func (h *handlers) recordReadResource(in *ReadResourceInput, out *ReadResourceOutput) {
	st := check.Step{ReadResource: in.URI, Expect: &check.Expect{}}
	var rs recordedStep
	if out.Success {
		var texts []string
		for _, it := range out.Contents {
			t := "text"
			if it.Blob != nil {
				t = "blob"
			} else if it.Text != nil {
				texts = append(texts, *it.Text)
			}
			st.Expect.ContentTypes = appendNew(st.Expect.ContentTypes, t)
		}
		rs.text = strings.Join(texts, "\n")
	}
	h.record(st, rs, out.Success, out.Error)
}

// recordGetPrompt records a get_prompt; get_prompt defers it.
func (h *handlers) recordGetPrompt(in *GetPromptInput, out *GetPromptOutput) {
	st := check.Step{GetPrompt: in.Name, Expect: &check.Expect{}}
	var rs recordedStep
	p := out.Prompt
	answered := out.Success && p != nil
	if answered {
		if len(p.Arguments) > 0 {
			st.Arguments = map[string]any{}
			for k, v := range p.Arguments {
				st.Arguments[k] = v
			}
		}
		for _, m := range p.Messages {
			st.Expect.ContentTypes = appendNew(st.Expect.ContentTypes, blockType(m.Content))
		}
		rs.text = p.Text
	}
	h.record(st, rs, answered, out.Error)
}

// record adds a step to the recorder of the live connection: one the target
// answered, or one that failed with an error a re-run can be expected to
// reproduce. Anything else is left out.
func (h *handlers) record(st check.Step, rs recordedStep, answered bool, e *ErrorInfo) {
	switch {
	case answered:
	case e != nil && slices.Contains(exportable, e.Type):
		st.Expect.ErrorType = string(e.Type)
	default:
		return
	}
	rs.step = st
	h.rec.add(h.liveID(), rs)
}

func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// RunChecksInput is the arguments of run_checks.
type RunChecksInput struct {
	Spec               map[string]any `json:"spec,omitempty" jsonschema:"the spec as an object: {target, client, steps} (docs/spec.md); leave target out to use the current connection's target"`
	SpecPath           string         `json:"spec_path,omitempty" jsonschema:"path of a spec file (YAML or JSON), instead of spec; a tester served over HTTP refuses it unless its operator gave --workdir, and then takes only paths inside that directory"`
	Format             string         `json:"format,omitempty" jsonschema:"json (default): the report as an object; text: also report_text, the report as a person reads it; junit: also report_text as JUnit XML"`
	CallAll            bool           `json:"call_all,omitempty" jsonschema:"also call every tool with arguments generated from its input schema (tools annotated destructiveHint: true are skipped)"`
	IncludeDestructive bool           `json:"include_destructive,omitempty" jsonschema:"with call_all, call destructive tools too"`
}

// RunChecksOutput is the result of run_checks.
type RunChecksOutput struct {
	Result
	Passed     *bool         `json:"passed,omitempty" jsonschema:"true when every check passed"`
	Report     *check.Report `json:"report,omitempty" jsonschema:"every check with its status, and for a failed one what was expected and what came back"`
	ReportText string        `json:"report_text,omitempty" jsonschema:"the report as text or JUnit XML, when format asks for it"`
	Metadata   Metadata      `json:"metadata"`
}

func (o *RunChecksOutput) metadata() *Metadata { return &o.Metadata }

func runChecksTool() *mcp.Tool {
	in := schemaFor[RunChecksInput]()
	in.Properties["format"].Enum = []any{"json", "text", "junit"}
	return &mcp.Tool{
		Name:  "run_checks",
		Title: "Run a check spec against a server",
		Description: `Run a spec of checks (the format of mcp-test-mcp check --spec, see docs/spec.md) on its own connection, without touching the current one, and return the report: each step with passed/failed and, for a failure, what was expected and what came back.

Example: {"spec": {"steps": [{"call_tool": "echo", "arguments": {"message": "hi"}, "expect": {"text_contains": "hi"}}]}} runs against the current connection's target. Use export_checks to turn what you tried by hand into a spec. success is true when the checks ran; passed says whether they all passed.`,
		InputSchema: in,
		Annotations: &mcp.ToolAnnotations{OpenWorldHint: jsonschema.Ptr(true)},
	}
}

func (h *handlers) runChecks(ctx context.Context, req *mcp.CallToolRequest, in *RunChecksInput) *RunChecksOutput {
	out := &RunChecksOutput{}
	if (in.Spec == nil) == (in.SpecPath == "") {
		out.fail(classify(&errtype.ArgError{
			Msg:        "run_checks needs exactly one of spec and spec_path",
			Suggestion: `Pass spec as an object, e.g. {"steps": [{"call_tool": "echo", "arguments": {"message": "hi"}}]}, or spec_path naming a YAML or JSON file.`,
		}, errtype.Args))
		return out
	}
	if in.Format != "" && in.Format != "json" && in.Format != "text" && in.Format != "junit" {
		out.fail(classify(&errtype.ArgError{Msg: fmt.Sprintf("format %q is not json, text or junit", in.Format)}, errtype.Args))
		return out
	}
	_, live, _ := h.rec.snapshot()
	env := &specEnv{live: live, remote: h.remote}
	var spec *check.Spec
	var err error
	if in.SpecPath != "" {
		path, perr := h.clientPath(in.SpecPath, "spec_path", false)
		if perr != nil {
			out.fail(classify(perr, errtype.Args))
			return out
		}
		b, rerr := h.readClientFile(path)
		if rerr != nil {
			out.fail(classify(&errtype.ArgError{Msg: fmt.Sprintf("reading spec_path %s: %v", in.SpecPath, pathErr(rerr)), Suggestion: "Pass the path of a spec file, or pass the spec inline."}, errtype.Args))
			return out
		}
		spec, err = check.ParseSpec(b, path, env.lookup)
		if err != nil && h.remote {
			// The parser's messages may quote the file's lines.
			err = withheld(in.SpecPath, err)
		}
	} else {
		var b []byte
		if b, err = json.Marshal(in.Spec); err == nil {
			spec, err = check.ParseSpec(b, "spec", env.lookup)
		}
	}
	if len(env.refused) > 0 {
		out.fail(env.refusal())
		return out
	}
	if err != nil {
		out.fail(&ErrorInfo{
			Type:       errtype.InvalidArguments,
			Message:    errtype.Sentence(h.secrets.Scrub(err.Error())),
			Suggestion: "Fix the spec: docs/spec.md lists every key. Each step has exactly one action (call_tool, read_resource, get_prompt, list_tools, list_resources, list_resource_templates, list_prompts, ping).",
		})
		return out
	}
	// The run's connection is this host's: its timeouts, message cap and
	// command policy.
	opts := &check.Options{Spec: spec, CallAll: in.CallAll, IncludeDestructive: in.IncludeDestructive,
		Logger: h.logger.With("component", "run_checks"), Manager: h.mgr.Options()}
	if spec.Target == nil {
		if live == nil {
			out.fail(&ErrorInfo{
				Type:       errtype.InvalidArguments,
				Message:    "The spec has no target and there is no current connection to take it from.",
				Suggestion: `Add a target to the spec ({"command": "...", "args": [...]} or {"url": "..."}), or call connect first.`,
			})
			return out
		}
		opts.Target = connectTarget(live)
		if opts.Client = connectClient(live); opts.Client == nil {
			opts.Client = &check.Client{}
		}
	}
	h.notify(ctx, req, "info", "Running %d checks", len(spec.Steps))
	rep, err := check.Run(ctx, opts)
	if err != nil {
		out.fail(classify(&errtype.ArgError{Msg: err.Error()}, errtype.Args))
		return out
	}
	if e := rep.ConnectError; e != nil && e.Type == string(errtype.InvalidArguments) {
		out.Report = rep
		out.fail(&ErrorInfo{
			Type:       errtype.InvalidArguments,
			Message:    errtype.Sentence("The spec's target was not started: " + e.Message),
			Suggestion: "Fix the spec's target. Where this tester runs with a command policy (serve --allow-command or --no-stdio), give it a program the policy allows or an http(s) URL, or leave target out to use the current connection's.",
			Details:    map[string]any{"target": rep.Target},
		})
		return out
	}
	if e := rep.ConnectError; e != nil {
		out.Report = rep
		out.fail(&ErrorInfo{
			Type:       errtype.ConnectionFailed,
			Message:    errtype.Sentence("Could not start or reach the target: " + e.Message),
			Suggestion: "Read report.connect_error.stderr_tail for the target's own error, and check the spec's target.",
			Details:    map[string]any{"stderr_tail": e.StderrTail, "target": rep.Target},
		})
		return out
	}
	out.Success, out.Report = true, rep
	passed := rep.Passed
	out.Passed = &passed
	s := rep.Summary
	out.Message = fmt.Sprintf("Ran %d %s against %s: %d passed, %d failed, %d skipped, %d %s.", s.Total, plural(s.Total, "check", "checks"), rep.Name, s.Passed, s.Failed, s.Skipped, s.Warnings, plural(s.Warnings, "warning", "warnings"))
	var buf bytes.Buffer
	switch in.Format {
	case "text":
		err = rep.WriteText(&buf, nil)
	case "junit":
		err = rep.WriteJUnit(&buf)
	}
	if err == nil {
		out.ReportText = buf.String()
	}
	return out
}

// remoteSpecEnv are the only variables of the tester's environment that
// run_checks of a remote tester (serve --http) expands in a spec: the
// tester's environment holds its operator's secrets, and a client's spec
// could send any of them to a target that echoes it back.
var remoteSpecEnv = []string{"HOME", "PATH", "TMPDIR", "USER"}

// specEnv is where run_checks looks up a spec's ${NAME}. Locally: the
// environment, but for the tester's own credentials
// (connmgr.IsTesterSecret), then the values the current connection was made
// with, under the names export_checks gives them: env names,
// MCP_HEADER_<NAME> and MCP_TEST_BEARER_TOKEN. So an exported spec runs
// against the same target without its secrets ever being written down.
// Remote: the connection's values, then remoteSpecEnv only.
type specEnv struct {
	live   *ConnectInput
	remote bool
	// refused are the names the spec asked for that only the environment
	// had (locally), or that are neither the connection's nor in
	// remoteSpecEnv (remote).
	refused []string
}

func (e *specEnv) lookup(name string) (string, bool) {
	if v, ok := e.fromLive(name); ok && (e.remote || connmgr.IsTesterSecret(name)) {
		return v, true
	}
	switch {
	case e.remote && slices.Contains(remoteSpecEnv, name):
		return os.LookupEnv(name)
	case e.remote:
	case connmgr.IsTesterSecret(name):
		if _, ok := os.LookupEnv(name); !ok {
			return "", false
		}
	default:
		if v, ok := os.LookupEnv(name); ok {
			return v, true
		}
		return e.fromLive(name)
	}
	if !slices.Contains(e.refused, name) {
		e.refused = append(e.refused, name)
	}
	return "", false
}

// refusal is run_checks' error for the refused names.
func (e *specEnv) refusal() *ErrorInfo {
	names := "${" + strings.Join(e.refused, "}, ${") + "}"
	if e.remote {
		return &ErrorInfo{
			Type: errtype.InvalidArguments,
			Message: fmt.Sprintf("The spec uses %s, which this tester does not take from its environment: it is served over HTTP, and expands ${VAR} only from the current connection's env, headers and bearer token, and from %s.",
				names, strings.Join(remoteSpecEnv, ", ")),
			Suggestion: "Put the value in the spec, or connect with it first (connect's env {NAME: value} is ${NAME} here, a header is ${MCP_HEADER_<NAME>}, the bearer_token ${" + bearerVar + "}).",
		}
	}
	return &ErrorInfo{
		Type: errtype.InvalidArguments,
		Message: fmt.Sprintf("The spec uses %s, which run_checks does not take from the tester's environment: it holds the tester's own credentials, and a spec may come from anywhere.",
			names),
		Suggestion: "Put the value in the spec, or connect with it (a bearer_token given to connect is ${" + bearerVar + "} here), or run the spec with mcp-test-mcp check --spec, which reads the whole environment.",
	}
}

// withheld replaces a spec file's parse error by one that names only the
// file and the line: a remote client must not read the tester's files
// through error messages.
func withheld(path string, err error) error {
	msg := fmt.Sprintf("spec_path %s is not a spec this tester can read", path)
	if se, ok := errors.AsType[*check.SpecError](err); ok && se.Line > 0 {
		msg += fmt.Sprintf(" (the first problem is on line %d)", se.Line)
	}
	return errors.New(msg + "; the parser's message is not shown to a remote client, as it may quote the file: check the file with mcp-test-mcp check --spec where it is, or pass the spec inline")
}

func (e *specEnv) fromLive(name string) (string, bool) {
	live := e.live
	if live == nil {
		return "", false
	}
	if v, ok := live.Env[name]; ok {
		return v, true
	}
	for k, v := range live.Headers {
		if headerVar(k) == name {
			return v, true
		}
	}
	if name == bearerVar && live.BearerToken != "" {
		return live.BearerToken, true
	}
	return "", false
}

const bearerVar = "MCP_TEST_BEARER_TOKEN"

var nonWord = regexp.MustCompile(`[^A-Z0-9]+`)

// headerVar names the variable that holds a header's value in an exported
// spec.
func headerVar(name string) string {
	return "MCP_HEADER_" + strings.Trim(nonWord.ReplaceAllString(strings.ToUpper(name), "_"), "_")
}

// connectTarget is the check target of a connect call, secrets included.
func connectTarget(in *ConnectInput) *check.Target {
	t := &check.Target{
		URL: in.URL, Command: in.Command, Args: slices.Clone(in.Args), Cwd: in.Cwd, Transport: in.Transport,
		Env: in.Env, Headers: in.Headers, BearerToken: in.BearerToken,
	}
	if in.TimeoutSeconds != nil {
		t.TimeoutSeconds = *in.TimeoutSeconds
	}
	if in.CallTimeoutSeconds != nil {
		t.CallTimeoutSeconds = *in.CallTimeoutSeconds
	}
	return t
}

// connectClient is the client answers of a connect call (the host cannot
// answer for an unattended run), or nil.
func connectClient(in *ConnectInput) *check.Client {
	c := &check.Client{ElicitationAction: in.ElicitationAction, ElicitationContent: in.ElicitationContent}
	if in.SamplingResponse != nil {
		text := in.SamplingResponse.Text
		c.SamplingResponse = &text
	}
	if in.Roots != nil {
		c.Roots = []string{}
		for _, r := range in.Roots {
			c.Roots = append(c.Roots, r.URI)
		}
	}
	if c.SamplingResponse == nil && c.ElicitationAction == "" && c.Roots == nil {
		return nil
	}
	return c
}

// ExportChecksInput is the arguments of export_checks.
type ExportChecksInput struct {
	Path           string `json:"path,omitempty" jsonschema:"write the spec to this file (.json for JSON, else YAML); without it the spec is only returned. A tester served over HTTP refuses it unless its operator gave --workdir, and then takes only paths inside that directory"`
	IncludeOutputs *bool  `json:"include_outputs,omitempty" jsonschema:"turn what came back into expectations too: text_contains with a stable prefix of the text, and structured values; default true. false keeps only is_error, error_type, content_types and output_schema_valid."`
}

// ExportChecksOutput is the result of export_checks.
type ExportChecksOutput struct {
	Result
	Spec     *check.Spec `json:"spec,omitempty" jsonschema:"the spec: pass it to run_checks, or save it for mcp-test-mcp check --spec"`
	SpecText string      `json:"spec_text,omitempty" jsonschema:"the spec as YAML (or JSON when path ends in .json)"`
	Path     string      `json:"path,omitempty" jsonschema:"the file written, as an absolute path (on a tester served over HTTP, relative to its working directory)"`
	Steps    int         `json:"steps" jsonschema:"how many steps the spec has"`
	Metadata Metadata    `json:"metadata"`
}

func (o *ExportChecksOutput) metadata() *Metadata { return &o.Metadata }

var exportChecksTool = &mcp.Tool{
	Name:  "export_checks",
	Title: "Turn this session's calls into a check spec",
	Description: `Turn the call_tool, read_resource and get_prompt requests made on the current connection into a spec for run_checks or mcp-test-mcp check --spec (CI), with what came back as the expectations: is_error, a stable prefix of the text, structured values, content types.

Use it after exploring a server by hand, to keep what you saw as a regression test. Example: {"path": "checks.yaml"}. Secrets are not written: env, header and token values become ${VAR} references.`,
	Annotations: &mcp.ToolAnnotations{OpenWorldHint: jsonschema.Ptr(false)},
}

func (h *handlers) exportChecks(ctx context.Context, req *mcp.CallToolRequest, in *ExportChecksInput) *ExportChecksOutput {
	out := &ExportChecksOutput{}
	connID, live, recorded := h.rec.snapshot()
	if live == nil || connID == "" || connID != h.liveID() {
		out.fail(classify(connmgr.ErrNotConnected, errtype.Request))
		return out
	}
	outputs := in.IncludeOutputs == nil || *in.IncludeOutputs
	spec := &check.Spec{Target: exportTarget(live, h.mgr.Status().Info), Client: connectClient(live)}
	for _, rs := range recorded {
		st := rs.step
		e := *st.Expect
		if outputs && e.ErrorType == "" {
			// The text is scrubbed before it is cut, so that the expectation
			// neither keeps part of a secret nor misses the *** that a re-run,
			// sending the scrubbed arguments, gets back.
			if p := check.StablePrefix(h.secrets.Scrub(rs.text)); p != "" {
				e.TextContains = check.StringList{p}
			}
			if rs.structured != nil {
				if m := check.StructuredExpectations(rs.structured, 20); len(m) > 0 {
					e.Structured = m
				}
			}
		}
		st.Expect = &e
		spec.Steps = append(spec.Steps, st)
	}
	spec, err := h.scrubSpec(spec)
	if err != nil {
		out.fail(classify(err, errtype.Request))
		return out
	}
	spec.EscapeLiterals()
	asJSON := strings.EqualFold(filepath.Ext(in.Path), ".json")
	b, err := check.Marshal(spec, asJSON)
	if err != nil {
		out.fail(classify(err, errtype.Request))
		return out
	}
	text := string(b)
	if in.Path != "" {
		abs, err := h.clientPath(in.Path, "path", true)
		if err != nil {
			out.fail(classify(err, errtype.Args))
			return out
		}
		if err := h.writeClientFile(abs, []byte(text)); err != nil {
			out.fail(&ErrorInfo{Type: errtype.InvalidArguments, Message: errtype.Sentence(fmt.Sprintf("writing %s: %v", in.Path, pathErr(err))), Suggestion: "Pass a path in a directory that exists and is writable."})
			return out
		}
		out.Path = abs
		if h.remote {
			// The client's own view: where the server's workdir is is
			// none of its business.
			out.Path, _ = filepath.Rel(h.workdir, abs)
		}
	}
	out.Success = true
	out.Spec, out.SpecText, out.Steps = spec, text, len(spec.Steps)
	switch {
	case len(spec.Steps) == 0:
		out.Message = "No calls, reads or prompts were made on this connection yet: the spec has a target and no steps."
	case out.Path != "":
		out.Message = fmt.Sprintf("Exported %d %s to %s.", len(spec.Steps), plural(len(spec.Steps), "step", "steps"), out.Path)
	default:
		out.Message = fmt.Sprintf("Exported %d %s.", len(spec.Steps), plural(len(spec.Steps), "step", "steps"))
	}
	h.notify(ctx, req, "info", "%s", out.Message)
	return out
}

// scrubSpec returns spec with the secrets masked in its values. It works on
// the values, not on the encoded text, so that the YAML written stays valid
// (a bare *** is a YAML alias).
func (h *handlers) scrubSpec(spec *check.Spec) (*check.Spec, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("scrubbing the spec: %w", err)
	}
	var clean check.Spec
	if err := json.Unmarshal(h.secrets.ScrubJSON(b), &clean); err != nil {
		return nil, fmt.Errorf("scrubbing the spec: %w", err)
	}
	return &clean, nil
}

// exportTarget is the target of an exported spec: secrets (env values, and
// the values of secret-looking headers and the bearer token) become ${VAR}
// references, and arguments are shown as connmgr redacted them.
func exportTarget(in *ConnectInput, info *connmgr.Info) *check.Target {
	t := &check.Target{URL: redact.URL(in.URL), Command: in.Command, Args: slices.Clone(in.Args), Cwd: in.Cwd, Transport: in.Transport}
	if info != nil && info.Process != nil && len(info.Process.Args) == len(in.Args) {
		t.Args = slices.Clone(info.Process.Args)
	}
	if len(in.Env) > 0 {
		t.Env = map[string]string{}
		for k := range in.Env {
			t.Env[k] = "${" + k + "}"
		}
	}
	if len(in.Headers) > 0 {
		t.Headers = map[string]string{}
		for k, v := range in.Headers {
			// A plain header (X-Tenant: example) is not a secret: it is
			// written as it is, so the spec runs in CI without it.
			t.Headers[k] = check.Escape(v)
			if redact.IsSecretName(k) {
				t.Headers[k] = "${" + headerVar(k) + "}"
			}
		}
	}
	if in.BearerToken != "" {
		t.BearerToken = "${" + bearerVar + "}"
	}
	if in.TimeoutSeconds != nil {
		t.TimeoutSeconds = *in.TimeoutSeconds
	}
	if in.CallTimeoutSeconds != nil {
		t.CallTimeoutSeconds = *in.CallTimeoutSeconds
	}
	return t
}
