package check

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/audit"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/testtargets"
)

func noEnv(string) (string, bool) { return "", false }

func TestParseSpec(t *testing.T) {
	tests := []struct {
		name     string
		spec     string
		env      map[string]string
		wantErr  string
		wantLine int
		check    func(t *testing.T, s *Spec)
	}{
		{
			name: "a full spec parses",
			spec: `
target:
  command: server
  args: [--port, "0"]
  env: {API_TOKEN: "${TOKEN}"}
client:
  sampling_response: hello
  elicitation_action: accept
  roots: [file:///tmp]
steps:
  - call_tool: echo
    arguments: {message: hi}
    expect:
      text_contains: hi
      structured: {"a.b": {gt: 3}, c: 1}
  - ping:
  - list_tools: {}
    expect: {text_contains: [echo, add]}
`,
			env: map[string]string{"TOKEN": "s3cret-value"},
			check: func(t *testing.T, s *Spec) {
				assert.Equal(t, "s3cret-value", s.Target.Env["API_TOKEN"])
				assert.Contains(t, s.secrets, "s3cret-value", "an expanded env value is a secret")
				require.Len(t, s.Steps, 3)
				assert.Equal(t, ActionCallTool, s.Steps[0].action)
				assert.Equal(t, ActionPing, s.Steps[1].action, "a bare action key counts")
				assert.Equal(t, StringList{"echo", "add"}, s.Steps[2].Expect.TextContains)
				assert.Equal(t, 11, s.Steps[0].line)
			},
		},
		{
			name: "JSON is accepted",
			spec: `{"target": {"url": "http://localhost/mcp"},
	"steps": [{"read_resource": "file:///a", "expect": {"content_types": ["text"]}}]}`,
			check: func(t *testing.T, s *Spec) { assert.Equal(t, ActionReadResource, s.Steps[0].action) },
		},
		{
			name:     "an unknown key in a step names its line and the known keys",
			spec:     "steps:\n  - call_tool: echo\n    expct: {is_error: false}\n",
			wantErr:  `unknown key "expct" in a step (known keys: name, call_tool`,
			wantLine: 3,
		},
		{
			name:     "an unknown key in expect names its line",
			spec:     "steps:\n  - call_tool: echo\n    expect:\n      text_contain: hi\n",
			wantErr:  `unknown key "text_contain" in expect`,
			wantLine: 4,
		},
		{name: "bad YAML names the line", spec: "steps:\n  - call_tool: echo\n    expect: is_error: true\n", wantErr: "mapping values are not allowed", wantLine: 3},
		{name: "an unfinished block names where it starts", spec: "steps:\n  - call_tool: [echo\n", wantErr: "in the block that starts on this line", wantLine: 2},
		{name: "a step needs an action", spec: "steps:\n  - arguments: {}\n", wantErr: "step 1 has no action", wantLine: 2},
		{name: "a step has one action", spec: "steps:\n  - ping: {}\n    list_tools: {}\n", wantErr: "step 1 has 2 actions", wantLine: 2},
		{name: "a missing variable is named", spec: "target:\n  url: http://x/mcp\n  bearer_token: ${NOPE_TOKEN}\n", wantErr: "NOPE_TOKEN is not set"},
		{name: "error_type must be known", spec: "steps:\n  - ping:\n    expect: {error_type: boom}\n", wantErr: `error_type "boom" is not one of`, wantLine: 2},
		{name: "a bad regexp is refused", spec: "steps:\n  - ping:\n    expect: {text_matches: \"(\"}\n", wantErr: "not a valid regular expression", wantLine: 2},
		{name: "a bad comparison is refused", spec: "steps:\n  - ping:\n    expect: {structured: {x: {gt: abc}}}\n", wantErr: "gt needs a number", wantLine: 2},
		{name: "target needs one of url and command", spec: "target: {url: http://x, command: y}\n", wantErr: "both url and command"},
		{name: "a target needs url or command", spec: "target: {args: [x]}\n", wantErr: "target: invalid connection spec: neither url nor command was given"},
		{name: "a target's transport is known", spec: "target: {command: y, transport: pigeon}\n", wantErr: `transport "pigeon" is not one of auto, stdio, streamable-http, sse`},
		{name: "a target's options fit it", spec: "target: {command: y, headers: {X-A: b}}\n", wantErr: "headers and bearer_token apply only to HTTP targets"},
		{name: "an unknown content type is refused", spec: "steps:\n  - call_tool: echo\n    expect: {content_types: [txt]}\n", wantErr: `content type "txt" is not one of text, image, audio, resource, resource_link`, wantLine: 2},
		{name: "a resource has text and blob contents", spec: "steps:\n  - read_resource: x://y\n    expect: {content_types: [image]}\n", wantErr: `content type "image" is not one of text, blob`, wantLine: 2},
		{name: "a list has no content types", spec: "steps:\n  - list_tools:\n    expect: {content_types: [text]}\n", wantErr: "list_tools answers have no content types", wantLine: 2},
		{name: "ping: false is refused", spec: "steps:\n  - ping: false\n", wantErr: "ping takes no parameters", wantLine: 2},
		{name: "a list takes no parameters", spec: "steps:\n  - list_tools: {cursor: abc}\n", wantErr: "list_tools takes no parameters", wantLine: 2},
		{name: "ping: true, {} and nothing are fine", spec: "steps:\n  - ping: true\n  - ping: {}\n  - ping:\n", check: func(t *testing.T, s *Spec) { assert.Len(t, s.Steps, 3) }},
		{name: "an absurd step timeout is refused", spec: "steps:\n  - ping:\n    timeout_seconds: 1e9\n", wantErr: "at most 86400", wantLine: 2},
		{name: "an absurd target timeout is refused", spec: "target: {url: http://x/mcp, call_timeout_seconds: 1e9}\n", wantErr: "at most 86400 seconds"},
		{name: "$$ is a literal dollar", spec: "target: {command: 'a$$b'}\n", check: func(t *testing.T, s *Spec) { assert.Equal(t, "a$b", s.Target.Command) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			s, err := ParseSpec([]byte(tc.spec), "checks.yaml", getenv)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				if tc.wantLine > 0 {
					var se *SpecError
					require.True(t, errors.As(err, &se), "%T", err)
					assert.Equal(t, tc.wantLine, se.Line, "%v", err)
					assert.Contains(t, err.Error(), "checks.yaml:")
				}
				return
			}
			require.NoError(t, err)
			tc.check(t, s)
		})
	}
}

