// Package schemacheck validates what a tool returned against the JSON
// Schema it declared, and generates values from a schema: the arguments
// check's call_all and the audit's probes call tools with, and the answers
// to elicitation forms. One implementation of each serves the call_tool
// tool, check reports and the audit, so they never disagree about a server.
package schemacheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Result is the verdict on a tool's structured content.
type Result struct {
	Checked bool     `json:"checked" jsonschema:"whether the structured content was validated"`
	Valid   *bool    `json:"valid" jsonschema:"the verdict, or null when not checked"`
	Errors  []string `json:"errors" jsonschema:"why the content does not match, or why it could not be checked"`
	Note    string   `json:"note,omitempty" jsonschema:"why nothing was checked"`
}

// Output validates res's structured content against tool's outputSchema
// (JSON Schema 2020-12, or draft-07 when the schema says so). A tool that
// declares an outputSchema but returns no structured content fails, unless
// the result is an error.
func Output(tool *mcp.Tool, res *mcp.CallToolResult) Result {
	r := Result{Errors: []string{}}
	switch {
	case tool == nil:
		r.Note = "the tool's definition could not be fetched, so its outputSchema is unknown"
		return r
	case tool.OutputSchema == nil:
		r.Note = "the tool declares no outputSchema"
		return r
	case res.StructuredContent == nil && res.IsError:
		r.Note = "an error result need not carry structured content"
		return r
	}
	valid := false
	r.Valid, r.Checked = &valid, true
	if res.StructuredContent == nil {
		r.Errors = append(r.Errors, "the tool declares an outputSchema but returned no structuredContent")
		return r
	}
	resolved, err := Resolve(tool.OutputSchema)
	if err != nil {
		r.Checked, r.Valid = false, nil
		r.Errors = append(r.Errors, fmt.Sprintf("the tool's outputSchema cannot be used: %v", err))
		return r
	}
	v, err := Plain(res.StructuredContent)
	if err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("the structured content is not JSON: %v", err))
		return r
	}
	if err := resolved.Validate(v); err != nil {
		r.Errors = append(r.Errors, Errors(err)...)
		return r
	}
	valid = true
	return r
}

// Decode turns a schema in any form (decoded JSON, json.RawMessage,
// *jsonschema.Schema) into a *jsonschema.Schema whose $schema the validator
// understands. Only draft-07 and 2020-12 are supported.
func Decode(v any) (*jsonschema.Schema, error) {
	var s *jsonschema.Schema
	switch v := v.(type) {
	case *jsonschema.Schema:
		s = v.CloneSchemas()
	case json.RawMessage:
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("it does not decode as a JSON Schema: %v", err)
		}
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("it does not decode as a JSON Schema: %v", err)
		}
	}
	if s == nil {
		return nil, errors.New("the schema is null")
	}
	// The validator knows only these spellings of the two drafts.
	switch strings.TrimSuffix(s.Schema, "#") {
	case "":
	case "http://json-schema.org/draft-07/schema", "https://json-schema.org/draft-07/schema":
		s.Schema = strings.TrimSuffix(s.Schema, "#") + "#"
	case "https://json-schema.org/draft/2020-12/schema":
		s.Schema = "https://json-schema.org/draft/2020-12/schema"
	default:
		return nil, fmt.Errorf("$schema %q is not supported (only draft-07 and 2020-12 are)", s.Schema)
	}
	return s, nil
}

// Resolve decodes and resolves a schema, ready to validate.
func Resolve(v any) (*jsonschema.Resolved, error) {
	s, err := Decode(v)
	if err != nil {
		return nil, err
	}
	return s.Resolve(nil)
}

// Plain returns v as the plain JSON value the validator expects
// (map[string]any, []any, float64, string, bool or nil).
func Plain(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any, []any, string, float64, bool, nil:
		return v, nil
	case json.RawMessage:
		var out any
		err := json.Unmarshal(v, &out)
		return out, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

// Errors flattens a validation error into one message per failure.
func Errors(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, Errors(e)...)
		}
		return out
	}
	return []string{err.Error()}
}
