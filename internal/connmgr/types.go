package connmgr

import (
	"encoding/json"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/stats"
)

// Transport names, as they appear in Spec.Transport and Info.Transport.
const (
	TransportAuto           = "auto"
	TransportStdio          = "stdio"
	TransportStreamableHTTP = "streamable-http"
	TransportSSE            = "sse"
)

// DefaultProtocolVersion is offered in initialize when Spec.ProtocolVersion
// is empty. Newer versions make go-sdk probe with server/discover, which
// legacy servers do not answer.
const DefaultProtocolVersion = "2025-11-25"

// Status is the state of the current connection.
type Status string

// Connection states.
const (
	StatusConnecting   Status = "connecting"
	StatusConnected    Status = "connected"
	StatusReconnecting Status = "reconnecting"
	StatusError        Status = "error"
	StatusDisconnected Status = "disconnected"
)

// How a connection ended, in Previous.EndedBy.
const (
	EndedByDisconnect = "disconnect"
	EndedByReplaced   = "replaced"
	EndedByLost       = "lost"
)

// Spec says which target to connect to and how. Exactly one of URL and
// Command is set.
type Spec struct {
	// URL is an http(s) URL (streamable HTTP, or legacy SSE when the path
	// ends in /sse), or a filesystem path to a script or executable run over
	// stdio.
	URL string
	// Command is a program found on PATH, spawned over stdio without a shell.
	Command string
	// Args are passed verbatim to Command (or to the script named by URL).
	Args []string
	// Env is extra environment for the child. Its values are secret.
	Env map[string]string
	// Cwd is the child's working directory; empty means the tester's.
	Cwd string
	// Transport overrides inference; empty means auto.
	Transport string
	// Headers are extra HTTP headers sent to the target's origin only. Their
	// values are secret.
	Headers map[string]string
	// BearerToken, if set, is sent as Authorization: Bearer. It is secret.
	BearerToken string
	// ConnectTimeout bounds spawn and initialize; zero means
	// Options.ConnectTimeout.
	ConnectTimeout time.Duration
	// CallTimeout is the default deadline of later requests; zero means
	// Options.CallTimeout.
	CallTimeout time.Duration
	// ProtocolVersion is offered in initialize; empty means
	// DefaultProtocolVersion.
	ProtocolVersion string
	// OAuth, if set, authorizes requests to a streamable HTTP target with
	// go-sdk's OAuth flow (on a 401 or 403 it runs the flow and retries).
	// It excludes BearerToken.
	OAuth auth.OAuthHandler
	// QuietLogs leaves the target's log level alone. By default a target
	// that declares logging is asked for every level (logging/setLevel
	// debug) so that its logs can be shown; a run that shows none saves
	// the round trip.
	QuietLogs bool
	// Client answers the target's requests (sampling, elicitation, roots)
	// and decides which client capabilities are declared. The zero value
	// declares none.
	Client ClientSide

	// HealthCheckInterval is how often the target is pinged to watch its
	// health (see Health); zero disables the monitor.
	HealthCheckInterval time.Duration
	// AutoReconnect makes the manager reconnect with this same Spec when the
	// target is lost (it exits, its session ends, or it misses
	// UnhealthyAfter pings in a row).
	AutoReconnect bool
	// MaxReconnectAttempts bounds one automatic recovery; zero means
	// DefaultMaxReconnectAttempts.
	MaxReconnectAttempts int
	// ReconnectDelay is the wait before the first attempt, doubled (with
	// jitter) before each next one and capped at MaxReconnectDelay; zero
	// means DefaultReconnectDelay.
	ReconnectDelay time.Duration
}

// ServerInfo is the target's self-description from initialize.
type ServerInfo struct {
	Name    string `json:"name"`
	Title   string `json:"title,omitempty"`
	Version string `json:"version"`
	// Other holds serverInfo's other fields as the target sent them
	// (icons, websiteUrl, unknown ones), each cut at MaxEventData bytes
	// (see cutJSON).
	Other map[string]any `json:"other_fields,omitempty" jsonschema:"serverInfo's fields besides name, title and version (icons, websiteUrl, unknown ones) as the target sent them; one over 16 KiB is cut to a string holding the start of its JSON text"`
}

// ProcessInfo describes a stdio target's process. Environment values are
// never kept, only names.
type ProcessInfo struct {
	PID      int      `json:"pid"`
	Command  string   `json:"command"`
	Args     []string `json:"args"`
	EnvNames []string `json:"env_names"`
}

