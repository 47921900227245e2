// Package exampleserver is the example target: one configurable MCP server used
// by our tests, by `make demo`, and by users as
// `mcp-test-mcp example-server [--mode M] [--http ADDR]`.
//
// In the normal mode (the default) it is a correct server with tools,
// resources and prompts that exercise every part of a client (structured
// output, progress, logs, sampling). Every other mode adds the fault tools
// (an error result, a broken outputSchema, a crash, a hang, a huge result, a
// server that stops reading), and the fault modes misbehave in the ways real
// servers do: exiting before initialize, crashing or hanging on a call,
// printing junk on stdout, ignoring SIGTERM and leaving a grandchild behind,
// or flooding stderr.
package exampleserver

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Mode selects how the example server behaves.
type Mode string

// The modes. Only ModeNormal is a well-behaved server; every other mode
// also has the fault tools ([FaultTools]).
const (
	// ModeNormal serves every tool, resource and prompt correctly, and has
	// no fault tools: check --call-all and --audit pass against it.
	ModeNormal Mode = "normal"
	// ModeFaults is ModeNormal plus the fault tools: bad_structured, fail,
	// hang, crash, huge, env and stop_reading.
	ModeFaults Mode = "faults"
	// ModeExitBeforeInit writes a fatal error to stderr and exits with
	// status 3 before reading anything.
	ModeExitBeforeInit Mode = "exit-before-init"
	// ModeCrashOnCall is normal until the first tools/call, then exits with
	// status 2.
	ModeCrashOnCall Mode = "crash-on-call"
	// ModeHangOnCall blocks every tools/call except echo until the client
	// cancels it.
	ModeHangOnCall Mode = "hang-on-call"
	// ModeJunkStdout writes a banner and a non-JSON line before every message
	// on stdout (stdio only).
	ModeJunkStdout Mode = "junk-stdout"
	// ModeIgnoreSIGTERM ignores SIGTERM, keeps running after stdin closes, and
	// starts a grandchild (ModeSleeper) in the same process group, reporting
	// "grandchild pid N" on stderr.
	ModeIgnoreSIGTERM Mode = "ignore-sigterm"
	// ModeSleeper ignores SIGTERM and sleeps; it is the grandchild of
	// ModeIgnoreSIGTERM.
	ModeSleeper Mode = "sleeper"
	// ModeHugeResult is the same as ModeFaults, whose huge tool returns a
	// 20 MB text block by default.
	ModeHugeResult Mode = "huge-result"
	// ModeStderrFlood writes about 2 MB to stderr at startup and 1000 lines
	// per tools/call.
	ModeStderrFlood Mode = "stderr-flood"
)

// Modes returns every valid mode, in the order they are documented.
func Modes() []Mode {
	return []Mode{
		ModeNormal, ModeFaults, ModeExitBeforeInit, ModeCrashOnCall, ModeHangOnCall, ModeJunkStdout,
		ModeIgnoreSIGTERM, ModeSleeper, ModeHugeResult, ModeStderrFlood,
	}
}

// ErrUnknownMode is returned for a mode that is not one of [Modes].
var ErrUnknownMode = errors.New("unknown mode")

// ErrUsage is returned when the command-line arguments are malformed; for
// -h it wraps flag.ErrHelp.
var ErrUsage = errors.New("usage error")

// ExitError is returned by [Run] and [Main] when the server "exited" with
// Code through an [Options.Exit] that returned (as in tests). With the
// default Exit, the process ends instead.
type ExitError struct {
	Code int
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("example server exited with status %d", e.Code)
}

// Options configures [Run]. A nil *Options means all defaults.
type Options struct {
	// Mode is how the server behaves. Zero means ModeNormal.
	Mode Mode
	// HTTPAddr, if set, serves streamable HTTP at /mcp and legacy SSE at /sse
	// on this address (":0" picks a free port) instead of stdio. The bound
	// address is written to Stderr as "listening on http://HOST:PORT",
	// followed by the two endpoints' URLs.
	HTTPAddr string
	// RequireToken, if set, makes HTTP requests without
	// "Authorization: Bearer RequireToken" fail with 401. HTTP only.
	RequireToken string
	// Stdin and Stdout carry newline-delimited JSON-RPC in stdio mode.
	// Nil means an empty input and a discarded output.
	Stdin  io.Reader
	Stdout io.Writer
	// Stderr receives diagnostics. Nil means io.Discard.
	Stderr io.Writer
	// Exit ends the process with a status code (crash tool, crash-on-call,
	// exit-before-init). Nil means os.Exit. If Exit returns, Run stops
	// serving and returns an *ExitError.
	Exit func(code int)
}

// Main runs the example server. args are the arguments after
// "example-server": [--mode M] [--http ADDR] [--require-token TOKEN].
// It returns nil when ctx is cancelled or stdin is closed.
//
// -h and --help print the usage on stdout and return nil.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	opts, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		_, err = io.WriteString(stdout, Usage())
		return err
	}
	if err != nil {
		return err
	}
	opts.Stdin, opts.Stdout, opts.Stderr = stdin, stdout, stderr
	return Run(ctx, opts)
}

