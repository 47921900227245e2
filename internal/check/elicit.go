package check

import (
	"maps"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/schemacheck"
)

// The _meta keys of an elicitation answer filled from its requested
// schema: the fields given their default, and the required fields given a
// generated value.
const (
	MetaDefaulted    = "mcp-test-mcp/defaulted"
	MetaPlaceholders = "mcp-test-mcp/placeholders"
)

// ElicitAnswer answers an elicitation request from fixed options, for the
// check command and for connect's elicitation_action alike. Accepting with
// no content fills the form from the requested schema (schemacheck.Form)
// and names the filled fields in the answer's _meta.
func ElicitAnswer(action string, content map[string]any, p *mcp.ElicitParams) *mcp.ElicitResult {
	res := &mcp.ElicitResult{Action: action}
	if action != "accept" || p.Mode == "url" {
		return res
	}
	if content != nil {
		res.Content = maps.Clone(content)
		return res
	}
	filled, defaulted, placeholders := schemacheck.Form(p.RequestedSchema)
	res.Content = filled
	meta := map[string]any{}
	if len(defaulted) > 0 {
		meta[MetaDefaulted] = defaulted
	}
	if len(placeholders) > 0 {
		meta[MetaPlaceholders] = placeholders
	}
	if len(meta) > 0 {
		res.Meta = meta
	}
	return res
}
