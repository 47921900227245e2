package tools

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/surface"
)

// ConnectInput is the arguments of connect (SPEC §2).
type ConnectInput struct {
	URL                string            `json:"url,omitempty" jsonschema:"http(s) URL of a running server (streamable HTTP; legacy SSE when the path ends in /sse), or a path to a script or executable to run over stdio (.py runs with python3, .js/.mjs/.cjs with node). Give exactly one of url and command."`
	Command            string            `json:"command,omitempty" jsonschema:"program to start over stdio, found on PATH and never run through a shell, e.g. npx, uvx, python3, node, or a path. Put its arguments in args."`
	Args               []string          `json:"args,omitempty" jsonschema:"arguments of command (or of the script named by url), passed verbatim, e.g. [\"-y\", \"@modelcontextprotocol/server-everything\"]"`
	Env                map[string]string `json:"env,omitempty" jsonschema:"extra environment variables for the started process; values are secret and never shown"`
	Cwd                string            `json:"cwd,omitempty" jsonschema:"working directory of the started process; default: the tester's"`
	Transport          string            `json:"transport,omitempty" jsonschema:"override transport inference: auto (default), stdio, streamable-http or sse"`
	Headers            map[string]string `json:"headers,omitempty" jsonschema:"extra HTTP headers for HTTP transports, sent to the target's origin only; values are secret and never shown"`
	BearerToken        string            `json:"bearer_token,omitempty" jsonschema:"sent as Authorization: Bearer <token>; never shown"`
	TimeoutSeconds     *float64          `json:"timeout_seconds,omitempty" jsonschema:"deadline for starting and initializing the target, in seconds; default 30 (MCP_TEST_CONNECT_TIMEOUT)"`
	CallTimeoutSeconds *float64          `json:"call_timeout_seconds,omitempty" jsonschema:"default deadline of later requests (list_tools, call_tool) in seconds; default 60 (MCP_TEST_CALL_TIMEOUT)"`
	ProtocolVersion    string            `json:"protocol_version,omitempty" jsonschema:"MCP protocol version offered in initialize; default 2025-11-25"`

	ClientCapabilities *ClientCapabilitiesInput `json:"client_capabilities,omitempty" jsonschema:"which client capabilities to declare to the target (sampling, elicitation, roots: true or false); by default each is declared when the host supports it or an answer for it is given below"`
	SamplingResponse   *SamplingResponseInput   `json:"sampling_response,omitempty" jsonschema:"answer to the target's sampling/createMessage requests when the host does not support sampling, e.g. {\"text\": \"Paris\"}"`
	ElicitationAction  string                   `json:"elicitation_action,omitempty" jsonschema:"answer to the target's elicitation/create requests when the host does not support elicitation: accept, decline or cancel"`
	ElicitationContent map[string]any           `json:"elicitation_content,omitempty" jsonschema:"the form content sent with elicitation_action accept; without it, the requested schema's defaults are sent"`
	Roots              []RootInput              `json:"roots,omitempty" jsonschema:"roots offered to the target (declares the roots capability), e.g. [{\"uri\": \"file:///home/me/project\", \"name\": \"project\"}]"`

	HealthCheckIntervalSeconds *float64 `json:"health_check_interval_seconds,omitempty" jsonschema:"seconds between health pings of the target (status shows connection.health); default 30, 0 disables them"`
	AutoReconnect              bool     `json:"auto_reconnect,omitempty" jsonschema:"reconnect with the same arguments when the target exits, its session ends or it misses 3 health pings in a row; default false"`
	MaxReconnectAttempts       *int     `json:"max_reconnect_attempts,omitempty" jsonschema:"attempts of one automatic reconnect before giving up (status then shows state error); default 5"`
	ReconnectDelaySeconds      *float64 `json:"reconnect_delay_seconds,omitempty" jsonschema:"wait before the first reconnect attempt, doubled (with jitter) before each next one, at most 60; default 1"`
}

