package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Reference types of complete.
const (
	refPrompt           = "prompt"
	refResourceTemplate = "resource_template"
)

// CompleteInput is the arguments of complete.
type CompleteInput struct {
	RefType          string            `json:"ref_type" jsonschema:"what the argument belongs to: prompt (give name) or resource_template (give uri)"`
	Name             string            `json:"name,omitempty" jsonschema:"the prompt's name, when ref_type is prompt"`
	URI              string            `json:"uri,omitempty" jsonschema:"the resource template's uri_template, such as db://tables/{table}, when ref_type is resource_template"`
	Argument         CompleteArgument  `json:"argument" jsonschema:"the argument (or template variable) to complete, and what has been typed so far"`
	ContextArguments map[string]string `json:"context_arguments,omitempty" jsonschema:"values already chosen for other arguments, which some servers use to narrow the suggestions"`
}

// CompleteArgument is the argument being completed.
type CompleteArgument struct {
	Name  string `json:"name" jsonschema:"the argument's name (or the template variable's)"`
	Value string `json:"value,omitempty" jsonschema:"the partial value typed so far; empty asks for every suggestion"`
}

// CompleteOutput is the result of complete.
type CompleteOutput struct {
	Result
	Values   []string     `json:"values,omitzero" jsonschema:"the suggested values, in the target's order (at most 100)"`
	Total    *int         `json:"total,omitempty" jsonschema:"how many values the target says match in all, when it says"`
	HasMore  bool         `json:"has_more" jsonschema:"the target has more values than it returned"`
	Metadata ConnMetadata `json:"metadata"`
}

func (o *CompleteOutput) metadata() *Metadata { return &o.Metadata.Metadata }

func completeTool() *mcp.Tool {
	in := schemaFor[CompleteInput]()
	in.Properties["ref_type"].Enum = []any{refPrompt, refResourceTemplate}
	return &mcp.Tool{
		Name:  "complete",
		Title: "Ask the server to complete an argument",
		Description: `Ask the connected server for suggested values of a prompt argument or a resource template variable (completion/complete), as a host does for autocompletion.

Use it to test completions, or to find valid values before get_prompt or read_resource. Examples: {"ref_type": "prompt", "name": "code_review", "argument": {"name": "language", "value": "py"}}; {"ref_type": "resource_template", "uri": "db://tables/{table}", "argument": {"name": "table", "value": ""}}. Returns values, total and has_more.`,
		InputSchema: in,
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: jsonschema.Ptr(true)},
	}
}

func (h *handlers) complete(ctx context.Context, req *mcp.CallToolRequest, in *CompleteInput) *CompleteOutput {
	out := &CompleteOutput{}
	params, err := in.params()
	if err != nil {
		out.fail(classify(err, errtype.Args))
		return out
	}
	what := fmt.Sprintf("argument %s of %s %s", in.Argument.Name, strings.ReplaceAll(in.RefType, "_", " "), params.Ref.Name+params.Ref.URI)
	doing := "Completing " + what
	h.notify(ctx, req, "info", "%s", doing)
	defer out.Metadata.fill(h.mgr)
	res, _, ok := send(ctx, h, req, &out.Result, doing, nil, func() (*mcp.CompleteResult, error) { return h.mgr.Complete(ctx, params) })
	if !ok {
		return out
	}
	c := res.Completion
	out.Values, out.HasMore = nonNil(c.Values), c.HasMore
	if c.Total > 0 {
		out.Total = &c.Total
	}
	out.Success = true
	n := len(out.Values)
	switch {
	case n == 0:
		out.Message = fmt.Sprintf("The target suggests no values for %s.", what)
	case n <= 5:
		out.Message = fmt.Sprintf("The target suggests %s for %s.", errtype.OrList(out.Values), what)
	default:
		out.Message = fmt.Sprintf("The target suggests %d values for %s, starting with %s.", n, what, errtype.OrList(out.Values[:3]))
	}
	if c.HasMore {
		out.Message = strings.TrimSuffix(out.Message, ".") + ", and has more."
	}
	return out
}