func TestTheDocumentedExampleParses(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testtargets.Root(t), "docs", "spec.md"))
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(doc, -1)
	require.NotEmpty(t, blocks)
	spec, err := ParseSpec(blocks[0][1], "docs/spec.md", func(string) (string, bool) { return "key", true })
	require.NoError(t, err)
	assert.Len(t, spec.Steps, 7)
}

func TestCompareValue(t *testing.T) {
	sum := 0.1
	sum += 0.2
	doc := plain(map[string]any{"a": map[string]any{"b": []any{1, map[string]any{"c": "hello"}}}, "n": 4.5, "f": false,
		"t": int64(1700000000000), "o": map[string]any{"t": int64(1700000000000)}, "x": sum})
	tests := []struct {
		path string
		want any
		ok   bool
	}{
		{"n", 4.5, true},
		{"n", map[string]any{"gt": 3}, true},
		{"n", map[string]any{"gte": 4.5, "lt": 5}, true},
		{"n", map[string]any{"lte": 4}, false},
		{"n", map[string]any{"ne": 4}, true},
		{"a.b[1].c", "hello", true},
		{"a.b.1.c", map[string]any{"matches": "^hel"}, true},
		{"a.b.0", 1, true},
		{"f", false, true},
		{"missing", map[string]any{"exists": false}, true},
		{"missing", map[string]any{"exists": true}, false},
		{"a.b", []any{1, map[string]any{"c": "hello"}}, true},
		{"missing", "x", false},
		{"t", 1700000001000, false},
		{"t", 1700000000000, true},
		{"t", 1.7e12, true},
		{"t", map[string]any{"ne": 1700000001000}, true},
		{"o", map[string]any{"t": 1700000001000}, false},
		{"o", map[string]any{"t": 1700000000000}, true},
		{"x", 0.3, true},
		{"x", 0.3000001, false},
	}
	for _, tc := range tests {
		got, found := lookup(doc, tc.path)
		ok, expected := compareValue(tc.want, got, found)
		assert.Equal(t, tc.ok, ok, "%s %v: expected %s, got %v", tc.path, tc.want, expected, got)
	}
}

func TestStablePrefix(t *testing.T) {
	assert.Equal(t, "Echo: hello", StablePrefix("Echo: hello\nmore"))
	assert.Equal(t, "The sum of", StablePrefix("The sum of 2 and 3 is 5"))
	assert.Equal(t, "", StablePrefix("42"))
	long := strings.Repeat("word ", 40)
	assert.LessOrEqual(t, len(StablePrefix(long)), 80)
	assert.Equal(t, map[string]any{"a.b": "x", "n": 1.0, "l.0": true}, StructuredExpectations(map[string]any{"a": map[string]any{"b": "x"}, "n": 1, "l": []any{true}}, 10))
}

