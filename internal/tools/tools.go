package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/schemacheck"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/stats"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// ListToolsInput is the arguments of list_tools (SPEC §5).
type ListToolsInput struct {
	Filter         string `json:"filter,omitempty" jsonschema:"keep only tools whose name, title or description contains this text (case-insensitive)"`
	IncludeSchemas *bool  `json:"include_schemas,omitempty" jsonschema:"include input_schema and output_schema; default true. Pass false for a short overview of a large server."`
}

// ListToolsOutput is the result of list_tools.
type ListToolsOutput struct {
	Result
	Tools    []ToolSummary     `json:"tools,omitzero" jsonschema:"the target's tools, in the order it listed them"`
	Metadata ListToolsMetadata `json:"metadata"`
}

// ToolSummary is one of the target's tools, its parts as the target sent
// them.
type ToolSummary struct {
	Name         string         `json:"name"`
	Title        string         `json:"title,omitempty"`
	Description  string         `json:"description,omitempty"`
	InputSchema  any            `json:"input_schema,omitempty" jsonschema:"the tool's inputSchema as sent (every JSON Schema keyword kept)"`
	OutputSchema any            `json:"output_schema,omitempty" jsonschema:"the tool's outputSchema as sent"`
	Annotations  any            `json:"annotations,omitempty" jsonschema:"the tool's annotations as sent"`
	Icons        any            `json:"icons,omitempty" jsonschema:"the tool's icons as sent"`
	Execution    any            `json:"execution,omitempty" jsonschema:"the tool's execution (taskSupport) as sent"`
	Meta         any            `json:"meta,omitempty" jsonschema:"the tool's _meta as sent"`
	OtherFields  map[string]any `json:"other_fields,omitempty" jsonschema:"fields of the tool that MCP does not define, as sent, keyed by their wire names"`
}

// toolFields are the fields of a tool that ToolSummary shows in their own
// places.
var toolFields = []string{"name", "title", "description", "inputSchema", "outputSchema", "annotations", "icons", "execution", "_meta"}

// toolSummary shows t from raw, the tool as the target sent it (nil: as
// go-sdk decoded it), with or without its schemas.
func toolSummary(t *mcp.Tool, raw json.RawMessage, schemas bool) ToolSummary {
	f, other := wireFields(raw, t, toolFields)
	s := ToolSummary{Name: t.Name, Title: t.Title, Description: t.Description,
		Annotations: wireValue(f["annotations"]), Icons: wireValue(f["icons"]),
		Execution: wireValue(f["execution"]), Meta: wireValue(f["_meta"]),
		OtherFields: other}
	if schemas {
		s.InputSchema, s.OutputSchema = wireValue(f["inputSchema"]), wireValue(f["outputSchema"])
	}
	return s
}

// ListToolsMetadata is list_tools' metadata.
type ListToolsMetadata struct {
	Metadata
	TotalTools    *int `json:"total_tools,omitempty" jsonschema:"how many tools the target lists"`
	ReturnedTools *int `json:"returned_tools,omitempty" jsonschema:"how many are returned after filtering"`
	ListedServer
}

func (o *ListToolsOutput) metadata() *Metadata { return &o.Metadata.Metadata }

var listToolsTool = &mcp.Tool{
	Name:  "list_tools",
	Title: "List the server's tools",
	Description: `List every tool of the connected server (all pages), with its description, input_schema, output_schema and annotations exactly as the server declared them.

Use it after connect, to see what to call and with which arguments. Example: {"filter": "search"} keeps tools whose name, title or description mention "search"; {"include_schemas": false} gives a short overview.`,
	Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: jsonschema.Ptr(true)},
}

func (h *handlers) listTools(ctx context.Context, _ *mcp.CallToolRequest, in *ListToolsInput) *ListToolsOutput {
	out := &ListToolsOutput{}
	list, err := h.mgr.ListTools(ctx)
	if err != nil {
		list = &connmgr.ToolList{} // for list, which reports err
	}
	schemas := in.IncludeSchemas == nil || *in.IncludeSchemas
	tools := lister[*mcp.Tool, ToolSummary]{
		one: "tool", many: "tools", pluralFiltered: true,
		fields:  func(t *mcp.Tool) []string { return []string{t.Name, t.Title, t.Description} },
		key:     func(t *mcp.Tool) string { return t.Name },
		summary: func(t *mcp.Tool, raw json.RawMessage) ToolSummary { return toolSummary(t, raw, schemas) },
	}
	l, ok := tools.list(&out.Result, list.Tools, list.Wire, err, in.Filter, list.ServerInfo)
	if ok {
		out.Tools, out.Metadata.TotalTools, out.Metadata.ReturnedTools = l.items, l.total, l.returned
		out.Metadata.ListedServer = l.server
	}
	return out
}

