package check

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Surface is what a server offers, as kept in a snapshot file: every list
// sorted by name (or URI), schemas in wire form, so that the file is stable
// and its diffs reviewable.
type Surface struct {
	Server            string             `json:"server"`
	Tools             []SurfaceTool      `json:"tools"`
	Resources         []SurfaceResource  `json:"resources"`
	ResourceTemplates []SurfaceTemplate  `json:"resource_templates"`
	Prompts           []SurfacePrompt    `json:"prompts"`
	Capabilities      SurfaceCapabilites `json:"capabilities"`
}

// SurfaceCapabilites says which lists the server declares.
type SurfaceCapabilites struct {
	Tools     bool `json:"tools"`
	Resources bool `json:"resources"`
	Prompts   bool `json:"prompts"`
}

// SurfaceTool is a tool in a snapshot.
type SurfaceTool struct {
	Name         string `json:"name"`
	Title        string `json:"title,omitempty"`
	Description  string `json:"description,omitempty"`
	InputSchema  any    `json:"input_schema,omitempty"`
	OutputSchema any    `json:"output_schema,omitempty"`
	Annotations  any    `json:"annotations,omitempty"`
}

// SurfaceResource is a resource in a snapshot.
type SurfaceResource struct {
	URI         string `json:"uri"`
	Name        string `json:"name,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	MIMEType    string `json:"mime_type,omitempty"`
}

// SurfaceTemplate is a resource template in a snapshot.
type SurfaceTemplate struct {
	URITemplate string `json:"uri_template"`
	Name        string `json:"name,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	MIMEType    string `json:"mime_type,omitempty"`
}

// SurfacePrompt is a prompt in a snapshot.
type SurfacePrompt struct {
	Name        string           `json:"name"`
	Title       string           `json:"title,omitempty"`
	Description string           `json:"description,omitempty"`
	Arguments   []SurfaceArgment `json:"arguments,omitempty"`
}

// SurfaceArgment is a prompt argument in a snapshot.
type SurfaceArgment struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required"`
}

// SnapshotDiff is how the surface compares with the snapshot file.
type SnapshotDiff struct {
	Path string `json:"path"`
	// Status is created, unchanged, changed (additive changes only),
	// breaking, or updated (rewritten by --update-snapshot).
	Status   string   `json:"status"`
	Breaking []string `json:"breaking,omitempty"`
	Additive []string `json:"additive,omitempty"`
	Changed  []string `json:"changed,omitempty" jsonschema:"changes that neither break nor add: descriptions, titles, annotations"`
}

func newSurface(server string, tools []*mcp.Tool, res []*mcp.Resource, tmpl []*mcp.ResourceTemplate, prompts []*mcp.Prompt, caps *mcp.ServerCapabilities) *Surface {
	s := &Surface{
		Server: server, Tools: []SurfaceTool{}, Resources: []SurfaceResource{},
		ResourceTemplates: []SurfaceTemplate{}, Prompts: []SurfacePrompt{},
	}
	if caps != nil {
		s.Capabilities = SurfaceCapabilites{Tools: caps.Tools != nil, Resources: caps.Resources != nil, Prompts: caps.Prompts != nil}
	}
	for _, t := range tools {
		st := SurfaceTool{Name: t.Name, Title: t.Title, Description: t.Description, InputSchema: plain(t.InputSchema), OutputSchema: plain(t.OutputSchema)}
		if t.Annotations != nil {
			st.Annotations = plain(t.Annotations)
		}
		s.Tools = append(s.Tools, st)
	}
	for _, r := range res {
		s.Resources = append(s.Resources, SurfaceResource{URI: r.URI, Name: r.Name, Title: r.Title, Description: r.Description, MIMEType: r.MIMEType})
	}
	for _, t := range tmpl {
		s.ResourceTemplates = append(s.ResourceTemplates, SurfaceTemplate{URITemplate: t.URITemplate, Name: t.Name, Title: t.Title, Description: t.Description, MIMEType: t.MIMEType})
	}
	for _, p := range prompts {
		sp := SurfacePrompt{Name: p.Name, Title: p.Title, Description: p.Description}
		for _, a := range p.Arguments {
			sp.Arguments = append(sp.Arguments, SurfaceArgment{Name: a.Name, Description: a.Description, Required: a.Required})
		}
		s.Prompts = append(s.Prompts, sp)
	}
	slices.SortFunc(s.Tools, func(a, b SurfaceTool) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(s.Resources, func(a, b SurfaceResource) int { return cmp.Compare(a.URI, b.URI) })
	slices.SortFunc(s.ResourceTemplates, func(a, b SurfaceTemplate) int { return cmp.Compare(a.URITemplate, b.URITemplate) })
	slices.SortFunc(s.Prompts, func(a, b SurfacePrompt) int { return cmp.Compare(a.Name, b.Name) })
	return s
}

// marshal is the snapshot file's content: indented JSON with sorted keys.
func (s *Surface) marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// compareSnapshot compares cur with the snapshot at path, writing it when
// it does not exist or update is set.
func compareSnapshot(path string, cur *Surface, update bool) (*SnapshotDiff, error) {
	d := &SnapshotDiff{Path: path}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.Status = "created"
		return d, writeSnapshot(path, cur)
	case err != nil:
		return nil, fmt.Errorf("reading the snapshot: %w", err)
	}
	var old Surface
	if err := json.Unmarshal(b, &old); err != nil {
		return nil, fmt.Errorf("the snapshot %s is not a snapshot (%v): delete it or run with --update-snapshot", path, err)
	}
	d.Breaking, d.Additive, d.Changed = diffSurface(&old, cur)
	switch {
	case update:
		d.Status = "updated"
		return d, writeSnapshot(path, cur)
	case len(d.Breaking) > 0:
		d.Status = "breaking"
	case len(d.Additive) > 0 || len(d.Changed) > 0:
		d.Status = "changed"
	default:
		d.Status = "unchanged"
	}
	return d, nil
}

