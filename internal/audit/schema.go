package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/schemacheck"
)

// Bounds on the work a schema can make the audit do. Tool schemas come from
// the target, which may be careless or hostile.
const (
	// maxSchemaDepth bounds the $ref, allOf and nesting levels followed
	// when collecting properties. (schemacheck bounds generation.)
	maxSchemaDepth = 16
)

// compiled is a tool schema that compiles.
type compiled struct {
	schema   *jsonschema.Schema
	resolved *jsonschema.Resolved
	// opaque says why the audit cannot follow every reference of the
	// schema, or is empty. Validating against a schema whose references
	// loop without descending into the value never returns, and the audit
	// checks for such loops only where it can follow the references; so
	// the probes do not use an opaque schema.
	opaque string
}

var jsonTypes = []string{"null", "boolean", "object", "array", "number", "string", "integer"}

// compileSchema decodes and resolves a JSON Schema (2020-12, or draft-07
// when $schema says so), and checks what the resolver leaves alone: type
// names, negative or contradictory bounds, and $ref loops that would never
// end validation.
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
		for _, why := range contradictions(sub) {
			bad = append(bad, dot(path)+why)
		}
	})
	if len(bad) > 0 {
		return nil, errors.New(strings.Join(bad, "; "))
	}
	r, err := s.Resolve(nil)
	if err != nil {
		return nil, fmt.Errorf("it does not compile: %v", err)
	}
	c := &compiled{schema: s, resolved: r}
	loop, opaque := refLoop(s)
	if loop != "" {
		return nil, errors.New(loop)
	}
	c.opaque = opaque
	return c, nil
}

// contradictions lists the bounds of s that are negative, or that no value
// can meet (a minimum above its maximum).
func contradictions(s *jsonschema.Schema) []string {
	var out []string
	pairs := []struct {
		min, max string
		lo, hi   *int
	}{
		{"minLength", "maxLength", s.MinLength, s.MaxLength},
		{"minItems", "maxItems", s.MinItems, s.MaxItems},
		{"minProperties", "maxProperties", s.MinProperties, s.MaxProperties},
		{"minContains", "maxContains", s.MinContains, s.MaxContains},
	}
	for _, p := range pairs {
		for _, b := range []struct {
			name string
			v    *int
		}{{p.min, p.lo}, {p.max, p.hi}} {
			if b.v != nil && *b.v < 0 {
				out = append(out, fmt.Sprintf("%s is %d, but it must not be negative", b.name, *b.v))
			}
		}
		if p.lo != nil && p.hi != nil && *p.lo >= 0 && *p.lo > *p.hi {
			out = append(out, fmt.Sprintf("%s %d is above %s %d, so no value is valid", p.min, *p.lo, p.max, *p.hi))
		}
	}
	if s.Minimum != nil && s.Maximum != nil && *s.Minimum > *s.Maximum {
		out = append(out, fmt.Sprintf("minimum %v is above maximum %v, so no value is valid", *s.Minimum, *s.Maximum))
	}
	return out
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
	for _, f := range schemaMaps(s) {
		for _, k := range slices.Sorted(maps.Keys(f.m)) {
			walkSchema(f.m[k], path+"."+f.name+"."+k, fn)
		}
	}
	for _, f := range schemaFields(s) {
		walkSchema(f.sub, path+"."+f.name, fn)
	}
	for _, f := range schemaLists(s) {
		for i, sub := range f.subs {
			walkSchema(sub, fmt.Sprintf("%s.%s[%d]", path, f.name, i), fn)
		}
	}
}

type namedMap struct {
	name string
	m    map[string]*jsonschema.Schema
}

type namedField struct {
	name string
	sub  *jsonschema.Schema
}

type namedList struct {
	name string
	subs []*jsonschema.Schema
}

// schemaMaps, schemaFields and schemaLists name every subschema keyword of
// s, by the kind of value it holds.
func schemaMaps(s *jsonschema.Schema) []namedMap {
	return []namedMap{
		{"properties", s.Properties}, {"patternProperties", s.PatternProperties},
		{"$defs", s.Defs}, {"definitions", s.Definitions},
		{"dependentSchemas", s.DependentSchemas}, {"dependencies", s.DependencySchemas},
	}
}

