package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/surface"
)

// Defaults of connect's health and reconnect inputs.
const (
	defaultHealthInterval = 30 * time.Second
	maxReconnectAttempts  = 100
)

// healthSpec checks connect's health and reconnect inputs and returns them
// as the matching connmgr.Spec fields.
func (in *ConnectInput) healthSpec() (connmgr.Spec, error) {
	var spec connmgr.Spec
	spec.HealthCheckInterval = defaultHealthInterval
	if v := in.HealthCheckIntervalSeconds; v != nil {
		if *v == 0 {
			spec.HealthCheckInterval = 0
		} else {
			d, err := seconds("health_check_interval_seconds", v)
			if err != nil {
				return spec, &errtype.ArgError{Msg: fmt.Sprintf("health_check_interval_seconds must be 0 (off) or a positive number of seconds, not %v", *v),
					Suggestion: "Pass 0 to turn health pings off, a number of seconds such as 30, or leave it out for the default (30)."}
			}
			spec.HealthCheckInterval = d
		}
	}
	spec.AutoReconnect = in.AutoReconnect
	if v := in.MaxReconnectAttempts; v != nil {
		if *v < 1 || *v > maxReconnectAttempts {
			return spec, &errtype.ArgError{Msg: fmt.Sprintf("max_reconnect_attempts must be between 1 and %d, not %d", maxReconnectAttempts, *v),
				Suggestion: "Pass a small number such as 5, or leave it out for the default (5)."}
		}
		spec.MaxReconnectAttempts = *v
	}
	if v := in.ReconnectDelaySeconds; v != nil {
		d, err := seconds("reconnect_delay_seconds", v)
		if err != nil {
			return spec, err
		}
		spec.ReconnectDelay = min(d, connmgr.MaxReconnectDelay)
	}
	return spec, nil
}

// ReconnectOutput is the result of reconnect.
type ReconnectOutput struct {
	Result
	Connection *connmgr.Info     `json:"connection,omitempty" jsonschema:"the new connection (ConnectionInfo); statistics carry over and reconnects counts up"`
	Changes    *surface.Diff     `json:"changes,omitempty" jsonschema:"what changed in the target's tools, resources, resource templates and prompts since the previous connection: added and removed names, and changed ones with the fields that changed"`
	Metadata   ReconnectMetadata `json:"metadata"`
}

// ReconnectMetadata is reconnect's metadata.
type ReconnectMetadata struct {
	Metadata
	PreviousConnection *connmgr.Previous `json:"previous_connection,omitempty" jsonschema:"the connection this one replaced, or the one that had ended"`
}

func (o *ReconnectOutput) metadata() *Metadata { return &o.Metadata.Metadata }

var reconnectTool = &mcp.Tool{
	Name:  "reconnect",
	Title: "Reconnect to the MCP server",
	Description: `Connect again with the arguments of the current connection (or of the last one, when it was lost or disconnected), and report what changed in the server's tools, resources, resource templates and prompts. A stdio server is started afresh, so this picks up a rebuilt server.

Use it in the loop for an agent editing a server: change the code, reconnect, test again. Like connect, the old connection is closed only once the new one works. Statistics carry over; connection.reconnects counts up. Returns changes: {tools, resources, resource_templates, prompts}, each {added, removed, changed: [{name, reason}]}.`,
	Annotations: &mcp.ToolAnnotations{OpenWorldHint: jsonschema.Ptr(true)},
}

func (h *handlers) reconnect(ctx context.Context, req *mcp.CallToolRequest, _ *struct{}) *ReconnectOutput {
	out := &ReconnectOutput{}
	h.notify(ctx, req, "info", "Reconnecting")
	start := time.Now()
	res, err := h.mgr.Reconnect(ctx)
	if err != nil {
		e := classify(err, errtype.Connect)
		if e.Type == errtype.NotConnected {
			e.Message = "There is no connection to repeat: reconnect uses the arguments of the current or last connection."
		}
		if st := h.mgr.Status(); st.Connected && st.Info != nil {
			e.Message += fmt.Sprintf(" The previous connection to %s is still active.", st.Info.ServerURL)
		}
		out.fail(e)
		h.notify(ctx, req, "error", "Could not reconnect: %s", e.Message)
		return out
	}
	elapsed := time.Since(start)
	info := utcInfo(res.Info)
	out.Success = true
	out.Connection = info
	out.Changes = &res.Changes
	out.Metadata.PreviousConnection = utcPrevious(res.Previous)
	out.Message = fmt.Sprintf("Reconnected to %s at %s in %s (reconnect %d). %s",
		serverName(info.ServerInfo), info.ServerURL, formatMS(elapsed), info.Reconnects, describeChanges(res.Changes))
	h.notify(ctx, req, "info", "Reconnected to %s in %s", serverName(info.ServerInfo), formatMS(elapsed))
	return out
}

// describeChanges sums up a surface diff in one sentence.
func describeChanges(d surface.Diff) string {
	if !d.Changed {
		if !d.Tools.Compared && !d.Resources.Compared && !d.ResourceTemplates.Compared && !d.Prompts.Compared {
			return "The previous surface was not known, so no changes are reported."
		}
		return "Nothing changed in its tools, resources or prompts."
	}
	var parts []string
	for _, k := range []struct {
		name string
		d    surface.ListDiff
	}{{"tool", d.Tools}, {"resource", d.Resources}, {"resource template", d.ResourceTemplates}, {"prompt", d.Prompts}} {
		for _, c := range []struct {
			verb string
			n    int
		}{{"added", len(k.d.Added)}, {"removed", len(k.d.Removed)}, {"changed", len(k.d.Changed)}} {
			if c.n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s %s", c.n, plural(c.n, k.name, k.name+"s"), c.verb))
			}
		}
	}
	return "Changes: " + strings.Join(parts, ", ") + " (see changes)."
}

// reconnectMessage is status's message while a lost connection is being
// reconnected, or after that gave up.
func reconnectMessage(url string, r *connmgr.ReconnectState) string {
	lost := strings.TrimSuffix(r.LostReason, ".")
	if r.State == connmgr.StatusError {
		return fmt.Sprintf("Not connected: the connection to %s was lost (%s) and %d reconnect attempts failed; the last: %s. Fix the server, then call reconnect or connect.",
			url, lost, r.Attempt, strings.TrimSuffix(r.LastError, "."))
	}
	msg := fmt.Sprintf("Reconnecting: the connection to %s was lost (%s); attempt %d of %d", url, lost, r.Attempt, r.MaxAttempts)
	if r.LastError != "" {
		msg += fmt.Sprintf(" (the last failed: %s)", strings.TrimSuffix(r.LastError, "."))
	}
	return msg + ". Calls wait for it, up to their timeout."
}

// healthNote warns about a live connection whose health pings fail.
func healthNote(info *connmgr.Info) string {
	if info == nil || info.Health == nil || info.Health.ConsecutiveFailures == 0 {
		return ""
	}
	return fmt.Sprintf("Its last %d health %s failed (%s).", info.Health.ConsecutiveFailures,
		plural(info.Health.ConsecutiveFailures, "ping", "pings"), strings.TrimSuffix(info.Health.LastError, "."))
}

func utcReconnect(r *connmgr.ReconnectState) *connmgr.ReconnectState {
	if r == nil {
		return nil
	}
	c := *r
	c.Since = c.Since.UTC()
	return &c
}