// params checks the input and builds the request's params. The wire names
// of the reference types are accepted too.
func (in *CompleteInput) params() (*mcp.CompleteParams, error) {
	p := &mcp.CompleteParams{Argument: mcp.CompleteParamsArgument{Name: in.Argument.Name, Value: in.Argument.Value}}
	if len(in.ContextArguments) > 0 {
		p.Context = &mcp.CompleteContext{Arguments: in.ContextArguments}
	}
	switch in.RefType {
	case refPrompt, "ref/prompt":
		if strings.TrimSpace(in.Name) == "" {
			return nil, &errtype.ArgError{Msg: "complete with ref_type prompt needs the prompt's name", Suggestion: "Call list_prompts, then pass a prompt's name as name."}
		}
		p.Ref = &mcp.CompleteReference{Type: "ref/prompt", Name: in.Name}
	case refResourceTemplate, "ref/resource", "resource":
		if strings.TrimSpace(in.URI) == "" {
			return nil, &errtype.ArgError{Msg: "complete with ref_type resource_template needs the template's uri", Suggestion: "Call list_resource_templates, then pass a uri_template as uri."}
		}
		p.Ref = &mcp.CompleteReference{Type: "ref/resource", URI: in.URI}
	default:
		return nil, &errtype.ArgError{
			Msg:        fmt.Sprintf("ref_type must be %q or %q, not %q", refPrompt, refResourceTemplate, in.RefType),
			Suggestion: `Pass ref_type "prompt" with name, or "resource_template" with uri.`,
		}
	}
	if strings.TrimSpace(in.Argument.Name) == "" {
		return nil, &errtype.ArgError{
			Msg:        "complete needs argument.name, the argument to complete",
			Suggestion: `Pass argument as {"name": "…", "value": "what was typed so far"}; list_prompts shows a prompt's arguments, a uri_template its variables in braces.`,
		}
	}
	return p, nil
}

// PingInput is the arguments of ping.
type PingInput struct {
	TimeoutSeconds *float64 `json:"timeout_seconds,omitempty" jsonschema:"how long to wait for the answer in seconds; default: the connection's call_timeout_seconds"`
}

// PingOutput is the result of ping.
type PingOutput struct {
	Result
	RoundTripMS *float64     `json:"round_trip_ms,omitempty" jsonschema:"time from sending the ping to its answer, in milliseconds"`
	Metadata    ConnMetadata `json:"metadata"`
}

func (o *PingOutput) metadata() *Metadata { return &o.Metadata.Metadata }

func pingTool() *mcp.Tool {
	in := schemaFor[PingInput]()
	in.Properties["timeout_seconds"].ExclusiveMinimum = jsonschema.Ptr(0.0)
	return &mcp.Tool{
		Name:  "ping",
		Title: "Ping the server",
		Description: `Send an MCP ping to the connected server and measure the round trip.

Use it to check that the server is alive and responsive, for example after a call timed out. Example: {} or {"timeout_seconds": 2}.`,
		InputSchema: in,
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: jsonschema.Ptr(true)},
	}
}

func (h *handlers) ping(ctx context.Context, req *mcp.CallToolRequest, in *PingInput) *PingOutput {
	out := &PingOutput{}
	timeout, err := seconds("timeout_seconds", in.TimeoutSeconds)
	if err != nil {
		out.fail(classify(err, errtype.Args))
		return out
	}
	defer out.Metadata.fill(h.mgr)
	rtt, _, ok := send(ctx, h, req, &out.Result, "Ping", nil, func() (time.Duration, error) { return h.mgr.Ping(ctx, timeout) })
	if !ok {
		return out
	}
	ms := roundMS(rtt)
	out.Success, out.RoundTripMS = true, &ms
	out.Message = fmt.Sprintf("The target answered the ping in %.2f ms.", ms)
	h.notify(ctx, req, "info", "Ping answered in %.2f ms", ms)
	return out
}

// logLevels are MCP's log levels, least severe first.
var logLevels = []string{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}

// SetLogLevelInput is the arguments of set_log_level.
type SetLogLevelInput struct {
	Level string `json:"level" jsonschema:"the least severe level the server should send: debug, info, notice, warning, error, critical, alert or emergency"`
}

// SetLogLevelOutput is the result of set_log_level.
type SetLogLevelOutput struct {
	Result
	Level    string       `json:"level,omitempty" jsonschema:"the level that was set"`
	Metadata ConnMetadata `json:"metadata"`
}

func (o *SetLogLevelOutput) metadata() *Metadata { return &o.Metadata.Metadata }