func schemaFields(s *jsonschema.Schema) []namedField {
	return []namedField{
		{"items", s.Items}, {"additionalItems", s.AdditionalItems}, {"contains", s.Contains},
		{"unevaluatedItems", s.UnevaluatedItems}, {"additionalProperties", s.AdditionalProperties},
		{"propertyNames", s.PropertyNames}, {"unevaluatedProperties", s.UnevaluatedProperties},
		{"not", s.Not}, {"if", s.If}, {"then", s.Then}, {"else", s.Else}, {"contentSchema", s.ContentSchema},
	}
}

func schemaLists(s *jsonschema.Schema) []namedList {
	return []namedList{
		{"items", s.ItemsArray}, {"prefixItems", s.PrefixItems},
		{"allOf", s.AllOf}, {"anyOf", s.AnyOf}, {"oneOf", s.OneOf},
	}
}

// refTarget returns the schema ref points at within root, or nil when the
// audit does not follow ref (a remote reference, or a pointer it cannot
// walk). It follows "#", JSON Pointers such as "#/$defs/A" and anchors
// such as "#a", also after root's own $id.
func refTarget(root *jsonschema.Schema, ref string) *jsonschema.Schema {
	if root.ID != "" {
		if rest, ok := strings.CutPrefix(ref, root.ID); ok && (rest == "" || rest[0] == '#') {
			ref = rest
		}
	}
	if ref == "" {
		return root
	}
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil
	}
	if f, err := url.PathUnescape(frag); err == nil {
		frag = f
	}
	if frag == "" {
		return root
	}
	if !strings.HasPrefix(frag, "/") {
		var found *jsonschema.Schema
		walkSchema(root, "", func(_ string, s *jsonschema.Schema) {
			if found == nil && (s.Anchor == frag || s.DynamicAnchor == frag) {
				found = s
			}
		})
		return found
	}
	unescape := strings.NewReplacer("~1", "/", "~0", "~")
	segs := strings.Split(frag[1:], "/")
	next := func() (string, bool) {
		if len(segs) == 0 {
			return "", false
		}
		seg := unescape.Replace(segs[0])
		segs = segs[1:]
		return seg, true
	}
	s := root
	for key, ok := next(); ok && s != nil; key, ok = next() {
		var found *jsonschema.Schema
		for _, f := range schemaMaps(s) {
			if f.name == key {
				name, ok := next()
				if !ok {
					return nil
				}
				found = f.m[name]
			}
		}
		for _, f := range schemaLists(s) {
			if f.name == key && (f.subs != nil || key != "items") {
				seg, _ := next()
				i, err := strconv.Atoi(seg)
				if err != nil || i < 0 || i >= len(f.subs) {
					return nil
				}
				found = f.subs[i]
			}
		}
		for _, f := range schemaFields(s) {
			if f.name == key && found == nil && (key != "items" || s.ItemsArray == nil) {
				found = f.sub
			}
		}
		s = found
	}
	return s
}

