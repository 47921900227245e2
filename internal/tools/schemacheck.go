package tools

import "github.com/mcp-test-mcp/mcp-test-mcp/internal/schemacheck"

// SchemaCheck is the result of validating a tool's structured content
// against its outputSchema.
type SchemaCheck = schemacheck.Result

var (
	checkOutput   = schemacheck.Output
	resolveSchema = schemacheck.Resolve
	plainJSON     = schemacheck.Plain
)
