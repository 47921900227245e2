package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// defaultNotificationLimit is how many notifications get_notifications
// returns when no limit is given.
const defaultNotificationLimit = 100

// GetNotificationsInput is the arguments of get_notifications.
type GetNotificationsInput struct {
	Kinds []string `json:"kinds,omitempty" jsonschema:"keep only these kinds; absent or empty means all"`
	Since *int64   `json:"since,omitempty" jsonschema:"keep only notifications with seq greater than this: pass the last_seq of the previous call to see only what is new"`
	Limit *int     `json:"limit,omitempty" jsonschema:"return at most this many, the newest; default 100"`
	Clear bool     `json:"clear,omitempty" jsonschema:"after reading, forget every collected notification and reset counts (seq keeps counting)"`
}

// GetNotificationsOutput is the result of get_notifications.
type GetNotificationsOutput struct {
	Result
	Notifications []Notification `json:"notifications" jsonschema:"the matching notifications, oldest first"`
	Matched       int            `json:"matched" jsonschema:"how many notifications matched kinds and since, before limit"`
	Counts        map[string]int `json:"counts" jsonschema:"how many of each kind were received since the last clear, including ones no longer kept"`
	Dropped       int64          `json:"dropped" jsonschema:"how many were pushed out of the bounded buffer (oldest first) since the last clear"`
	LastSeq       int64          `json:"last_seq" jsonschema:"the seq of the newest notification received: pass it as since next time"`
	Cleared       bool           `json:"cleared" jsonschema:"whether the collected notifications were forgotten after this read"`
	Metadata      Metadata       `json:"metadata"`
}

// Notification is one thing the target sent on its own, or asked of us.
type Notification struct {
	Seq          int64  `json:"seq" jsonschema:"increases by one per notification, across connections"`
	At           string `json:"at" jsonschema:"when it was received, RFC 3339 UTC"`
	Kind         string `json:"kind"`
	Method       string `json:"method,omitempty" jsonschema:"the JSON-RPC method, such as notifications/message"`
	ConnectionID string `json:"connection_id" jsonschema:"the id of the connection it arrived on"`
	Data         any    `json:"data" jsonschema:"the notification's params in wire form; {line} for stdout and stderr; for a request from the target {params, answered_by, result or error}"`
	// DataTruncated and DataSizeBytes say that Data was cut, and from what.
	DataTruncated bool `json:"data_truncated,omitempty" jsonschema:"true when data was too large (over 16 KiB when received, or over the text limit) and is shown as a string holding the start of its JSON text"`
	DataSizeBytes int  `json:"data_size_bytes,omitempty" jsonschema:"the size of data's JSON before it was cut"`
}

func (o *GetNotificationsOutput) metadata() *Metadata { return &o.Metadata }

func getNotificationsTool() *mcp.Tool {
	in := schemaFor[GetNotificationsInput]()
	kinds := make([]any, len(connmgr.EventKinds))
	for i, k := range connmgr.EventKinds {
		kinds[i] = k
	}
	in.Properties["kinds"].Items.Enum = kinds
	in.Properties["since"].Minimum = jsonschema.Ptr(0.0)
	in.Properties["limit"].Minimum = jsonschema.Ptr(1.0)
	return &mcp.Tool{
		Name:  "get_notifications",
		Title: "Read what the server sent on its own",
		Description: `Read the notifications and requests the server sent outside of a call's answer, collected since connecting (a bounded buffer, kept across connections): log messages (log), progress, tools/resources/prompts list_changed, resource_updated (after subscribe_resource), requests it made of the tester (request: sampling, elicitation, roots), its stderr lines and non-JSON-RPC stdout lines, and other notifications.

Each has seq, at, kind, method, connection_id and data (the params in wire form). Pass since = the last_seq of your previous call to see only what is new. Examples: {} for the newest 100; {"kinds": ["log", "progress"], "since": 42}; {"kinds": ["resource_updated"], "clear": true}. Works when not connected, to look back at a server that ended.`,
		InputSchema: in,
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: jsonschema.Ptr(false)},
	}
}

