package check

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/surface"
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
	d.Breaking, d.Additive, d.Changed, err = diffSurface(&old, cur)
	if err != nil {
		return nil, fmt.Errorf("the snapshot %s is not a snapshot (%v): delete it or run with --update-snapshot", path, err)
	}
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
	b, err := indentedJSON(s)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("writing the snapshot: %w", err)
	}
	return nil
}

// diffSurface classifies the differences between old and cur with
// surface's one engine (surface.Diff.Classify says how).
func diffSurface(old, cur *Surface) (breaking, additive, changed []string, err error) {
	o, err := old.lists()
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := cur.lists()
	if err != nil {
		return nil, nil, nil, err
	}
	breaking, additive, changed = surface.Compare(o, c).Classify()
	return breaking, additive, changed, nil
}

// lists returns s as surface compares it: in wire form, with only the
// fields a snapshot keeps, every list had.
func (s *Surface) lists() (*surface.Surface, error) {
	out := &surface.Surface{Listed: surface.All}
	for _, t := range s.Tools {
		tool := &mcp.Tool{Name: t.Name, Title: t.Title, Description: t.Description, InputSchema: t.InputSchema, OutputSchema: t.OutputSchema}
		if t.Annotations != nil {
			b, err := json.Marshal(t.Annotations)
			if err == nil {
				err = json.Unmarshal(b, &tool.Annotations)
			}
			if err != nil {
				return nil, fmt.Errorf("the annotations of tool %s are not tool annotations: %v", t.Name, err)
			}
		}
		out.Tools = append(out.Tools, tool)
	}
	for _, r := range s.Resources {
		out.Resources = append(out.Resources, &mcp.Resource{URI: r.URI, Name: r.Name, Title: r.Title, Description: r.Description, MIMEType: r.MIMEType})
	}
	for _, t := range s.ResourceTemplates {
		out.ResourceTemplates = append(out.ResourceTemplates, &mcp.ResourceTemplate{URITemplate: t.URITemplate, Name: t.Name, Title: t.Title, Description: t.Description, MIMEType: t.MIMEType})
	}
	for _, p := range s.Prompts {
		prompt := &mcp.Prompt{Name: p.Name, Title: p.Title, Description: p.Description}
		for _, a := range p.Arguments {
			prompt.Arguments = append(prompt.Arguments, &mcp.PromptArgument{Name: a.Name, Description: a.Description, Required: a.Required})
		}
		out.Prompts = append(out.Prompts, prompt)
	}
	return out, nil
}

func (r *runner) snapshot(surf *Surface) {
	start := time.Now()
	c := Check{Name: "snapshot " + path.Base(r.opts.Snapshot), Group: GroupSnapshot, Action: "snapshot"}
	if r.interrupted() {
		// The lists may be cut short: neither compare nor write them.
		r.skip(GroupSnapshot, c.Name, skippedInterrupted)
		return
	}
	if surf == nil || r.listFailed {
		r.skip(GroupSnapshot, c.Name, "skipped: the surface could not be listed")
		return
	}
	d, err := compareSnapshot(r.opts.Snapshot, surf, r.opts.UpdateSnapshot)
	c.DurationMS = ms(time.Since(start))
	switch {
	case err != nil:
		c.Status, c.Message = StatusFailed, err.Error()
		c.Failures = []Failure{{Expectation: "snapshot", Expected: "a readable snapshot", Actual: err.Error()}}
	case d.Status == "breaking":
		r.report.Snapshot = d
		c.Status = StatusFailed
		c.Message = fmt.Sprintf("%d breaking %s since the snapshot", len(d.Breaking), plural(len(d.Breaking), "change", "changes"))
		for _, b := range d.Breaking {
			c.Failures = append(c.Failures, Failure{Expectation: "snapshot", Expected: "no breaking change", Actual: b})
		}
		c.Notes = append(c.Notes, d.Additive...)
	default:
		r.report.Snapshot = d
		c.Status = StatusPassed
		switch d.Status {
		case "created":
			c.Message = "snapshot written to " + d.Path
		case "updated":
			c.Message = "snapshot rewritten"
		case "unchanged":
			c.Message = "the surface matches the snapshot"
		default:
			c.Message = fmt.Sprintf("%d additive %s", len(d.Additive)+len(d.Changed), plural(len(d.Additive)+len(d.Changed), "change", "changes"))
		}
		c.Notes = append(append(c.Notes, d.Breaking...), d.Additive...)
		c.Notes = append(c.Notes, d.Changed...)
	}
	r.add(c)
}