func writeSnapshot(path string, s *Surface) error {
	b, err := s.marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("writing the snapshot: %w", err)
	}
	return nil
}

// diffSurface classifies the differences between old and cur.
//
// A client written against old must keep working against cur. So:
//   - removing a tool, prompt, resource or template breaks it;
//   - inputs may only widen: a new required argument or property, a
//     property removed, a changed type, or enum values removed break it;
//   - outputs may only narrow (the server may promise more, never less): an
//     output property removed, a required output property made optional, a
//     changed type, or an output schema removed break it. A new output
//     property, or one that becomes required, only adds a guarantee;
//   - anything new is additive; titles, descriptions and annotations are
//     reported as changed.
func diffSurface(old, cur *Surface) (breaking, additive, changed []string) {
	oldTools := indexBy(old.Tools, func(t SurfaceTool) string { return t.Name })
	curTools := indexBy(cur.Tools, func(t SurfaceTool) string { return t.Name })
	for _, name := range sortedKeys(oldTools) {
		o := oldTools[name]
		c, ok := curTools[name]
		if !ok {
			breaking = append(breaking, fmt.Sprintf("tool %s was removed", name))
			continue
		}
		var sd schemaDiff
		sd.input(fmt.Sprintf("tool %s input", name), schemaMap(o.InputSchema), schemaMap(c.InputSchema))
		switch {
		case o.OutputSchema != nil && c.OutputSchema == nil:
			sd.breaking = append(sd.breaking, fmt.Sprintf("tool %s no longer declares an output schema", name))
		case o.OutputSchema == nil && c.OutputSchema != nil:
			sd.additive = append(sd.additive, fmt.Sprintf("tool %s now declares an output schema", name))
		case o.OutputSchema != nil:
			sd.output(fmt.Sprintf("tool %s output", name), schemaMap(o.OutputSchema), schemaMap(c.OutputSchema))
		}
		breaking, additive = append(breaking, sd.breaking...), append(additive, sd.additive...)
		if o.Title != c.Title || o.Description != c.Description {
			changed = append(changed, fmt.Sprintf("tool %s: title or description changed", name))
		}
		if !equal(o.Annotations, c.Annotations) {
			changed = append(changed, fmt.Sprintf("tool %s: annotations changed from %s to %s", name, show(o.Annotations), show(c.Annotations)))
		}
	}
	for _, name := range sortedKeys(curTools) {
		if _, ok := oldTools[name]; !ok {
			additive = append(additive, fmt.Sprintf("tool %s was added", name))
		}
	}

	oldPrompts := indexBy(old.Prompts, func(p SurfacePrompt) string { return p.Name })
	curPrompts := indexBy(cur.Prompts, func(p SurfacePrompt) string { return p.Name })
	for _, name := range sortedKeys(oldPrompts) {
		o := oldPrompts[name]
		c, ok := curPrompts[name]
		if !ok {
			breaking = append(breaking, fmt.Sprintf("prompt %s was removed", name))
			continue
		}
		oa := indexBy(o.Arguments, func(a SurfaceArgment) string { return a.Name })
		ca := indexBy(c.Arguments, func(a SurfaceArgment) string { return a.Name })
		for _, an := range sortedKeys(oa) {
			switch x, ok := ca[an]; {
			case !ok:
				breaking = append(breaking, fmt.Sprintf("prompt %s: argument %s was removed", name, an))
			case x.Required && !oa[an].Required:
				breaking = append(breaking, fmt.Sprintf("prompt %s: argument %s is now required", name, an))
			case !x.Required && oa[an].Required:
				additive = append(additive, fmt.Sprintf("prompt %s: argument %s is now optional", name, an))
			}
		}
		for _, an := range sortedKeys(ca) {
			if _, ok := oa[an]; ok {
				continue
			}
			if ca[an].Required {
				breaking = append(breaking, fmt.Sprintf("prompt %s: new required argument %s", name, an))
			} else {
				additive = append(additive, fmt.Sprintf("prompt %s: new optional argument %s", name, an))
			}
		}
		if o.Title != c.Title || o.Description != c.Description {
			changed = append(changed, fmt.Sprintf("prompt %s: title or description changed", name))
		}
	}
	for _, name := range sortedKeys(curPrompts) {
		if _, ok := oldPrompts[name]; !ok {
			additive = append(additive, fmt.Sprintf("prompt %s was added", name))
		}
	}

	diffKeys(indexBy(old.Resources, func(r SurfaceResource) string { return r.URI }),
		indexBy(cur.Resources, func(r SurfaceResource) string { return r.URI }), "resource", &breaking, &additive, &changed)
	diffKeys(indexBy(old.ResourceTemplates, func(r SurfaceTemplate) string { return r.URITemplate }),
		indexBy(cur.ResourceTemplates, func(r SurfaceTemplate) string { return r.URITemplate }), "resource template", &breaking, &additive, &changed)
	return breaking, additive, changed
}