// CallToolInput is the arguments of call_tool (SPEC §6).
type CallToolInput struct {
	Name           string   `json:"name" jsonschema:"the tool to call, as listed by list_tools"`
	Arguments      any      `json:"arguments,omitempty" jsonschema:"the tool's arguments: a JSON object (a string holding a JSON object is accepted too)"`
	TimeoutSeconds *float64 `json:"timeout_seconds,omitempty" jsonschema:"deadline of this call in seconds; default: the connection's call_timeout_seconds"`
}

// CallToolOutput is the result of call_tool.
type CallToolOutput struct {
	Result
	ToolCall *ToolCall        `json:"tool_call,omitempty" jsonschema:"what was sent and everything that came back; present whenever the target answered"`
	Metadata CallToolMetadata `json:"metadata"`
}

// ToolCall is a tools/call and its answer.
type ToolCall struct {
	ToolName  string `json:"tool_name"`
	Arguments any    `json:"arguments" jsonschema:"the arguments sent; values of secret-looking names are shown as ***"`
	IsError   bool   `json:"is_error" jsonschema:"the target's isError"`
	Content   []any  `json:"content" jsonschema:"every content block as sent (unknown fields and exact numbers kept); text over the size limit and binary data over 64 KiB are cut, with truncated: true and size_bytes"`
	Text      string `json:"text" jsonschema:"all text blocks joined by newlines"`
	// TextTruncated and TextSizeBytes say that Text was cut, and from what.
	TextTruncated     bool               `json:"text_truncated,omitempty" jsonschema:"true when text was cut at the size limit"`
	TextSizeBytes     int                `json:"text_size_bytes,omitempty" jsonschema:"the size of text before it was cut"`
	StructuredContent any                `json:"structured_content" jsonschema:"the target's structuredContent as sent (numbers exact), or null"`
	Meta              any                `json:"meta,omitempty" jsonschema:"the result's _meta as sent"`
	OtherFields       map[string]any     `json:"other_fields,omitempty" jsonschema:"fields of the result that MCP does not define, as sent, keyed by their wire names"`
	OutputSchemaCheck schemacheck.Result `json:"output_schema_check"`
	Progress          []ProgressLog      `json:"progress" jsonschema:"progress notifications received during the call, the newest 100; a message over 1 KiB is cut, with message_size_bytes"`
	ProgressDropped   int                `json:"progress_dropped,omitempty" jsonschema:"how many older progress notifications were left out"`
	Logs              []LogEntry         `json:"logs" jsonschema:"log notifications received during the call, the newest 100; data over 16 KiB is cut when received: it is then a string holding the start of its JSON text, with truncated: true and size_bytes"`
	LogsDropped       int                `json:"logs_dropped,omitempty" jsonschema:"how many older log notifications were left out"`
	Execution         Execution          `json:"execution"`
}

// ProgressLog is a progress notification received during a call.
type ProgressLog = connmgr.Progress

// LogEntry is a log notification received during a call.
type LogEntry = connmgr.LogEntry

// Execution times a call.
type Execution struct {
	StartedAt   string  `json:"started_at" jsonschema:"RFC 3339, UTC"`
	CompletedAt string  `json:"completed_at" jsonschema:"RFC 3339, UTC"`
	DurationMS  float64 `json:"duration_ms"`
}

// CallToolMetadata is call_tool's metadata.
type CallToolMetadata struct {
	Metadata
	ServerURL            string          `json:"server_url,omitempty"`
	ConnectionStatistics *stats.Snapshot `json:"connection_statistics,omitempty" jsonschema:"the connection's statistics after this call"`
}

func (o *CallToolOutput) metadata() *Metadata { return &o.Metadata.Metadata }