// Info describes the current connection. Every string in it is redacted.
type Info struct {
	ID              string     `json:"id"`
	ServerURL       string     `json:"server_url"`
	Transport       string     `json:"transport"`
	Status          Status     `json:"status"`
	ConnectedAt     time.Time  `json:"connected_at"`
	ServerInfo      ServerInfo `json:"server_info"`
	ProtocolVersion string     `json:"protocol_version"`
	// Capabilities are the capabilities as go-sdk decoded them, for the
	// code; WireCapabilities are what is shown.
	Capabilities *mcp.ServerCapabilities `json:"-"`
	// WireCapabilities are the capabilities as the target sent them over
	// stdio (unknown keys, tasks, extensions, exact numbers), or
	// Capabilities encoded again over HTTP or when they are over
	// MaxWireCapabilities bytes.
	WireCapabilities json.RawMessage `json:"capabilities" jsonschema:"the capabilities as the target declared them"`
	Instructions     string          `json:"instructions"`
	// InstructionsBytes is the size of the instructions as sent, before
	// any cut.
	InstructionsBytes int            `json:"instructions_bytes"`
	Process           *ProcessInfo   `json:"process,omitempty"`
	HeadersProvided   bool           `json:"headers_provided"`
	HeaderNames       []string       `json:"header_names"`
	AuthType          *string        `json:"auth_type"`
	Statistics        stats.Snapshot `json:"statistics"`
	// Reconnects counts the times this connection was re-established with
	// the same Spec (automatically or by Reconnect); Statistics carry over.
	Reconnects int `json:"reconnects"`
	// AutoReconnect is Spec.AutoReconnect.
	AutoReconnect bool `json:"auto_reconnect"`
	// Health is what the monitor's pings found; nil when it is disabled.
	Health *Health `json:"health,omitempty"`
	// CallTimeout is the default deadline of requests on this connection.
	CallTimeout time.Duration `json:"-"`
}

// ExitInfo is how a stdio target's process ended.
type ExitInfo struct {
	// Code is the exit code, or nil when the process was killed by a signal
	// or has not been reaped.
	Code *int `json:"code"`
	// Signal names the signal that ended the process ("SIGKILL"), if any.
	Signal string `json:"signal,omitempty"`
	// StderrTail is the end of what the process wrote to stderr (redacted).
	StderrTail string `json:"stderr_tail"`
}

// Previous describes a connection that has ended.
type Previous struct {
	ServerURL       string         `json:"server_url"`
	Transport       string         `json:"transport"`
	ServerInfo      ServerInfo     `json:"server_info"`
	ConnectedAt     time.Time      `json:"connected_at"`
	DisconnectedAt  time.Time      `json:"disconnected_at"`
	DurationSeconds float64        `json:"duration_seconds"`
	Statistics      stats.Snapshot `json:"statistics"`
	EndedBy         string         `json:"ended_by"`
	// Reason says why a lost connection ended ("the target exited with
	// status 1"); empty otherwise.
	Reason string    `json:"reason,omitempty"`
	Exit   *ExitInfo `json:"exit,omitempty"`
}

// StatusReport is what Manager.Status returns.
type StatusReport struct {
	// Connected is true only while the target is really reachable: a target
	// that died is not shown as connected.
	Connected bool
	// Info is the live connection, or nil.
	Info *Info
	// Last is the most recently ended connection, or nil.
	Last *Previous
	// StderrTail is the last ≤ 20 lines of a stdio target's stderr (the live
	// one, or else the last one), each cut at 512 characters.
	StderrTail []string
	// Junk is what the target wrote to stdout that was not JSON-RPC, newest
	// last, at most 20 lines; JunkCount counts every such line.
	Junk      []string
	JunkCount int
	// ConnectionDuration is how long the live connection has been up.
	ConnectionDuration time.Duration
	// EventCounts is the number of events received per kind since the
	// events were last cleared (see Manager.Events).
	EventCounts map[string]int
	// Reconnect describes an automatic recovery in progress (Info.Status
	// reconnecting) or one that gave up (Info.Status error); nil otherwise.
	// Info is then the lost connection, and Connected is false.
	Reconnect *ReconnectState
}

// Progress is one progress notification received during a call.
type Progress struct {
	Progress float64 `json:"progress"`
	Total    float64 `json:"total,omitempty"`
	Message  string  `json:"message,omitempty"`
	// MessageSizeBytes is the size of Message before it was cut at
	// MaxProgressMessage bytes; zero when it was not cut.
	MessageSizeBytes int `json:"message_size_bytes,omitempty"`
	// AtMS is milliseconds since the call started.
	AtMS float64 `json:"at_ms"`
}

// LogEntry is one notifications/message received from the target.
type LogEntry struct {
	Level  string          `json:"level"`
	Logger string          `json:"logger,omitempty"`
	Data   json.RawMessage `json:"data"`
	// Truncated is true when Data was cut at MaxLogData bytes: it is then a
	// JSON string holding the start of the JSON text, and SizeBytes is the
	// size of that text before the cut.
	Truncated bool `json:"truncated,omitempty"`
	SizeBytes int  `json:"size_bytes,omitempty"`
}

// CallResult is the outcome of a tools/call that the target answered.
type CallResult struct {
	// Result is the target's answer, as decoded by go-sdk.
	Result *mcp.CallToolResult
	// Raw is the result as the target sent it over stdio: unknown fields
	// and numbers' exact text included. Over HTTP it is Result encoded
	// again.
	Raw json.RawMessage
	// Tool is the tool's definition from the target's tools/list, or nil if
	// the list could not be fetched.
	Tool *mcp.Tool
	// Progress and Logs are the notifications received while the call ran.
	// They are bounded (see MaxCallLogs): the newest are kept, and
	// ProgressDropped and LogsDropped count the older ones left out.
	Progress        []Progress
	Logs            []LogEntry
	ProgressDropped int
	LogsDropped     int
	// StartedAt and CompletedAt bound the request.
	StartedAt, CompletedAt time.Time
	// ServerURL is the connection's redacted server URL.
	ServerURL string
	// Statistics is the connection's statistics after this call.
	Statistics stats.Snapshot
}
