package schemacheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
)

// Arguments returns arguments for a tool with the given input schema (wire
// form, or anything that marshals to it): its required properties only,
// each with a value that satisfies its schema. A value is the property's
// default if it has one, else its first example, const or enum value, else
// one made from its type that honours minimum/maximum, minLength/maxLength,
// minItems, format and (when one of a few candidates fits) pattern.
// Requirements in allOf, the first branch of anyOf/oneOf and if/then/else
// count too. The check command calls tools with them (call_all), and the
// audit probes tools with them.
//
// The schema is read as Plain reads it. It comes from the server under
// test, so nothing in it is trusted: negative bounds count as 0, strings are
// at most maxStringLen bytes, arrays at most maxItems items, and recursion
// through nesting, $ref, allOf/anyOf/oneOf and if/then/else stops at
// maxDepth. When a bound like
// these, or anything else, kept it from meeting the schema, it returns the
// arguments it made with an *UnsatisfiableError naming the part of the
// schema; a panic (a schema it still mishandles) is an error too.
func Arguments(schema any) (args map[string]any, err error) {
	defer func() {
		if p := recover(); p != nil {
			args, err = nil, fmt.Errorf("generating arguments from the input schema: %v", p)
		}
	}()
	decoded, _ := Plain(schema)
	s, _ := decoded.(map[string]any)
	g := &generator{root: s}
	args, _ = g.object(s, "", 0).(map[string]any)
	if args == nil {
		args = map[string]any{}
	}
	if len(g.unmet) > 0 {
		return args, g.unmet[0]
	}
	// The generator meets each keyword on its own; what it made must also
	// meet them together (a pattern and a minLength, a format and a
	// maxLength). A schema the validator cannot resolve is not judged.
	if resolved, rerr := Resolve(decoded); rerr == nil {
		if verr := resolved.Validate(args); verr != nil {
			return args, &UnsatisfiableError{Reason: "the generated arguments do not validate: " + strings.Join(Errors(verr), "; ")}
		}
	}
	return args, nil
}

// UnsatisfiableError says which part of a schema the generated arguments
// do not meet, and why.
type UnsatisfiableError struct {
	// Path is the part of the schema, in the dotted form of the audit's
	// findings ("properties.s.minLength"); empty means the whole schema.
	Path string
	// Reason says what the schema asks that the generator cannot give.
	Reason string
}

