package surface

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

// pagingServer is a go-sdk server, in process, that serves n of each list
// in pages of two.
func pagingServer(t *testing.T, n int) *mcp.ClientSession {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "paging", Version: "1"}, &mcp.ServerOptions{PageSize: 2})
	for i := range n {
		name := fmt.Sprintf("item%02d", i)
		mcp.AddTool(srv, &mcp.Tool{Name: name}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{}, nil, nil
		})
		srv.AddResource(&mcp.Resource{URI: "paging://" + name, Name: name}, func(context.Context, *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{}, nil
		})
		srv.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: "paging://" + name + "/{id}", Name: name}, func(context.Context, *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{}, nil
		})
		srv.AddPrompt(&mcp.Prompt{Name: name}, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{}, nil
		})
	}
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(t.Context(), st, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(t.Context(), ct, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// counted counts the pages that page fetches.
func counted[T any](pages *int, page func(ctx context.Context, cursor string) ([]T, string, error)) func(ctx context.Context, cursor string) ([]T, string, error) {
	return func(ctx context.Context, cursor string) ([]T, string, error) {
		*pages++
		return page(ctx, cursor)
	}
}

func TestWalkFollowsEveryPageOfARealServer(t *testing.T) {
	cs := pagingServer(t, 7)
	names := func(get func(i int) string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = get(i)
		}
		return out
	}
	want := names(func(i int) string { return fmt.Sprintf("item%02d", i) }, 7)

	t.Run("tools", func(t *testing.T) {
		pages := 0
		got, err := Walk(t.Context(), Tools.Method, counted(&pages, ToolsPage(cs)))
		require.NoError(t, err)
		assert.Equal(t, want, names(func(i int) string { return got[i].Name }, len(got)))
		assert.Equal(t, 4, pages, "seven items in pages of two")
	})
	t.Run("resources", func(t *testing.T) {
		got, err := Walk(t.Context(), Resources.Method, ResourcesPage(cs))
		require.NoError(t, err)
		assert.Equal(t, want, names(func(i int) string { return got[i].Name }, len(got)))
	})
	t.Run("resource templates", func(t *testing.T) {
		got, err := Walk(t.Context(), ResourceTemplates.Method, ResourceTemplatesPage(cs))
		require.NoError(t, err)
		assert.Equal(t, want, names(func(i int) string { return got[i].Name }, len(got)))
	})
	t.Run("prompts", func(t *testing.T) {
		got, err := Walk(t.Context(), Prompts.Method, PromptsPage(cs))
		require.NoError(t, err)
		assert.Equal(t, want, names(func(i int) string { return got[i].Name }, len(got)))
	})
	t.Run("an error of a page stops the walk and is returned as it is", func(t *testing.T) {
		_, err := Walk(t.Context(), Tools.Method, func(ctx context.Context, cursor string) ([]*mcp.Tool, string, error) {
			res, err := cs.ListTools(ctx, &mcp.ListToolsParams{Cursor: "not-a-cursor"})
			if err != nil {
				return nil, "", err
			}
			return res.Tools, res.NextCursor, nil
		})
		require.Error(t, err)
		var perr *PagingError
		assert.False(t, errors.As(err, &perr), "the server's error, not a paging error: %v", err)
	})
}

// hostileSession serves hostile's behaviour in process.
func hostileSession(t *testing.T, behaviour string) *mcp.ClientSession {
	t.Helper()
	toServer, serverIn := io.Pipe()
	serverOut, fromServer := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		hostile.Main(behaviour, toServer, fromServer)
	}()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).
		Connect(t.Context(), &mcp.IOTransport{Reader: serverOut, Writer: serverIn}, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cs.Close()
		_ = serverIn.Close()
		_ = serverOut.Close()
		<-done
	})
	return cs
}

func TestWalkStopsAHostileServerAtTheLimits(t *testing.T) {
	walk := func(t *testing.T, cs *mcp.ClientSession) ([]*mcp.Tool, error) {
		return Walk(t.Context(), Tools.Method, ToolsPage(cs))
	}
	t.Run("pages of 4,000 tools stop at the page that passes 10,000 items", func(t *testing.T) {
		t.Setenv("HOSTILE_PAGE_ITEMS", "4000")
		got, err := walk(t, hostileSession(t, hostile.HugePages))
		var perr *PagingError
		require.ErrorAs(t, err, &perr)
		assert.Equal(t, `tools/list returned more than 10000 items (12000 by page 3, whose cursor was "page-2"); the tester stops there`, err.Error())
		assert.Equal(t, ReasonItems, perr.Reason)
		assert.Len(t, got, 8000, "the pages before the stopping one")
	})
	t.Run("pages without end stop after 100", func(t *testing.T) {
		t.Setenv("HOSTILE_PAGE_ITEMS", "1")
		got, err := walk(t, hostileSession(t, hostile.HugePages))
		var perr *PagingError
		require.ErrorAs(t, err, &perr)
		assert.Equal(t, `tools/list returned more than 100 pages; the last cursor was "page-100"`, err.Error())
		assert.Equal(t, ReasonPages, perr.Reason)
		assert.Len(t, got, MaxPages)
	})
}

