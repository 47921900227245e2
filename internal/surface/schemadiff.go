package surface

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// object is v as a JSON object, or nil.
func object(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// strs returns the strings of a JSON array, or nil when v is not one.
func strs(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys[T any](m map[string]T) []string { return slices.Sorted(maps.Keys(m)) }

// schemaDiff collects the differences between two schemas.
type schemaDiff struct {
	breaking, additive []string
}

// types returns a schema's type set, or nil when it does not constrain it.
func types(s map[string]any) []string {
	if t, ok := s["type"].(string); ok {
		return []string{t}
	}
	out := strs(s["type"])
	slices.Sort(out)
	return out
}

// subset reports whether every type in a is allowed by b ("integer" is a
// "number"; no type set allows everything).
func subset(a, b []string) bool {
	if b == nil {
		return true
	}
	if a == nil {
		return false
	}
	for _, t := range a {
		if !slices.Contains(b, t) && !(t == "integer" && slices.Contains(b, "number")) {
			return false
		}
	}
	return true
}

func props(s map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	p, _ := s["properties"].(map[string]any)
	for k, v := range p {
		m, _ := v.(map[string]any)
		out[k] = m
	}
	return out
}

// values compares the values two schemas allow, by type and enum. An input
// may only widen: every value a client sent must still be accepted. An
// output may only narrow: every value the server sends must be one a client
// already knows.
func (d *schemaDiff) values(where string, old, cur map[string]any, input bool) {
	narrow, wide := old, cur
	if !input {
		narrow, wide = cur, old
	}
	if !subset(types(narrow), types(wide)) {
		d.breaking = append(d.breaking, fmt.Sprintf("%s: type changed from %s to %s", where, typeText(types(old)), typeText(types(cur))))
	}
	if lost := enumRemoved(narrow, wide); len(lost) > 0 {
		what := "enum values removed"
		if !input {
			what = "new enum values a client may not expect"
		}
		d.breaking = append(d.breaking, fmt.Sprintf("%s: %s: %s", where, what, strings.Join(lost, ", ")))
	}
}

// compare compares one level of two schemas and recurses into their
// properties and items. An input (what the server accepts) may only grow;
// so may an output (what the server promises).
func (d *schemaDiff) compare(where string, old, cur map[string]any, input bool) {
	if old == nil || cur == nil {
		return
	}
	d.values(where, old, cur, input)
	op, cp := props(old), props(cur)
	oreq, creq := strs(old["required"]), strs(cur["required"])
	for _, name := range sortedKeys(op) {
		sub := where + "." + name
		c, ok := cp[name]
		if !ok {
			// An input schema without properties no longer names any:
			// that removes none.
			if _, hasProps := cur["properties"]; hasProps || !input {
				d.breaking = append(d.breaking, fmt.Sprintf("%s was removed", sub))
			}
			continue
		}
		if !input && slices.Contains(oreq, name) && !slices.Contains(creq, name) {
			d.breaking = append(d.breaking, fmt.Sprintf("%s is no longer required (clients relied on it being there)", sub))
		}
		d.compare(sub, op[name], c, input)
	}
	if input {
		d.inputRequired(where, op, cp, oreq, creq)
	} else {
		for _, name := range sortedKeys(cp) {
			if _, ok := op[name]; !ok {
				d.additive = append(d.additive, fmt.Sprintf("%s: new property %s", where, name))
			} else if slices.Contains(creq, name) && !slices.Contains(oreq, name) {
				d.additive = append(d.additive, fmt.Sprintf("%s.%s is now always present (required)", where, name))
			}
		}
	}
	if oi, ok := old["items"].(map[string]any); ok {
		ci, _ := cur["items"].(map[string]any)
		d.compare(where+"[]", oi, ci, input)
	}
}

// inputRequired compares what an input schema requires: a client must not
// have to send more.
func (d *schemaDiff) inputRequired(where string, op, cp map[string]map[string]any, oreq, creq []string) {
	for _, name := range creq {
		if slices.Contains(oreq, name) {
			continue
		}
		if _, existed := op[name]; existed {
			d.breaking = append(d.breaking, fmt.Sprintf("%s.%s is now required", where, name))
		} else {
			d.breaking = append(d.breaking, fmt.Sprintf("%s: new required property %s", where, name))
		}
	}
	for _, name := range sortedKeys(cp) {
		if _, ok := op[name]; !ok && !slices.Contains(creq, name) {
			d.additive = append(d.additive, fmt.Sprintf("%s: new optional property %s", where, name))
		}
	}
	for _, name := range oreq {
		if !slices.Contains(creq, name) {
			if _, ok := cp[name]; ok {
				d.additive = append(d.additive, fmt.Sprintf("%s.%s is now optional", where, name))
			}
		}
	}
}

// enumRemoved lists the enum values of a that b no longer allows.
func enumRemoved(a, b map[string]any) []string {
	ae, _ := a["enum"].([]any)
	be, ok := b["enum"].([]any)
	if len(ae) == 0 || !ok {
		return nil
	}
	var out []string
	for _, v := range ae {
		if !slices.ContainsFunc(be, func(x any) bool { return reflect.DeepEqual(x, v) }) {
			out = append(out, textcut.Value(v, 200))
		}
	}
	return out
}

func typeText(t []string) string {
	if t == nil {
		return "any"
	}
	return strings.Join(t, "|")
}