func TestRunReportsSurface(t *testing.T) {
	var progress strings.Builder
	rep, err := Run(t.Context(), &Options{Target: exampleTarget(t, "normal"), Progress: &progress})
	require.NoError(t, err)
	assert.True(t, rep.Passed, "%+v", rep.Checks)
	var names []string
	for _, c := range rep.Checks {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"connect", "list_tools", "list_resources", "list_resource_templates", "list_prompts", "ping"}, names,
		"a plain check lists what is declared and pings, nothing else")
	assert.Contains(t, rep.Surface.Tools, "echo")
	assert.Equal(t, 2, rep.Surface.Resources)
	assert.Regexp(t, regexp.MustCompile(`(?m)^\[2/6\] list_tools … ok `), progress.String())
	assert.Regexp(t, regexp.MustCompile(`(?m)^\[6/6\] ping … ok `), progress.String())
	assert.Equal(t, 6, rep.Summary.Total, "the progress counts what the summary counts")
	renderAll(t, rep)
}

func TestRunSpecSteps(t *testing.T) {
	spec, err := ParseSpec([]byte(`
name: example
steps:
  - call_tool: echo
    arguments: {message: hello}
    expect: {text_contains: hello, content_types: [text], max_ms: 5000}
  - name: add has a sum
    call_tool: add
    arguments: {a: 2, b: 3}
    expect: {structured: {sum: 5}, output_schema_valid: true}
  - call_tool: add
    arguments: {a: 2, b: 3}
    expect: {structured: {sum: {gt: 10}}, text_matches: "^9$"}
  - call_tool: fail
    arguments: {message: boom}
    expect: {is_error: true, text_contains: boom}
  - call_tool: bad_structured
    expect: {output_schema_valid: false}
  - call_tool: nope
    expect: {error_type: tool_not_found}
  - read_resource: example://readme
    expect: {content_types: [text]}
  - get_prompt: greet
    arguments: {name: Ada}
    expect: {text_contains: Ada}
  - list_tools:
    expect: {structured: {count: {gte: 10}}, text_contains: echo}
  - ping:
  - call_tool: echo
    arguments: {message: hi}
    expect: {error_type: timeout}
`), "spec.yaml", noEnv)
	require.NoError(t, err)
	rep, err := Run(t.Context(), &Options{Spec: spec, Target: exampleTarget(t, "faults")})
	require.NoError(t, err)

	byLine := map[int]Check{}
	for _, c := range rep.Checks {
		if c.Group == GroupSteps {
			byLine[c.Line] = c
		}
	}
	require.Len(t, byLine, 11, "%+v", rep.Checks)
	for line, c := range byLine {
		switch line {
		case 11:
			assert.Equal(t, StatusFailed, c.Status, "the failing expectation fails")
			assert.Equal(t, "call_tool add", c.Name)
			require.Len(t, c.Failures, 2)
			assert.Equal(t, "text_matches", c.Failures[0].Expectation)
			assert.Equal(t, `text "5"`, c.Failures[0].Actual, "the report says what came back")
			assert.Equal(t, "structured.sum", c.Failures[1].Expectation)
			assert.Equal(t, "gt 10", c.Failures[1].Expected)
			assert.Equal(t, "5", c.Failures[1].Actual)
		case 29:
			assert.Equal(t, StatusFailed, c.Status)
			assert.Equal(t, "error_type", c.Failures[0].Expectation)
			assert.Contains(t, c.Failures[0].Actual, "the step succeeded")
		default:
			assert.Equal(t, StatusPassed, c.Status, "line %d %s: %+v", line, c.Name, c.Failures)
		}
	}
	assert.Equal(t, "add has a sum", byLine[7].Name)
	assert.Equal(t, 2, rep.Summary.Failed)
	assert.Equal(t, 1, rep.ExitCode())
	_, doc := renderAll(t, rep)
	var failure *xsdFailure
	for _, s := range doc.Suites {
		for _, tc := range s.Cases {
			if tc.Failure != nil && tc.Name == "call_tool add" {
				failure = tc.Failure
			}
		}
	}
	require.NotNil(t, failure)
	assert.Contains(t, failure.Text, "spec line 11")
	assert.Contains(t, failure.Text, "structured.sum: expected gt 10, got 5")
}

func TestRunCannotConnect(t *testing.T) {
	rep, err := Run(t.Context(), &Options{Target: exampleTarget(t, "exit-before-init")})
	require.NoError(t, err)
	require.NotNil(t, rep.ConnectError)
	assert.Equal(t, "connection_failed", rep.ConnectError.Type)
	assert.Contains(t, rep.ConnectError.StderrTail, "missing configuration file")
	assert.Equal(t, 3, rep.ExitCode())
	renderAll(t, rep)
}

