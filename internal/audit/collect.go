package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
)

// maxPages is where a list walk stops, as connmgr's does.
const maxPages = 100

// feature is one list the target may serve.
type feature struct {
	method string // tools/list
	key    string // the result's array: tools
	// capability is the capability that must be declared to serve it.
	capability string
	declared   func(*mcp.ServerCapabilities) bool
	// viaManager lists it through connmgr, as JSON items.
	viaManager func(ctx context.Context, m *connmgr.Manager) ([]json.RawMessage, error)
}

var features = []feature{
	{"tools/list", "tools", "tools",
		func(c *mcp.ServerCapabilities) bool { return c.Tools != nil },
		func(ctx context.Context, m *connmgr.Manager) ([]json.RawMessage, error) {
			l, err := m.ListTools(ctx)
			if err != nil {
				return nil, err
			}
			return encodeAll(l.Tools)
		}},
	{"resources/list", "resources", "resources",
		func(c *mcp.ServerCapabilities) bool { return c.Resources != nil },
		func(ctx context.Context, m *connmgr.Manager) ([]json.RawMessage, error) {
			l, err := m.ListResources(ctx)
			if err != nil {
				return nil, err
			}
			return encodeAll(l)
		}},
	{"resources/templates/list", "resourceTemplates", "resources",
		func(c *mcp.ServerCapabilities) bool { return c.Resources != nil },
		func(ctx context.Context, m *connmgr.Manager) ([]json.RawMessage, error) {
			l, err := m.ListResourceTemplates(ctx)
			if err != nil {
				return nil, err
			}
			return encodeAll(l)
		}},
	{"prompts/list", "prompts", "prompts",
		func(c *mcp.ServerCapabilities) bool { return c.Prompts != nil },
		func(ctx context.Context, m *connmgr.Manager) ([]json.RawMessage, error) {
			l, err := m.ListPrompts(ctx)
			if err != nil {
				return nil, err
			}
			return encodeAll(l)
		}},
}

func encodeAll[T any](items []T) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(items))
	for i, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// collect reads every list the target serves, declared or not.
func (a *auditor) collect(ctx context.Context) {
	caps := a.info.Capabilities
	if caps == nil {
		caps = &mcp.ServerCapabilities{}
	}
	items := map[string][]json.RawMessage{}
	for _, f := range features {
		if ctx.Err() != nil || !a.connected() {
			return
		}
		var (
			got []json.RawMessage
			err error
		)
		declared := f.declared(caps)
		switch {
		case declared && a.opts.Raw != nil:
			got, err = a.walkRaw(ctx, f)
		case declared:
			got, err = f.viaManager(ctx, a.mgr)
		case a.opts.Raw != nil:
			got, err = a.firstPageRaw(ctx, f)
		case f.method == "tools/list":
			// connmgr sends tools/list whatever was declared.
			got, err = f.viaManager(ctx, a.mgr)
		default:
			a.skip("capability.undeclared: "+f.method, "sending "+f.method+" without the "+f.capability+" capability needs raw requests, which this connection does not offer")
			continue
		}
		switch {
		case declared && err != nil:
			if !errors.Is(err, errPagination) {
				a.add("capability.list_failed", f.method, "The server declares the %s capability, but %s failed: %v.", f.capability, f.method, trimPeriod(err.Error()))
			}
		case !declared && err == nil && len(got) > 0:
			a.add("capability.undeclared", "initialize.capabilities."+f.capability,
				"The server answers %s with %d %s, but does not declare the %s capability, so clients will not ask for them.", f.method, len(got), plural(len(got), strings.TrimSuffix(f.key, "s"), f.key), f.capability)
		}
		items[f.method] = append(items[f.method], got...)
	}
	a.decodeItems(items)
}

// errPagination marks a list walk stopped by a pagination finding.
var errPagination = errors.New("the pagination is broken")

// walkRaw reads every page of a list with raw requests, recording the
// pagination findings. The items read before a broken cursor are kept.
func (a *auditor) walkRaw(ctx context.Context, f feature) ([]json.RawMessage, error) {
	var all []json.RawMessage
	seen := map[string]bool{}
	emptyReported := false
	cursor := ""
	for page := 1; ; page++ {
		if page > maxPages {
			a.add("pagination.pages.too_many", f.method+".nextCursor",
				"%s was still handing out cursors after %d pages; the last one was %q.", f.method, maxPages, cursor)
			return all, errPagination
		}
		items, next, err := a.rawPage(ctx, f, cursor)
		if err != nil {
			return all, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		if len(items) == 0 && !emptyReported {
			emptyReported = true
			a.add("pagination.page.empty", f.method+".nextCursor",
				"Page %d of %s is empty but has the nextCursor %q.", page, f.method, next)
		}
		if seen[next] || next == cursor {
			a.add("pagination.cursor.repeated", f.method+".nextCursor",
				"%s handed out the cursor %q twice (on page %d), so a client walking the pages never ends.", f.method, next, page)
			return all, errPagination
		}
		seen[next] = true
		cursor = next
	}
}

// firstPageRaw asks for the first page of a list the target did not
// declare, to see whether it serves it anyway.
func (a *auditor) firstPageRaw(ctx context.Context, f feature) ([]json.RawMessage, error) {
	items, _, err := a.rawPage(ctx, f, "")
	return items, err
}

func (a *auditor) rawPage(ctx context.Context, f feature, cursor string) ([]json.RawMessage, string, error) {
	params := map[string]any{}
	if cursor != "" {
		params["cursor"] = cursor
	}
	raw, err := a.opts.Raw.RawRequest(ctx, f.method, params, 0)
	if err != nil {
		return nil, "", err
	}
	var page map[string]json.RawMessage
	if err := json.Unmarshal(raw, &page); err != nil {
		return nil, "", fmt.Errorf("the result is not a JSON object: %v", err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(page[f.key], &items); err != nil || page[f.key] == nil {
		return nil, "", fmt.Errorf("the result has no %s array", f.key)
	}
	var next string
	if c, ok := page["nextCursor"]; ok && string(c) != "null" {
		if err := json.Unmarshal(c, &next); err != nil {
			return nil, "", fmt.Errorf("nextCursor is not a string: %s", c)
		}
	}
	return items, next, nil
}

// connected reports whether the target is still connected.
func (a *auditor) connected() bool { return a.mgr.Status().Connected }

func trimPeriod(s string) string {
	for len(s) > 0 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}
