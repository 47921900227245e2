//lint:file-ignore SA1019 log notifications to the host are deprecated from protocol 2026-07-28 on, but the tester offers only earlier versions, where hosts show them.

// Package tools implements the tools mcp-test-mcp offers its host (SPEC
// §2–§12, registered in Register): connecting, listing and calling the
// target's tools, resources and prompts, its notifications, checks and the
// audit. Each handler decodes and checks its input, asks the
// connmgr.Manager to do the work (steps.go has the shared steps), and shapes
// the answer into the envelope of SPEC §1: structuredContent declared by an
// outputSchema, and the same JSON as one text block, cut to fit the host's
// limits (fit.go). Errors are named by errtype.Classify.
package tools

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime/debug"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
)

// Instructions tells the host's model how to use the tools; it is sent in
// the initialize result.
//
//go:embed instructions.md
var Instructions string

// DefaultMaxTextBytes is the size past which a text block is cut, when
// Deps.MaxTextBytes is zero.
const DefaultMaxTextBytes = 1 << 20

// maxBinaryBytes is the size past which binary data (image, audio, blob) is
// cut.
const maxBinaryBytes = 64 << 10

// loggerName is the logger of the log notifications sent to the host.
const loggerName = "mcp-test-mcp"

// Deps is what the tools need.
type Deps struct {
	// Manager holds the connection to the target. Required.
	Manager *connmgr.Manager
	// Logger receives the tools' logs; nil discards them.
	Logger *slog.Logger
	// MaxTextBytes is the size past which a text block of a tool result is
	// cut; zero means DefaultMaxTextBytes.
	MaxTextBytes int
	// Remote marks a tester served to hosts over HTTP (serve --http), whose
	// clients are not the local user: run_checks and export_checks read or
	// write no file at a path a client names (unless Workdir allows it), and
	// run_checks takes ${VAR} only from the current connection's values and
	// HOME, PATH, TMPDIR and USER, never from the tester's environment. The command
	// policy is the Manager's (connmgr.Options.Policy). False is the local
	// stdio host.
	Remote bool
	// Workdir, with Remote, is the one directory in which run_checks
	// spec_path and export_checks path may name files (no symlink may lead
	// out of it); empty refuses every such path.
	Workdir string
}

// handlers implements the tools. Its methods are the tool handlers.
type handlers struct {
	mgr     *connmgr.Manager
	logger  *slog.Logger
	maxText int
	remote  bool
	workdir string
	secrets secretSet
	// clientCaps are the client capabilities of the live connection.
	clientCaps clientCapsStore
	// rec records the requests made on the live connection (checks.go).
	rec recorder
}

// Register adds every tool to server.
func Register(server *mcp.Server, deps *Deps) {
	h := &handlers{mgr: deps.Manager, logger: deps.Logger, maxText: deps.MaxTextBytes, remote: deps.Remote, workdir: deps.Workdir}
	if h.logger == nil {
		h.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if h.maxText <= 0 {
		h.maxText = DefaultMaxTextBytes
	}
	if h.workdir != "" {
		// Paths are compared once their symlinks are resolved.
		if dir, err := filepath.Abs(h.workdir); err == nil {
			if dir, err = filepath.EvalSymlinks(dir); err == nil {
				h.workdir = dir
			}
		}
	}
	addTool(server, h, connectTool(), h.connect)
	addTool(server, h, disconnectTool, h.disconnect)
	addTool(server, h, statusTool, h.status)
	addTool(server, h, reconnectTool, h.reconnect)
	addTool(server, h, listToolsTool, h.listTools)
	addTool(server, h, callToolTool(), h.callTool)
	addTool(server, h, h.executePromptTool(), h.executePrompt)
	addTool(server, h, listResourcesTool, h.listResources)
	addTool(server, h, listResourceTemplatesTool, h.listResourceTemplates)
	addTool(server, h, readResourceTool(), h.readResource)
	addTool(server, h, subscribeResourceTool, h.subscribeResource)
	addTool(server, h, unsubscribeResourceTool, h.unsubscribeResource)
	addTool(server, h, listPromptsTool, h.listPrompts)
	addTool(server, h, getPromptTool(), h.getPrompt)
	addTool(server, h, completeTool(), h.complete)
	addTool(server, h, pingTool(), h.ping)
	addTool(server, h, setLogLevelTool(), h.setLogLevel)
	addTool(server, h, getNotificationsTool(), h.getNotifications)
	addTool(server, h, setRootsTool, h.setRoots)
	addTool(server, h, runChecksTool(), h.runChecks)
	addTool(server, h, exportChecksTool, h.exportChecks)
	addTool(server, h, auditServerTool(), h.auditServer)
}

// notify sends a log notification to the host. The SDK drops it until the
// host has called logging/setLevel.
func (h *handlers) notify(ctx context.Context, req *mcp.CallToolRequest, level string, format string, args ...any) {
	if req == nil || req.Session == nil {
		return
	}
	msg := h.secrets.Scrub(fmt.Sprintf(format, args...))
	if err := req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: mcp.LoggingLevel(level), Logger: loggerName, Data: msg}); err != nil {
		h.logger.DebugContext(ctx, "sending log notification", "error", err)
	}
}

// RecoverPanics is a receiving middleware that turns a panic in any handler
// into a JSON-RPC internal error, so that one bad request does not take the
// tester (and its target) down. The SDK does not recover panics itself.
func RecoverPanics(logger *slog.Logger) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (res mcp.Result, err error) {
			defer func() {
				if r := recover(); r != nil {
					logger.ErrorContext(ctx, "handler panicked", "method", method, "panic", r, "stack", string(debug.Stack()))
					res, err = nil, &jsonrpc.Error{
						Code:    jsonrpc.CodeInternalError,
						Message: fmt.Sprintf("internal error in mcp-test-mcp while handling %s: %v", method, r),
					}
				}
			}()
			return next(ctx, method, req)
		}
	}
}
