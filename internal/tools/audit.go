package tools

import (
	"context"
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/audit"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
)

// AuditServerInput is the arguments of audit_server.
type AuditServerInput struct {
	Probe  *bool  `json:"probe,omitempty" jsonschema:"send the active probes too: ping, an unknown method, an unknown tool, schema-invalid arguments and calls of read-only tools; default true"`
	FailOn string `json:"fail_on,omitempty" jsonschema:"the severity from which the audit does not pass: error (the default), warning or info"`
}

// AuditServerOutput is the result of audit_server.
type AuditServerOutput struct {
	Result
	Passed   bool          `json:"passed" jsonschema:"true when no finding is at fail_on or worse"`
	FailOn   string        `json:"fail_on" jsonschema:"the severity passed was judged at"`
	Report   *audit.Report `json:"report,omitempty" jsonschema:"the findings, counts and what was not checked"`
	Metadata ConnMetadata  `json:"metadata"`
}

func (o *AuditServerOutput) metadata() *Metadata { return &o.Metadata.Metadata }

func auditServerTool() *mcp.Tool {
	in := schemaFor[AuditServerInput]()
	in.Properties["fail_on"].Enum = []any{string(audit.SeverityError), string(audit.SeverityWarning), string(audit.SeverityInfo)}
	return &mcp.Tool{
		Name:  "audit_server",
		Title: "Audit the connected server",
		Description: `Check the connected server against the MCP specification and good practice, and list what is wrong: protocol version and serverInfo, declared versus served capabilities, tool names, descriptions and schemas, annotations, the tool list's size in tokens, resource URIs and templates, prompts, pagination, and (with probe) how it answers ping, unknown methods and tools, invalid arguments, and calls of its read-only tools.

Each finding has rule, severity (error, warning, info), where, message, fix and spec (a link to the MCP specification). Example: {} or {"probe": false, "fail_on": "warning"}. passed is false when a finding is at fail_on or worse. Probes call only tools annotated readOnlyHint.`,
		InputSchema: in,
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: jsonschema.Ptr(true)},
	}
}

func (h *handlers) auditServer(ctx context.Context, req *mcp.CallToolRequest, in *AuditServerInput) *AuditServerOutput {
	out := &AuditServerOutput{}
	failOn := audit.SeverityError
	if in.FailOn != "" {
		var err error
		if failOn, err = audit.ParseSeverity(in.FailOn); err != nil {
			out.fail(classify(&errtype.ArgError{Msg: "fail_on must be error, warning or info, not " + fmt.Sprintf("%q", in.FailOn)}, errtype.Args))
			return out
		}
	}
	out.FailOn = string(failOn)
	probe := in.Probe == nil || *in.Probe
	defer out.Metadata.fill(h.mgr)
	h.notify(ctx, req, "info", "Auditing the connected server (probes %s)", map[bool]string{true: "on", false: "off"}[probe])
	r, _, ok := send(ctx, h, req, &out.Result, "The audit", nil, func() (*audit.Report, error) { return audit.Run(ctx, h.mgr, audit.Options{Probe: probe}) })
	if !ok {
		return out
	}
	out.Success, out.Report, out.Passed = true, r, !r.Failed(failOn)
	verdict := "passes"
	if !out.Passed {
		verdict = "does not pass"
	}
	out.Message = fmt.Sprintf("Audited %s: %d %s, %d %s and %d info; it %s at fail_on %s.", r.Server.Name,
		r.Counts[audit.SeverityError], plural(r.Counts[audit.SeverityError], "error", "errors"),
		r.Counts[audit.SeverityWarning], plural(r.Counts[audit.SeverityWarning], "warning", "warnings"),
		r.Counts[audit.SeverityInfo], verdict, failOn)
	h.notify(ctx, req, "info", "%s", out.Message)
	return out
}