// refLoop looks for $ref loops that validation would follow forever: from a
// schema back to itself through keywords that apply to the same value
// ($ref, allOf, anyOf, oneOf, not, if, then, else, dependentSchemas), never
// descending into a property or an item. It returns the loop, or else why
// it cannot tell (opaque).
func refLoop(root *jsonschema.Schema) (loop, opaque string) {
	var nodes []*jsonschema.Schema
	paths := map[*jsonschema.Schema]string{}
	walkSchema(root, "", func(path string, s *jsonschema.Schema) {
		nodes = append(nodes, s)
		paths[s] = path
		switch {
		case opaque != "":
		case s != root && s.ID != "":
			opaque = dot(path) + "the schema declares its own $id, so its references are not followed"
		case s.DynamicRef != "":
			opaque = dot(path) + "$dynamicRef is not followed"
		case s.Ref != "" && refTarget(root, s.Ref) == nil:
			opaque = fmt.Sprintf("%s$ref %q is not followed", dot(path), s.Ref)
		}
	})
	if opaque != "" {
		return "", opaque
	}
	draft7 := strings.Contains(root.Schema, "draft-07")
	inPlace := func(s *jsonschema.Schema) []*jsonschema.Schema {
		var out []*jsonschema.Schema
		if s.Ref != "" {
			out = append(out, refTarget(root, s.Ref))
			if draft7 {
				return out // draft-07 ignores the keywords beside $ref
			}
		}
		out = append(out, s.AllOf...)
		out = append(out, s.AnyOf...)
		out = append(out, s.OneOf...)
		out = append(out, s.Not, s.If, s.Then, s.Else)
		for _, m := range []map[string]*jsonschema.Schema{s.DependentSchemas, s.DependencySchemas} {
			for _, k := range slices.Sorted(maps.Keys(m)) {
				out = append(out, m[k])
			}
		}
		return slices.DeleteFunc(out, func(s *jsonschema.Schema) bool { return s == nil })
	}
	const (
		unvisited = iota
		onPath
		done
	)
	state := map[*jsonschema.Schema]int{}
	var path []*jsonschema.Schema
	var visit func(s *jsonschema.Schema)
	visit = func(s *jsonschema.Schema) {
		switch {
		case loop != "" || state[s] == done:
			return
		case state[s] == onPath:
			for _, n := range path[slices.Index(path, s):] {
				if n.Ref != "" {
					loop = fmt.Sprintf("%s$ref %q leads back to itself without descending into the value, so validating against it never ends", dot(paths[n]), n.Ref)
					return
				}
			}
			loop = dot(paths[s]) + "the schema applies itself to its own value, so validating against it never ends"
			return
		}
		state[s] = onPath
		path = append(path, s)
		for _, sub := range inPlace(s) {
			visit(sub)
		}
		path = path[:len(path)-1]
		state[s] = done
	}
	for _, s := range nodes {
		visit(s)
	}
	return loop, ""
}

// props is what an object schema's required list may name.
type props struct {
	names map[string]bool
	// open is true when the schema admits names the audit cannot list:
	// through patternProperties, an additionalProperties or
	// unevaluatedProperties schema, or a reference it does not follow.
	open bool
}

// maxCollect bounds the subschemas visited to collect one schema's
// properties.
const maxCollect = 1000

// collect adds the properties s declares itself and through $ref, allOf,
// anyOf, oneOf, if, then, else and dependentSchemas. Alternatives count as
// their union: a name any branch declares is known.
func (p *props) collect(root, s *jsonschema.Schema, depth int, seen map[*jsonschema.Schema]bool) {
	if s == nil || seen[s] {
		return
	}
	if depth > maxSchemaDepth || len(seen) > maxCollect {
		p.open = true
		return
	}
	seen[s] = true
	for name := range s.Properties {
		p.names[name] = true
	}
	if len(s.PatternProperties) > 0 || s.DynamicRef != "" || admitsExtra(s.AdditionalProperties) || admitsExtra(s.UnevaluatedProperties) {
		p.open = true
	}
	if s.Ref != "" {
		if target := refTarget(root, s.Ref); target != nil {
			p.collect(root, target, depth+1, seen)
		} else {
			p.open = true
		}
	}
	for _, sub := range slices.Concat(s.AllOf, s.AnyOf, s.OneOf, []*jsonschema.Schema{s.If, s.Then, s.Else}) {
		p.collect(root, sub, depth+1, seen)
	}
	for _, k := range slices.Sorted(maps.Keys(s.DependentSchemas)) {
		p.collect(root, s.DependentSchemas[k], depth+1, seen)
	}
}

// admitsExtra reports whether s, an additionalProperties or
// unevaluatedProperties, is a schema rather than absent, true or false:
// then an object may have properties it does not list.
func admitsExtra(s *jsonschema.Schema) bool {
	if s == nil {
		return false
	}
	b, err := json.Marshal(s)
	return err != nil || string(b) != "true" && string(b) != "false"
}

