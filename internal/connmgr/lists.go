package connmgr

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/stats"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/surface"
)

// listAll walks every page of k's list method under surface's limits, each
// page a request through do with timeout (zero: the call timeout). A
// pagination that loops or goes past a limit is a ProtocolError naming the
// cursor or the limit. When wire is not nil, it is given each item as the
// target sent it, keyed by k.ItemKey (over stdio only: over HTTP go-sdk's
// decoding is all there is).
func listAll[T any](ctx context.Context, c *conn, k surface.Kind, timeout time.Duration, page surface.Pager[T], wire map[string]json.RawMessage) ([]T, error) {
	all, err := surface.Walk(ctx, k.Method, func(ctx context.Context, cursor string) (items []T, next string, err error) {
		capture := &rawCapture{}
		if wire != nil {
			ctx = context.WithValue(ctx, rawCaptureKey{}, capture)
		}
		err = c.do(ctx, k.Method, stats.KindOther, timeout, func(ctx context.Context) (err error) {
			items, next, err = page(ctx, cursor)
			return err
		})
		if raw, _, ok := capture.get(); ok && err == nil {
			keepWire(k, raw, wire)
		}
		return items, next, err
	})
	if err != nil {
		var perr *surface.PagingError
		if errors.As(err, &perr) {
			return nil, &ProtocolError{Msg: perr.Error()}
		}
		return nil, err
	}
	return all, nil
}

// keepWire puts the items of page, a result of k's list method as sent,
// into wire by their k.ItemKey.
func keepWire(k surface.Kind, page json.RawMessage, wire map[string]json.RawMessage) {
	items, _, err := surface.DecodePage(k, page)
	if err != nil {
		return
	}
	for _, it := range items {
		var key map[string]json.RawMessage
		var name string
		if json.Unmarshal(it, &key) != nil || json.Unmarshal(key[k.ItemKey], &name) != nil {
			continue
		}
		wire[name] = it
	}
}

// captureRawTools keeps tools/list pages as the target sent them, for
// listTools (see surface.ToolsPage).
var captureRawTools = surface.CaptureRawTools

// listTools walks every page of tools/list and refreshes the cache. wire,
// when not nil, is given each tool as sent (see listAll).
func (c *conn) listTools(ctx context.Context, timeout time.Duration, wire map[string]json.RawMessage) ([]*mcp.Tool, error) {
	all, err := listAll(ctx, c, surface.Tools, timeout, surface.ToolsPage(c.cs), wire)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.tools, c.toolsFresh = all, true
	c.mu.Unlock()
	return all, nil
}

// listResources walks every page of resources/list; wire as in listAll.
func (c *conn) listResources(ctx context.Context, timeout time.Duration, wire map[string]json.RawMessage) ([]*mcp.Resource, error) {
	return listAll(ctx, c, surface.Resources, timeout, surface.ResourcesPage(c.cs), wire)
}

// listResourceTemplates walks every page of resources/templates/list; wire
// as in listAll.
func (c *conn) listResourceTemplates(ctx context.Context, timeout time.Duration, wire map[string]json.RawMessage) ([]*mcp.ResourceTemplate, error) {
	return listAll(ctx, c, surface.ResourceTemplates, timeout, surface.ResourceTemplatesPage(c.cs), wire)
}

// listPrompts walks every page of prompts/list; wire as in listAll.
func (c *conn) listPrompts(ctx context.Context, timeout time.Duration, wire map[string]json.RawMessage) ([]*mcp.Prompt, error) {
	return listAll(ctx, c, surface.Prompts, timeout, surface.PromptsPage(c.cs), wire)
}

// fetchSurface lists what the target offers, for reconnect diffs, without
// counting the requests in the statistics. A list that is not declared or
// fails is left unlisted. The result is kept on c.
func (c *conn) fetchSurface(ctx context.Context) *surface.Surface {
	ctx = withoutStats(ctx)
	timeout := min(c.callTimeout, surface.SnapshotPageTimeout)
	s := &surface.Surface{}
	caps := c.static.Capabilities
	var err error
	if surface.Tools.Declared(caps) {
		s.Tools, err = c.listTools(ctx, timeout, nil)
		s.Listed.Tools = err == nil
	}
	if surface.Resources.Declared(caps) {
		s.Resources, err = c.listResources(ctx, timeout, nil)
		s.Listed.Resources = err == nil
		s.ResourceTemplates, err = c.listResourceTemplates(ctx, timeout, nil)
		s.Listed.ResourceTemplates = err == nil
	}
	if surface.Prompts.Declared(caps) {
		s.Prompts, err = c.listPrompts(ctx, timeout, nil)
		s.Listed.Prompts = err == nil
	}
	c.mu.Lock()
	c.surface = s
	c.mu.Unlock()
	return s
}

// findTool looks name up in the target's tool list, fetching the list when
// the cache is stale or the name is not in it. It returns nil, nil when the
// list cannot be had (the call then goes ahead without a definition).
func (c *conn) findTool(ctx context.Context, name string, timeout time.Duration) (*mcp.Tool, error) {
	c.mu.Lock()
	tools, fresh := c.tools, c.toolsFresh
	c.mu.Unlock()
	if fresh {
		if t := toolNamed(tools, name); t != nil {
			return t, nil
		}
	}
	tools, err := c.listTools(ctx, timeout, nil)
	if err != nil {
		var te *TimeoutError
		if errors.As(err, &te) || c.isDead() {
			return nil, err
		}
		c.log.Debug("tools/list failed before a call; calling without the definition", "error", err)
		return nil, nil
	}
	if t := toolNamed(tools, name); t != nil {
		return t, nil
	}
	names := make([]string, len(tools))
	for i, t := range tools {
		names[i] = t.Name
	}
	sort.Strings(names)
	return nil, &ToolNotFoundError{Name: name, Available: names}
}

func toolNamed(tools []*mcp.Tool, name string) *mcp.Tool {
	for _, t := range tools {
		if t.Name == name {
			return t
		}
	}
	return nil
}
