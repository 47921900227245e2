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
	return func(ctx context.Context, cursor string) ([]*mcp.Resource, string, error) {
		res, err := cs.ListResources(ctx, &mcp.ListResourcesParams{Cursor: cursor})
		if err != nil {
			return nil, "", err
		}
		return res.Resources, res.NextCursor, nil
	}
}

// ResourceTemplatesPage fetches pages of resources/templates/list through
// cs.
func ResourceTemplatesPage(cs *mcp.ClientSession) Pager[*mcp.ResourceTemplate] {
	return func(ctx context.Context, cursor string) ([]*mcp.ResourceTemplate, string, error) {
		res, err := cs.ListResourceTemplates(ctx, &mcp.ListResourceTemplatesParams{Cursor: cursor})
		if err != nil {
			return nil, "", err
		}
		return res.ResourceTemplates, res.NextCursor, nil
	}
}

// PromptsPage fetches pages of prompts/list through cs.
func PromptsPage(cs *mcp.ClientSession) Pager[*mcp.Prompt] {
	return func(ctx context.Context, cursor string) ([]*mcp.Prompt, string, error) {
		res, err := cs.ListPrompts(ctx, &mcp.ListPromptsParams{Cursor: cursor})
		if err != nil {
			return nil, "", err
		}
		return res.Prompts, res.NextCursor, nil
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