// hasComposition reports whether s takes its properties from elsewhere.
func hasComposition(s *jsonschema.Schema) bool {
	return s.Ref != "" || s.DynamicRef != "" || len(s.AllOf)+len(s.AnyOf)+len(s.OneOf) > 0 || s.If != nil || s.Then != nil || s.Else != nil || len(s.DependentSchemas) > 0
}

// unknownRequired returns, for every object schema in s, the required names
// that none of its properties declares, keyed by the schema's path. The
// properties are those of the schema, of what it references and composes
// (allOf, anyOf, oneOf), and of its parent when it sits under allOf,
// anyOf, oneOf, not, if, then or else: {"properties": {"email": …,
// "phone": …}, "anyOf": [{"required": ["email"]}, {"required":
// ["phone"]}]} is a common idiom, not a defect. A schema is not reported
// when it admits properties the audit cannot list (patternProperties, an
// additionalProperties schema, a remote $ref), nor when it has a required
// list and nothing else to take properties from: that is a plain
// constraint, as in {"$defs": {"HasID": {"required": ["id"]}}}.
func unknownRequired(root *jsonschema.Schema) map[string][]string {
	out := map[string][]string{}
	var walk func(s *jsonschema.Schema, path string, inherited *props)
	walk = func(s *jsonschema.Schema, path string, inherited *props) {
		if s == nil {
			return
		}
		var avail *props
		if len(s.Required) > 0 || hasComposition(s) || s.Not != nil || len(s.DependencySchemas) > 0 {
			avail = &props{names: map[string]bool{}}
			if inherited != nil {
				maps.Copy(avail.names, inherited.names)
				avail.open = inherited.open
			}
			avail.collect(root, s, 0, map[*jsonschema.Schema]bool{})
		}
		declares := s.Properties != nil || hasComposition(s) || inherited != nil && len(inherited.names) > 0
		if len(s.Required) > 0 && declares && !avail.open {
			for _, name := range s.Required {
				if !avail.names[name] {
					out[path] = append(out[path], name)
				}
			}
		}
		for _, f := range schemaMaps(s) {
			var in *props
			if f.name == "dependentSchemas" || f.name == "dependencies" {
				in = avail
			}
			for _, k := range slices.Sorted(maps.Keys(f.m)) {
				walk(f.m[k], path+"."+f.name+"."+k, in)
			}
		}
		for _, f := range schemaFields(s) {
			switch f.name {
			case "not", "if", "then", "else":
				walk(f.sub, path+"."+f.name, avail)
			default:
				walk(f.sub, path+"."+f.name, nil)
			}
		}
		for _, f := range schemaLists(s) {
			var in *props
			if f.name == "allOf" || f.name == "anyOf" || f.name == "oneOf" {
				in = avail
			}
			for i, sub := range f.subs {
				walk(sub, fmt.Sprintf("%s.%s[%d]", path, f.name, i), in)
			}
		}
	}
	walk(root, "", nil)
	return out
}

// validArguments makes arguments that satisfy the input schema, with
// schemacheck's generator (the one check's call_all uses): the required
// properties only, each with the simplest value its schema allows, checked
// against the whole schema there; the error says why there are none.
func validArguments(c *compiled) (map[string]any, error) {
	if c.opaque != "" {
		return nil, errors.New(c.opaque)
	}
	m, err := schemacheck.Arguments(c.schema)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// invalidArguments makes arguments the input schema forbids: the required
// properties left out, else a property of the wrong type, else an unknown
// property when additional ones are forbidden. ok is false when the schema
// forbids nothing we can produce.
func invalidArguments(c *compiled) (map[string]any, string, bool) {
	if c.opaque != "" {
		return nil, "", false
	}
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
		if v, err := validArguments(c); err == nil {
			maps.Copy(v, args)
			args = v
		}
		if args, what, ok := try(args, fmt.Sprintf("with %s of the wrong type", name)); ok {
			return args, what, ok
		}
	}
	return try(map[string]any{"mcp_test_mcp_unexpected": true}, "with an argument it does not declare")
}