func setLogLevelTool() *mcp.Tool {
	in := schemaFor[SetLogLevelInput]()
	levels := make([]any, len(logLevels))
	for i, l := range logLevels {
		levels[i] = l
	}
	in.Properties["level"].Enum = levels
	return &mcp.Tool{
		Name:  "set_log_level",
		Title: "Set the server's log level",
		Description: `Set the minimum level of the log notifications the connected server sends (logging/setLevel). The tester asks for debug when it connects; raise the level to see less.

Log notifications appear in call_tool's logs and in get_notifications {"kinds": ["log"]}. Example: {"level": "warning"}. A server that does not declare logging gives capability_missing.`,
		InputSchema: in,
		Annotations: &mcp.ToolAnnotations{IdempotentHint: true, OpenWorldHint: jsonschema.Ptr(true)},
	}
}

func (h *handlers) setLogLevel(ctx context.Context, req *mcp.CallToolRequest, in *SetLogLevelInput) *SetLogLevelOutput {
	out := &SetLogLevelOutput{}
	level := strings.ToLower(strings.TrimSpace(in.Level))
	if !slices.Contains(logLevels, level) {
		sugg := "Pass one of " + errtype.OrList(logLevels) + "."
		if close := errtype.Closest(level, logLevels, 1); len(close) > 0 && level != "" {
			sugg = fmt.Sprintf("Did you mean %q? %s", close[0], sugg)
		}
		out.fail(classify(&errtype.ArgError{Msg: fmt.Sprintf("level must be one of %s, not %q", strings.Join(logLevels, ", "), in.Level), Suggestion: sugg}, errtype.Args))
		return out
	}
	defer out.Metadata.fill(h.mgr)
	if _, _, ok := send(ctx, h, req, &out.Result, "", nil, func() (struct{}, error) { return noResult(h.mgr.SetLogLevel(ctx, level)) }); !ok {
		return out
	}
	out.Success, out.Level = true, level
	out.Message = fmt.Sprintf("The target now sends log notifications at level %s and above.", level)
	h.notify(ctx, req, "info", "Set the target's log level to %s", level)
	return out
}

// SetRootsInput is the arguments of set_roots.
type SetRootsInput struct {
	Roots []RootInput `json:"roots" jsonschema:"the complete new list of roots; [] offers none"`
}

// RootInput is one root offered to the target.
type RootInput struct {
	URI  string `json:"uri" jsonschema:"the root's URI, normally file:///some/directory"`
	Name string `json:"name,omitempty" jsonschema:"a human-readable name for the root"`
}

// SetRootsOutput is the result of set_roots.
type SetRootsOutput struct {
	Result
	Roots    []RootInput  `json:"roots,omitzero" jsonschema:"the roots now offered"`
	Metadata ConnMetadata `json:"metadata"`
}

func (o *SetRootsOutput) metadata() *Metadata { return &o.Metadata.Metadata }

var setRootsTool = &mcp.Tool{
	Name:  "set_roots",
	Title: "Change the roots offered to the server",
	Description: `Replace the roots (directories the server may work in) that the tester offers, and send the server notifications/roots/list_changed; it then asks roots/list again.

Use it to test how a server reacts to a change of roots. It only works on a connection made with roots (connect's roots), since only then was the roots capability declared. Example: {"roots": [{"uri": "file:///home/me/project", "name": "project"}]}.`,
	Annotations: &mcp.ToolAnnotations{IdempotentHint: true, OpenWorldHint: jsonschema.Ptr(true)},
}

func (h *handlers) setRoots(ctx context.Context, req *mcp.CallToolRequest, in *SetRootsInput) *SetRootsOutput {
	out := &SetRootsOutput{}
	roots := make([]*mcp.Root, 0, len(in.Roots))
	for i, r := range in.Roots {
		if strings.TrimSpace(r.URI) == "" {
			out.fail(classify(&errtype.ArgError{
				Msg:        fmt.Sprintf("roots[%d] has no uri", i),
				Suggestion: `Give every root a uri, e.g. {"uri": "file:///home/me/project", "name": "project"}.`,
			}, errtype.Args))
			return out
		}
		roots = append(roots, &mcp.Root{URI: r.URI, Name: r.Name})
	}
	defer out.Metadata.fill(h.mgr)
	if _, _, ok := send(ctx, h, req, &out.Result, "", nil, func() (struct{}, error) { return noResult(h.mgr.SetRoots(roots)) }); !ok {
		return out
	}
	out.Success, out.Roots = true, nonNil(in.Roots)
	out.Message = fmt.Sprintf("The tester now offers %d %s and sent notifications/roots/list_changed.", len(roots), plural(len(roots), "root", "roots"))
	h.notify(ctx, req, "info", "Offering %d roots to the target", len(roots))
	return out
}
