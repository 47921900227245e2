package surface

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// Diff is how a surface changed between two listings.
type Diff struct {
	Tools             ListDiff `json:"tools"`
	Resources         ListDiff `json:"resources"`
	ResourceTemplates ListDiff `json:"resource_templates"`
	Prompts           ListDiff `json:"prompts"`
	// Changed is true when anything was added, removed or changed.
	Changed bool `json:"changed"`
}

// ListDiff compares one list: items are named by name (tools, prompts),
// uri (resources) or uriTemplate (templates).
type ListDiff struct {
	// Compared is false when the list was not had on both sides (not
	// declared, failed, or the old connection was lost before it was
	// listed); the other fields are then empty.
	Compared bool         `json:"compared"`
	Added    []string     `json:"added"`
	Removed  []string     `json:"removed"`
	Changed  []ItemChange `json:"changed"`

	// classes classifies the changed items, by name.
	classes map[string]class
}

// ItemChange is one item present on both sides whose definition changed.
type ItemChange struct {
	Name string `json:"name"`
	// Reason names the fields that changed: "inputSchema changed,
	// description changed".
	Reason string `json:"reason"`
}

// class is a change as a client written against the old surface sees it
// (see Classify): what breaks it, what it gains, and what neither.
type class struct {
	breaking, additive, other []string
}

// Compare compares before with after, item by item in wire form. A nil
// side counts as not listed.
func Compare(before, after *Surface) Diff {
	var d Diff
	listed := func(s *Surface) Listed {
		if s == nil {
			return Listed{}
		}
		return s.Listed
	}
	b, a := listed(before), listed(after)
	if b.Tools && a.Tools {
		d.Tools = compareLists(Tools, before.Tools, after.Tools)
	}
	if b.Resources && a.Resources {
		d.Resources = compareLists(Resources, before.Resources, after.Resources)
	}
	if b.ResourceTemplates && a.ResourceTemplates {
		d.ResourceTemplates = compareLists(ResourceTemplates, before.ResourceTemplates, after.ResourceTemplates)
	}
	if b.Prompts && a.Prompts {
		d.Prompts = compareLists(Prompts, before.Prompts, after.Prompts)
	}
	for _, l := range d.lists() {
		if l.Added == nil {
			l.Added = []string{}
		}
		if l.Removed == nil {
			l.Removed = []string{}
		}
		if l.Changed == nil {
			l.Changed = []ItemChange{}
		}
		d.Changed = d.Changed || len(l.Added)+len(l.Removed)+len(l.Changed) > 0
	}
	return d
}

// lists returns d's lists in the order of Kinds.
func (d *Diff) lists() []*ListDiff {
	return []*ListDiff{&d.Tools, &d.Resources, &d.ResourceTemplates, &d.Prompts}
}

// compareLists compares two lists by their wire form, field by field, and
// classifies each change.
func compareLists[T any](k Kind, before, after []T) ListDiff {
	old, cur := wireIndex(k, before), wireIndex(k, after)
	d := ListDiff{Compared: true, classes: map[string]class{}}
	for _, name := range sortedKeys(cur) {
		fields := cur[name]
		prev, ok := old[name]
		if !ok {
			d.Added = append(d.Added, name)
			continue
		}
		var changed []string
		for f := range union(prev, fields) {
			if !reflect.DeepEqual(prev[f], fields[f]) {
				changed = append(changed, f+" changed")
			}
		}
		if len(changed) == 0 {
			continue
		}
		slices.Sort(changed)
		d.Changed = append(d.Changed, ItemChange{Name: name, Reason: strings.Join(changed, ", ")})
		d.classes[name] = classify(k, name, prev, fields)
	}
	for _, name := range sortedKeys(old) {
		if _, ok := cur[name]; !ok {
			d.Removed = append(d.Removed, name)
		}
	}
	return d
}

// wireIndex decodes items to their wire form, by the field that names them.
func wireIndex[T any](k Kind, items []T) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			continue
		}
		var fields map[string]any
		if json.Unmarshal(b, &fields) != nil {
			continue
		}
		name, _ := fields[k.ItemKey].(string)
		out[name] = fields
	}
	return out
}