func callToolTool() *mcp.Tool {
	in := schemaFor[CallToolInput]()
	in.Properties["arguments"].Types = []string{"object", "string"}
	in.Properties["timeout_seconds"].ExclusiveMinimum = jsonschema.Ptr(0.0)
	return &mcp.Tool{
		Name:  "call_tool",
		Title: "Call one of the server's tools",
		Description: `Call a tool of the connected server and show exactly what came back: every content block in wire form, the text joined, structuredContent and whether it matches the tool's outputSchema, isError, progress and log notifications sent during the call, and timing.

Use it to exercise a tool as a host would. Example: {"name": "echo", "arguments": {"message": "hi"}}. A tool that returns isError: true gives success: false with error.type tool_error and tool_call filled in: that is the tool's answer, not a tester failure.`,
		InputSchema: in,
		Annotations: &mcp.ToolAnnotations{OpenWorldHint: jsonschema.Ptr(true)},
	}
}

func (h *handlers) callTool(ctx context.Context, req *mcp.CallToolRequest, in *CallToolInput) *CallToolOutput {
	out := &CallToolOutput{}
	defer h.recordCallTool(in, out)
	args, err := in.arguments()
	if err == nil {
		err = in.check()
	}
	if err != nil {
		out.fail(classify(err, errtype.Args))
		return out
	}
	timeout, _ := seconds("timeout_seconds", in.TimeoutSeconds)

	doing := "Calling tool " + in.Name
	h.notify(ctx, req, "info", "%s", doing)
	res, _, ok := send(ctx, h, req, &out.Result, doing, nil, func() (*connmgr.CallResult, error) { return h.mgr.CallTool(ctx, in.Name, args, timeout) })
	if !ok {
		out.Metadata.ServerURL, out.Metadata.ConnectionStatistics = connState(h.mgr)
		return out
	}

	call := h.toolCall(in.Name, args, res)
	out.ToolCall = call
	snap := utcStats(res.Statistics)
	out.Metadata.ServerURL, out.Metadata.ConnectionStatistics = res.ServerURL, &snap
	took := fmt.Sprintf("%.2f ms", call.Execution.DurationMS)
	if call.IsError {
		out.fail(&ErrorInfo{
			Type:       errtype.ToolError,
			Message:    fmt.Sprintf("The tool %s ran and reported an error (isError: true): %s", in.Name, firstLine(call.Text, 200)),
			Suggestion: "This is the tool's own answer: read tool_call.content. If the tool should have succeeded, check the arguments against its input_schema (list_tools).",
		})
		h.notify(ctx, req, "info", "Tool %s returned an error result in %s", in.Name, took)
		return out
	}
	out.Success = true
	out.Message = fmt.Sprintf("Called %s in %s: %s.", in.Name, took, describeResult(call))
	h.notify(ctx, req, "info", "Tool %s answered in %s", in.Name, took)
	return out
}

// arguments decodes the arguments: an object, or a string holding one.
func (in *CallToolInput) arguments() (map[string]any, error) {
	switch a := in.Arguments.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return a, nil
	case string:
		if strings.TrimSpace(a) == "" {
			return nil, nil
		}
		var v any
		dec := json.NewDecoder(strings.NewReader(a))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil || dec.More() {
			if err == nil {
				err = errors.New("more than one JSON value")
			}
			return nil, &errtype.ArgError{
				Msg:        fmt.Sprintf("arguments is a string that is not valid JSON (%v)", err),
				Suggestion: `Pass arguments as a JSON object, e.g. {"message": "hi"}.`,
			}
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, &errtype.ArgError{
				Msg:        fmt.Sprintf("arguments is a string holding %s, not a JSON object", jsonTypeName(v)),
				Suggestion: `Pass arguments as a JSON object, e.g. {"message": "hi"}.`,
			}
		}
		return m, nil
	default:
		return nil, &errtype.ArgError{
			Msg:        fmt.Sprintf("arguments must be a JSON object, not %s", jsonTypeName(a)),
			Suggestion: `Pass arguments as a JSON object keyed by argument name, e.g. {"message": "hi"}; call list_tools for the tool's input_schema.`,
		}
	}
}