// ConnectOutput is the result of connect.
type ConnectOutput struct {
	Result
	Connection         *connmgr.Info       `json:"connection,omitempty" jsonschema:"the new connection (ConnectionInfo)"`
	ClientCapabilities *ClientCapabilities `json:"client_capabilities,omitempty" jsonschema:"the client capabilities declared to the target, and who answers its requests"`
	Metadata           ConnectMetadata     `json:"metadata"`
}

// ConnectMetadata is connect's metadata.
type ConnectMetadata struct {
	Metadata
	ReplacedConnection *connmgr.Previous `json:"replaced_connection,omitempty" jsonschema:"the connection this one replaced, if any"`
}

func (o *ConnectOutput) metadata() *Metadata { return &o.Metadata.Metadata }

func connectTool() *mcp.Tool {
	in := schemaFor[ConnectInput]()
	for _, tr := range connmgr.Transports {
		in.Properties["transport"].Enum = append(in.Properties["transport"].Enum, tr)
	}
	in.Properties["elicitation_action"].Enum = []any{"accept", "decline", "cancel"}
	for _, name := range []string{"timeout_seconds", "call_timeout_seconds"} {
		in.Properties[name].ExclusiveMinimum = jsonschema.Ptr(0.0)
	}
	in.Properties["health_check_interval_seconds"].Minimum = jsonschema.Ptr(0.0)
	in.Properties["reconnect_delay_seconds"].ExclusiveMinimum = jsonschema.Ptr(0.0)
	in.Properties["max_reconnect_attempts"].Minimum = jsonschema.Ptr(1.0)
	in.Properties["max_reconnect_attempts"].Maximum = jsonschema.Ptr(float64(maxReconnectAttempts))
	return &mcp.Tool{
		Name:  "connect",
		Title: "Connect to an MCP server",
		Description: `Connect to the MCP server under test, so that list_tools and call_tool can reach it. Use it first, and again after changing the server's code (it replaces the current connection only once the new one works).

Give exactly one of:
- command (+ args): start a local server over stdio, e.g. {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]} or {"command": "go", "args": ["run", "./cmd/server"], "cwd": "/path/to/project"}
- url: a running server, e.g. {"url": "http://localhost:3000/mcp"} (streamable HTTP) or {"url": "http://localhost:3000/sse"} (legacy SSE), or a script path such as {"url": "./server.py"}

The target is pinged every health_check_interval_seconds (status shows connection.health); with auto_reconnect, a lost target is reconnected with the same arguments, and reconnect does it on demand.

Requests from the server (sampling, elicitation) are forwarded to your host when it supports them, else answered from sampling_response / elicitation_action, else declined with an error; roots are offered from roots.

Returns the server's name, version, negotiated protocol version, capabilities and instructions. On failure, error.suggestion says what to fix and details carry the target's stderr tail or HTTP status.`,
		InputSchema: in,
		Annotations: &mcp.ToolAnnotations{OpenWorldHint: jsonschema.Ptr(true)},
	}
}

