package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exitcode"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/tools"
)

const name = "mcp-test-mcp"

// usageError is a bad command line or environment variable.
type usageError struct{ msg string }

func (e *usageError) Error() string {
	return e.msg + "\nRun 'mcp-test-mcp --help' for usage."
}

// exitCode maps an error returned by run to the process's exit code.
func exitCode(err error) int {
	if _, ok := errors.AsType[*usageError](err); ok || errors.Is(err, exampleserver.ErrUsage) || errors.Is(err, exampleserver.ErrUnknownMode) {
		return exitcode.Usage
	}
	if e, ok := errors.AsType[*exampleserver.ExitError](err); ok {
		return e.Code
	}
	if e, ok := errors.AsType[*checkExit](err); ok {
		return e.code
	}
	return exitcode.Failed
}

// legacyProtocolVersions are the versions offered to the host: the ones
// negotiated by initialize, in which the tester can later forward the
// target's sampling and elicitation requests.
var legacyProtocolVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

const usage = `mcp-test-mcp tests MCP servers: an MCP host (Claude, Cursor, VS Code, ...) runs it,
and its agent calls its tools (connect, list_tools, call_tool, status, disconnect)
to exercise a server under development and see exactly what came back.

Usage:
  mcp-test-mcp                      serve MCP over stdio (what a host runs)
  mcp-test-mcp example-server ...   run the example target server (example-server --help)
  mcp-test-mcp check ...            check a server unattended, for CI (check --help)
  mcp-test-mcp serve --http ADDR    serve MCP over streamable HTTP at /mcp (serve --help)
  mcp-test-mcp --version            print the version
  mcp-test-mcp --help               print this help

Environment:
  MCP_TEST_LOG_LEVEL           debug, info, warn or error (default info); logs go to stderr
  MCP_TEST_CONNECT_TIMEOUT     seconds allowed to start and initialize a target (default 30)
  MCP_TEST_CALL_TIMEOUT        default seconds allowed for each request to a target (default 60)
  MCP_TEST_MAX_MESSAGE_BYTES   largest message accepted from a target (default 33554432, 32 MiB)
  MCP_TEST_MAX_TEXT_BYTES      size past which a text block of a tool result is cut (default 1048576, 1 MiB)

Example host configuration:
  {"mcpServers": {"mcp-test": {"command": "mcp-test-mcp"}}}
`

const conformanceUsage = `Usage: MCP_CONFORMANCE_SCENARIO=S mcp-test-mcp conformance-client [CHECK FLAGS] URL

The client that make conformance hands to the official conformance suite: it
runs check against URL with the flags the scenario S needs. Not for use by
hand: run check instead (mcp-test-mcp check --help).
`

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// run is the whole program; main only maps its error to an exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "--version", "-version", "version":
			_, err := fmt.Fprintln(stdout, versionString())
			return err
		case "--help", "-help", "-h", "help":
			_, err := io.WriteString(stdout, usage)
			return err
		case "example-server":
			return exampleserver.Main(ctx, args[1:], stdin, stdout, stderr)
		case "check":
			return runCheck(ctx, args[1:], stdout, stderr)
		case "serve":
			return runServe(ctx, args[1:], stdout, stderr)
		case "conformance-client": // hidden: make conformance's client (conformance.go)
			if len(args) == 2 && isHelp(args[1]) {
				_, err := io.WriteString(stdout, conformanceUsage)
				return err
			}
			return runConformanceClient(ctx, args[1:], stdout, stderr)
		default:
			if strings.HasPrefix(args[0], "-") {
				return &usageError{fmt.Sprintf("unknown flag %q", args[0])}
			}
			return &usageError{fmt.Sprintf("unknown command %q", args[0])}
		}
	}
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, stdin, stdout, stderr)
}

// config is what the environment configures.
type config struct {
	logLevel        slog.Level
	connectTimeout  time.Duration
	callTimeout     time.Duration
	maxMessageBytes int64
	maxTextBytes    int
}