func TestRunScrubsSecrets(t *testing.T) {
	const secret = "tok-SECRET-4411"
	spec, err := ParseSpec([]byte(`
target:
  command: replaced-below
  env: {MY_API_TOKEN: "${SECRET_SOURCE}"}
steps:
  - call_tool: env
    arguments: {name: MY_API_TOKEN}
    expect: {text_contains: nothing-like-this}
`), "spec.yaml", func(k string) (string, bool) { return secret, k == "SECRET_SOURCE" })
	require.NoError(t, err)
	target := exampleTarget(t, "faults")
	maps.Copy(target.Env, spec.Target.Env)
	rep, err := Run(t.Context(), &Options{Spec: spec, Target: target})
	require.NoError(t, err)
	require.Equal(t, 1, rep.Summary.Failed)
	var js, text, junit strings.Builder
	require.NoError(t, rep.WriteJSON(&js))
	require.NoError(t, rep.WriteText(&text, nil))
	require.NoError(t, rep.WriteJUnit(&junit))
	for _, out := range []string{js.String(), text.String(), junit.String()} {
		assert.NotContains(t, out, secret)
	}
	assert.Contains(t, js.String(), `text \"***\"`, "the echoed secret is masked")
}

func TestSnapshotClassifiesChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "surface.json")
	run := func(surface string, update bool) *Report {
		t.Helper()
		rep, err := Run(t.Context(), &Options{
			Target:         variant(t, surface),
			Snapshot:       path,
			UpdateSnapshot: update,
		})
		require.NoError(t, err)
		require.NotNil(t, rep.Snapshot, "%+v", rep.Checks)
		renderAll(t, rep)
		return rep
	}

	rep := run("v1", false)
	assert.Equal(t, "created", rep.Snapshot.Status)
	assert.True(t, rep.Passed)
	first, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(first), `"name": "lookup"`)

	rep = run("v1", false)
	assert.Equal(t, "unchanged", rep.Snapshot.Status)
	assert.True(t, rep.Passed)
	again, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(first), string(again), "the snapshot is stable")

	// Each run compares with the snapshot the runs before it left.
	for _, tc := range []struct {
		variant            string
		update             bool
		status             string
		passed             bool
		why                string
		additive, breaking []string
	}{
		{variant: "additive", status: "changed", passed: true, why: "additions are information", additive: []string{
			"tool lookup input: new optional property limit",
			"tool lookup output: new property rank",
			"tool ping2 was added",
			"prompt brief: new optional argument tone",
			"prompt extra was added",
		}},
		{variant: "breaking", status: "breaking", passed: false, why: "a breaking change fails the run", breaking: []string{
			"tool status was removed",
			"tool lookup input: new required property region",
			"tool lookup output.score was removed",
			"prompt brief: new required argument audience",
		}},
		{variant: "breaking", update: true, status: "updated", passed: true, why: "--update-snapshot accepts the change"},
		{variant: "breaking", status: "unchanged", passed: true, why: "the rewritten snapshot is the surface"},
	} {
		rep := run(tc.variant, tc.update)
		assert.Equal(t, tc.status, rep.Snapshot.Status, tc.variant)
		assert.Equal(t, tc.passed, rep.Passed, "%s: %+v", tc.why, rep.Snapshot)
		if !tc.passed {
			assert.Equal(t, 1, rep.ExitCode())
		}
		if tc.additive != nil {
			assert.Empty(t, rep.Snapshot.Breaking)
			assert.ElementsMatch(t, tc.additive, rep.Snapshot.Additive)
		}
		if tc.breaking != nil {
			assert.ElementsMatch(t, tc.breaking, rep.Snapshot.Breaking)
		}
	}
}

// callAllCovers runs check --call-all against a reference server and checks
// that every tool but the destructive ones was called, with the three
// report formats in agreement.
func callAllCovers(t *testing.T, target *Target) {
	t.Helper()
	text := "mcp-test-mcp says hi"
	rep, err := Run(t.Context(), &Options{
		Target:  target,
		CallAll: true,
		Client:  &Client{SamplingResponse: &text, ElicitationAction: "accept", Roots: []string{"file:///tmp"}},
	})
	require.NoError(t, err)
	require.Nil(t, rep.ConnectError)
	require.NotEmpty(t, rep.Surface.Tools)
	called := map[string]Check{}
	for _, c := range rep.Checks {
		if c.Group == GroupCallAll {
			called[strings.TrimPrefix(c.Name, "call_tool ")] = c
		}
	}
	assert.ElementsMatch(t, rep.Surface.Tools, keys(called), "every tool has a check")
	for name, c := range called {
		if c.Status == StatusSkipped {
			assert.Contains(t, c.Message, "destructiveHint", "%s is skipped only when destructive", name)
			continue
		}
		assert.Contains(t, c.Notes[0], "called with generated arguments", name)
		if c.ErrorType == "tool_error" {
			assert.Contains(t, c.Message, "to generated arguments, which may be wrong", "a tool error is put down to the generated arguments")
			assert.Equal(t, StatusWarning, c.Status, name)
		}
	}
	// Tools that need sampling, elicitation and roots were answered.
	for name, c := range called {
		if strings.Contains(name, "sampling") || strings.Contains(name, "roots") || name == "test_elicitation" || name == "trigger-elicitation-request" {
			assert.Equal(t, StatusPassed, c.Status, "%s: %s %+v", name, c.Message, c.Failures)
		}
	}
	renderAll(t, rep)
}

