package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/audit"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/check"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exitcode"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/oauthflow"
)

// checkExit is how `check` ends when not every check passed; main prints it
// and exits with code.
type checkExit struct {
	code int
	msg  string
}

func (e *checkExit) Error() string { return e.msg }

const checkUsage = `Usage: mcp-test-mcp check [flags] (URL | -- COMMAND [ARGS...])

Checks an MCP server unattended, for CI: connects, lists its tools, resources,
templates and prompts, pings it, and reports. With --call-all it also calls
every tool with arguments generated from its input schema (a tool that answers
isError: true to those made-up arguments is a warning; --strict makes it a
failure); with --spec it runs the steps of a spec file and checks their
expectations (docs/spec.md); with --snapshot it fails on breaking changes to
the server's surface; with --audit it also audits the server and fails on
findings at --fail-on or worse.

Progress goes to stderr, one line per check ([n/N]); the report goes to
stdout. Text from the target is shown with its control characters escaped.

${NAME} in a spec is read from the whole environment: that is how CI passes
secrets to a target. (run_checks, the MCP tool, refuses LLM_API_KEY and the
MCP_TEST_* credentials there, since the spec an agent passes may come from
anywhere.)

Examples:
  mcp-test-mcp check -- node build/index.js
  mcp-test-mcp check --call-all --sampling-response "hi" -- uvx my-server
  mcp-test-mcp check --spec checks.yaml --junit report.xml
  mcp-test-mcp check --snapshot surface.json http://localhost:3000/mcp
  mcp-test-mcp check --audit --fail-on warning -- ./my-server
  mcp-test-mcp check --oauth --timeout 5m https://mcp.example.com/mcp
  mcp-test-mcp check --oauth --oauth-client-credentials --oauth-client-id ci-bot https://mcp.example.com/mcp

Exit codes:
  0    every check passed
  1    a check failed (also when SIGINT or SIGTERM then stopped the run)
  2    bad usage, a spec that cannot be read (the error names the line), or a
       report that could not be written (the report on stdout comes first)
  3    the target could not be started or reached (the report has its stderr tail)
  130  SIGINT or SIGTERM stopped the run before any check failed; the checks
       not run are reported as skipped ("interrupted")

Flags:
`

// checkFlags are the command line of `check`.
type checkFlags struct {
	spec, snapshot, format, junit       string
	callAll, includeDestructive, update bool
	strict                              bool
	quiet                               bool
	skip, roots, headers, env           listFlag
	samplingResponse                    optString
	elicitationAction                   string
	timeout, callTimeout                durationFlag
	bearerToken, transport, cwd         string
	audit, noProbe                      bool
	failOn                              string

	oauth, oauthAutoApprove                  bool
	oauthRedirectURL, oauthClientMetadataURL string
	oauthClientID, oauthClientSecret         string
	oauthScopes                              listFlag
	oauthClientCredentials                   bool
	oauthPrivateKeyFile, oauthSigningAlg     string
}

