package check

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// GenerateArguments returns arguments for a tool with the given input
// schema (wire form): its required properties only, each with a value that
// satisfies its schema. A value is the property's default if it has one,
// else its first example, const or enum value, else one made from its type
// that honours minimum/maximum, minLength/maxLength, minItems, format and
// (when one of a few candidates fits) pattern. Requirements in allOf, the
// first branch of anyOf/oneOf and if/then/else count too.
//
// The schema comes from the server under test, so nothing in it is trusted:
// negative bounds count as 0, strings are at most maxStringLen bytes,
// arrays at most maxItems items, and recursion through nesting, $ref,
// allOf/anyOf/oneOf and if/then/else stops at maxDepth.
func GenerateArguments(schema any) map[string]any {
	s, _ := plain(schema).(map[string]any)
	g := &generator{root: s}
	out, _ := g.object(s, 0).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

// generateArguments is GenerateArguments that turns a panic (a schema the
// generator still mishandles) into an error, so that one tool's schema
// cannot end a run.
func generateArguments(schema any) (args map[string]any, err error) {
	defer func() {
		if p := recover(); p != nil {
			args, err = nil, fmt.Errorf("generating arguments from the input schema: %v", p)
		}
	}()
	return GenerateArguments(schema), nil
}

// The _meta keys of an elicitation answer filled from its requested
// schema: the fields given their default, and the required fields given a
// generated value.
const (
	MetaDefaulted    = "mcp-test-mcp/defaulted"
	MetaPlaceholders = "mcp-test-mcp/placeholders"
)

// ElicitAnswer answers an elicitation request from fixed options, for the
// check command and for connect's elicitation_action alike. Accepting with
// no content fills the form from the requested schema (see fillForm) and
// names the filled fields in the answer's _meta.
func ElicitAnswer(action string, content map[string]any, p *mcp.ElicitParams) *mcp.ElicitResult {
	res := &mcp.ElicitResult{Action: action}
	if action != "accept" || p.Mode == "url" {
		return res
	}
	if content != nil {
		res.Content = maps.Clone(content)
		return res
	}
	filled, defaulted, placeholders := fillForm(p.RequestedSchema)
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

// fillForm builds an elicitation answer from its requested schema: every
// property's default, and a generated value for each required property
// without one. It returns the names of both. A schema the generator cannot
// handle gives an empty form.
func fillForm(schema any) (out map[string]any, defaulted, placeholders []string) {
	defer func() {
		if recover() != nil {
			out, defaulted, placeholders = map[string]any{}, nil, nil
		}
	}()
	s, _ := plain(schema).(map[string]any)
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
	for _, name := range requiredOf(s) {
		if _, ok := out[name]; !ok {
			p, _ := props[name].(map[string]any)
			out[name] = g.value(p, 1)
			placeholders = append(placeholders, name)
		}
	}
	return out, defaulted, placeholders
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

// merge folds allOf, and the first branch of anyOf/oneOf, into s. depth
// counts the merges above this one: a schema that refers back to itself
// through allOf (`A: {allOf: [{$ref: A}]}`) stops at maxDepth.
func (g *generator) merge(s map[string]any, depth int) map[string]any {
	s = g.deref(s)
	if depth >= maxDepth || g.tired() {
		return s
	}
	parts := []map[string]any{}
	if all, ok := s["allOf"].([]any); ok {
		for _, p := range all {
			if m, ok := p.(map[string]any); ok {
				parts = append(parts, g.merge(m, depth+1))
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
				parts = append(parts, g.merge(m, depth+1))
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
	req := requiredOf(s)
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
				for _, r := range requiredOf(p) {
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

func requiredOf(s map[string]any) []string {
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

func (g *generator) value(s map[string]any, depth int) any {
	if s == nil || g.tired() {
		return "mcp-test-mcp"
	}
	s = g.merge(s, depth)
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
		return g.object(s, depth)
	case "array":
		n := 0
		if f, ok := number(s["minItems"]); ok {
			n = clampInt(f, maxItems)
		}
		items, _ := s["items"].(map[string]any)
		out := make([]any, 0, n)
		for range n {
			if depth >= maxDepth {
				break
			}
			out = append(out, g.value(items, depth+1))
		}
		return out
	case "integer":
		return int64(numberFor(s, true))
	case "number":
		return numberFor(s, false)
	case "boolean":
		return false
	case "null":
		return nil
	default:
		return stringFor(s)
	}
}

// object generates the required properties of an object schema.
func (g *generator) object(s map[string]any, depth int) any {
	out := map[string]any{}
	if s == nil || depth >= maxDepth {
		return out
	}
	s = g.merge(s, depth)
	props, _ := s["properties"].(map[string]any)
	fill := func(names []string) {
		for _, name := range names {
			if _, done := out[name]; done {
				continue
			}
			p, _ := props[name].(map[string]any)
			out[name] = g.value(p, depth+1)
		}
	}
	fill(requiredOf(s))
	if cond, ok := s["if"].(map[string]any); ok {
		branch := "else"
		if g.satisfies(out, cond) {
			branch = "then"
		}
		if b, ok := s[branch].(map[string]any); ok {
			b = g.merge(b, depth+1)
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
			fill(requiredOf(b))
		}
	}
	return out
}

// satisfies is a small check of an if-schema: its required properties are
// present and its properties' const and enum values match.
func (g *generator) satisfies(obj map[string]any, cond map[string]any) bool {
	for _, r := range requiredOf(cond) {
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
// a multipleOf.
func numberFor(s map[string]any, integer bool) float64 {
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
		return 1 // JSON has no such number; the bounds were absurd
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

func stringFor(s map[string]any) string {
	str := "mcp-test-mcp"
	if f, ok := s["format"].(string); ok && formatSamples[f] != "" {
		str = formatSamples[f]
	}
	if p, ok := s["pattern"].(string); ok {
		if re, err := regexp.Compile(p); err == nil && !re.MatchString(str) {
			for _, c := range patternCandidates {
				if re.MatchString(c) {
					str = c
					break
				}
			}
		}
	}
	if f, ok := number(s["minLength"]); ok {
		if n := clampInt(f, maxStringLen); len(str) < n {
			str += strings.Repeat("x", n-len(str))
		}
	}
	if f, ok := number(s["maxLength"]); ok {
		if n := clampInt(f, maxStringLen); len(str) > n {
			str = str[:n]
		}
	}
	return str
}