func (in *CallToolInput) check() error {
	if strings.TrimSpace(in.Name) == "" {
		return &errtype.ArgError{
			Msg:        "call_tool needs the name of the tool to call",
			Suggestion: "Call list_tools to see the available tools, then pass one as name.",
		}
	}
	_, err := seconds("timeout_seconds", in.TimeoutSeconds)
	return err
}

func jsonTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// toolCall builds the tool_call of a result the target answered.
func (h *handlers) toolCall(name string, args map[string]any, res *connmgr.CallResult) *ToolCall {
	r := res.Result
	if r == nil {
		r = &mcp.CallToolResult{}
	}
	var echoed any = map[string]any{}
	if args != nil {
		echoed = redact.Value(args)
	}
	raw := res.Raw
	if raw == nil {
		raw, _ = json.Marshal(r)
	}
	wire := splitCallResult(raw)
	call := &ToolCall{
		ToolName:          name,
		Arguments:         echoed,
		IsError:           r.IsError,
		OutputSchemaCheck: schemacheck.Output(res.Tool, r),
		Progress:          nonNil(res.Progress),
		ProgressDropped:   res.ProgressDropped,
		Logs:              nonNil(res.Logs),
		LogsDropped:       res.LogsDropped,
		Execution: Execution{
			StartedAt:   timestamp(res.StartedAt),
			CompletedAt: timestamp(res.CompletedAt),
			DurationMS:  roundMS(res.CompletedAt.Sub(res.StartedAt)),
		},
	}
	call.StructuredContent, call.Meta = wireValue(wire.StructuredContent), wireValue(wire.Meta)
	call.OtherFields = otherFields(wire.Other, callResultFields)
	cut := cutter{maxText: h.maxText, maxBinary: maxBinaryBytes}
	call.Content = cut.rawBlocks(wire.Content, r.Content)
	// go-sdk's decoding of the text blocks is their text as sent.
	call.Text, call.TextSizeBytes, call.TextTruncated = cut.joinText(r.Content)
	if !call.TextTruncated {
		call.TextSizeBytes = 0
	}
	return call
}

// describeResult summarises a successful result for the message.
func describeResult(c *ToolCall) string {
	var kinds []string
	seen := map[string]bool{}
	for _, b := range c.Content {
		if t := blockType(b); !seen[t] {
			seen[t] = true
			kinds = append(kinds, t)
		}
	}
	s := fmt.Sprintf("%d content %s", len(c.Content), plural(len(c.Content), "block", "blocks"))
	if len(kinds) > 0 {
		s += " (" + strings.Join(kinds, ", ") + ")"
	}
	if c.StructuredContent != nil {
		s += " and structured content"
	}
	if n := len(c.Progress) + c.ProgressDropped; n > 0 {
		s += fmt.Sprintf(", %d progress %s", n, plural(n, "notification", "notifications"))
		if c.ProgressDropped > 0 {
			s += fmt.Sprintf(" (the newest %d kept)", len(c.Progress))
		}
	}
	if n := len(c.Logs) + c.LogsDropped; n > 0 {
		s += fmt.Sprintf(", %d log %s", n, plural(n, "message", "messages"))
		if c.LogsDropped > 0 {
			s += fmt.Sprintf(" (the newest %d kept)", len(c.Logs))
		}
		if cut := countCut(c.Logs); cut > 0 {
			s += fmt.Sprintf(" (%d cut at %d KiB)", cut, connmgr.MaxLogData>>10)
		}
	}
	chk := c.OutputSchemaCheck
	switch {
	case chk.Checked && chk.Valid != nil && *chk.Valid:
		s += " that matches the outputSchema"
	case chk.Checked:
		s += "; the result does NOT match the tool's outputSchema (see tool_call.output_schema_check)"
	}
	return s
}

// countCut counts the log entries whose data was cut.
func countCut(logs []LogEntry) int {
	n := 0
	for _, l := range logs {
		if l.Truncated {
			n++
		}
	}
	return n
}

func firstLine(s string, n int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	s = textcut.Mark(s, n)
	if s == "" {
		return "(no text)"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// utcStats returns s with its times in UTC.
func utcStats(s stats.Snapshot) stats.Snapshot {
	if s.LastRequestAt != nil {
		t := s.LastRequestAt.UTC()
		s.LastRequestAt = &t
	}
	if s.ByMethod == nil {
		s.ByMethod = map[string]stats.MethodSnapshot{}
	}
	return s
}
