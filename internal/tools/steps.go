package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/stats"
)

// The steps that the handlers share: sending one request to the target,
// shaping a list of the target's items, and the connection's metadata.

// send sends one request to the target with do, and returns its result and
// how long it took. When do fails, send fails r with explain's error (nil:
// classify during errtype.Request) and, unless doing is empty, warns the
// host "<doing> failed: <message>", where doing names the request as the
// host's log does ("Reading resource x"); ok is then false.
func send[R any](ctx context.Context, h *handlers, req *mcp.CallToolRequest, r *Result, doing string,
	explain func(error) *ErrorInfo, do func() (R, error)) (res R, took time.Duration, ok bool) {
	start := time.Now()
	res, err := do()
	took = time.Since(start)
	if err != nil {
		if explain == nil {
			r.fail(classify(err, errtype.Request))
		} else {
			r.fail(explain(err))
		}
		if doing != "" {
			h.notify(ctx, req, "warning", "%s failed: %s", doing, r.Error.Message)
		}
		return res, took, false
	}
	return res, took, true
}

// noResult adapts a request that returns only an error to send.
func noResult(err error) (struct{}, error) { return struct{}{}, err }

// lister says how a list tool shows the target's items of one kind, T, as
// summaries S.
type lister[T, S any] struct {
	// one and many name the kind in messages.
	one, many string
	// pluralFiltered keeps many in "1 of the 1 tools of x match", as
	// list_tools says.
	pluralFiltered bool
	// fields are what a filter is matched against.
	fields func(T) []string
	// key is the field that names an item on the wire (surface.Kind's
	// ItemKey): the key of its entry in the wire map list is given.
	key func(T) string
	// summary is an item as the tool shows it, from raw, the item as the
	// target sent it (nil when that was not had: see wireFields).
	summary func(it T, raw json.RawMessage) S
}

// listing is a list tool's answer.
type listing[S any] struct {
	items           []S
	total, returned *int
	server          ListedServer
}

// ListedServer is the target a list tool listed.
type ListedServer struct {
	ServerName    string `json:"server_name,omitempty"`
	ServerVersion string `json:"server_version,omitempty"`
}

// list shapes a list tool's answer from the target's items, or from err
// when they could not be had (ok is then false): the summaries of the
// items that match filter, their counts, and the target's name and version
// from si. It sets r's success and message.
//
// wire holds the items as the target sent them, by key (nil or empty over
// HTTP).
func (l lister[T, S]) list(r *Result, items []T, wire map[string]json.RawMessage, err error, filter string, si connmgr.ServerInfo) (_ listing[S], ok bool) {
	if err != nil {
		r.fail(classify(err, errtype.Request))
		return listing[S]{}, false
	}
	out := listing[S]{items: []S{}, server: ListedServer{si.Name, si.Version}}
	for _, it := range items {
		if matches(filter, l.fields(it)...) {
			out.items = append(out.items, l.summary(it, wire[l.key(it)]))
		}
	}
	total, returned := len(items), len(out.items)
	out.total, out.returned = &total, &returned
	name, noun := serverName(si), plural(total, l.one, l.many)
	switch {
	case total == 0:
		r.Message = fmt.Sprintf("%s lists no %s.", name, l.many)
	case filter != "":
		if l.pluralFiltered {
			noun = l.many
		}
		r.Message = fmt.Sprintf("%d of the %d %s of %s match %q.", returned, total, noun, name, filter)
	default:
		r.Message = fmt.Sprintf("%s has %d %s.", name, total, noun)
	}
	r.Success = true
	return out, true
}

// matches reports whether filter is empty or a case-insensitive substring
// of one of fields.
func matches(filter string, fields ...string) bool {
	if filter == "" {
		return true
	}
	filter = strings.ToLower(filter)
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), filter) {
			return true
		}
	}
	return false
}

// serverInfo returns the connected target's identity, or the zero value.
func (h *handlers) serverInfo() connmgr.ServerInfo {
	if st := h.mgr.Status(); st.Info != nil {
		return st.Info.ServerInfo
	}
	return connmgr.ServerInfo{}
}

// ConnMetadata is the metadata of tools that send one request: where it
// went and the connection's statistics afterwards.
type ConnMetadata struct {
	Metadata
	ServerURL            string          `json:"server_url,omitempty"`
	ConnectionStatistics *stats.Snapshot `json:"connection_statistics,omitempty" jsonschema:"the connection's statistics after this request"`
}

// fill sets the connection's URL and statistics, if there is a connection.
func (m *ConnMetadata) fill(mgr *connmgr.Manager) {
	m.ServerURL, m.ConnectionStatistics = connState(mgr)
}

// connState returns the live connection's URL and statistics, or nothing
// when there is none.
func connState(mgr *connmgr.Manager) (url string, statistics *stats.Snapshot) {
	if st := mgr.Status(); st.Info != nil {
		snap := utcStats(st.Info.Statistics)
		return st.Info.ServerURL, &snap
	}
	return "", nil
}