func (h *handlers) getNotifications(ctx context.Context, req *mcp.CallToolRequest, in *GetNotificationsInput) *GetNotificationsOutput {
	out := &GetNotificationsOutput{}
	q, limit, err := in.query()
	if err != nil {
		out.fail(classify(err, errtype.Args))
		return out
	}
	page := h.mgr.Events(q)
	if in.Clear {
		// Only what this read saw: later events survive.
		h.mgr.ClearEvents(page.LastSeq)
	}
	out.Matched = len(page.Events)
	events := page.Events[max(0, len(page.Events)-limit):]
	out.Notifications = make([]Notification, 0, len(events))
	for _, e := range events {
		out.Notifications = append(out.Notifications, h.notification(e))
	}
	out.Counts = make(map[string]int, len(connmgr.EventKinds))
	for _, k := range connmgr.EventKinds {
		out.Counts[k] = page.Counts[k]
	}
	out.Dropped, out.LastSeq, out.Cleared = page.Dropped, page.LastSeq, in.Clear
	out.Success = true
	out.Message = describeNotifications(out, q)
	return out
}

// query checks the input and returns the events query, with the limit
// applied by the caller so that matched can be told.
func (in *GetNotificationsInput) query() (connmgr.EventQuery, int, error) {
	var q connmgr.EventQuery
	for _, k := range in.Kinds {
		if !slices.Contains(connmgr.EventKinds, k) {
			sugg := "Pass kinds from: " + strings.Join(connmgr.EventKinds, ", ") + "."
			if close := errtype.Closest(k, connmgr.EventKinds, 1); len(close) > 0 {
				sugg = fmt.Sprintf("Did you mean %q? %s", close[0], sugg)
			}
			return q, 0, &errtype.ArgError{Msg: fmt.Sprintf("%q is not a notification kind; the kinds are %s", k, strings.Join(connmgr.EventKinds, ", ")), Suggestion: sugg}
		}
		if !slices.Contains(q.Kinds, k) {
			q.Kinds = append(q.Kinds, k)
		}
	}
	if in.Since != nil {
		if *in.Since < 0 {
			return q, 0, &errtype.ArgError{Msg: fmt.Sprintf("since must be 0 or more, not %d", *in.Since), Suggestion: "Pass the last_seq of a previous get_notifications, or leave since out."}
		}
		q.Since = *in.Since
	}
	limit := defaultNotificationLimit
	if in.Limit != nil {
		if *in.Limit < 1 {
			return q, 0, &errtype.ArgError{Msg: fmt.Sprintf("limit must be 1 or more, not %d", *in.Limit), Suggestion: "Pass a positive limit, or leave it out for 100."}
		}
		limit = *in.Limit
	}
	return q, limit, nil
}

func (h *handlers) notification(e connmgr.Event) Notification {
	n := Notification{Seq: e.Seq, At: timestamp(e.At), Kind: e.Kind, Method: e.Method, ConnectionID: e.ConnectionID}
	switch {
	case len(e.Data) == 0:
	case e.Truncated: // cut when it was stored
		n.Data, n.DataTruncated, n.DataSizeBytes = json.RawMessage(e.Data), true, e.SizeBytes
	case len(e.Data) > h.maxText:
		s, size := textcut.Cut(string(e.Data), h.maxText), len(e.Data)
		n.Data, n.DataTruncated, n.DataSizeBytes = s, true, size
	default:
		n.Data = json.RawMessage(e.Data)
	}
	return n
}

func describeNotifications(out *GetNotificationsOutput, q connmgr.EventQuery) string {
	n := len(out.Notifications)
	what := "notifications"
	if len(q.Kinds) > 0 {
		what = strings.Join(q.Kinds, "/") + " notifications"
	}
	var s string
	switch {
	case out.Matched == 0 && q.Since > 0:
		s = fmt.Sprintf("No new %s since seq %d", what, q.Since)
	case out.Matched == 0:
		s = fmt.Sprintf("No %s collected", what)
	case n < out.Matched:
		s = fmt.Sprintf("The newest %d of %d %s", n, out.Matched, what)
	default:
		s = fmt.Sprintf("%d %s", n, what)
		if n == 1 {
			s = "1 " + strings.TrimSuffix(what, "s")
		}
	}
	if out.Matched > 0 {
		var byKind []string
		seen := map[string]int{}
		for _, e := range out.Notifications {
			if seen[e.Kind] == 0 {
				byKind = append(byKind, e.Kind)
			}
			seen[e.Kind]++
		}
		if len(q.Kinds) != 1 {
			parts := make([]string, len(byKind))
			for i, k := range byKind {
				parts[i] = fmt.Sprintf("%d %s", seen[k], k)
			}
			s += " (" + strings.Join(parts, ", ") + ")"
		}
	}
	s += fmt.Sprintf("; last_seq is %d", out.LastSeq)
	if out.Dropped > 0 {
		s += fmt.Sprintf("; %d older ones were dropped from the full buffer", out.Dropped)
	}
	if out.Cleared {
		s += "; the buffer was cleared"
	}
	return s + "."
}