func keys[T any](m map[string]T) []string { return slices.Collect(maps.Keys(m)) }

func TestCallAllGoEverythingServer(t *testing.T) {
	t.Parallel()
	callAllCovers(t, &Target{Command: testtargets.GoEverythingServer(t)})
}

func TestElicitationSchemasGoSDKRefusesReachTheAnswer(t *testing.T) {
	t.Parallel()
	// go-sdk's conformance server asks for SEP-1330 enums: titled with
	// oneOf/anyOf of const and title, and multi-select arrays of them.
	spec, err := ParseSpec([]byte(`
client: {elicitation_action: accept}
steps:
  - call_tool: test_elicitation_sep1330_enums
    expect: {text_contains: "action=accept"}
`), "spec.yaml", noEnv)
	require.NoError(t, err)
	rep, err := Run(t.Context(), &Options{Spec: spec, Target: &Target{Command: testtargets.GoEverythingServer(t)}})
	require.NoError(t, err)
	require.Len(t, rep.Checks, 2)
	assert.Equal(t, StatusPassed, rep.Checks[1].Status, "%+v", rep.Checks[1])
}

func TestCallAllNodeServerEverything(t *testing.T) {
	t.Parallel()
	node, script := testtargets.NodeEverything(t)
	callAllCovers(t, &Target{Command: node, Args: []string{script, "stdio"}})
}

func TestCallAllSkipsDestructiveTools(t *testing.T) {
	t.Parallel()
	rep, err := Run(t.Context(), &Options{
		Target: exampleTarget(t, "faults"), CallAll: true, CallTimeout: 2e9,
		Skip: []string{"hang", "crash", "stop_reading", "huge", "sample"},
	})
	require.NoError(t, err)
	status := map[string]string{}
	for _, c := range rep.Checks {
		status[c.Name] = c.Status + " " + c.Message
	}
	assert.Contains(t, status["call_tool destructive_reset"], "skipped: annotated destructiveHint")
	assert.Contains(t, status["call_tool hang"], "skipped: named by --skip")
	assert.Contains(t, status["call_tool fail"], "warning answered isError: true to generated arguments, which may be wrong")
	assert.Contains(t, status["call_tool bad_structured"], "failed the structured content does not match")
	assert.Contains(t, status["call_tool echo"], "passed")
}

func TestCallAllReconnectsAfterACrash(t *testing.T) {
	t.Parallel()
	var progress strings.Builder
	rep, err := Run(t.Context(), &Options{Target: exampleTarget(t, "faults"), CallAll: true, Skip: []string{"hang", "stop_reading", "huge", "sample"}, Progress: &progress})
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
	last := fmt.Sprintf("[%d/%d] ", rep.Summary.Total, rep.Summary.Total)
	assert.True(t, strings.HasPrefix(lines[len(lines)-1], last), "the progress ends at the summary's total, the reconnect included: %q", lines[len(lines)-1])
	names := namesAndStatuses(rep)
	i := slices.Index(names, "call_tool crash failed")
	require.GreaterOrEqual(t, i, 0, "%v", names)
	assert.Equal(t, "reconnect passed", names[i+1], "%v", names)
	assert.Contains(t, names, "call_tool echo passed", "later calls run on the new connection")
}

func TestChecksAfterATargetThatCannotRestartAreSkipped(t *testing.T) {
	t.Parallel()
	spec, err := ParseSpec([]byte(`
steps:
  - call_tool: crash
  - call_tool: crash
`), "spec.yaml", noEnv)
	require.NoError(t, err)
	target := variant(t, "once")
	target.Env[onceEnv] = filepath.Join(t.TempDir(), "started")
	rep, err := Run(t.Context(), &Options{Spec: spec, Target: target, Audit: true})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"connect passed", "call_tool crash failed", "reconnect failed", "call_tool crash skipped", "audit skipped",
	}, namesAndStatuses(rep), "one reconnect is tried, then the checks left are skipped")
	for _, c := range rep.Checks[3:] {
		assert.Equal(t, "skipped: the target could not be restarted after it was lost", c.Message, c.Name)
	}
	assert.False(t, rep.Passed)
	renderAll(t, rep)
}

func TestCallAllBlamesTheToolThatStoppedTheTarget(t *testing.T) {
	t.Parallel()
	rep, err := Run(t.Context(), &Options{
		Target: exampleTarget(t, "faults"), CallAll: true, CallTimeout: 2 * time.Second,
		Skip: []string{"hang", "crash", "huge", "sample"},
	})
	require.NoError(t, err)
	names := namesAndStatuses(rep)
	i := slices.Index(names, "call_tool stop_reading failed")
	require.GreaterOrEqual(t, i, 0, "%v", names)
	assert.Contains(t, rep.Checks[i].Message, "the target stopped answering after this call")
	require.Greater(t, len(names), i+2, "%v", names)
	assert.Equal(t, "reconnect passed", names[i+1], "%v", names)
	assert.Equal(t, "call_tool tiny_image passed", names[i+2], "the next tool runs on a new connection, not blamed: %v", names)
}