func (h *handlers) connect(ctx context.Context, req *mcp.CallToolRequest, in *ConnectInput) *ConnectOutput {
	out := &ConnectOutput{}
	defer h.rec.connected(in, out)
	h.secrets.addConnect(in)
	spec, err := in.spec()
	if err != nil {
		out.fail(classify(err, errtype.Args))
		return out
	}
	var host *mcp.ServerSession
	if req != nil {
		host = req.Session
	}
	client, clientCaps := in.clientSide(host)
	spec.Client = client
	target := describeTarget(in)
	h.notify(ctx, req, "info", "Connecting to %s", target)
	h.logger.InfoContext(ctx, "connecting", "target", h.secrets.Scrub(target))

	start := time.Now()
	info, replaced, err := h.mgr.Connect(ctx, spec)
	if err != nil {
		e := classify(err, errtype.Connect)
		if st := h.mgr.Status(); st.Connected && st.Info != nil {
			e.Message += fmt.Sprintf(" The previous connection to %s is still active.", st.Info.ServerURL)
			if e.Details == nil {
				e.Details = map[string]any{}
			}
			e.Details["previous_connection_active"] = true
		}
		out.fail(e)
		h.notify(ctx, req, "error", "Could not connect to %s: %s", target, e.Message)
		return out
	}
	elapsed := time.Since(start)
	info = utcInfo(info)
	out.Success = true
	out.Connection = info
	out.ClientCapabilities = &clientCaps
	h.clientCaps.set(info.ID, clientCaps)
	out.Metadata.ReplacedConnection = utcPrevious(replaced)
	out.Message = fmt.Sprintf("Connected to %s at %s over %s (protocol %s) in %s.",
		serverName(info.ServerInfo), info.ServerURL, info.Transport, info.ProtocolVersion, formatMS(elapsed))
	if replaced != nil {
		out.Message += fmt.Sprintf(" The previous connection to %s was closed.", replaced.ServerURL)
	}
	h.notify(ctx, req, "info", "Connected to %s in %s", serverName(info.ServerInfo), formatMS(elapsed))
	return out
}

// spec checks the arguments and turns them into a connmgr.Spec, without its
// client side (see clientSide). The target's description is checked by
// connmgr.Spec.Validate, as for every other way of naming a target.
func (in *ConnectInput) spec() (connmgr.Spec, error) {
	spec := connmgr.Spec{
		URL:             in.URL,
		Command:         in.Command,
		Args:            in.Args,
		Env:             in.Env,
		Cwd:             in.Cwd,
		Transport:       in.Transport,
		Headers:         in.Headers,
		BearerToken:     in.BearerToken,
		ProtocolVersion: in.ProtocolVersion,
	}
	if err := spec.Validate(); err != nil {
		return connmgr.Spec{}, err
	}
	var err error
	if spec.ConnectTimeout, err = seconds("timeout_seconds", in.TimeoutSeconds); err != nil {
		return connmgr.Spec{}, err
	}
	if spec.CallTimeout, err = seconds("call_timeout_seconds", in.CallTimeoutSeconds); err != nil {
		return connmgr.Spec{}, err
	}
	if err := in.checkClient(); err != nil {
		return connmgr.Spec{}, err
	}
	health, err := in.healthSpec()
	if err != nil {
		return connmgr.Spec{}, err
	}
	spec.HealthCheckInterval, spec.AutoReconnect = health.HealthCheckInterval, health.AutoReconnect
	spec.MaxReconnectAttempts, spec.ReconnectDelay = health.MaxReconnectAttempts, health.ReconnectDelay
	return spec, nil
}

// seconds converts an optional number of seconds to a duration; nil means
// zero (the default).
func seconds(name string, v *float64) (time.Duration, error) {
	if v == nil {
		return 0, nil
	}
	if !(*v > 0) || math.IsInf(*v, 0) || *v > math.MaxInt64/float64(time.Second) {
		return 0, &errtype.ArgError{
			Msg:        fmt.Sprintf("%s must be a positive number of seconds, not %v", name, *v),
			Suggestion: fmt.Sprintf("Pass %s greater than 0 (fractions are fine, e.g. 0.5), or leave it out for the default.", name),
		}
	}
	return time.Duration(*v * float64(time.Second)), nil
}

// describeTarget names the target for log messages before it is connected.
// Arguments are left out: they may hold secrets that only connmgr knows how
// to redact.
func describeTarget(in *ConnectInput) string {
	if in.URL != "" {
		return redact.URL(in.URL)
	}
	return filepath.Base(in.Command)
}

// DisconnectOutput is the result of disconnect (SPEC §3).
type DisconnectOutput struct {
	Result
	WasConnected bool               `json:"was_connected" jsonschema:"whether there was a connection to close"`
	Metadata     DisconnectMetadata `json:"metadata"`
}

