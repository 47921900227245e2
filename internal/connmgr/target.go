package connmgr

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
)

// target is a Spec resolved into what to start or where to connect.
type target struct {
	transport string

	// stdio
	path     string   // absolute path of the program to exec
	script   string   // absolute path of a script run by an interpreter (path), or ""
	argv     []string // its arguments (an interpreter's include the script)
	env      []string // complete environment of the child
	envNames []string // the names of Spec.Env, sorted
	dir      string

	// HTTP
	url     string
	headers http.Header

	// display is the redacted server_url: the URL, or the command line.
	display string
	secrets *redact.Secrets
}

// resolve checks spec (Spec.Validate) and works out how to reach the
// target. It starts nothing, and leaves the working directory to checkDir.
// Errors wrap ErrInvalidSpec or are *SpawnError.
func resolve(spec Spec) (*target, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	t := &target{secrets: &redact.Secrets{}}
	// Env values are secret when their names say so; scrubbing every value
	// ("production", "1") from the target's stderr would mangle it. No env
	// value is ever shown by the tester itself.
	t.secrets.Add(spec.Secrets()...)
	if spec.IsHTTP() {
		return t.resolveHTTP(spec)
	}
	return t.resolveStdio(spec)
}

// resolveHTTP works out an HTTP target; spec is valid.
func (t *target) resolveHTTP(spec Spec) (*target, error) {
	u, err := url.Parse(spec.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: url %s does not parse: give a full URL such as http://127.0.0.1:3000/mcp", ErrInvalidSpec, redact.URL(spec.URL))
	}
	t.transport = httpTransport(u, spec.transport())
	t.url = spec.URL
	t.headers = http.Header{}
	for name, v := range spec.Headers {
		t.headers.Set(name, v)
	}
	if spec.BearerToken != "" {
		t.headers.Set("Authorization", "Bearer "+spec.BearerToken)
	}
	t.display = redact.URL(spec.URL)
	return t, nil
}

// resolveStdio works out a stdio target; spec is valid.
func (t *target) resolveStdio(spec Spec) (*target, error) {
	t.transport = TransportStdio
	t.dir = spec.Cwd
	t.envNames = slices.Sorted(maps.Keys(spec.Env))
	// The tester's own secrets are not the target's business.
	t.env = inheritedEnv(os.Environ())
	for _, name := range t.envNames {
		t.env = append(t.env, name+"="+spec.Env[name])
	}

	// Secret flag values are known before anything can fail, so that no
	// error repeats them, even for a command line given as one string.
	t.secrets.Add(spec.Secrets()...)
	var shown []string
	if spec.Command != "" {
		path, err := t.lookPath(spec.Command)
		if err != nil {
			if derr := t.checkDir(spec); derr != nil {
				return nil, t.scrubSpawn(derr) // the likelier cause
			}
			return nil, t.scrubSpawn(commandNotFound(spec.Command, spec.Args, err))
		}
		t.path, t.argv = path, slices.Clone(spec.Args)
		shown = append([]string{spec.Command}, spec.Args...)
	} else {
		if err := t.resolveScript(spec.URL, spec.Args); err != nil {
			if derr := t.checkDir(spec); derr != nil {
				return nil, t.scrubSpawn(derr)
			}
			return nil, t.scrubSpawn(err)
		}
		shown = append([]string{spec.URL}, spec.Args...)
	}
	t.display = t.secrets.Scrub(shellJoin(shown))
	return t, nil
}

// checkDir reports a working directory that does not exist. It is not part
// of resolve: under a CommandPolicy the directory is looked at only once
// the program is allowed, so that a refused client learns nothing of the
// tester's files.
func (t *target) checkDir(spec Spec) error {
	if t.dir == "" {
		return nil
	}
	if fi, err := os.Stat(t.dir); err != nil || !fi.IsDir() {
		return t.scrubSpawn(&SpawnError{Command: spec.Command + spec.URL, Err: fmt.Errorf("working directory %q does not exist or is not a directory", t.dir), Hint: "Pass an existing directory as cwd, or leave cwd out to use the tester's working directory."})
	}
	return nil
}

// scrubSpawn masks secrets in a *SpawnError's text.
func (t *target) scrubSpawn(err error) error {
	var se *SpawnError
	if !errors.As(err, &se) {
		return err
	}
	return &SpawnError{
		Command: t.secrets.Scrub(se.Command),
		Hint:    t.secrets.Scrub(se.Hint),
		Err:     scrubbed{t.secrets.Scrub(se.Err.Error()), se.Err},
	}
}