func TestWalkLimits(t *testing.T) {
	// script answers page n (from 1) with items[n-1] and cursors[n-1].
	script := func(items []int, cursors []string) func(ctx context.Context, cursor string) ([]int, string, error) {
		n := 0
		return func(ctx context.Context, cursor string) ([]int, string, error) {
			n++
			return make([]int, items[n-1]), cursors[n-1], nil
		}
	}
	tests := []struct {
		name    string
		items   []int
		cursors []string
		got     int
		err     *PagingError
	}{
		{"one page", []int{3}, []string{""}, 3, nil},
		{"a cursor handed out twice", []int{1, 1, 1}, []string{"a", "b", "a"}, 3,
			&PagingError{Method: "m", Reason: ReasonCursor, Page: 3, Cursor: "a"}},
		{"a page that hands out its own cursor", []int{1, 0}, []string{"a", "a"}, 1,
			&PagingError{Method: "m", Reason: ReasonCursor, Page: 2, Cursor: "a"}},
		{"exactly the item limit", []int{MaxItems}, []string{""}, MaxItems, nil},
		{"one item past the limit", []int{MaxItems, 1}, []string{"a", ""}, MaxItems,
			&PagingError{Method: "m", Reason: ReasonItems, Page: 2, Cursor: "a", Items: MaxItems + 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Walk(t.Context(), "m", script(tc.items, tc.cursors))
			assert.Len(t, got, tc.got)
			if tc.err == nil {
				assert.NoError(t, err)
				return
			}
			var perr *PagingError
			require.ErrorAs(t, err, &perr)
			assert.Equal(t, tc.err, perr)
		})
	}
	t.Run("exactly the page limit", func(t *testing.T) {
		items, cursors := make([]int, MaxPages), make([]string, MaxPages)
		for i := range MaxPages - 1 {
			cursors[i] = strconv.Itoa(i)
		}
		got, err := Walk(t.Context(), "m", script(items, cursors))
		assert.NoError(t, err)
		assert.Empty(t, got)
	})
	t.Run("the repeated cursor is named", func(t *testing.T) {
		_, err := Walk(t.Context(), "tools/list", script([]int{1, 1}, []string{"again", "again"}))
		assert.EqualError(t, err, `tools/list returned the cursor "again" twice; the server's pagination loops`)
	})
}

func TestDecodePage(t *testing.T) {
	tests := []struct {
		name  string
		kind  Kind
		raw   string
		items int
		next  string
		err   string
	}{
		{"items and a cursor", Tools, `{"tools":[{"name":"a"},{"name":"b"}],"nextCursor":"c"}`, 2, "c", ""},
		{"a null cursor ends the list", Prompts, `{"prompts":[],"nextCursor":null}`, 0, "", ""},
		{"templates are under resourceTemplates", ResourceTemplates, `{"resourceTemplates":[{"uriTemplate":"x://{id}"}]}`, 1, "", ""},
		{"no array", Resources, `{"items":[]}`, 0, "", "the result has no resources array"},
		{"a number cursor", Tools, `{"tools":[],"nextCursor":3}`, 0, "", "nextCursor is not a string: 3"},
		{"not an object", Tools, `[]`, 0, "", "the result is not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, next, err := DecodePage(tc.kind, json.RawMessage(tc.raw))
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Len(t, items, tc.items)
			assert.Equal(t, tc.next, next)
		})
	}
	t.Run("items keep their wire form", func(t *testing.T) {
		items, _, err := DecodePage(Tools, json.RawMessage(`{"tools":[{"name":"a","x-extra":1.50}]}`))
		require.NoError(t, err)
		assert.JSONEq(t, `{"name":"a","x-extra":1.50}`, string(items[0]))
		assert.Contains(t, string(items[0]), "1.50", "numbers as sent")
	})
}

func TestToolsPageShowsToolsGoSDKWouldDrop(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "odd", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "fine"}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{}, nil, nil
	})
	// An x-mcp-header on an object property makes go-sdk's client leave the
	// tool out.
	odd := &mcp.Tool{Name: "odd_header", InputSchema: map[string]any{"type": "object", "properties": map[string]any{
		"where": map[string]any{"type": "object", "x-mcp-header": "X-Where"},
	}}}
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			res, err := next(ctx, method, req)
			if r, ok := res.(*mcp.ListToolsResult); ok && err == nil {
				r.Tools = append(r.Tools, odd)
			}
			return res, err
		}
	})
	list := func(t *testing.T, capture bool) []string {
		st, ct := mcp.NewInMemoryTransports()
		ss, err := srv.Connect(t.Context(), st, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = ss.Close() })
		client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
		if capture {
			client.AddSendingMiddleware(CaptureRawTools)
		}
		cs, err := client.Connect(t.Context(), ct, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = cs.Close() })
		tools, err := Walk(t.Context(), Tools.Method, ToolsPage(cs))
		require.NoError(t, err)
		var names []string
		for _, tool := range tools {
			names = append(names, tool.Name)
		}
		return names
	}
	assert.Equal(t, []string{"fine"}, list(t, false), "go-sdk alone drops it")
	assert.Equal(t, []string{"fine", "odd_header"}, list(t, true), "CaptureRawTools keeps it")
}