func (e *UnsatisfiableError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

// Form fills an elicitation form from its requested schema: every
// property's default, and a generated value for each required property
// without one. It returns the names of both. A schema the generator cannot
// handle gives an empty form.
func Form(schema any) (out map[string]any, defaulted, generated []string) {
	defer func() {
		if recover() != nil {
			out, defaulted, generated = map[string]any{}, nil, nil
		}
	}()
	decoded, _ := Plain(schema)
	s, _ := decoded.(map[string]any)
	g := &generator{root: s}
	out = map[string]any{}
	props, _ := s["properties"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(props)) {
		p, _ := props[name].(map[string]any)
		if d, ok := p["default"]; ok {
			out[name] = d
			defaulted = append(defaulted, name)
		}
	}
	for _, name := range Required(s) {
		if _, ok := out[name]; !ok {
			p, _ := props[name].(map[string]any)
			out[name] = g.value(p, "properties."+name, 1)
			generated = append(generated, name)
		}
	}
	return out, defaulted, generated
}

// Limits on what a (possibly hostile) schema can make the generator do.
const (
	// maxDepth bounds recursion through nested and self-referencing
	// schemas: nesting, $ref chains and allOf/anyOf/oneOf.
	maxDepth = 16
	// maxStringLen caps minLength.
	maxStringLen = 1024
	// maxItems caps minItems.
	maxItems = 16
	// maxWork bounds the schemas visited in one generation, which depth
	// alone does not: allOf: [{$ref: A}, {$ref: A}] branches at every level.
	maxWork = 10_000
)

type generator struct {
	root map[string]any
	// work counts the schemas visited, up to maxWork.
	work int
	// unmet lists what the generated value does not meet, in the order
	// found.
	unmet []*UnsatisfiableError
}

// cannot records that the value at path does not meet its schema.
func (g *generator) cannot(path, format string, args ...any) {
	g.unmet = append(g.unmet, &UnsatisfiableError{Path: strings.TrimPrefix(path, "."), Reason: fmt.Sprintf(format, args...)})
}

// tired reports whether the generator has visited maxWork schemas, and
// counts one more.
func (g *generator) tired() bool {
	g.work++
	return g.work > maxWork
}

// deref follows a local $ref ("#/$defs/x", "#/definitions/x").
func (g *generator) deref(s map[string]any) map[string]any {
	for range maxDepth {
		ref, ok := s["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#") {
			return s
		}
		var cur any = g.root
		for _, seg := range strings.Split(strings.TrimPrefix(ref, "#"), "/") {
			if seg == "" {
				continue
			}
			seg = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
			m, _ := cur.(map[string]any)
			cur = m[seg]
		}
		target, _ := cur.(map[string]any)
		if target == nil {
			return s
		}
		merged := maps.Clone(target)
		for k, v := range s {
			if k != "$ref" {
				merged[k] = v
			}
		}
		s = merged
	}
	return s
}

// merge folds allOf, and the first branch of anyOf/oneOf, into s, the
// schema of the value at path. depth counts the merges above this one: a
// schema that refers back to itself through allOf (`A: {allOf: [{$ref:
// A}]}`) stops at maxDepth, which is recorded as unmet.
func (g *generator) merge(s map[string]any, path string, depth int) map[string]any {
	s = g.deref(s)
	if ref, ok := s["$ref"].(string); ok {
		g.cannot(path, "$ref %q is not followed (only local references are)", ref)
	}
	if depth >= maxDepth || g.tired() {
		if s["allOf"] != nil || s["anyOf"] != nil || s["oneOf"] != nil {
			g.cannot(path, "allOf, anyOf or oneOf nested deeper than %d levels, or in more than %d subschemas, is not followed", maxDepth, maxWork)
		}
		return s
	}
	parts := []map[string]any{}
	if all, ok := s["allOf"].([]any); ok {
		for _, p := range all {
			if m, ok := p.(map[string]any); ok {
				parts = append(parts, g.merge(m, path, depth+1))
			}
		}
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		if alts, ok := s[key].([]any); ok {
			for _, a := range alts {
				m, ok := a.(map[string]any)
				if !ok || typeOf(g.deref(m)) == "null" {
					continue
				}
				parts = append(parts, g.merge(m, path, depth+1))
				break
			}
		}
	}
	if len(parts) == 0 {
		return s
	}
	out := maps.Clone(s)
	delete(out, "allOf")
	delete(out, "anyOf")
	delete(out, "oneOf")
	props := map[string]any{}
	if p, ok := s["properties"].(map[string]any); ok {
		maps.Copy(props, p)
	}
	req := Required(s)
	for _, p := range parts {
		for k, v := range p {
			switch k {
			case "properties":
				if pm, ok := v.(map[string]any); ok {
					for name, ps := range pm {
						if _, seen := props[name]; !seen {
							props[name] = ps
						}
					}
				}
			case "required":
				for _, r := range Required(p) {
					if !slices.Contains(req, r) {
						req = append(req, r)
					}
				}
			default:
				if _, seen := out[k]; !seen {
					out[k] = v
				}
			}
		}
	}
	if len(props) > 0 {
		out["properties"] = props
	}
	if len(req) > 0 {
		out["required"] = toAny(req)
	}
	return out
}

// Required returns the names an object schema (wire form) requires.
func Required(s map[string]any) []string {
	var out []string
	if r, ok := s["required"].([]any); ok {
		for _, x := range r {
			if n, ok := x.(string); ok {
				out = append(out, n)
			}
		}
	}
	return out
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// typeOf returns the schema's type; of a list, the first that is not null.
func typeOf(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if n, ok := x.(string); ok && n != "null" {
				return n
			}
		}
		if len(t) > 0 {
			return "null"
		}
	}
	switch {
	case s["properties"] != nil || s["required"] != nil:
		return "object"
	case s["items"] != nil:
		return "array"
	}
	return ""
}

