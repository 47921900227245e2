package surface

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// HeaderProblem says what is wrong with the x-mcp-header annotations of a
// tool's inputSchema, or returns "" when nothing is. SEP-2243 (MCP
// 2026-07-28) lets a property name an HTTP header that carries its value;
// such a name must be an HTTP token, unique regardless of case, on a
// string, integer or boolean property reached from the inputSchema through
// properties alone. Clients of 2026-07-28 exclude a tool that breaks one of
// these, so the model never sees it. The audit reports it; a tester of
// the modern era refuses to call such a tool, as its clients would.
func HeaderProblem(schema json.RawMessage) string {
	if !bytes.Contains(schema, []byte(`"x-mcp-header"`)) {
		return ""
	}
	var root any
	dec := json.NewDecoder(bytes.NewReader(schema))
	dec.UseNumber()
	if dec.Decode(&root) != nil {
		return "" // not JSON: the schema's own problem, not the headers'
	}
	h := &headerCheck{seen: map[string]string{}}
	h.walk(root, "inputSchema", true, false)
	return h.problem
}

type headerCheck struct {
	seen    map[string]string // lower-cased header name: where it was declared
	problem string            // the first one found
}

// walk looks for annotations in v, found at path. reachable says whether v
// is reached from the root through properties alone, property whether it is
// a property's schema.
func (h *headerCheck) walk(v any, path string, reachable, property bool) {
	if h.problem != "" {
		return
	}
	switch v := v.(type) {
	case []any:
		for i, e := range v {
			h.walk(e, fmt.Sprintf("%s[%d]", path, i), false, false)
		}
	case map[string]any:
		if name, ok := v["x-mcp-header"]; ok {
			h.check(v, name, path, reachable && property)
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			switch k {
			case "x-mcp-header", "const", "enum", "default", "examples":
				continue
			case "properties":
				if props, ok := v[k].(map[string]any); ok {
					for _, name := range slices.Sorted(maps.Keys(props)) {
						h.walk(props[name], path+".properties."+name, reachable, true)
					}
					continue
				}
			}
			h.walk(v[k], path+"."+k, false, false)
		}
	}
}

func (h *headerCheck) check(prop map[string]any, raw any, path string, allowed bool) {
	name, _ := raw.(string)
	typ, _ := prop["type"].(string)
	switch {
	case !allowed:
		h.problem = fmt.Sprintf("%s has an x-mcp-header, which is allowed only on a property reached through properties alone", path)
	case name == "":
		h.problem = fmt.Sprintf("%s: x-mcp-header must be a non-empty string", path)
	case strings.IndexFunc(name, func(r rune) bool { return !isTokenChar(r) }) >= 0:
		h.problem = fmt.Sprintf("%s: x-mcp-header %q is not an HTTP header name (letters, digits and !#$%%&'*+-.^_`|~ only: no spaces, colons, control or non-ASCII characters)", path, name)
	case typ != "string" && typ != "integer" && typ != "boolean":
		h.problem = fmt.Sprintf("%s: x-mcp-header %q is on a property of type %q; only string, integer and boolean properties may carry one", path, name, typ)
	case h.seen[strings.ToLower(name)] != "":
		h.problem = fmt.Sprintf("%s: x-mcp-header %q is also declared at %s (header names are case-insensitive)", path, name, h.seen[strings.ToLower(name)])
	default:
		h.seen[strings.ToLower(name)] = path
	}
}

// isTokenChar reports whether r may appear in an HTTP field name (RFC 9110
// token).
func isTokenChar(r rune) bool {
	switch {
	case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		return true
	}
	return strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}