// loadConfig reads the MCP_TEST_* variables; unset ones mean defaults.
func loadConfig(getenv func(string) string) (config, error) {
	var cfg config
	var errs []error
	if v := getenv("MCP_TEST_LOG_LEVEL"); v != "" {
		switch strings.ToLower(v) {
		case "debug":
			cfg.logLevel = slog.LevelDebug
		case "info":
			cfg.logLevel = slog.LevelInfo
		case "warn", "warning":
			cfg.logLevel = slog.LevelWarn
		case "error":
			cfg.logLevel = slog.LevelError
		default:
			errs = append(errs, fmt.Errorf("MCP_TEST_LOG_LEVEL=%q: must be debug, info, warn or error", v))
		}
	}
	durations := []struct {
		name string
		dst  *time.Duration
	}{
		{"MCP_TEST_CONNECT_TIMEOUT", &cfg.connectTimeout},
		{"MCP_TEST_CALL_TIMEOUT", &cfg.callTimeout},
	}
	for _, d := range durations {
		v := getenv(d.name)
		if v == "" {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) || f > math.MaxInt64/float64(time.Second) {
			errs = append(errs, fmt.Errorf("%s=%q: must be a positive number of seconds, such as 30 or 2.5", d.name, v))
			continue
		}
		*d.dst = time.Duration(f * float64(time.Second))
	}
	sizes := []struct {
		name string
		dst  func(int64)
	}{
		{"MCP_TEST_MAX_MESSAGE_BYTES", func(n int64) { cfg.maxMessageBytes = n }},
		{"MCP_TEST_MAX_TEXT_BYTES", func(n int64) { cfg.maxTextBytes = int(n) }},
	}
	for _, s := range sizes {
		v := getenv(s.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 || n > math.MaxInt32 {
			errs = append(errs, fmt.Errorf("%s=%q: must be a positive whole number of bytes, such as 1048576", s.name, v))
			continue
		}
		s.dst(n)
	}
	if len(errs) > 0 {
		return config{}, &usageError{errors.Join(errs...).Error()}
	}
	return cfg, nil
}

// memoryLimit is the tester's default soft memory limit. With the default
// GOGC, the heap grows to twice its live size between collections, so a 20 MB
// result (read, decoded, then cut) would cost about 200 MB; near this limit
// the collector runs sooner instead. It is soft: a larger live heap still
// works. GOMEMLIMIT overrides it.
const memoryLimit = 128 << 20

// serve serves MCP over stdin and stdout until the host closes stdin or ctx
// is cancelled, then closes the connection to the target.
func serve(ctx context.Context, cfg config, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	logger := newLogger(cfg, stderr)
	version := mainVersion()
	setMemoryLimit()

	mgr := newManager(cfg, logger, nil)
	defer func() {
		if cerr := mgr.Close(); cerr != nil {
			logger.Warn("closing the target connection", "error", cerr)
		}
	}()
	server := newTester(cfg, logger, mgr, false, "")

	logger.Info("serving MCP over stdio", "version", version)
	err = server.Run(ctx, &mcp.IOTransport{Reader: io.NopCloser(stdin), Writer: nopCloser{stdout}})
	if ctx.Err() != nil {
		logger.Info("stopping", "error", context.Cause(ctx))
		return nil
	}
	if err != nil {
		return fmt.Errorf("serving MCP: %w", err)
	}
	return nil
}

func newLogger(cfg config, stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
}

func setMemoryLimit() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimit)
	}
}

// newManager returns the connection manager of one host: the stdio host,
// or one HTTP session. policy restricts what it may start (nil: anything).
func newManager(cfg config, logger *slog.Logger, policy *connmgr.CommandPolicy) *connmgr.Manager {
	return connmgr.New(&connmgr.Options{
		Logger:          logger.With("component", "connmgr"),
		ConnectTimeout:  cfg.connectTimeout,
		CallTimeout:     cfg.callTimeout,
		MaxMessageBytes: cfg.maxMessageBytes,
		ClientInfo:      &mcp.Implementation{Name: name, Version: mainVersion()},
		Policy:          policy,
	})
}

// newTester builds the tester's MCP server around mgr, the same for stdio
// and for each HTTP session. remote and workdir are tools.Deps.Remote and
// Workdir.
func newTester(cfg config, logger *slog.Logger, mgr *connmgr.Manager, remote bool, workdir string) *mcp.Server {
	server := mcp.NewServer(&mcp.Implementation{
		Name:    name,
		Title:   "MCP Test MCP: test MCP servers from your agent",
		Version: mainVersion(),
	}, &mcp.ServerOptions{
		Instructions:              tools.Instructions,
		Logger:                    logger.With("component", "mcp"),
		SupportedProtocolVersions: legacyProtocolVersions,
		// Capabilities stays nil: the default declares logging, which the
		// tools use to tell the host what they are doing.
	})
	server.AddReceivingMiddleware(tools.RecoverPanics(logger))
	tools.Register(server, &tools.Deps{
		Manager:      mgr,
		Logger:       logger.With("component", "tools"),
		MaxTextBytes: cfg.maxTextBytes,
		Remote:       remote,
		Workdir:      workdir,
	})
	return server
}

// nopCloser keeps the SDK from closing our stdout when the session ends.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// mainVersion is the module version the binary was built from, or "(devel)".
func mainVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" {
		return "(devel)"
	}
	return bi.Main.Version
}

func versionString() string {
	s := name + " " + mainVersion()
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == "github.com/modelcontextprotocol/go-sdk" {
				s += " (go-sdk " + dep.Version + ", " + bi.GoVersion + ")"
			}
		}
	}
	return s
}
