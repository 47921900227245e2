package check

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/schemacheck"
)

// ErrorType is SPEC's error type of err, as the tools' envelopes report it
// (errtype.Classify); connecting says that err came from Connect. A nil err
// has none.
func ErrorType(err error, connecting bool) string {
	during := errtype.Request
	if connecting {
		during = errtype.Connect
	}
	return string(errtype.Classify(err, during).Type)
}

// stderrTail returns the stderr tail an error carries, if any.
func stderrTail(err error) string {
	var exitErr *connmgr.ExitError
	var timeoutErr *connmgr.TimeoutError
	switch {
	case errors.As(err, &exitErr):
		return exitErr.Exit.StderrTail
	case errors.As(err, &timeoutErr):
		return timeoutErr.StderrTail
	}
	return ""
}

// schemaVerdict is the result of validating structured content against a
// tool's outputSchema.
type schemaVerdict struct {
	checked bool
	valid   bool
	errors  []string
}

// checkOutput validates res's structured content against tool's
// outputSchema, as call_tool does.
func checkOutput(tool *mcp.Tool, res *mcp.CallToolResult) schemaVerdict {
	r := schemacheck.Output(tool, res)
	return schemaVerdict{checked: r.Checked, valid: r.Valid != nil && *r.Valid, errors: r.Errors}
}

// contentTypes names the distinct types of content blocks, in order.
func contentTypes(blocks []mcp.Content) []string {
	var out []string
	for _, b := range blocks {
		t := blockType(b)
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func blockType(b mcp.Content) string {
	switch b.(type) {
	case *mcp.TextContent:
		return "text"
	case *mcp.ImageContent:
		return "image"
	case *mcp.AudioContent:
		return "audio"
	case *mcp.EmbeddedResource:
		return "resource"
	case *mcp.ResourceLink:
		return "resource_link"
	}
	return fmt.Sprintf("%T", b)
}

// joinText joins the text blocks.
func joinText(blocks []mcp.Content) string {
	var parts []string
	for _, b := range blocks {
		if t, ok := b.(*mcp.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}