// value generates a value for s, the schema of the value at path.
func (g *generator) value(s map[string]any, path string, depth int) any {
	if s == nil {
		return "mcp-test-mcp"
	}
	if g.tired() {
		g.cannot(path, "the schema has more than %d subschemas; the generator gave up", maxWork)
		return "mcp-test-mcp"
	}
	s = g.merge(s, path, depth)
	if v, ok := s["default"]; ok {
		return v
	}
	if ex, ok := s["examples"].([]any); ok && len(ex) > 0 {
		return ex[0]
	}
	if v, ok := s["const"]; ok {
		return v
	}
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		for _, v := range enum {
			if v != nil {
				return v
			}
		}
		return enum[0]
	}
	switch typeOf(s) {
	case "object":
		return g.object(s, path, depth)
	case "array":
		n := 0
		if f, ok := number(s["minItems"]); ok {
			n = clampInt(f, maxItems)
			if f > maxItems {
				g.cannot(path+".minItems", "%v items is more than the %d the generator makes", f, maxItems)
			}
		}
		items, _ := s["items"].(map[string]any)
		out := make([]any, 0, n)
		for range n {
			if depth >= maxDepth {
				g.cannot(path, "the value nests deeper than %d levels", maxDepth)
				break
			}
			out = append(out, g.value(items, path+".items", depth+1))
		}
		return out
	case "integer":
		return int64(g.numberFor(s, path, true))
	case "number":
		return g.numberFor(s, path, false)
	case "boolean":
		return false
	case "null":
		return nil
	default:
		return g.stringFor(s, path)
	}
}

// object generates the required properties of an object schema, the schema
// of the value at path.
func (g *generator) object(s map[string]any, path string, depth int) any {
	out := map[string]any{}
	if s == nil {
		return out
	}
	if depth >= maxDepth {
		g.cannot(path, "the value nests deeper than %d levels", maxDepth)
		return out
	}
	s = g.merge(s, path, depth)
	props, _ := s["properties"].(map[string]any)
	fill := func(names []string) {
		for _, name := range names {
			if _, done := out[name]; done {
				continue
			}
			p, _ := props[name].(map[string]any)
			out[name] = g.value(p, path+".properties."+name, depth+1)
		}
	}
	fill(Required(s))
	if cond, ok := s["if"].(map[string]any); ok {
		branch := "else"
		if g.satisfies(out, cond) {
			branch = "then"
		}
		if b, ok := s[branch].(map[string]any); ok {
			b = g.merge(b, path+"."+branch, depth+1)
			if bp, ok := b["properties"].(map[string]any); ok {
				if props == nil {
					props = map[string]any{}
				} else {
					props = maps.Clone(props)
				}
				for k, v := range bp {
					if _, seen := props[k]; !seen {
						props[k] = v
					}
				}
			}
			fill(Required(b))
		}
	}
	return out
}

// satisfies is a small check of an if-schema: its required properties are
// present and its properties' const and enum values match.
func (g *generator) satisfies(obj map[string]any, cond map[string]any) bool {
	for _, r := range Required(cond) {
		if _, ok := obj[r]; !ok {
			return false
		}
	}
	props, _ := cond["properties"].(map[string]any)
	for name, ps := range props {
		v, present := obj[name]
		p, _ := ps.(map[string]any)
		if !present || p == nil {
			continue
		}
		if c, ok := p["const"]; ok && !equal(c, v) {
			return false
		}
		if enum, ok := p["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return equal(e, v) }) {
			return false
		}
	}
	return true
}