// runCheck is `mcp-test-mcp check`.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f checkFlags
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	// The flag package prints the usage itself on -h and on a bad flag;
	// help goes to stdout once, below, and a bad flag is one line.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&f.spec, "spec", "", "run the steps of this spec `file` (YAML or JSON)")
	fs.BoolVar(&f.callAll, "call-all", false, "call every tool with arguments generated from its input schema")
	fs.BoolVar(&f.includeDestructive, "include-destructive", false, "with --call-all, call tools annotated destructiveHint: true too")
	fs.BoolVar(&f.strict, "strict", false, "with --call-all, fail a tool that answers isError: true to the generated arguments (default: a warning)")
	fs.Var(&f.skip, "skip", "with --call-all, leave out these `tools` (comma-separated, repeatable)")
	fs.StringVar(&f.snapshot, "snapshot", "", "compare the server's surface with this snapshot `file` (written on the first run)")
	fs.BoolVar(&f.update, "update-snapshot", false, "rewrite the snapshot instead of failing on changes")
	fs.Var(&f.samplingResponse, "sampling-response", "answer the target's sampling requests with this `text`")
	fs.StringVar(&f.elicitationAction, "elicitation-action", "", "answer the target's elicitation requests: accept (with the schema's defaults), decline or cancel")
	fs.Var(&f.roots, "root", "offer this root `URI` to the target (repeatable)")
	fs.Var(&f.timeout, "timeout", "deadline to start and initialize the target (30s, or seconds); default 30s or MCP_TEST_CONNECT_TIMEOUT")
	fs.Var(&f.callTimeout, "call-timeout", "deadline of each request (60s, or seconds); default 60s or MCP_TEST_CALL_TIMEOUT")
	fs.Var(&f.headers, "header", "send this HTTP header, `K=V` (repeatable)")
	fs.StringVar(&f.bearerToken, "bearer-token", "", "send Authorization: Bearer `token`; default $MCP_TEST_BEARER_TOKEN")
	fs.StringVar(&f.transport, "transport", "", "auto, stdio, streamable-http or sse")
	fs.Var(&f.env, "env", "set this environment variable for the target, `K=V` (repeatable)")
	fs.StringVar(&f.cwd, "cwd", "", "working `directory` of the target")
	fs.StringVar(&f.format, "format", "text", "report format on stdout: text or json")
	fs.StringVar(&f.junit, "junit", "", "also write a JUnit XML report to this `file`")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress lines on stderr")
	fs.BoolVar(&f.audit, "audit", false, "also audit the server (schemas, names, capabilities, pagination, probes); each finding is a check")
	fs.StringVar(&f.failOn, "fail-on", "error", "with --audit, the least `severity` that fails: error, warning or info")
	fs.BoolVar(&f.noProbe, "no-probe", false, "with --audit, skip the active probes (unknown method and tool, invalid arguments, read-only calls)")
	fs.BoolVar(&f.oauth, "oauth", false, "on a 401 or 403 from a streamable HTTP target, run the OAuth authorization-code flow with PKCE (dynamic client registration unless a client is given)")
	fs.StringVar(&f.oauthRedirectURL, "oauth-redirect-url", "", "with --oauth, the redirect `URL` (also registered by dynamic client registration); port 0 means a free port\n(default "+oauthflow.DefaultRedirectURL+")")
	fs.BoolVar(&f.oauthAutoApprove, "oauth-auto-approve", false, "with --oauth, take the code from the authorization endpoint's redirect without a browser: for CI against test authorization servers that approve at once")
	fs.StringVar(&f.oauthClientMetadataURL, "oauth-client-metadata-url", "", "with --oauth, use this https `URL` of a client ID metadata document as client_id where the authorization server supports it")
	fs.StringVar(&f.oauthClientID, "oauth-client-id", "", "with --oauth, the `ID` of a pre-registered client")
	fs.StringVar(&f.oauthClientSecret, "oauth-client-secret", "", "with --oauth-client-id, the client's `secret`; default $MCP_TEST_OAUTH_CLIENT_SECRET")
	fs.Var(&f.oauthScopes, "oauth-scope", "with --oauth, also request these `scopes` (comma- or space-separated, repeatable)")
	fs.BoolVar(&f.oauthClientCredentials, "oauth-client-credentials", false, "with --oauth and --oauth-client-id, run the client_credentials grant (no user, no browser) instead of the authorization-code flow, authenticated by the client secret or --oauth-private-key-file")
	fs.StringVar(&f.oauthPrivateKeyFile, "oauth-private-key-file", "", "with --oauth-client-credentials, sign a private_key_jwt client assertion with this PEM private key `file` instead of sending a secret")
	fs.StringVar(&f.oauthSigningAlg, "oauth-signing-alg", "", "with --oauth-private-key-file, the assertion's `algorithm`: "+strings.Join(oauthflow.SigningAlgs, ", ")+" (default: the key's own)")
	// Flags may come before or after a URL; everything after -- is the
	// command.
	var pos []string
	dash := false
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stdout)
				fmt.Fprint(stdout, checkUsage)
				fs.PrintDefaults()
				return nil
			}
			return &usageError{err.Error()}
		}
		left := fs.Args()
		if n := len(rest) - len(left); n > 0 && rest[n-1] == "--" {
			pos, dash = append(pos, left...), true
			break
		}
		if len(left) == 0 {
			break
		}
		pos = append(pos, left[0])
		rest = left[1:]
	}
	opts, err := f.options(pos, dash, os.LookupEnv)
	if err != nil {
		return err
	}
	if !f.quiet {
		opts.Progress = stderr
	}
	if opts.OAuth != nil {
		opts.OAuth.Prompt = stderr
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	rep, err := check.Run(ctx, opts)
	if err != nil {
		return &usageError{err.Error()}
	}
	// The report on stdout comes first: a JUnit file that cannot be written
	// must not cost the run its report.
	switch f.format {
	case "json":
		err = rep.WriteJSON(stdout)
	default:
		err = rep.WriteText(stdout, &check.TextOptions{Color: colorOK(stdout)})
	}
	if err != nil {
		return &checkExit{code: exitcode.Usage, msg: fmt.Sprintf("writing the report to stdout: %v", err)}
	}
	if f.junit != "" {
		if err := writeFile(f.junit, rep.WriteJUnit); err != nil {
			return &checkExit{code: exitcode.Usage, msg: fmt.Sprintf("could not write the JUnit report to %s: %v", f.junit, err)}
		}
	}
	switch code := rep.ExitCode(); code {
	case exitcode.OK:
		return nil
	case exitcode.CannotConnect:
		// The report and the progress lines say why; without progress,
		// stderr says it here.
		msg := "could not start or reach the target (the report says why)"
		if f.quiet {
			msg = "could not start or reach the target: " + rep.ConnectError.Message
		}
		return &checkExit{code: code, msg: check.Visible(msg)}
	case exitcode.Interrupted:
		return &checkExit{code: code, msg: fmt.Sprintf("interrupted: %d of %d checks skipped", rep.Summary.Skipped, rep.Summary.Total)}
	default:
		msg := fmt.Sprintf("%d of %d checks failed", rep.Summary.Failed, rep.Summary.Total)
		if rep.Interrupted {
			msg += " before the run was interrupted"
		}
		return &checkExit{code: code, msg: msg}
	}
}