func union(a, b map[string]any) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// Classify sorts the differences of d as a client written against the old
// surface sees them, for a snapshot.
//
// Such a client must keep working against the new surface. So:
//   - removing a tool, prompt, resource or template breaks it;
//   - inputs may only widen: a new required argument or property, a
//     property removed, a changed type, or enum values removed break it;
//   - outputs may only narrow (the server may promise more, never less): an
//     output property removed, a required output property made optional, a
//     changed type, or an output schema removed break it. A new output
//     property, or one that becomes required, only adds a guarantee;
//   - anything new is additive; titles, descriptions and annotations (and,
//     of resources and templates, names and MIME types) are reported as
//     changed.
//
// Tools come first, then prompts, resources and templates; within each,
// removed and changed items by name, then added ones.
func (d Diff) Classify() (breaking, additive, changed []string) {
	for _, k := range []struct {
		kind Kind
		l    ListDiff
	}{{Tools, d.Tools}, {Prompts, d.Prompts}, {Resources, d.Resources}, {ResourceTemplates, d.ResourceTemplates}} {
		removed, i := k.l.Removed, 0
		for _, c := range k.l.Changed {
			for ; i < len(removed) && removed[i] < c.Name; i++ {
				breaking = append(breaking, fmt.Sprintf("%s %s was removed", k.kind.Noun, removed[i]))
			}
			cl := k.l.classes[c.Name]
			breaking = append(breaking, cl.breaking...)
			additive = append(additive, cl.additive...)
			changed = append(changed, cl.other...)
		}
		for ; i < len(removed); i++ {
			breaking = append(breaking, fmt.Sprintf("%s %s was removed", k.kind.Noun, removed[i]))
		}
		for _, name := range k.l.Added {
			additive = append(additive, fmt.Sprintf("%s %s was added", k.kind.Noun, name))
		}
	}
	return breaking, additive, changed
}

// classify classifies the change of the item name of kind k from old to
// cur (wire forms).
func classify(k Kind, name string, old, cur map[string]any) (c class) {
	titleOrDescription := func() {
		if !reflect.DeepEqual(old["title"], cur["title"]) || !reflect.DeepEqual(old["description"], cur["description"]) {
			c.other = append(c.other, fmt.Sprintf("%s %s: title or description changed", k.Noun, name))
		}
	}
	switch k {
	case Tools:
		var sd schemaDiff
		sd.compare(fmt.Sprintf("tool %s input", name), object(old["inputSchema"]), object(cur["inputSchema"]), true)
		switch o, n := old["outputSchema"], cur["outputSchema"]; {
		case o != nil && n == nil:
			sd.breaking = append(sd.breaking, fmt.Sprintf("tool %s no longer declares an output schema", name))
		case o == nil && n != nil:
			sd.additive = append(sd.additive, fmt.Sprintf("tool %s now declares an output schema", name))
		case o != nil:
			sd.compare(fmt.Sprintf("tool %s output", name), object(o), object(n), false)
		}
		c.breaking, c.additive = sd.breaking, sd.additive
		titleOrDescription()
		if o, n := old["annotations"], cur["annotations"]; !reflect.DeepEqual(o, n) {
			c.other = append(c.other, fmt.Sprintf("tool %s: annotations changed from %s to %s", name, textcut.Value(o, 200), textcut.Value(n, 200)))
		}
	case Prompts:
		c.breaking, c.additive = promptArguments(name, old["arguments"], cur["arguments"])
		titleOrDescription()
	default:
		c.other = append(c.other, fmt.Sprintf("%s %s: name, description or MIME type changed", k.Noun, name))
	}
	return c
}

// promptArguments compares the arguments of the prompt name: a new
// required argument, or one removed or made required, breaks a client.
func promptArguments(name string, old, cur any) (breaking, additive []string) {
	index := func(v any) map[string]bool { // name → required
		out := map[string]bool{}
		list, _ := v.([]any)
		for _, a := range list {
			m, _ := a.(map[string]any)
			n, _ := m["name"].(string)
			req, _ := m["required"].(bool)
			out[n] = req
		}
		return out
	}
	oa, ca := index(old), index(cur)
	for _, an := range sortedKeys(oa) {
		switch req, ok := ca[an]; {
		case !ok:
			breaking = append(breaking, fmt.Sprintf("prompt %s: argument %s was removed", name, an))
		case req && !oa[an]:
			breaking = append(breaking, fmt.Sprintf("prompt %s: argument %s is now required", name, an))
		case !req && oa[an]:
			additive = append(additive, fmt.Sprintf("prompt %s: argument %s is now optional", name, an))
		}
	}
	for _, an := range sortedKeys(ca) {
		if _, ok := oa[an]; ok {
			continue
		}
		if ca[an] {
			breaking = append(breaking, fmt.Sprintf("prompt %s: new required argument %s", name, an))
		} else {
			additive = append(additive, fmt.Sprintf("prompt %s: new optional argument %s", name, an))
		}
	}
	return breaking, additive
}