// DisconnectMetadata is disconnect's metadata.
type DisconnectMetadata struct {
	Metadata
	WasConnected       bool              `json:"was_connected"`
	PreviousConnection *connmgr.Previous `json:"previous_connection,omitempty" jsonschema:"the connection that was closed"`
	CleanupWarning     string            `json:"cleanup_warning,omitempty" jsonschema:"a problem met while closing; the state is cleared anyway"`
}

func (o *DisconnectOutput) metadata() *Metadata { return &o.Metadata.Metadata }

var disconnectTool = &mcp.Tool{
	Name:  "disconnect",
	Title: "Disconnect from the MCP server",
	Description: `Close the current connection to the server under test; a server started over stdio is stopped, with its whole process group. Safe to call when not connected.

Use it when done testing, or to stop a server before rebuilding it. Returns what the connection was: its statistics, how long it lasted and, for stdio, how the process exited.`,
	Annotations: &mcp.ToolAnnotations{IdempotentHint: true, OpenWorldHint: jsonschema.Ptr(false)},
}

func (h *handlers) disconnect(ctx context.Context, req *mcp.CallToolRequest, _ *struct{}) *DisconnectOutput {
	out := &DisconnectOutput{}
	prev, was, cleanupErr := h.mgr.Disconnect(ctx)
	out.Success = true
	out.WasConnected = was
	out.Metadata.WasConnected = was
	out.Metadata.PreviousConnection = utcPrevious(prev)
	if cleanupErr != nil {
		out.Metadata.CleanupWarning = errtype.Sentence(cleanupErr.Error())
	}
	if was {
		out.Message = "Successfully disconnected from MCP server"
		h.notify(ctx, req, "info", "Disconnected from %s", prev.ServerURL)
	} else {
		out.Message = "No active connection to disconnect"
	}
	return out
}

// StatusOutput is the result of status (SPEC §4).
type StatusOutput struct {
	Result
	Connected      bool              `json:"connected" jsonschema:"true only while the target is really reachable"`
	Connection     *connmgr.Info     `json:"connection" jsonschema:"the live connection (ConnectionInfo), or null"`
	LastConnection *connmgr.Previous `json:"last_connection" jsonschema:"the most recent ended connection, or null"`
	StderrTail     []string          `json:"stderr_tail" jsonschema:"last lines of a stdio target's stderr (at most 20, each cut at 512 characters with a note of its size)"`
	StdoutJunk     StdoutJunk        `json:"stdout_junk" jsonschema:"lines a stdio target wrote to stdout that are not JSON-RPC (a common bug: logging to stdout)"`
	// NotificationCounts counts events per kind (connmgr.EventKinds).
	NotificationCounts map[string]int          `json:"notification_counts" jsonschema:"how many notifications and requests the target sent, per kind (log, progress, request, stderr…), since the events were last cleared"`
	Reconnect          *connmgr.ReconnectState `json:"reconnect" jsonschema:"the automatic reconnect of a lost connection (state reconnecting), or why it gave up (state error); null otherwise"`
	ClientCapabilities *ClientCapabilities     `json:"client_capabilities" jsonschema:"the client capabilities declared to the live target and who answers its requests, or null"`
	Metadata           StatusMetadata          `json:"metadata"`
}

// StdoutJunk counts the lines a stdio target wrote to stdout that were not
// JSON-RPC.
type StdoutJunk struct {
	Count     int      `json:"count" jsonschema:"how many such lines there were"`
	LastLines []string `json:"last_lines" jsonschema:"the most recent of them, newest last"`
}

// StatusMetadata is status's metadata.
type StatusMetadata struct {
	Metadata
	ConnectionDurationSeconds *float64 `json:"connection_duration_seconds,omitempty" jsonschema:"how long the live connection has been up"`
}

func (o *StatusOutput) metadata() *Metadata { return &o.Metadata.Metadata }