// lookPath finds a command like a shell would, but resolves a relative path
// with a slash against the child's working directory.
func (t *target) lookPath(command string) (string, error) {
	if strings.Contains(command, "/") && !filepath.IsAbs(command) && t.dir != "" {
		command = filepath.Join(t.dir, command)
	}
	path, err := exec.LookPath(command)
	if err != nil {
		return "", err
	}
	return filepath.Abs(path)
}

func commandNotFound(command string, args []string, err error) error {
	e := &SpawnError{Command: command, Err: err}
	switch fields := strings.Fields(command); {
	case len(fields) > 1 && len(args) == 0:
		e.Hint = fmt.Sprintf("%q was given as one string: pass command: %q, args: [%s]. Commands are never run through a shell.", command, fields[0], strings.Join(fields[1:], ", "))
	case errors.Is(err, exec.ErrNotFound) && slices.Contains([]string{"npx", "node", "npm"}, command):
		e.Hint = "Node.js is not installed or not on the tester's PATH. Install it, or pass the absolute path of the program as command."
	case errors.Is(err, exec.ErrNotFound) && slices.Contains([]string{"uvx", "uv"}, command):
		e.Hint = "uv is not installed or not on the tester's PATH. Install it, or pass the absolute path of the program as command."
	case errors.Is(err, exec.ErrNotFound):
		e.Hint = fmt.Sprintf("No program named %q is on the tester's PATH. Pass an absolute path, or check the spelling.", command)
	case errors.Is(err, os.ErrPermission):
		e.Hint = fmt.Sprintf("%q is not executable: run chmod +x on it, or run it through its interpreter (command: python3, args: [script]).", command)
	default:
		e.Hint = "Pass an absolute path to an executable file."
	}
	return e
}

// resolveScript turns a script path into the program that runs it: python3
// for .py, node for .js/.mjs/.cjs, the file itself when it is executable.
func (t *target) resolveScript(path string, args []string) error {
	if !filepath.IsAbs(path) && t.dir != "" {
		path = filepath.Join(t.dir, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return &SpawnError{Command: path, Err: err}
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return &SpawnError{Command: path, Err: err, Hint: "url is neither an http(s) URL nor an existing file. Check the path (relative paths are resolved against cwd, or the tester's working directory)."}
	}
	if fi.IsDir() {
		return &SpawnError{Command: path, Err: errors.New("is a directory"), Hint: "Point url at the server's entry script (for example dist/index.js), or pass command and args."}
	}
	var interpreter string
	switch strings.ToLower(filepath.Ext(abs)) {
	case ".py":
		interpreter = "python3"
	case ".js", ".mjs", ".cjs":
		interpreter = "node"
	case ".ts", ".mts":
		return &SpawnError{Command: path, Err: errors.New("TypeScript sources cannot be run directly"), Hint: fmt.Sprintf("Build the server first and point url at the .js output, or pass command: npx, args: [tsx, %s].", path)}
	}
	if interpreter != "" {
		ip, err := exec.LookPath(interpreter)
		if err != nil {
			return commandNotFound(interpreter, nil, err)
		}
		if ip, err = filepath.Abs(ip); err != nil {
			return commandNotFound(interpreter, nil, err)
		}
		t.path, t.script = ip, abs
		t.argv = append([]string{abs}, args...)
		return nil
	}
	if fi.Mode()&0o111 == 0 {
		return &SpawnError{Command: path, Err: os.ErrPermission, Hint: fmt.Sprintf("%s is not executable: run chmod +x on it, or pass command (its interpreter) and args.", path)}
	}
	t.path, t.argv = abs, slices.Clone(args)
	return nil
}

// secretArgValues finds argument values that look secret: --api-key=X,
// --token X.
func secretArgValues(argv []string) []string {
	var out []string
	for i, a := range argv {
		name, value, hasValue := strings.Cut(a, "=")
		if !strings.HasPrefix(name, "-") || !redact.IsSecretName(name) {
			continue
		}
		if hasValue {
			out = append(out, value)
		} else if i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "-") {
			out = append(out, argv[i+1])
		}
	}
	return out
}

// shellJoin renders a command line for display, quoting words that need it.
func shellJoin(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			w = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
		out[i] = w
	}
	return strings.Join(out, " ")
}
