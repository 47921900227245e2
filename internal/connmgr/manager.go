// Package connmgr owns the one connection from the tester to a target MCP
// server: it turns a Spec into a transport, supervises a stdio target's
// process, tracks the connection's state and statistics, and remembers the
// previous connection so that disconnect and status can report it.
package connmgr

import (
	"context"
	"log/slog"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Defaults for Options' zero values.
const (
	DefaultConnectTimeout   = 30 * time.Second
	DefaultCallTimeout      = 60 * time.Second
	DefaultTerminateTimeout = 3 * time.Second
	DefaultMaxMessageBytes  = 32 << 20
	DefaultStderrBytes      = 64 << 10
)

// Options configures a Manager. A nil *Options means all defaults.
type Options struct {
	// Logger receives the manager's logs; nil discards them.
	Logger *slog.Logger
	// ConnectTimeout is the default spawn + initialize deadline; zero means
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// CallTimeout is the default deadline of requests; zero means
	// DefaultCallTimeout.
	CallTimeout time.Duration
	// TerminateTimeout bounds closing a stdio target (stdin EOF, SIGTERM,
	// SIGKILL to its process group); zero means DefaultTerminateTimeout.
	TerminateTimeout time.Duration
	// MaxMessageBytes caps one message from the target; zero means
	// DefaultMaxMessageBytes.
	MaxMessageBytes int64
	// StderrBytes is the size of the ring that keeps a stdio target's
	// stderr; zero means DefaultStderrBytes.
	StderrBytes int
	// ClientInfo is sent in initialize; nil means "mcp-test-mcp".
	ClientInfo *mcp.Implementation
}

// Manager holds at most one live connection. It is safe for concurrent use.
type Manager struct {
	opts Options
}

// New returns a Manager with no connection.
func New(opts *Options) *Manager {
	m := &Manager{}
	if opts != nil {
		m.opts = *opts
	}
	return m
}

// Connect connects to the target described by spec and makes it the current
// connection. It is make-before-break: the old connection, if any, is closed
// only after the new one is initialized, and is returned as replaced. When
// Connect fails, the old connection is left as it was.
func (m *Manager) Connect(ctx context.Context, spec Spec) (info *Info, replaced *Previous, err error) {
	panic("unimplemented")
}

// Disconnect closes the current connection, if any, and returns what it was.
// cleanupErr reports a problem closing it; the state is cleared anyway.
func (m *Manager) Disconnect(ctx context.Context) (prev *Previous, wasConnected bool, cleanupErr error) {
	panic("unimplemented")
}

// Status reports the live connection, or the last one and why it ended.
func (m *Manager) Status() StatusReport {
	panic("unimplemented")
}

// ToolList is the target's complete tool list.
type ToolList struct {
	Tools      []*mcp.Tool
	ServerInfo ServerInfo
	ServerURL  string
}

// ListTools fetches every page of the target's tools.
func (m *Manager) ListTools(ctx context.Context) (*ToolList, error) {
	panic("unimplemented")
}

// CallTool calls a tool on the target. timeout zero means the connection's
// call timeout. args may be nil.
func (m *Manager) CallTool(ctx context.Context, name string, args map[string]any, timeout time.Duration) (*CallResult, error) {
	panic("unimplemented")
}

// Close ends the current connection, for shutdown. It is idempotent.
func (m *Manager) Close() error {
	_, _, err := m.Disconnect(context.Background())
	return err
}
