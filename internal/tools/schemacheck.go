package tools

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// SchemaCheck is the result of validating a tool's structured content
// against its outputSchema.
type SchemaCheck struct {
	Checked bool     `json:"checked" jsonschema:"whether the structured content was validated"`
	Valid   *bool    `json:"valid" jsonschema:"the verdict, or null when not checked"`
	Errors  []string `json:"errors" jsonschema:"why the content does not match, or why it could not be checked"`
	Note    string   `json:"note,omitempty" jsonschema:"why nothing was checked"`
}

// checkOutput validates res's structured content against tool's
// outputSchema (JSON Schema 2020-12, or draft-07 when the schema says so).
func checkOutput(tool *mcp.Tool, res *mcp.CallToolResult) SchemaCheck {
	chk := SchemaCheck{Errors: []string{}}
	switch {
	case tool == nil:
		chk.Note = "the tool's definition could not be fetched, so its outputSchema is unknown"
		return chk
	case tool.OutputSchema == nil:
		chk.Note = "the tool declares no outputSchema"
		return chk
	case res.StructuredContent == nil && res.IsError:
		chk.Note = "an error result need not carry structured content"
		return chk
	}
	valid := false
	chk.Valid = &valid
	chk.Checked = true
	if res.StructuredContent == nil {
		chk.Errors = append(chk.Errors, "the tool declares an outputSchema but returned no structuredContent")
		return chk
	}
	resolved, err := resolveSchema(tool.OutputSchema)
	if err != nil {
		chk.Checked, chk.Valid = false, nil
		chk.Errors = append(chk.Errors, fmt.Sprintf("the tool's outputSchema cannot be used: %v", err))
		return chk
	}
	v, err := plainJSON(res.StructuredContent)
	if err != nil {
		chk.Errors = append(chk.Errors, fmt.Sprintf("the structured content is not JSON: %v", err))
		return chk
	}
	if err := resolved.Validate(v); err != nil {
		chk.Errors = append(chk.Errors, splitErrors(err)...)
		return chk
	}
	valid = true
	return chk
}

func resolveSchema(s any) (*jsonschema.Resolved, error) {
	var schema *jsonschema.Schema
	switch s := s.(type) {
	case *jsonschema.Schema:
		schema = s
	default:
		b, err := json.Marshal(s)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &schema); err != nil {
			return nil, err
		}
	}
	if schema == nil {
		return nil, fmt.Errorf("the schema is null")
	}
	// Validate accepts only these spellings of the two drafts it knows.
	switch strings.TrimSuffix(schema.Schema, "#") {
	case "":
	case "http://json-schema.org/draft-07/schema", "https://json-schema.org/draft-07/schema":
		schema.Schema = strings.TrimSuffix(schema.Schema, "#") + "#"
	case "https://json-schema.org/draft/2020-12/schema":
		schema.Schema = "https://json-schema.org/draft/2020-12/schema"
	default:
		return nil, fmt.Errorf("$schema %q is not supported (only draft-07 and 2020-12 are)", schema.Schema)
	}
	return schema.Resolve(nil)
}

// plainJSON returns v as the plain JSON value the validator expects
// (map[string]any, []any, float64, string, bool or nil).
func plainJSON(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any, []any, string, float64, bool, nil:
		return v, nil
	case json.RawMessage:
		var out any
		err := json.Unmarshal(v, &out)
		return out, err
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		var out any
		err = json.Unmarshal(b, &out)
		return out, err
	}
}

func splitErrors(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, splitErrors(e)...)
		}
		return out
	}
	return []string{err.Error()}
}