const usageHead = `Usage: mcp-test-mcp example-server [--mode M] [--http ADDR] [--require-token TOKEN]

Runs the bundled example MCP server over stdio (or HTTP with --http). With no
--mode it is a correct server: check --call-all and check --audit pass against
it. The other modes add tools that fail on purpose (` + "bad_structured, fail, hang,\ncrash, huge, env, stop_reading" + `) and misbehave as their names say.

Examples:
  mcp-test-mcp check --call-all -- mcp-test-mcp example-server
  mcp-test-mcp check --call-all -- mcp-test-mcp example-server --mode faults
  mcp-test-mcp example-server --http 127.0.0.1:8080

Flags:
`

// Usage is the help text of example-server.
func Usage() string {
	var b strings.Builder
	b.WriteString(usageHead)
	fs := newFlagSet(&Options{})
	fs.SetOutput(&b)
	fs.PrintDefaults()
	return b.String()
}

func newFlagSet(opts *Options) *flag.FlagSet {
	fs := flag.NewFlagSet("example-server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar((*string)(&opts.Mode), "mode", string(ModeNormal), "behaviour: "+modeList())
	fs.StringVar(&opts.HTTPAddr, "http", "", "serve streamable HTTP (/mcp) and SSE (/sse) on this address instead of stdio")
	fs.StringVar(&opts.RequireToken, "require-token", "", "HTTP only: require Authorization: Bearer `TOKEN`")
	return fs
}

// parseArgs parses the arguments of example-server; for -h it returns an
// error that wraps flag.ErrHelp.
func parseArgs(args []string, _ io.Writer) (*Options, error) {
	var opts Options
	fs := newFlagSet(&opts)
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected arguments %q", ErrUsage, fs.Args())
	}
	if opts.RequireToken != "" && opts.HTTPAddr == "" {
		return nil, fmt.Errorf("%w: --require-token needs --http", ErrUsage)
	}
	if err := checkMode(opts.Mode); err != nil {
		return nil, err
	}
	return &opts, nil
}

func modeList() string {
	names := make([]string, 0, len(Modes()))
	for _, m := range Modes() {
		names = append(names, string(m))
	}
	return strings.Join(names, ", ")
}

func checkMode(m Mode) error {
	for _, valid := range Modes() {
		if m == valid {
			return nil
		}
	}
	return fmt.Errorf("%w %q (valid modes: %s)", ErrUnknownMode, m, modeList())
}

// Run runs the example server until ctx is cancelled (nil error), the client
// closes stdin (nil error), or the server exits (see [Options.Exit]).
//
// In ModeIgnoreSIGTERM and ModeSleeper, Run ignores SIGTERM for the whole
// process and returns only when ctx is cancelled.
func Run(ctx context.Context, opts *Options) error {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Mode == "" {
		o.Mode = ModeNormal
	}
	if err := checkMode(o.Mode); err != nil {
		return err
	}
	if o.Stdin == nil {
		o.Stdin = strings.NewReader("")
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.Exit == nil {
		o.Exit = os.Exit
	}

	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	t := &target{
		mode:   o.Mode,
		stderr: &lockedWriter{w: o.Stderr},
		exit: func(code int) {
			o.Exit(code)
			cancel(&ExitError{Code: code})
		},
	}

	switch o.Mode {
	case ModeExitBeforeInit:
		t.logf("fatal: missing configuration file example.toml")
		t.exit(3)
		return exitErr(ctx)
	case ModeSleeper:
		signal.Ignore(syscall.SIGTERM)
		<-ctx.Done()
		return exitErr(ctx)
	case ModeIgnoreSIGTERM:
		signal.Ignore(syscall.SIGTERM)
		pid, err := startGrandchild(o.Stderr)
		if err != nil {
			return err
		}
		t.logf("grandchild pid %d", pid)
	case ModeStderrFlood:
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			floodStderr(t.stderr, stop)
		}()
		defer func() {
			close(stop)
			// A write to a full stderr pipe nobody reads may never
			// return; the process is ending, so wait only a moment.
			select {
			case <-done:
			case <-time.After(time.Second):
			}
		}()
	}

	var err error
	if o.HTTPAddr != "" {
		err = t.serveHTTP(ctx, o.HTTPAddr, o.RequireToken)
	} else {
		err = t.serveStdio(ctx, o.Stdin, o.Stdout)
	}
	if e := exitErr(ctx); e != nil {
		return e
	}
	if o.Mode == ModeIgnoreSIGTERM {
		// Outlive stdin, as a server that ignores its client would.
		<-ctx.Done()
		return exitErr(ctx)
	}
	if parent.Err() != nil {
		return nil
	}
	return err
}

// exitErr returns the *ExitError that cancelled ctx, if any.
func exitErr(ctx context.Context) error {
	var e *ExitError
	if errors.As(context.Cause(ctx), &e) {
		return e
	}
	return nil
}