func TestCallAllWarnsOnToolErrorsUnlessStrict(t *testing.T) {
	t.Parallel()
	target := variant(t, "apps")
	for _, strict := range []bool{false, true} {
		rep, err := Run(t.Context(), &Options{Target: target, CallAll: true, Strict: strict})
		require.NoError(t, err)
		status := map[string]Check{}
		for _, c := range rep.Checks {
			status[c.Name] = c
		}
		if strict {
			assert.Equal(t, StatusFailed, status["call_tool refuses"].Status, "--strict keeps isError a failure")
			assert.False(t, rep.Passed)
			continue
		}
		assert.Equal(t, StatusWarning, status["call_tool refuses"].Status)
		assert.Contains(t, status["call_tool refuses"].Message, "id is required")
		assert.Equal(t, StatusSkipped, status["call_tool app_only"].Status)
		assert.Contains(t, status["call_tool app_only"].Message, `the app calls it, not the model (_meta.ui.visibility is ["app"])`)
		assert.Equal(t, StatusPassed, status["call_tool app_and_model"].Status)
		assert.Equal(t, StatusPassed, status["call_tool plain"].Status)
		assert.True(t, rep.Passed, "a warning does not fail the run")
		assert.Equal(t, 0, rep.ExitCode())
		assert.Equal(t, 1, rep.Summary.Warnings)
		renderAll(t, rep)
	}
}

func TestTextReportShowsTargetControlCharactersEscaped(t *testing.T) {
	t.Parallel()
	raw := []string{"\x1b", "\x07", "\u202e", "\u009b"}
	check := func(t *testing.T, rep *Report, progress string) {
		var text strings.Builder
		require.NoError(t, rep.WriteText(&text, &TextOptions{Color: false}))
		for _, out := range []string{text.String(), progress} {
			for _, r := range raw {
				assert.NotContains(t, out, r, "a raw control character reached the terminal:\n%s", out)
			}
			assert.Contains(t, out, `\x1b]52;c;cHduZWQ=\x07`, "the OSC 52 sequence is shown, escaped")
		}
		var js strings.Builder
		require.NoError(t, rep.WriteJSON(&js))
		var back Report
		require.NoError(t, json.Unmarshal([]byte(js.String()), &back))
		assert.Equal(t, rep.Checks, back.Checks, "the JSON report keeps the strings exact")
	}
	t.Run("tool names, errors and schema errors", func(t *testing.T) {
		var progress strings.Builder
		target := variant(t, "escapes")
		rep, err := Run(t.Context(), &Options{Target: target, CallAll: true, Strict: true, Progress: &progress})
		require.NoError(t, err)
		require.Contains(t, rep.Surface.Tools, "tool"+osc52, "the target's tool name reached the report as sent")
		check(t, rep, progress.String())
		var text strings.Builder
		require.NoError(t, rep.WriteText(&text, nil))
		assert.Contains(t, text.String(), `error\x1b]52;c;cHduZWQ=\x07\u202e\u009b31m`)
	})
	t.Run("the stderr tail of a target that did not start", func(t *testing.T) {
		var progress strings.Builder
		target := variant(t, "escapes-exit")
		rep, err := Run(t.Context(), &Options{Target: target, Progress: &progress})
		require.NoError(t, err)
		require.NotNil(t, rep.ConnectError)
		check(t, rep, progress.String())
	})
}

// namesAndStatuses lists the checks in order, each as "name status".
func namesAndStatuses(rep *Report) []string {
	var out []string
	for _, c := range rep.Checks {
		out = append(out, c.Name+" "+c.Status)
	}
	return out
}

func TestAuditFindingsFailAtTheChosenSeverity(t *testing.T) {
	// The variant server's tools have no descriptions: warnings, no errors.
	target := variant(t, "v1")
	tests := []struct {
		failOn     audit.Severity
		wantPassed bool
	}{
		{audit.SeverityError, true},
		{audit.SeverityWarning, false},
	}
	for _, tt := range tests {
		t.Run("fail-on "+string(tt.failOn), func(t *testing.T) {
			rep, err := Run(t.Context(), &Options{Target: target, Audit: true, AuditProbe: true, FailOn: tt.failOn})
			require.NoError(t, err)
			require.NotNil(t, rep.Audit)
			assert.Equal(t, tt.wantPassed, rep.Passed, "%+v", rep.Checks)
			var rules []string
			for _, c := range rep.Checks {
				if c.Group == GroupAudit {
					rules = append(rules, strings.Fields(c.Name)[0])
					assert.Equal(t, !tt.wantPassed, c.Status == StatusFailed, c.Name)
				}
			}
			assert.Contains(t, rules, "tool.description.missing")
			renderAll(t, rep)
		})
	}
}