func diffKeys[T any](old, cur map[string]T, what string, breaking, additive, changed *[]string) {
	for _, k := range sortedKeys(old) {
		c, ok := cur[k]
		switch {
		case !ok:
			*breaking = append(*breaking, fmt.Sprintf("%s %s was removed", what, k))
		case !equal(old[k], c):
			*changed = append(*changed, fmt.Sprintf("%s %s: name, description or MIME type changed", what, k))
		}
	}
	for _, k := range sortedKeys(cur) {
		if _, ok := old[k]; !ok {
			*additive = append(*additive, fmt.Sprintf("%s %s was added", what, k))
		}
	}
}

func indexBy[T any](items []T, key func(T) string) map[string]T {
	m := make(map[string]T, len(items))
	for _, it := range items {
		m[key(it)] = it
	}
	return m
}

func sortedKeys[T any](m map[string]T) []string { return slices.Sorted(maps.Keys(m)) }

func schemaMap(v any) map[string]any {
	m, _ := plain(v).(map[string]any)
	return m
}

// schemaDiff collects the differences between two schemas.
type schemaDiff struct {
	breaking, additive []string
}

// types returns a schema's type set, or nil when it does not constrain it.
func types(s map[string]any) []string {
	switch t := s["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if n, ok := x.(string); ok {
				out = append(out, n)
			}
		}
		slices.Sort(out)
		return out
	}
	return nil
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

// input compares an input schema: what the server accepts may only grow.
func (d *schemaDiff) input(where string, old, cur map[string]any) {
	if old == nil || cur == nil {
		return
	}
	if ot, ct := types(old), types(cur); !subset(ot, ct) {
		d.breaking = append(d.breaking, fmt.Sprintf("%s: type changed from %s to %s", where, typeText(ot), typeText(ct)))
	}
	if removed := enumRemoved(old, cur); len(removed) > 0 {
		d.breaking = append(d.breaking, fmt.Sprintf("%s: enum values removed: %s", where, strings.Join(removed, ", ")))
	}
	op, cp := props(old), props(cur)
	oreq, creq := requiredOf(old), requiredOf(cur)
	for _, name := range sortedKeys(op) {
		sub := where + "." + name
		c, ok := cp[name]
		if !ok {
			if _, hasProps := cur["properties"]; hasProps {
				d.breaking = append(d.breaking, fmt.Sprintf("%s was removed", sub))
			}
			continue
		}
		d.input(sub, op[name], c)
	}
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
	if oi, ok := old["items"].(map[string]any); ok {
		ci, _ := cur["items"].(map[string]any)
		d.input(where+"[]", oi, ci)
	}
}

// output compares an output schema: what the server promises may only grow.
func (d *schemaDiff) output(where string, old, cur map[string]any) {
	if old == nil || cur == nil {
		return
	}
	if ot, ct := types(old), types(cur); !subset(ct, ot) {
		d.breaking = append(d.breaking, fmt.Sprintf("%s: type changed from %s to %s", where, typeText(ot), typeText(ct)))
	}
	if added := enumRemoved(cur, old); len(added) > 0 {
		d.breaking = append(d.breaking, fmt.Sprintf("%s: new enum values a client may not expect: %s", where, strings.Join(added, ", ")))
	}
	op, cp := props(old), props(cur)
	oreq, creq := requiredOf(old), requiredOf(cur)
	for _, name := range sortedKeys(op) {
		sub := where + "." + name
		c, ok := cp[name]
		if !ok {
			d.breaking = append(d.breaking, fmt.Sprintf("%s was removed", sub))
			continue
		}
		if slices.Contains(oreq, name) && !slices.Contains(creq, name) {
			d.breaking = append(d.breaking, fmt.Sprintf("%s is no longer required (clients relied on it being there)", sub))
		}
		d.output(sub, op[name], c)
	}
	for _, name := range sortedKeys(cp) {
		if _, ok := op[name]; !ok {
			d.additive = append(d.additive, fmt.Sprintf("%s: new property %s", where, name))
		} else if slices.Contains(creq, name) && !slices.Contains(oreq, name) {
			d.additive = append(d.additive, fmt.Sprintf("%s.%s is now always present (required)", where, name))
		}
	}
	if oi, ok := old["items"].(map[string]any); ok {
		ci, _ := cur["items"].(map[string]any)
		d.output(where+"[]", oi, ci)
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
		if !slices.ContainsFunc(be, func(x any) bool { return equal(x, v) }) {
			out = append(out, show(v))
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
