package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/schemacheck"
)

// compiled is a tool schema that compiles.
type compiled struct {
	schema   *jsonschema.Schema
	resolved *jsonschema.Resolved
}

var jsonTypes = []string{"null", "boolean", "object", "array", "number", "string", "integer"}

// compileSchema decodes and resolves a JSON Schema (2020-12, or draft-07
// when $schema says so), and checks what the resolver leaves alone: type
// names.
func compileSchema(raw json.RawMessage) (*compiled, error) {
	s, err := schemacheck.Decode(raw)
	if err != nil {
		return nil, err
	}
	var bad []string
	walkSchema(s, "", func(path string, sub *jsonschema.Schema) {
		for _, t := range append(slices.Clip(sub.Types), sub.Type) {
			if t != "" && !slices.Contains(jsonTypes, t) {
				bad = append(bad, fmt.Sprintf("%stype %q is not a JSON Schema type", dot(path), t))
			}
		}
	})
	if len(bad) > 0 {
		return nil, errors.New(strings.Join(bad, "; "))
	}
	r, err := s.Resolve(nil)
	if err != nil {
		return nil, fmt.Errorf("it does not compile: %v", err)
	}
	return &compiled{schema: s, resolved: r}, nil
}

func dot(path string) string {
	if path == "" {
		return ""
	}
	return strings.TrimPrefix(path, ".") + ": "
}

// isObjectSchema reports whether s says its instances are objects.
func isObjectSchema(s *jsonschema.Schema) bool {
	return s.Type == "object" || len(s.Types) == 1 && s.Types[0] == "object"
}

// walkSchema calls fn on s and every subschema, with a dotted path from s.
func walkSchema(s *jsonschema.Schema, path string, fn func(path string, s *jsonschema.Schema)) {
	if s == nil {
		return
	}
	fn(path, s)
	for _, k := range slices.Sorted(maps.Keys(s.Properties)) {
		walkSchema(s.Properties[k], path+".properties."+k, fn)
	}
	for _, k := range slices.Sorted(maps.Keys(s.PatternProperties)) {
		walkSchema(s.PatternProperties[k], path+".patternProperties."+k, fn)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Defs)) {
		walkSchema(s.Defs[k], path+".$defs."+k, fn)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Definitions)) {
		walkSchema(s.Definitions[k], path+".definitions."+k, fn)
	}
	walkSchema(s.Items, path+".items", fn)
	walkSchema(s.AdditionalProperties, path+".additionalProperties", fn)
	for i, sub := range s.PrefixItems {
		walkSchema(sub, fmt.Sprintf("%s.prefixItems[%d]", path, i), fn)
	}
	for i, sub := range s.AllOf {
		walkSchema(sub, fmt.Sprintf("%s.allOf[%d]", path, i), fn)
	}
	for i, sub := range s.AnyOf {
		walkSchema(sub, fmt.Sprintf("%s.anyOf[%d]", path, i), fn)
	}
	for i, sub := range s.OneOf {
		walkSchema(sub, fmt.Sprintf("%s.oneOf[%d]", path, i), fn)
	}
}

// unknownRequired returns, for every object schema in s, the required names
// that are not among its properties, keyed by the schema's path. A schema
// under allOf, anyOf or oneOf may require the properties its parent
// declares: {"properties": {"email": …, "phone": …}, "anyOf": [{"required":
// ["email"]}, {"required": ["phone"]}]} is a common idiom, not a defect.
func unknownRequired(s *jsonschema.Schema) map[string][]string {
	out := map[string][]string{}
	var walk func(s *jsonschema.Schema, path string, inherited map[string]bool)
	walk = func(s *jsonschema.Schema, path string, inherited map[string]bool) {
		if s == nil {
			return
		}
		known := maps.Clone(inherited)
		if known == nil {
			known = map[string]bool{}
		}
		for name := range s.Properties {
			known[name] = true
		}
		if len(s.PatternProperties) == 0 {
			for _, name := range s.Required {
				if !known[name] {
					out[path] = append(out[path], name)
				}
			}
		}
		for _, k := range slices.Sorted(maps.Keys(s.Properties)) {
			walk(s.Properties[k], path+".properties."+k, nil)
		}
		for _, k := range slices.Sorted(maps.Keys(s.Defs)) {
			walk(s.Defs[k], path+".$defs."+k, nil)
		}
		for _, k := range slices.Sorted(maps.Keys(s.Definitions)) {
			walk(s.Definitions[k], path+".definitions."+k, nil)
		}
		walk(s.Items, path+".items", nil)
		walk(s.AdditionalProperties, path+".additionalProperties", nil)
		for i, sub := range s.PrefixItems {
			walk(sub, fmt.Sprintf("%s.prefixItems[%d]", path, i), nil)
		}
		for name, subs := range map[string][]*jsonschema.Schema{"allOf": s.AllOf, "anyOf": s.AnyOf, "oneOf": s.OneOf} {
			for i, sub := range subs {
				walk(sub, fmt.Sprintf("%s.%s[%d]", path, name, i), known)
			}
		}
		for name, sub := range map[string]*jsonschema.Schema{"not": s.Not, "if": s.If, "then": s.Then, "else": s.Else} {
			walk(sub, path+"."+name, known)
		}
	}
	walk(s, "", nil)
	return out
}

// maxGenDepth bounds argument generation in recursive schemas.
const maxGenDepth = 8