// options turns the flags into check.Options.
func (f *checkFlags) options(pos []string, dash bool, lookup func(string) (string, bool)) (*check.Options, error) {
	if f.format != "text" && f.format != "json" {
		return nil, &usageError{fmt.Sprintf("--format %q: must be text or json", f.format)}
	}
	if f.elicitationAction != "" && f.elicitationAction != "accept" && f.elicitationAction != "decline" && f.elicitationAction != "cancel" {
		return nil, &usageError{fmt.Sprintf("--elicitation-action %q: must be accept, decline or cancel", f.elicitationAction)}
	}
	if f.update && f.snapshot == "" {
		return nil, &usageError{"--update-snapshot needs --snapshot FILE"}
	}
	failOn, err := audit.ParseSeverity(f.failOn)
	if err != nil {
		return nil, &usageError{"--fail-on: " + err.Error()}
	}
	opts := &check.Options{
		Audit:              f.audit,
		AuditProbe:         !f.noProbe,
		FailOn:             failOn,
		CallAll:            f.callAll,
		Strict:             f.strict,
		IncludeDestructive: f.includeDestructive,
		Snapshot:           f.snapshot,
		UpdateSnapshot:     f.update,
		ConnectTimeout:     time.Duration(f.timeout),
		CallTimeout:        time.Duration(f.callTimeout),
	}
	for _, s := range f.skip {
		opts.Skip = append(opts.Skip, strings.Split(s, ",")...)
	}
	for _, v := range []struct {
		dst  *time.Duration
		name string
	}{{&opts.ConnectTimeout, "MCP_TEST_CONNECT_TIMEOUT"}, {&opts.CallTimeout, "MCP_TEST_CALL_TIMEOUT"}} {
		if *v.dst == 0 {
			if s, ok := lookup(v.name); ok && s != "" {
				d, err := parseDuration(s)
				if err != nil {
					return nil, &usageError{fmt.Sprintf("%s=%q: %v", v.name, s, err)}
				}
				*v.dst = d
			}
		}
	}
	if f.spec != "" {
		spec, err := check.ReadSpec(f.spec, lookup)
		if err != nil {
			return nil, &usageError{err.Error()}
		}
		opts.Spec = spec
	}

	if opts.Target, opts.Secrets, err = f.target(pos, dash, opts.Spec, lookup); err != nil {
		return nil, err
	}
	if opts.OAuth, err = f.oauthOptions(lookup); err != nil {
		return nil, err
	}

	client := &check.Client{ElicitationAction: f.elicitationAction}
	if f.samplingResponse.set {
		client.SamplingResponse = &f.samplingResponse.value
	}
	if len(f.roots) > 0 {
		client.Roots = f.roots
	}
	opts.Client = client
	return opts, nil
}

// target is the one conversion of the command line into a check.Target: a
// URL, or a command after --, else the spec's target; --transport, --cwd,
// --env, --header and --bearer-token then apply to it. secrets are the
// header values given on the command line. The target's description is
// checked by connmgr.Spec.Validate, as a spec file's is.
func (f *checkFlags) target(pos []string, dash bool, spec *check.Spec, lookup func(string) (string, bool)) (t *check.Target, secrets []string, err error) {
	switch {
	case dash && len(pos) == 1 && len(pos[0]) > 0 && !strings.Contains(pos[0], "://"):
		t = &check.Target{Command: pos[0]}
	case dash && len(pos) > 1 && !strings.Contains(pos[0], "://"):
		t = &check.Target{Command: pos[0], Args: pos[1:]}
	case len(pos) == 0:
	case len(pos) == 1:
		t = &check.Target{URL: pos[0]}
	default:
		return nil, nil, &usageError{fmt.Sprintf("check takes one URL, or a command after --; got %q (put -- before a command and its arguments)", strings.Join(pos, " "))}
	}
	if t == nil && spec != nil && spec.Target != nil {
		c := *spec.Target
		t = &c
	}
	if t == nil {
		return nil, nil, &usageError{"check needs a target: a URL, a command after --, or --spec with a target"}
	}
	if f.transport != "" {
		t.Transport = f.transport
	}
	if f.cwd != "" {
		t.Cwd = f.cwd
	}
	if t.Env, _, err = withPairs(t.Env, "--env", f.env, "NAME=value"); err != nil {
		return nil, nil, err
	}
	if t.Headers, secrets, err = withPairs(t.Headers, "--header", f.headers, "Name=value"); err != nil {
		return nil, nil, err
	}
	if f.bearerToken != "" {
		t.BearerToken = f.bearerToken
	} else if tok, ok := lookup("MCP_TEST_BEARER_TOKEN"); ok && tok != "" && t.BearerToken == "" && !f.oauth && t.Spec().IsHTTP() {
		// The environment's token is a default for HTTP targets; a command
		// target is not refused because the variable is set.
		t.BearerToken = tok
	}
	// A target the flags make impossible is a usage error (exit 2), as
	// the same target in a spec file is.
	if err := t.Spec().Validate(); err != nil {
		return nil, nil, &usageError{err.Error()}
	}
	return t, secrets, nil
}