// numberFor picks a number within the schema's bounds: the minimum if
// there is one, else 1 (or the maximum when that is below 1), rounded up to
// a multipleOf. A number that misses the bounds is recorded as unmet.
func (g *generator) numberFor(s map[string]any, path string, integer bool) float64 {
	step := 1.0
	if !integer {
		step = 0.5
	}
	lo, hasLo := number(s["minimum"])
	if x, ok := number(s["exclusiveMinimum"]); ok && (!hasLo || x >= lo) {
		lo, hasLo = x+step, true
	}
	hi, hasHi := number(s["maximum"])
	if x, ok := number(s["exclusiveMaximum"]); ok && (!hasHi || x <= hi) {
		hi, hasHi = x-step, true
	}
	v := 1.0
	switch {
	case hasLo:
		v = lo
	case hasHi && hi < 1:
		v = hi
	}
	if integer {
		v = math.Ceil(v)
		if hasHi && v > hi {
			v = math.Floor(hi)
		}
	}
	if m, ok := number(s["multipleOf"]); ok && m > 0 {
		v = math.Ceil(v/m) * m
		if hasHi && v > hi {
			v = math.Floor(hi/m) * m
		}
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		// JSON has no such number; the bounds were absurd.
		g.cannot(path, "no number meets its minimum, maximum and multipleOf")
		return 1
	}
	if hasLo && v < lo || hasHi && v > hi {
		g.cannot(path, "no number meets its minimum, maximum and multipleOf")
	}
	return v
}

// clampInt returns f as an int in [0, limit].
func clampInt(f float64, limit int) int {
	switch {
	case math.IsNaN(f) || f <= 0:
		return 0
	case f >= float64(limit):
		return limit
	}
	return int(f)
}

var formatSamples = map[string]string{
	"email":                 "test@example.com",
	"idn-email":             "test@example.com",
	"uri":                   "https://example.com",
	"iri":                   "https://example.com",
	"url":                   "https://example.com",
	"uri-reference":         "https://example.com",
	"iri-reference":         "https://example.com",
	"uri-template":          "https://example.com/{id}",
	"date":                  "2000-01-01",
	"date-time":             "2000-01-01T00:00:00Z",
	"time":                  "00:00:00Z",
	"duration":              "PT1S",
	"uuid":                  "00000000-0000-4000-8000-000000000000",
	"ipv4":                  "127.0.0.1",
	"ipv6":                  "::1",
	"hostname":              "example.com",
	"idn-hostname":          "example.com",
	"regex":                 ".*",
	"json-pointer":          "/a",
	"relative-json-pointer": "0",
}

// patternCandidates are tried, in order, against a string's pattern.
var patternCandidates = []string{
	"mcp-test-mcp", "test", "a", "A", "1", "abc123", "ABC", "test@example.com",
	"https://example.com", "2000-01-01", "00000000-0000-4000-8000-000000000000", "example.com", "a-b", "a_b", "",
}

// stringFor makes a string for s, the schema of the value at path: a
// sample of its format, or a candidate that matches its pattern, padded or
// cut to its lengths. What it cannot meet is recorded as unmet.
func (g *generator) stringFor(s map[string]any, path string) string {
	str := "mcp-test-mcp"
	if f, ok := s["format"].(string); ok && formatSamples[f] != "" {
		str = formatSamples[f]
	}
	var re *regexp.Regexp
	if p, ok := s["pattern"].(string); ok {
		// A pattern Go cannot compile (JSON Schema patterns are ECMA
		// 262) is left alone: nothing here can tell what it matches.
		if re, _ = regexp.Compile(p); re != nil && !re.MatchString(str) {
			if i := slices.IndexFunc(patternCandidates, re.MatchString); i >= 0 {
				str = patternCandidates[i]
			} else {
				g.cannot(path+".pattern", "none of the generator's candidate strings matches %q", p)
			}
		}
	}
	minLen := -1
	if f, ok := number(s["minLength"]); ok {
		minLen = clampInt(f, maxStringLen)
		if f > maxStringLen {
			g.cannot(path+".minLength", "%v bytes is more than the %d the generator makes", f, maxStringLen)
		}
		if len(str) < minLen {
			str += strings.Repeat("x", minLen-len(str))
		}
	}
	if f, ok := number(s["maxLength"]); ok {
		if n := clampInt(f, maxStringLen); len(str) > n {
			str = str[:n]
			if n < minLen {
				g.cannot(path, "minLength %d is above maxLength %d", minLen, n)
			}
		}
	}
	return str
}

// number returns v as a float64, if it is a number.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// equal reports whether a and b encode to the same JSON: numbers compare
// by value whether generated (int64) or decoded (float64).
func equal(a, b any) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(x, y)
}
