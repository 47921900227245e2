// Package surface owns what a target offers: its tools, resources, resource
// templates and prompts. It walks every page of their list methods under one
// set of limits (Walk, for typed and raw pages alike) and compares two
// surfaces with one engine (Compare), whose result is both the reconnect
// tool's changes and, classified, a snapshot's breaking and additive
// changes.
//
// It owns no connection: callers hand Walk the Pager that fetches one page
// (connmgr wraps ToolsPage and its siblings, which page through a go-sdk
// session, in its own requests; the audit pages raw results with
// DecodePage), so that deadlines, statistics and error classes stay with
// the connection. Tools are kept as the target sent them, not as go-sdk
// filters them (CaptureRawTools).
package surface

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The limits of every list walk, so that a target's list can take neither
// the tester's memory nor its host's answer size.
const (
	// MaxPages stops a list walk that never ends.
	MaxPages = 100
	// MaxItems is how many items a list walk takes in all.
	MaxItems = 10_000
	// SnapshotPageTimeout bounds each page of a surface listed for a
	// comparison (reconnect's before and after), when the connection's call
	// timeout is longer.
	SnapshotPageTimeout = 10 * time.Second
)

// Kind is one of the lists a target offers.
type Kind struct {
	// Name is the list's name in a Diff: tools, resource_templates.
	Name string
	// Noun names one item in a sentence: tool, resource template.
	Noun string
	// Method is the list method: tools/list.
	Method string
	// ResultKey is the result's array: tools, resourceTemplates.
	ResultKey string
	// ItemKey is the wire field that names an item: name, uri, uriTemplate.
	ItemKey string
	// Capability must be declared for the target to serve the list.
	Capability string
}

// The four lists.
var (
	Tools             = Kind{"tools", "tool", "tools/list", "tools", "name", "tools"}
	Resources         = Kind{"resources", "resource", "resources/list", "resources", "uri", "resources"}
	ResourceTemplates = Kind{"resource_templates", "resource template", "resources/templates/list", "resourceTemplates", "uriTemplate", "resources"}
	Prompts           = Kind{"prompts", "prompt", "prompts/list", "prompts", "name", "prompts"}
)

// Kinds are the four lists, in the order they are listed and reported.
var Kinds = []Kind{Tools, Resources, ResourceTemplates, Prompts}

// Declared reports whether caps declares the capability that serves k.
func (k Kind) Declared(caps *mcp.ServerCapabilities) bool {
	if caps == nil {
		return false
	}
	switch k.Capability {
	case "tools":
		return caps.Tools != nil
	case "resources":
		return caps.Resources != nil
	case "prompts":
		return caps.Prompts != nil
	}
	return false
}

// Surface is what a target offers, as listed at one time.
type Surface struct {
	Tools             []*mcp.Tool
	Resources         []*mcp.Resource
	ResourceTemplates []*mcp.ResourceTemplate
	Prompts           []*mcp.Prompt
	// Listed says which lists were had; a list that was not (not declared,
	// or its walk failed) is not compared.
	Listed Listed
}

// Listed says which lists of a Surface were had.
type Listed struct {
	Tools, Resources, ResourceTemplates, Prompts bool
}

// All marks every list as had.
var All = Listed{Tools: true, Resources: true, ResourceTemplates: true, Prompts: true}

// PagingError stops a list walk that went past a limit or whose cursor
// repeated. Its message names the cursor or the limit.
type PagingError struct {
	Method string
	// Reason is what stopped the walk: ReasonPages, ReasonItems or
	// ReasonCursor.
	Reason string
	// Page is the page the walk stopped at, from 1: the one past MaxPages,
	// the one that went past MaxItems, or the one that handed out the
	// repeated cursor.
	Page int
	// Cursor is the cursor that repeated (ReasonCursor), or the one the
	// stopping page was asked with.
	Cursor string
	// Items is how many items the walk had with the stopping page
	// (ReasonItems).
	Items int
}

// The reasons of a PagingError.
const (
	ReasonPages  = "pages"
	ReasonItems  = "items"
	ReasonCursor = "cursor"
)

func (e *PagingError) Error() string {
	switch e.Reason {
	case ReasonPages:
		return fmt.Sprintf("%s returned more than %d pages; the last cursor was %q", e.Method, MaxPages, e.Cursor)
	case ReasonItems:
		return fmt.Sprintf("%s returned more than %d items (%d by page %d, whose cursor was %q); the tester stops there", e.Method, MaxItems, e.Items, e.Page, e.Cursor)
	default:
		return fmt.Sprintf("%s returned the cursor %q twice; the server's pagination loops", e.Method, e.Cursor)
	}
}

// Walk fetches every page of method with page, from the empty cursor, and
// returns their items. A cursor that repeats, more than MaxPages pages or
// more than MaxItems items stop the walk with a *PagingError; the items of
// the pages before the stopping one are returned with it. An error of page
// stops the walk too, and is returned as it is.
func Walk[T any](ctx context.Context, method string, page Pager[T]) ([]T, error) {
	var all []T
	seen := map[string]bool{}
	cursor := ""
	for n := 1; ; n++ {
		if n > MaxPages {
			return all, &PagingError{Method: method, Reason: ReasonPages, Page: n, Cursor: cursor}
		}
		items, next, err := page(ctx, cursor)
		if err != nil {
			return all, err
		}
		if len(all)+len(items) > MaxItems {
			return all, &PagingError{Method: method, Reason: ReasonItems, Page: n, Cursor: cursor, Items: len(all) + len(items)}
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		if seen[next] {
			return all, &PagingError{Method: method, Reason: ReasonCursor, Page: n, Cursor: next}
		}
		seen[next] = true
		cursor = next
	}
}

// DecodePage splits a raw result of k's list method into its items, as the
// target sent them, and its nextCursor ("" when absent or null).
func DecodePage(k Kind, raw json.RawMessage) (items []json.RawMessage, next string, err error) {
	var page map[string]json.RawMessage
	if err := json.Unmarshal(raw, &page); err != nil {
		return nil, "", fmt.Errorf("the result is not a JSON object: %v", err)
	}
	if err := json.Unmarshal(page[k.ResultKey], &items); err != nil || page[k.ResultKey] == nil {
		return nil, "", fmt.Errorf("the result has no %s array", k.ResultKey)
	}
	if c, ok := page["nextCursor"]; ok && string(c) != "null" {
		if err := json.Unmarshal(c, &next); err != nil {
			return nil, "", fmt.Errorf("nextCursor is not a string: %s", c)
		}
	}
	return items, next, nil
}

// CursorParams are the params of a list request for cursor.
func CursorParams(cursor string) map[string]any {
	params := map[string]any{}
	if cursor != "" {
		params["cursor"] = cursor
	}
	return params
}
