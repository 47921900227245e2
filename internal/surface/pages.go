package surface

import (
	"context"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A Pager fetches one page of a list: its items and the next cursor ("" at
// the end). Walk follows a Pager's cursors.
type Pager[T any] func(ctx context.Context, cursor string) (items []T, next string, err error)

// ToolsPage fetches pages of tools/list through cs. When the session's
// client has CaptureRawTools, a page holds every tool the target listed,
// including those go-sdk leaves out (a tool with an invalid x-mcp-header
// annotation): a tester hides nothing.
func ToolsPage(cs *mcp.ClientSession) Pager[*mcp.Tool] {
	return func(ctx context.Context, cursor string) ([]*mcp.Tool, string, error) {
		var raw []*mcp.Tool
		res, err := cs.ListTools(context.WithValue(ctx, rawToolsKey{}, &raw), &mcp.ListToolsParams{Cursor: cursor})
		if err != nil {
			return nil, "", err
		}
		tools := slices.DeleteFunc(slices.Clone(raw), func(t *mcp.Tool) bool { return t == nil })
		if raw == nil {
			tools = res.Tools
		}
		return tools, res.NextCursor, nil
	}
}

// ResourcesPage fetches pages of resources/list through cs.
func ResourcesPage(cs *mcp.ClientSession) Pager[*mcp.Resource] {
	return pager(cs.ListResources,
		func(cursor string) *mcp.ListResourcesParams { return &mcp.ListResourcesParams{Cursor: cursor} },
		func(r *mcp.ListResourcesResult) ([]*mcp.Resource, string) { return r.Resources, r.NextCursor })
}

// ResourceTemplatesPage fetches pages of resources/templates/list through
// cs.
func ResourceTemplatesPage(cs *mcp.ClientSession) Pager[*mcp.ResourceTemplate] {
	return pager(cs.ListResourceTemplates,
		func(cursor string) *mcp.ListResourceTemplatesParams {
			return &mcp.ListResourceTemplatesParams{Cursor: cursor}
		},
		func(r *mcp.ListResourceTemplatesResult) ([]*mcp.ResourceTemplate, string) {
			return r.ResourceTemplates, r.NextCursor
		})
}

// PromptsPage fetches pages of prompts/list through cs.
func PromptsPage(cs *mcp.ClientSession) Pager[*mcp.Prompt] {
	return pager(cs.ListPrompts,
		func(cursor string) *mcp.ListPromptsParams { return &mcp.ListPromptsParams{Cursor: cursor} },
		func(r *mcp.ListPromptsResult) ([]*mcp.Prompt, string) { return r.Prompts, r.NextCursor })
}

// pager makes a Pager of one of go-sdk's list methods: params makes its
// params for a cursor, and page takes the items and next cursor out of its
// result.
func pager[P, R any, T any](list func(context.Context, P) (R, error), params func(cursor string) P, page func(R) ([]T, string)) Pager[T] {
	return func(ctx context.Context, cursor string) ([]T, string, error) {
		res, err := list(ctx, params(cursor))
		if err != nil {
			return nil, "", err
		}
		items, next := page(res)
		return items, next, nil
	}
}

// rawToolsKey carries a *[]*mcp.Tool that CaptureRawTools fills with a
// tools/list page as the target sent it.
type rawToolsKey struct{}

// CaptureRawTools is a sending middleware, for the client of a session
// that ToolsPage lists, that keeps a tools/list page before go-sdk filters
// it.
func CaptureRawTools(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		if p, ok := ctx.Value(rawToolsKey{}).(*[]*mcp.Tool); ok {
			if r, ok := res.(*mcp.ListToolsResult); ok && r != nil {
				*p = r.Tools
			}
		}
		return res, err
	}
}
