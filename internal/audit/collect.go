package audit

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	// Named lists: the audit's tests call their raw target's content surface.
	lists "github.com/mcp-test-mcp/mcp-test-mcp/internal/surface"
)

// feature is one list the target may serve.
type feature struct {
	lists.Kind
	// viaManager lists it through connmgr, as JSON items.
	viaManager func(ctx context.Context, m *connmgr.Manager) ([]json.RawMessage, error)
}

var features = []feature{
	{lists.Tools, encoded(func(m *connmgr.Manager, ctx context.Context) ([]*mcp.Tool, error) {
		l, err := m.ListTools(ctx)
		if err != nil {
			return nil, err
		}
		return l.Tools, nil
	})},
	{lists.Resources, encoded((*connmgr.Manager).ListResources)},
	{lists.ResourceTemplates, encoded((*connmgr.Manager).ListResourceTemplates)},
	{lists.Prompts, encoded((*connmgr.Manager).ListPrompts)},
}

// encoded lists through list, as JSON items.
func encoded[T any](list func(*connmgr.Manager, context.Context) ([]T, error)) func(context.Context, *connmgr.Manager) ([]json.RawMessage, error) {
	return func(ctx context.Context, m *connmgr.Manager) ([]json.RawMessage, error) {
		items, err := list(m, ctx)
		if err != nil {
			return nil, err
		}
		return encodeAll(items)
	}
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
		declared := f.Declared(caps)
		switch {
		case declared && a.opts.Raw != nil:
			got, err = a.walkRaw(ctx, f)
		case declared:
			got, err = f.viaManager(ctx, a.mgr)
		case a.opts.Raw != nil:
			got, err = a.firstPageRaw(ctx, f)
		case f.Method == "tools/list":
			// connmgr sends tools/list whatever was declared.
			got, err = f.viaManager(ctx, a.mgr)
		default:
			a.skip("capability.undeclared: "+f.Method, "sending "+f.Method+" without the "+f.Capability+" capability needs raw requests, which this connection does not offer")
			continue
		}
		switch {
		case declared && err != nil:
			if !errors.Is(err, errPagination) {
				a.add("capability.list_failed", f.Method, "The server declares the %s capability, but %s failed: %v.", f.Capability, f.Method, trimPeriod(err.Error()))
			}
		case !declared && err == nil && len(got) > 0:
			a.add("capability.undeclared", "initialize.capabilities."+f.Capability,
				"The server answers %s with %d %s, but does not declare the %s capability, so clients will not ask for them.", f.Method, len(got), plural(len(got), strings.TrimSuffix(f.ResultKey, "s"), f.ResultKey), f.Capability)
		}
		items[f.Method] = append(items[f.Method], got...)
	}
	a.decodeItems(items)
}

// errPagination marks a list walk stopped by a pagination finding.
var errPagination = errors.New("the pagination is broken")

// walkRaw reads every page of a list with raw requests, under surface's
// limits, recording the pagination findings. The items read before a broken
// cursor are kept.
func (a *auditor) walkRaw(ctx context.Context, f feature) ([]json.RawMessage, error) {
	page, emptyReported := 0, false
	all, err := lists.Walk(ctx, f.Method, func(ctx context.Context, cursor string) ([]json.RawMessage, string, error) {
		page++
		items, next, err := a.rawPage(ctx, f, cursor)
		if err == nil && len(items) == 0 && next != "" && !emptyReported {
			emptyReported = true
			a.add("pagination.page.empty", f.Method+".nextCursor",
				"Page %d of %s is empty but has the nextCursor %q.", page, f.Method, next)
		}
		return items, next, err
	})
	var perr *lists.PagingError
	switch {
	case !errors.As(err, &perr):
	case perr.Reason == lists.ReasonPages:
		a.add("pagination.pages.too_many", f.Method+".nextCursor",
			"%s was still handing out cursors after %d pages; the last one was %q.", f.Method, lists.MaxPages, perr.Cursor)
		return all, errPagination
	case perr.Reason == lists.ReasonCursor:
		a.add("pagination.cursor.repeated", f.Method+".nextCursor",
			"%s handed out the cursor %q twice (on page %d), so a client walking the pages never ends.", f.Method, perr.Cursor, perr.Page)
		return all, errPagination
	}
	return all, err
}

// firstPageRaw asks for the first page of a list the target did not
// declare, to see whether it serves it anyway.
func (a *auditor) firstPageRaw(ctx context.Context, f feature) ([]json.RawMessage, error) {
	items, _, err := a.rawPage(ctx, f, "")
	return items, err
}

func (a *auditor) rawPage(ctx context.Context, f feature, cursor string) ([]json.RawMessage, string, error) {
	raw, err := a.opts.Raw.RawRequest(ctx, f.Method, lists.CursorParams(cursor), 0)
	if err != nil {
		return nil, "", err
	}
	return lists.DecodePage(f.Kind, raw)
}

// connected reports whether the target is still connected.
func (a *auditor) connected() bool { return a.mgr.Status().Connected }

func trimPeriod(s string) string {
	for len(s) > 0 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}