var statusTool = &mcp.Tool{
	Name:  "status",
	Title: "Show the connection's status",
	Description: `Report whether the tester is connected to a server and what it knows about it: server info, capabilities, statistics per MCP method, the last lines of a stdio server's stderr, and stdout lines that were not JSON-RPC. A server that died is shown as not connected, with how it ended.

Use it when a call failed unexpectedly, to see a crashed server's stderr, or to check latency statistics.`,
	Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: jsonschema.Ptr(false)},
}

func (h *handlers) status(ctx context.Context, req *mcp.CallToolRequest, _ *struct{}) *StatusOutput {
	st := h.mgr.Status()
	out := &StatusOutput{
		Result:         Result{Success: true},
		Connected:      st.Connected,
		Connection:     utcInfo(st.Info),
		LastConnection: utcPrevious(st.Last),
		StderrTail:     nonNil(st.StderrTail),
		StdoutJunk:     StdoutJunk{Count: st.JunkCount, LastLines: nonNil(st.Junk)},

		NotificationCounts: st.EventCounts,
		Reconnect:          utcReconnect(st.Reconnect),
	}
	if out.NotificationCounts == nil {
		out.NotificationCounts = map[string]int{}
	}
	if st.Connected && st.Info != nil {
		out.ClientCapabilities = h.clientCaps.get(st.Info.ID)
	}
	switch {
	case st.Connected && st.Info != nil:
		d := round2(st.ConnectionDuration.Seconds())
		out.Metadata.ConnectionDurationSeconds = &d
		out.Message = fmt.Sprintf("Connected to %s at %s over %s for %s.",
			serverName(st.Info.ServerInfo), st.Info.ServerURL, st.Info.Transport, st.ConnectionDuration.Round(time.Millisecond))
	case st.Info != nil && st.Reconnect != nil:
		out.Message = reconnectMessage(st.Info.ServerURL, st.Reconnect)
	case st.Info != nil:
		out.Message = fmt.Sprintf("Not connected: the connection to %s is %s.", st.Info.ServerURL, st.Info.Status)
	case st.Last != nil && st.Last.EndedBy == connmgr.EndedByLost:
		out.Message = fmt.Sprintf("Not connected: the connection to %s was lost", st.Last.ServerURL)
		if st.Last.Reason != "" {
			out.Message += " (" + strings.TrimSuffix(st.Last.Reason, ".") + ")"
		}
		out.Message += ". Call connect to reconnect."
	case st.Last != nil:
		out.Message = fmt.Sprintf("Not connected; the last connection was to %s (ended by %s).", st.Last.ServerURL, st.Last.EndedBy)
	default:
		out.Message = "Not connected to any MCP server. Call connect to start."
	}
	if hl := healthNote(st.Info); st.Connected && hl != "" {
		out.Message += " " + hl
	}
	if st.JunkCount > 0 {
		out.Message += fmt.Sprintf(" The target wrote %d non-JSON-RPC line(s) to stdout (see stdout_junk); a stdio server must log to stderr.", st.JunkCount)
	}
	return out
}

// serverName is "name version" of a target, or "the server" when it gave
// no name.
func serverName(si connmgr.ServerInfo) string {
	name := cmp.Or(si.Name, "the server")
	if si.Version != "" {
		name += " " + si.Version
	}
	return name
}

// formatMS formats d in milliseconds for messages ("12 ms", "1.5 s").
func formatMS(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// utcInfo returns a copy of info with its times in UTC.
func utcInfo(info *connmgr.Info) *connmgr.Info {
	if info == nil {
		return nil
	}
	c := *info
	c.ConnectedAt = c.ConnectedAt.UTC()
	c.Statistics = utcStats(c.Statistics)
	return &c
}

// utcPrevious returns a copy of p with its times in UTC.
func utcPrevious(p *connmgr.Previous) *connmgr.Previous {
	if p == nil {
		return nil
	}
	c := *p
	c.ConnectedAt = c.ConnectedAt.UTC()
	c.DisconnectedAt = c.DisconnectedAt.UTC()
	c.Statistics = utcStats(c.Statistics)
	return &c
}

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