// validArguments makes arguments that should satisfy the input schema: the
// required properties only, each with the simplest value its schema allows.
// The caller validates the result; ok is false when no value was found.
func validArguments(c *compiled) (map[string]any, bool) {
	v, ok := gen(c.schema, c.schema, 0)
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok || c.resolved.Validate(m) != nil {
		return nil, false
	}
	return m, true
}

func gen(root, s *jsonschema.Schema, depth int) (any, bool) {
	if s == nil {
		return "test", true
	}
	if depth > maxGenDepth {
		return nil, false
	}
	if s.Ref != "" {
		if target := localRef(root, s.Ref); target != nil {
			return gen(root, target, depth+1)
		}
		return nil, false
	}
	switch {
	case s.Const != nil:
		return *s.Const, true
	case len(s.Enum) > 0:
		return s.Enum[0], true
	case len(s.Default) > 0:
		var v any
		if json.Unmarshal(s.Default, &v) == nil {
			return v, true
		}
	case len(s.Examples) > 0:
		return s.Examples[0], true
	}
	for _, alts := range [][]*jsonschema.Schema{s.AnyOf, s.OneOf, s.AllOf} {
		if len(alts) > 0 && s.Type == "" && len(s.Types) == 0 {
			return gen(root, alts[0], depth+1)
		}
	}
	typ := s.Type
	for _, t := range s.Types {
		if t != "null" {
			typ = t
			break
		}
	}
	switch typ {
	case "string":
		return genString(s), true
	case "integer":
		return math.Round(genNumber(s, true)), true
	case "number":
		return genNumber(s, false), true
	case "boolean":
		return false, true
	case "null":
		return nil, true
	case "array":
		n := 0
		if s.MinItems != nil {
			n = *s.MinItems
		}
		items := make([]any, 0, n)
		for range n {
			v, ok := gen(root, s.Items, depth+1)
			if !ok {
				return nil, false
			}
			items = append(items, v)
		}
		return items, true
	case "object", "":
		obj := map[string]any{}
		for _, name := range s.Required {
			v, ok := gen(root, s.Properties[name], depth+1)
			if !ok {
				return nil, false
			}
			obj[name] = v
		}
		return obj, true
	}
	return nil, false
}

func localRef(root *jsonschema.Schema, ref string) *jsonschema.Schema {
	switch {
	case ref == "#":
		return root
	case strings.HasPrefix(ref, "#/$defs/"):
		return root.Defs[strings.TrimPrefix(ref, "#/$defs/")]
	case strings.HasPrefix(ref, "#/definitions/"):
		return root.Definitions[strings.TrimPrefix(ref, "#/definitions/")]
	}
	return nil
}

func genString(s *jsonschema.Schema) string {
	v := "test"
	switch s.Format {
	case "uri", "url", "iri", "uri-reference":
		v = "https://example.com/"
	case "email":
		v = "user@example.com"
	case "date-time":
		v = "2025-01-01T00:00:00Z"
	case "date":
		v = "2025-01-01"
	case "time":
		v = "00:00:00Z"
	case "uuid":
		v = "00000000-0000-4000-8000-000000000000"
	case "ipv4":
		v = "127.0.0.1"
	case "hostname":
		v = "example.com"
	}
	if s.MinLength != nil && len(v) < *s.MinLength {
		v += strings.Repeat("x", *s.MinLength-len(v))
	}
	if s.MaxLength != nil && len(v) > *s.MaxLength {
		v = v[:*s.MaxLength]
	}
	return v
}

func genNumber(s *jsonschema.Schema, integer bool) float64 {
	v := 1.0
	if s.Minimum != nil {
		v = *s.Minimum
		if integer {
			v = math.Ceil(v)
		}
	}
	if s.ExclusiveMinimum != nil {
		v = *s.ExclusiveMinimum + 1
		if integer {
			v = math.Floor(*s.ExclusiveMinimum) + 1
		}
	}
	if s.Maximum != nil && v > *s.Maximum {
		v = *s.Maximum
		if integer {
			v = math.Floor(v)
		}
	}
	if s.MultipleOf != nil && *s.MultipleOf > 0 {
		v = math.Ceil(v / *s.MultipleOf) * *s.MultipleOf
	}
	return v
}

// invalidArguments makes arguments the input schema forbids: the required
// properties left out, else a property of the wrong type, else an unknown
// property when additional ones are forbidden. ok is false when the schema
// forbids nothing we can produce.
func invalidArguments(c *compiled) (map[string]any, string, bool) {
	s := c.schema
	try := func(args map[string]any, what string) (map[string]any, string, bool) {
		if c.resolved.Validate(args) == nil {
			return nil, "", false
		}
		return args, what, true
	}
	if len(s.Required) > 0 {
		if args, what, ok := try(map[string]any{}, "without its required arguments "+strings.Join(s.Required, ", ")); ok {
			return args, what, ok
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		var wrong any
		switch s.Properties[name].Type {
		case "string":
			wrong = 12345
		case "number", "integer":
			wrong = "not a number"
		case "boolean":
			wrong = "not a boolean"
		case "array":
			wrong = "not an array"
		case "object":
			wrong = "not an object"
		default:
			continue
		}
		args := map[string]any{name: wrong}
		if v, ok := validArguments(c); ok {
			maps.Copy(v, args)
			args = v
		}
		if args, what, ok := try(args, fmt.Sprintf("with %s of the wrong type", name)); ok {
			return args, what, ok
		}
	}
	return try(map[string]any{"mcp_test_mcp_unexpected": true}, "with an argument it does not declare")
}
