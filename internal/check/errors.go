package check

import (
	"errors"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/schemacheck"
)

// ErrorType maps an error from the connmgr to SPEC's error type, as the
// tools' envelopes would report it. connecting says that the error came
// from Connect.
func ErrorType(err error, connecting bool) string {
	var (
		exitErr  *connmgr.ExitError
		lostErr  *connmgr.LostError
		httpErr  *connmgr.HTTPError
		spawnErr *connmgr.SpawnError
		rpcErr   *connmgr.RPCError
	)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, connmgr.ErrNotConnected):
		return "not_connected"
	case errors.Is(err, connmgr.ErrInvalidSpec), errors.Is(err, connmgr.ErrRefused), errors.Is(err, ErrPromptArgument):
		return "invalid_arguments"
	case errors.As(err, &spawnErr), errors.As(err, &httpErr):
		return "connection_failed"
	case errors.As(err, &exitErr):
		if connecting || exitErr.During == "initialize" {
			return "connection_failed"
		}
		return "connection_lost"
	case errors.As(err, new(*connmgr.TimeoutError)):
		return "timeout"
	case errors.As(err, &lostErr):
		if connecting {
			return "connection_failed"
		}
		return "connection_lost"
	case errors.As(err, new(*connmgr.ToolNotFoundError)):
		return "tool_not_found"
	case errors.As(err, new(*connmgr.CapabilityError)):
		return "capability_missing"
	case errors.As(err, new(*connmgr.ResourceNotFoundError)):
		return "resource_not_found"
	case errors.As(err, new(*connmgr.PromptNotFoundError)):
		return "prompt_not_found"
	case errors.As(err, new(*connmgr.MissingArgumentsError)):
		return "invalid_arguments"
	case errors.As(err, &rpcErr):
		if rpcErr.Code == jsonrpc.CodeInvalidParams {
			return "invalid_arguments"
		}
		return "protocol_error"
	case errors.As(err, new(*connmgr.MessageTooLargeError)), errors.As(err, new(*connmgr.ProtocolError)):
		return "protocol_error"
	}
	return "internal_error"
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
		if !containsString(out, t) {
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

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
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
