package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// Result is the part of every tool's output that says how the operation
// went (SPEC §1).
type Result struct {
	Success bool       `json:"success" jsonschema:"true when the operation did what was asked"`
	Message string     `json:"message" jsonschema:"one plain sentence describing the outcome"`
	Error   *ErrorInfo `json:"error,omitempty" jsonschema:"present only when success is false"`
}

// ErrorInfo describes why an operation did not succeed.
type ErrorInfo struct {
	Type       errtype.Type   `json:"type" jsonschema:"the kind of failure"`
	Message    string         `json:"message" jsonschema:"what went wrong"`
	Suggestion string         `json:"suggestion" jsonschema:"what to do next"`
	Details    map[string]any `json:"details,omitempty" jsonschema:"facts that depend on the error type"`
}

// Metadata is the metadata every tool reports.
type Metadata struct {
	RequestTimeMS float64 `json:"request_time_ms" jsonschema:"wall time of this tool call in milliseconds"`
}

// envelope is implemented by every tool's output type.
type envelope interface {
	result() *Result
	metadata() *Metadata
}

func (r *Result) result() *Result { return r }

// fail marks r as failed with e. Its message, suggestion and string details
// often quote the target, so they are cut at maxErrorText with a note.
func (r *Result) fail(e *ErrorInfo) {
	e.Message, e.Suggestion = textcut.CutNote(e.Message, maxErrorText), textcut.CutNote(e.Suggestion, maxErrorText)
	for k, v := range e.Details {
		if s, ok := v.(string); ok {
			e.Details[k] = textcut.CutNote(s, maxErrorText)
		}
	}
	r.Success = false
	r.Message = e.Message
	r.Error = e
}

// maxErrorText bounds an error's message and suggestion.
const maxErrorText = 8 << 10

// isError reports whether the MCP result of an output with r is an error:
// every failure except tool_error, which observes the target rather than
// reporting a failure of the tester.
func (r *Result) isError() bool {
	return !r.Success && (r.Error == nil || r.Error.Type != errtype.ToolError)
}

// schemaTypes overrides what jsonschema.For infers for some types, so that
// values passed through from the target keep whatever wire form they have.
var schemaTypes = map[reflect.Type]*jsonschema.Schema{
	reflect.TypeFor[json.RawMessage]():        {},
	reflect.TypeFor[mcp.ServerCapabilities](): {Type: "object", Description: "the capabilities the target declared"},
}

// schemaFor returns the JSON schema of T. Maps may also be null, since a nil
// map marshals to null.
func schemaFor[T any]() *jsonschema.Schema {
	s, err := jsonschema.For[T](&jsonschema.ForOptions{TypeSchemas: schemaTypes})
	if err != nil {
		panic(fmt.Sprintf("schema of %T: %v", *new(T), err))
	}
	allowNullMaps(s)
	return s
}

func allowNullMaps(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	// A struct's schema forbids additional properties (Not: {}); a map's
	// describes them.
	if s.Type == "object" && s.Properties == nil && s.AdditionalProperties != nil && s.AdditionalProperties.Not == nil {
		s.Types = []string{"null", "object"}
		s.Type = ""
	}
	allowNullMaps(s.Items)
	allowNullMaps(s.AdditionalProperties)
	for _, p := range s.Properties {
		allowNullMaps(p)
	}
}

// outputSchemaFor returns the output schema of Out, with the error types
// listed as an enum.
func outputSchemaFor[Out any]() *jsonschema.Schema {
	s := schemaFor[Out]()
	if e := s.Properties["error"]; e != nil {
		if typ := e.Properties["type"]; typ != nil {
			for _, t := range errtype.Types {
				typ.Enum = append(typ.Enum, string(t))
			}
		}
	}
	return s
}

// addTool registers a tool whose handler takes a decoded *In and returns an
// envelope. It declares In's and Out's schemas (unless tool already has
// them), decodes and checks the arguments, times the call, and returns the
// envelope as structuredContent plus the same JSON as one text block.
//
// It uses the low-level Server.AddTool rather than mcp.AddTool: the output is
// marshaled once, never re-validated against its own schema, and arguments
// errors come back as invalid_arguments envelopes.
func addTool[In, Out any, P interface {
	*Out
	envelope
}](s *mcp.Server, h *handlers, def *mcp.Tool, fn func(context.Context, *mcp.CallToolRequest, *In) P) {
	tool := *def // the definitions are shared by every server
	if tool.InputSchema == nil {
		tool.InputSchema = schemaFor[In]()
	}
	props := slices.Sorted(maps.Keys(tool.InputSchema.(*jsonschema.Schema).Properties))
	if tool.OutputSchema == nil {
		tool.OutputSchema = outputSchemaFor[Out]()
	}
	s.AddTool(&tool, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		start := time.Now()
		var out P
		in, err := decodeArgs[In](tool.Name, req.Params.Arguments, props)
		if err != nil {
			out = P(new(Out))
			out.result().fail(classify(err, errtype.Args))
		} else {
			out = fn(ctx, req, in)
		}
		out.metadata().RequestTimeMS = roundMS(time.Since(start))
		h.logger.DebugContext(ctx, "tool call", "tool", tool.Name, "success", out.result().Success,
			"ms", out.metadata().RequestTimeMS)
		return h.result(out)
	})
}

// result turns an envelope into the MCP result.
func (h *handlers) result(out envelope) (*mcp.CallToolResult, error) {
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("marshaling output: %w", err)
	}
	b = h.secrets.scrubJSON(b)
	b, failed := fitAnswer(b, maxAnswerBytes, frameSize)
	return answer(b, failed || out.result().isError()), nil
}

// decodeArgs decodes a tool's arguments into a new In. Unknown names are
// refused with the list of known ones, so that a misspelt argument is not
// silently ignored. Tools without arguments accept anything.
func decodeArgs[In any](tool string, raw json.RawMessage, known []string) (*In, error) {
	in := new(In)
	if len(known) == 0 || len(raw) == 0 || string(raw) == "null" {
		return in, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, &errtype.ArgError{Msg: fmt.Sprintf("the arguments of %s must be a JSON object", tool)}
	}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(known, name) {
			msg := fmt.Sprintf("%s has no argument named %q; its arguments are %s", tool, name, strings.Join(known, ", "))
			sugg := "Remove it, or use one of the listed arguments."
			if close := errtype.Closest(name, known, 1); len(close) > 0 {
				sugg = fmt.Sprintf("Did you mean %q?", close[0])
			}
			return nil, &errtype.ArgError{Msg: msg, Suggestion: sugg}
		}
	}
	// UseNumber keeps pass-through numbers (call_tool's arguments) exact:
	// an ID beyond 2^53 must reach the target unchanged.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, &errtype.ArgError{Msg: fmt.Sprintf("argument %q of %s must be %s, not %s", te.Field, tool, jsonKind(te.Type), te.Value)}
		}
		return nil, &errtype.ArgError{Msg: fmt.Sprintf("decoding the arguments of %s: %v", tool, err)}
	}
	return in, nil
}

// jsonKind names the JSON type a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonKind(t.Elem()), "a "), "an ") + "s"
	case reflect.Map, reflect.Struct:
		return "an object"
	default:
		return "a JSON value"
	}
}

// roundMS returns d in milliseconds, rounded to two decimals.
func roundMS(d time.Duration) float64 {
	return round2(float64(d) / float64(time.Millisecond))
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// timestamp formats t as RFC 3339 in UTC, to the millisecond.
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// nonNil returns s, or an empty slice when s is nil, so that lists are
// shown as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