func TestCallAllSurvivesHostileSchemas(t *testing.T) {
	t.Parallel()
	rep, err := Run(t.Context(), &Options{
		Target:  variant(t, "hostile"),
		CallAll: true,
	})
	require.NoError(t, err)
	require.Nil(t, rep.ConnectError)
	called := map[string]Check{}
	for _, c := range rep.Checks {
		if c.Group == GroupCallAll {
			called[strings.TrimPrefix(c.Name, "call_tool ")] = c
		}
	}
	assert.ElementsMatch(t, append(keys(hostileSchemas), "odd_keys"), keys(called), "every tool got a check and the run went on")
	// Where the generator could not meet the schema, the tool is skipped
	// with the part it could not meet rather than called with arguments it
	// knows to be wrong.
	unmet := map[string]string{
		"huge_min_length":  "properties.s.minLength: 1e+12 bytes is more than the 1024 the generator makes",
		"huge_min_items":   "properties.a.minItems: 1e+12 items is more than the 16 the generator makes",
		"self_all_of":      "properties.x: allOf, anyOf or oneOf nested deeper than 16 levels",
		"self_any_of":      "properties.x: allOf, anyOf or oneOf nested deeper than 16 levels",
		"branching_all_of": "properties.x: allOf, anyOf or oneOf nested deeper than 16 levels",
		"self_nested":      "the value nests deeper than 16 levels",
		"tiny_multiple_of": "properties.n: no number meets its minimum, maximum and multipleOf",
		// No string is at most -1 long: the arguments fail the schema.
		"negative_max_length": "the generated arguments do not validate",
	}
	for name, c := range called {
		if want, ok := unmet[name]; ok {
			assert.Equal(t, StatusSkipped, c.Status, "%s: %s", name, c.Message)
			assert.Contains(t, c.Message, "skipped: no arguments that satisfy its inputSchema could be generated: ", name)
			assert.Contains(t, c.Message, want, name)
			continue
		}
		assert.Equal(t, StatusPassed, c.Status, "%s: %s", name, c.Message)
	}
	renderAll(t, rep)
}

func TestSpecScalarsAreSentAsWritten(t *testing.T) {
	spec, err := ParseSpec([]byte(`
steps:
  - get_prompt: greet
    arguments: {name: 2024-01-02}
    expect: {text_contains: "Say hi to 2024-01-02."}
  - call_tool: echo
    arguments: {message: 2024-01-02 10:00:00}
    expect: {text_contains: "2024-01-02 10:00:00"}
  - call_tool: echo
    arguments: {message: .inf}
    expect: {text_contains: ".inf"}
`), "spec.yaml", noEnv)
	require.NoError(t, err, "an unquoted date is a prompt argument like any other string")
	assert.Equal(t, "2024-01-02", spec.Steps[0].Arguments["name"])
	rep, err := Run(t.Context(), &Options{Spec: spec, Target: exampleTarget(t, "normal")})
	require.NoError(t, err)
	assert.True(t, rep.Passed, "%+v", rep.Checks)
}

func TestSpecPromptArgumentsFollowTheOneRule(t *testing.T) {
	t.Parallel()
	spec, err := ParseSpec([]byte(`
steps:
  - get_prompt: greet
    arguments: {name: 42}
    expect: {text_contains: "Say hi to 42."}
  - get_prompt: greet
    arguments: {name: true}
    expect: {text_contains: "Say hi to true."}
`), "spec.yaml", noEnv)
	require.NoError(t, err)
	rep, err := Run(t.Context(), &Options{Spec: spec, Target: exampleTarget(t, "normal")})
	require.NoError(t, err)
	assert.True(t, rep.Passed, "%+v", rep.Checks)

	_, err = ParseSpec([]byte("steps:\n  - get_prompt: greet\n    arguments: {name: {first: Ada}}\n"), "spec.yaml", noEnv)
	assert.EqualError(t, err, `spec.yaml:2: step 1: prompt arguments are strings: "name" is an object; pass structured values as JSON text, e.g. {"name": "[1, 2]"}`,
		"the error of get_prompt and execute_prompt, with the line")
}