// withPairs returns m (copied, so that a spec's own map is not changed)
// with the NAME=value pairs given to flag added, and the values added.
func withPairs(m map[string]string, flag string, pairs []string, form string) (map[string]string, []string, error) {
	if len(pairs) == 0 {
		return m, nil, nil
	}
	m = maps.Clone(m)
	if m == nil {
		m = map[string]string{}
	}
	var values []string
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, nil, &usageError{fmt.Sprintf("%s %q: must be %s", flag, kv, form)}
		}
		m[k] = v
		values = append(values, v)
	}
	return m, values, nil
}

// oauthOptions turns the --oauth flags into oauthflow.Options; nil without
// --oauth. The other --oauth-* flags need --oauth; the secret's environment
// variable alone does not.
func (f *checkFlags) oauthOptions(lookup func(string) (string, bool)) (*oauthflow.Options, error) {
	if !f.oauth {
		for _, v := range []struct {
			name string
			set  bool
		}{
			{"--oauth-redirect-url", f.oauthRedirectURL != ""},
			{"--oauth-auto-approve", f.oauthAutoApprove},
			{"--oauth-client-metadata-url", f.oauthClientMetadataURL != ""},
			{"--oauth-client-id", f.oauthClientID != ""},
			{"--oauth-client-secret", f.oauthClientSecret != ""},
			{"--oauth-scope", len(f.oauthScopes) > 0},
			{"--oauth-client-credentials", f.oauthClientCredentials},
			{"--oauth-private-key-file", f.oauthPrivateKeyFile != ""},
			{"--oauth-signing-alg", f.oauthSigningAlg != ""},
		} {
			if v.set {
				return nil, &usageError{v.name + " needs --oauth"}
			}
		}
		return nil, nil
	}
	o := &oauthflow.Options{
		RedirectURL:       f.oauthRedirectURL,
		AutoApprove:       f.oauthAutoApprove,
		ClientMetadataURL: f.oauthClientMetadataURL,
		ClientID:          f.oauthClientID,
		ClientSecret:      f.oauthClientSecret,
		Scopes:            f.oauthScopes,
		ClientCredentials: f.oauthClientCredentials,
		PrivateKeyFile:    f.oauthPrivateKeyFile,
		SigningAlg:        f.oauthSigningAlg,
	}
	if o.ClientSecret == "" && o.ClientID != "" && o.PrivateKeyFile == "" {
		o.ClientSecret, _ = lookup("MCP_TEST_OAUTH_CLIENT_SECRET")
	}
	switch {
	case o.ClientSecret != "" && o.ClientID == "":
		return nil, &usageError{"--oauth-client-secret needs --oauth-client-id"}
	case o.PrivateKeyFile != "" && !o.ClientCredentials:
		return nil, &usageError{"--oauth-private-key-file needs --oauth-client-credentials"}
	case o.SigningAlg != "" && o.PrivateKeyFile == "":
		return nil, &usageError{"--oauth-signing-alg needs --oauth-private-key-file"}
	}
	return o, nil
}

// writeFile writes a file through fn.
func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// colorOK reports whether w is a terminal and NO_COLOR is not set.
func colorOK(w io.Writer) bool {
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// optString is a string flag that knows whether it was given.
type optString struct {
	value string
	set   bool
}

func (o *optString) String() string { return o.value }

func (o *optString) Set(s string) error {
	o.value, o.set = s, true
	return nil
}

// durationFlag takes a Go duration ("30s") or a number of seconds ("2.5").
type durationFlag time.Duration

func (d *durationFlag) String() string { return time.Duration(*d).String() }

func (d *durationFlag) Set(s string) error {
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = durationFlag(v)
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f <= 0 {
			return 0, errors.New("must be positive")
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("must be a positive duration such as 30s or a number of seconds")
	}
	return d, nil
}
