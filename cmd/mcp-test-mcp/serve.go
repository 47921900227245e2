package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	httpserve "github.com/mcp-test-mcp/mcp-test-mcp/internal/serve"
)

const serveUsage = `Usage: mcp-test-mcp serve --http ADDR [flags]

Serves the tester over streamable HTTP at /mcp (and legacy SSE at /sse with
--sse). Each MCP session gets its own connection to its own target; ending the
session (DELETE, closing the SSE stream, or --session-timeout without
requests) closes its target.

It can start programs, so it is not an open door: it binds loopback unless
told otherwise, a non-loopback address needs --auth-token, Host and Origin
are checked against DNS rebinding, --allow-command / --no-stdio restrict what
stdio targets may run (for connect, reconnect and run_checks alike), no tool
reads or writes a file at a path a client names (but inside --workdir), and
--max-sessions bounds the sessions.

Flags:
`

// serveOptions is the command line of serve.
type serveOptions struct {
	addr           string
	sse            bool
	token          string
	allowHosts     []string
	allowCommands  []string
	noStdio        bool
	sessionTimeout time.Duration
	unusedTimeout  time.Duration
	maxSessions    int
	workdir        string // absolute, symlinks resolved; "" refuses client paths
}

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

// parseServe reads serve's command line. On -h or --help it prints the
// usage to stdout and returns flag.ErrHelp.
func parseServe(args []string, getenv func(string) string, stdout io.Writer) (*serveOptions, error) {
	o := &serveOptions{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	// The flag package prints the usage itself on -h and on a bad flag;
	// help goes to stdout, below, and a bad flag is one line (as in check).
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&o.addr, "http", "", "listen on `ADDR`, e.g. 127.0.0.1:8080 (required)")
	fs.BoolVar(&o.sse, "sse", false, "also serve legacy SSE at /sse")
	fs.StringVar(&o.token, "auth-token", getenv("MCP_TEST_AUTH_TOKEN"), "require `TOKEN` as Authorization: Bearer (default $MCP_TEST_AUTH_TOKEN); needed off loopback")
	fs.Var((*repeated)(&o.allowHosts), "allow-host", "also accept this `HOST` (or host:port) in Host and Origin headers (repeatable)")
	fs.Var((*repeated)(&o.allowCommands), "allow-command", "let stdio targets run only this `COMMAND`: a bare name found on PATH, or a path (repeatable)")
	fs.BoolVar(&o.noStdio, "no-stdio", false, "refuse every stdio target: connect only to http(s) URLs")
	fs.DurationVar(&o.sessionTimeout, "session-timeout", httpserve.DefaultSessionTimeout, "close a session, and its target, after this long without requests")
	fs.DurationVar(&o.unusedTimeout, "unused-session-timeout", httpserve.DefaultUnusedSessionTimeout, "close a session that sent no request after initialize within this long")
	fs.IntVar(&o.maxSessions, "max-sessions", httpserve.DefaultMaxSessions, "refuse new sessions (503 with Retry-After) while this many are live")
	fs.StringVar(&o.workdir, "workdir", "", "let run_checks spec_path and export_checks path name files inside this `DIR` only (default: refuse client paths)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprint(stdout, serveUsage)
			fs.PrintDefaults()
			return nil, err
		}
		return nil, &usageError{err.Error()}
	}
	switch {
	case fs.NArg() > 0:
		return nil, &usageError{fmt.Sprintf("serve: unexpected arguments %q", fs.Args())}
	case o.addr == "":
		return nil, &usageError{"serve needs --http ADDR, e.g. --http 127.0.0.1:8080"}
	case o.sessionTimeout <= 0:
		return nil, &usageError{"serve: --session-timeout must be positive"}
	case o.unusedTimeout <= 0:
		return nil, &usageError{"serve: --unused-session-timeout must be positive"}
	case o.maxSessions <= 0:
		return nil, &usageError{"serve: --max-sessions must be positive"}
	}
	if o.workdir != "" {
		dir, err := filepath.Abs(o.workdir)
		if err == nil {
			dir, err = filepath.EvalSymlinks(dir)
		}
		if fi, serr := os.Stat(dir); err != nil || serr != nil || !fi.IsDir() {
			return nil, &usageError{fmt.Sprintf("serve: --workdir %s is not an existing directory", o.workdir)}
		}
		o.workdir = dir
	}
	return o, nil
}

// runServe is `mcp-test-mcp serve`.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseServe(args, os.Getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		return err
	}
	setMemoryLimit()
	logger := newLogger(cfg, stderr)
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.addr, err)
	}
	hs, err := httpserve.New(&httpserve.Options{
		Tester: func(logger *slog.Logger, mgr *connmgr.Manager) *mcp.Server {
			return newTester(cfg, logger, mgr, true, o.workdir)
		},
		Manager: func(logger *slog.Logger, policy *connmgr.CommandPolicy) *connmgr.Manager {
			return newManager(cfg, logger, policy)
		},
		Logger:               logger,
		Version:              mainVersion(),
		SSE:                  o.sse,
		Token:                o.token,
		AllowHosts:           o.allowHosts,
		AllowCommands:        o.allowCommands,
		NoStdio:              o.noStdio,
		SessionTimeout:       o.sessionTimeout,
		UnusedSessionTimeout: o.unusedTimeout,
		MaxSessions:          o.maxSessions,
	}, ln.Addr())
	if err != nil {
		ln.Close()
		if errors.Is(err, httpserve.ErrNeedsToken) {
			return &usageError{fmt.Sprintf("serve: %s is not a loopback address, and anyone who reaches it could start programs: give --auth-token (or MCP_TEST_AUTH_TOKEN)", o.addr)}
		}
		return err
	}
	fmt.Fprintf(stderr, "listening on http://%s/mcp\n", ln.Addr())
	return hs.Serve(ctx, ln)
}