func TestAbsenceHoldsWithoutStructuredContent(t *testing.T) {
	// echo answers with text only.
	spec, err := ParseSpec([]byte(`
steps:
  - call_tool: echo
    arguments: {message: hi}
    expect: {structured: {x: {exists: false}, y: {ne: 3}}}
  - call_tool: echo
    arguments: {message: hi}
    expect: {structured: {x: {exists: true}}}
`), "spec.yaml", noEnv)
	require.NoError(t, err)
	rep, err := Run(t.Context(), &Options{Spec: spec, Target: exampleTarget(t, "normal")})
	require.NoError(t, err)
	var steps []Check
	for _, c := range rep.Checks {
		if c.Group == GroupSteps {
			steps = append(steps, c)
		}
	}
	require.Len(t, steps, 2)
	assert.Equal(t, StatusPassed, steps[0].Status, "exists: false and ne pass when there is nothing: %+v", steps[0].Failures)
	assert.Equal(t, StatusFailed, steps[1].Status)
	require.Len(t, steps[1].Failures, 1)
	assert.Equal(t, "no structured content", steps[1].Failures[0].Actual)
}

func TestExportedPathsFindTheirValues(t *testing.T) {
	exp := StructuredExpectations(oddKeys, 100)
	assert.Len(t, exp, 7, "every scalar leaf, whatever its key: %v", exp)
	assert.Equal(t, oddKeys["$schema"], exp[`["$schema"]`])
	assert.Equal(t, true, exp[`plain["x.y"]`])
	for path, want := range exp {
		got, found := lookup(oddKeys, path)
		assert.True(t, found, "%s is found", path)
		assert.Equal(t, want, got, path)
	}

	// The same paths hold against the server's answer.
	spec := &Spec{Steps: []Step{{CallTool: "odd_keys", action: ActionCallTool, Expect: &Expect{Structured: exp}}}}
	b, err := Marshal(spec, false)
	require.NoError(t, err)
	spec, err = ParseSpec(b, "exported.yaml", noEnv)
	require.NoError(t, err, "%s", b)
	rep, err := Run(t.Context(), &Options{Spec: spec, Target: variant(t, "hostile")})
	require.NoError(t, err)
	assert.True(t, rep.Passed, "%s\n%+v", b, rep.Checks)

	_, err = ParseSpec([]byte("steps:\n  - ping:\n    expect: {structured: {'[\"a': 1}}\n"), "spec.yaml", noEnv)
	assert.ErrorContains(t, err, "no closing")
}

func TestJUnitNamesRepeatedStepsApart(t *testing.T) {
	rep := &Report{Name: "r", StartedAt: "2026-01-02T03:04:05.000Z", Checks: []Check{
		{Name: "call_tool echo", Group: GroupSteps, Status: StatusPassed},
		{Name: "call_tool echo", Group: GroupSteps, Status: StatusFailed, Message: "not as expected"},
		{Name: "call_tool echo", Group: GroupSteps, Status: StatusPassed},
		{Name: "call_tool echo", Group: GroupCallAll, Status: StatusPassed},
	}}
	rep.tally()
	_, doc := renderAll(t, rep)
	var names []string
	for _, s := range doc.Suites {
		for _, tc := range s.Cases {
			names = append(names, tc.Name)
		}
	}
	assert.Equal(t, []string{"call_tool echo", "call_tool echo", "call_tool echo #2", "call_tool echo #3"}, names,
		"unique within a suite (call_all comes first)")
}

func TestElicitAnswer(t *testing.T) {
	form := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"name":  map[string]any{"type": "string"},
			"email": map[string]any{"type": "string", "format": "email"},
			"tone":  map[string]any{"type": "string", "default": "warm"},
			"odd":   map[string]any{"type": "string", "maxLength": -1, "minLength": 1 << 30},
		},
		"required": []any{"name", "email", "odd"},
	}
	t.Run("accepting with no content fills defaults and required fields, and names them", func(t *testing.T) {
		res := ElicitAnswer("accept", nil, &mcp.ElicitParams{RequestedSchema: form})
		assert.Equal(t, "accept", res.Action)
		assert.Equal(t, "warm", res.Content["tone"])
		assert.Equal(t, "test@example.com", res.Content["email"])
		assert.NotEmpty(t, res.Content["name"])
		assert.LessOrEqual(t, len(res.Content["odd"].(string)), 1024, "a hostile schema gets a bounded value, not a panic")
		assert.Equal(t, []string{"tone"}, res.Meta[MetaDefaulted])
		assert.ElementsMatch(t, []string{"name", "email", "odd"}, res.Meta[MetaPlaceholders])
	})
	t.Run("given content is sent as given", func(t *testing.T) {
		res := ElicitAnswer("accept", map[string]any{"name": "Ada"}, &mcp.ElicitParams{RequestedSchema: form})
		assert.Equal(t, map[string]any{"name": "Ada"}, res.Content)
		assert.Nil(t, res.Meta)
	})
	t.Run("declining sends no content", func(t *testing.T) {
		res := ElicitAnswer("decline", map[string]any{"name": "Ada"}, &mcp.ElicitParams{RequestedSchema: form})
		assert.Equal(t, "decline", res.Action)
		assert.Nil(t, res.Content)
	})
}
