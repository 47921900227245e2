package check

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

// variantEnv selects the surface of the variant server (see variantServer).
const variantEnv = "CHECK_TEST_VARIANT"

// onceEnv names the file the "once" variant leaves, so that it starts
// only once.
const onceEnv = "CHECK_TEST_ONCE_MARKER"

// variantTarget is the name of the check tests' own target (see
// variantServer and hostile.ServeIfAsked).
const variantTarget = "variant-server"

// TestMain lets the test binary be its own target (hostile.ServeIfAsked):
// the example server (exampleTarget), or a small server whose surface
// depends on $CHECK_TEST_VARIANT (variant).
func TestMain(m *testing.M) {
	hostile.ServeIfAsked(map[string]func([]string) error{
		variantTarget: func([]string) error { return variantServer(os.Getenv(variantEnv)) },
	})
	os.Exit(m.Run())
}

// variant runs the variant server with the surface v.
func variant(t testing.TB, v string) *Target {
	env := hostile.Env(variantTarget)
	env[variantEnv] = v
	return &Target{Command: self(t), Env: env}
}

// variantServer serves a surface that changes with variant:
//
//	v1       lookup(id) → {name, score (required)}; prompt brief(topic); status
//	additive v1 + lookup takes an optional limit, returns an extra field, new tool ping2, new prompt
//	breaking lookup needs a new required argument, score is gone from the output, status removed, brief needs an argument
//	hostile  only tools whose input schemas are hostile to an argument generator (hostileSchemas)
//	once     a tool crash that exits; started again ($CHECK_TEST_ONCE_MARKER exists), it exits at once
func variantServer(variant string) error {
	if variant == "escapes" {
		return escapesServer()
	}
	if variant == "escapes-exit" {
		fmt.Fprintf(os.Stderr, "fatal: %s%s\u202eevil\n", clear, osc52)
		os.Exit(3)
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "variant", Version: "1.0.0"}, nil)
	if variant == "apps" {
		ok := func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "done"}}}, nil
		}
		obj := map[string]any{"type": "object"}
		s.AddTool(&mcp.Tool{Name: "app_only", InputSchema: obj, Meta: mcp.Meta{"ui": map[string]any{"visibility": []any{"app"}}}}, ok)
		s.AddTool(&mcp.Tool{Name: "app_and_model", InputSchema: obj, Meta: mcp.Meta{"ui": map[string]any{"visibility": []any{"model", "app"}}}}, ok)
		s.AddTool(&mcp.Tool{Name: "plain", InputSchema: obj}, ok)
		s.AddTool(&mcp.Tool{Name: "refuses", InputSchema: obj}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "id is required"}}}, nil
		})
		return s.Run(context.Background(), &mcp.StdioTransport{})
	}
	if variant == "once" {
		marker := os.Getenv(onceEnv)
		if _, err := os.Stat(marker); err == nil {
			return fmt.Errorf("started once already (%s exists)", marker)
		}
		if err := os.WriteFile(marker, nil, 0o600); err != nil {
			return err
		}
		s.AddTool(&mcp.Tool{Name: "crash", InputSchema: map[string]any{"type": "object"}}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			os.Exit(2)
			return nil, nil
		})
		return s.Run(context.Background(), &mcp.StdioTransport{})
	}
	if variant == "hostile" {
		for name, schema := range hostileSchemas {
			var in map[string]any
			if err := json.Unmarshal([]byte(schema), &in); err != nil {
				return fmt.Errorf("schema of %s: %w", name, err)
			}
			s.AddTool(&mcp.Tool{Name: name, InputSchema: in}, func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("%d bytes of arguments", len(req.Params.Arguments))}}}, nil
			})
		}
		s.AddTool(&mcp.Tool{Name: "odd_keys", InputSchema: map[string]any{"type": "object"}}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{StructuredContent: oddKeys}, nil
		})
		return s.Run(context.Background(), &mcp.StdioTransport{})
	}
	in := map[string]any{
		"type":       "object",
		"properties": map[string]any{"id": map[string]any{"type": "string"}},
		"required":   []any{"id"},
	}
	out := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"name":  map[string]any{"type": "string"},
			"score": map[string]any{"type": "number"},
		},
		"required": []any{"name", "score"},
	}
	promptArgs := []*mcp.PromptArgument{{Name: "topic", Required: true}}
	switch variant {
	case "additive":
		in["properties"].(map[string]any)["limit"] = map[string]any{"type": "integer"}
		out["properties"].(map[string]any)["rank"] = map[string]any{"type": "integer"}
		promptArgs = append(promptArgs, &mcp.PromptArgument{Name: "tone"})
	case "breaking":
		in["properties"].(map[string]any)["region"] = map[string]any{"type": "string"}
		in["required"] = []any{"id", "region"}
		delete(out["properties"].(map[string]any), "score")
		out["required"] = []any{"name"}
		promptArgs = append(promptArgs, &mcp.PromptArgument{Name: "audience", Required: true})
	}
	handler := func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{
			Content:           []mcp.Content{&mcp.TextContent{Text: "found"}},
			StructuredContent: map[string]any{"name": "n", "score": 1, "rank": 1},
		}, nil
	}
	s.AddTool(&mcp.Tool{Name: "lookup", InputSchema: in, OutputSchema: out}, handler)
	if variant != "breaking" {
		s.AddTool(&mcp.Tool{Name: "status", InputSchema: map[string]any{"type": "object"}}, handler)
	}
	if variant == "additive" {
		s.AddTool(&mcp.Tool{Name: "ping2", InputSchema: map[string]any{"type": "object"}}, handler)
		s.AddPrompt(&mcp.Prompt{Name: "extra"}, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{}, nil
		})
	}
	s.AddPrompt(&mcp.Prompt{Name: "brief", Arguments: promptArgs}, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{}, nil
	})
	return s.Run(context.Background(), &mcp.StdioTransport{})
}

// osc52 writes "pwned" to the terminal's clipboard; clear clears the screen.
const (
	osc52 = "\x1b]52;c;cHduZWQ=\x07"
	clear = "\x1b[2J\x1b[H"
)

// escapesServer is a target whose every string carries terminal escapes:
// its name, tool names and descriptions, a tool error and stderr.
func escapesServer() error {
	fmt.Fprintf(os.Stderr, "booting %s\u202eevil\n", clear)
	s := mcp.NewServer(&mcp.Implementation{Name: "esc" + osc52, Version: "1" + clear}, nil)
	obj := map[string]any{"type": "object"}
	s.AddTool(&mcp.Tool{Name: "tool" + osc52, Description: "desc" + osc52, InputSchema: obj}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "error" + osc52 + "\u202e\u009b31m"}}}, nil
	})
	s.AddTool(&mcp.Tool{Name: "bad_out", InputSchema: obj, OutputSchema: map[string]any{"type": "object", "properties": map[string]any{"n": map[string]any{"type": "number"}}}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{StructuredContent: map[string]any{"n": "x" + osc52}}, nil
		})
	return s.Run(context.Background(), &mcp.StdioTransport{})
}

// hostileSchemas are input schemas that a naive argument generator panics
// on, overflows its stack on, or allocates gigabytes for, by tool name
// (testdata/schemas/hostile.json, shared with schemacheck's tests).
var hostileSchemas = func() map[string]string {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "schemas", "hostile.json"))
	if err != nil {
		panic(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		panic(err)
	}
	out := map[string]string{}
	for name, schema := range raw {
		out[name] = string(schema)
	}
	return out
}()

// oddKeys is structured content whose keys hold the characters of paths.
var oddKeys = map[string]any{
	"$schema": "https://json-schema.org/draft/2020-12/schema",
	"a.b":     1.0,
	"[0]":     "bracketed",
	"":        "empty",
	`q"\`:     "quote and backslash",
	"list":    []any{map[string]any{"$id": "first"}},
	"plain":   map[string]any{"x.y": true},
}

// self is the test binary, which serves the example and variant servers.
func self(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	return exe
}

// exampleTarget runs the example server in mode.
func exampleTarget(t testing.TB, mode string) *Target {
	return &Target{Command: self(t), Args: []string{"--mode", mode}, Env: hostile.Env(hostile.ExampleServer)}
}

// The JUnit XSD's shape (https://github.com/windyroad/JUnit-Schema), as
// CI systems read it. Unknown elements would be ignored by encoding/xml, so
// every attribute the schema requires is checked explicitly.
type (
	xsdTestsuites struct {
		XMLName xml.Name `xml:"testsuites"`
		Name    string   `xml:"name,attr"`
		xsdCounts
		Suites []xsdTestsuite `xml:"testsuite"`
	}
	xsdTestsuite struct {
		Name string `xml:"name,attr"`
		xsdCounts
		Timestamp string        `xml:"timestamp,attr"`
		Hostname  string        `xml:"hostname,attr"`
		Cases     []xsdTestcase `xml:"testcase"`
		SystemOut *string       `xml:"system-out"`
	}
	// xsdCounts are the attributes the root and each suite both carry.
	xsdCounts struct {
		Tests    *int     `xml:"tests,attr"`
		Failures *int     `xml:"failures,attr"`
		Errors   *int     `xml:"errors,attr"`
		Skipped  *int     `xml:"skipped,attr"`
		Time     *float64 `xml:"time,attr"`
	}
	xsdTestcase struct {
		Name      string      `xml:"name,attr"`
		Classname string      `xml:"classname,attr"`
		Time      *float64    `xml:"time,attr"`
		Failure   *xsdFailure `xml:"failure"`
		Error     *xsdFailure `xml:"error"`
		Skipped   *struct {
			Message string `xml:"message,attr"`
		} `xml:"skipped"`
		SystemOut *string `xml:"system-out"`
	}
	xsdFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)

// counts are a report's totals as each format tells them.
// requireAll requires every count and the time, which the XSD requires of
// a suite; the root has them too.
func (x xsdCounts) requireAll(t *testing.T, where string) {
	t.Helper()
	for _, p := range []*int{x.Tests, x.Failures, x.Errors, x.Skipped} {
		require.NotNil(t, p, "%s has tests, failures, errors and skipped", where)
	}
	require.NotNil(t, x.Time, "%s has a time", where)
}

type counts struct{ total, passed, failed, skipped, warnings int }

// parseJUnit parses JUnit XML into the XSD's shape, checks that every
// required attribute is there and that the totals add up, and returns them.
func parseJUnit(t *testing.T, b []byte) (xsdTestsuites, counts) {
	t.Helper()
	var doc xsdTestsuites
	require.NoError(t, xml.Unmarshal(b, &doc), "the JUnit report parses:\n%s", b)
	doc.requireAll(t, "testsuites")
	var c counts
	for _, s := range doc.Suites {
		require.NotEmpty(t, s.Name)
		s.requireAll(t, "suite "+s.Name)
		assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`, s.Timestamp, "the XSD's timestamp has no zone")
		assert.Equal(t, len(s.Cases), *s.Tests, "suite %s counts its testcases", s.Name)
		var f, sk int
		for _, tc := range s.Cases {
			require.NotEmpty(t, tc.Name)
			require.NotEmpty(t, tc.Classname)
			require.NotNil(t, tc.Time)
			switch {
			case tc.Failure != nil:
				f++
				assert.NotEmpty(t, tc.Failure.Message, "%s: a failure has a message", tc.Name)
			case tc.Skipped != nil:
				sk++
			case tc.SystemOut != nil && strings.HasPrefix(*tc.SystemOut, "[warning] "):
				c.warnings++
			}
		}
		assert.Equal(t, f, *s.Failures, "suite %s counts its failures", s.Name)
		assert.Equal(t, sk, *s.Skipped, "suite %s counts its skipped", s.Name)
		c.total += *s.Tests
		c.failed += f
		c.skipped += sk
	}
	c.passed = c.total - c.failed - c.skipped - c.warnings
	assert.Equal(t, c.total, *doc.Tests)
	assert.Equal(t, c.failed, *doc.Failures)
	return doc, c
}

// renderAll renders a report in every format and checks that they agree;
// it returns the JSON form and the JUnit document.
func renderAll(t *testing.T, rep *Report) (map[string]any, xsdTestsuites) {
	t.Helper()
	var js, text, junit strings.Builder
	require.NoError(t, rep.WriteJSON(&js))
	require.NoError(t, rep.WriteText(&text, nil))
	require.NoError(t, rep.WriteJUnit(&junit))

	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(js.String()), &doc))
	sum := doc["summary"].(map[string]any)
	fromJSON := counts{int(sum["total"].(float64)), int(sum["passed"].(float64)), int(sum["failed"].(float64)), int(sum["skipped"].(float64)), int(sum["warnings"].(float64))}

	var fromText counts
	last := text.String()[strings.LastIndex(strings.TrimRight(text.String(), "\n"), "\n")+1:]
	_, err := fmt.Sscanf(last[strings.Index(last, ":")+2:], "%d", &fromText.total)
	require.NoError(t, err, "the text report ends with the totals: %q", last)
	for _, f := range []struct {
		word string
		dst  *int
	}{{"passed", &fromText.passed}, {"failed", &fromText.failed}, {"skipped", &fromText.skipped}} {
		i := strings.Index(last, " "+f.word)
		require.Positive(t, i, "the text's last line has %s: %q", f.word, last)
		j := strings.LastIndex(last[:i], " ")
		_, err := fmt.Sscanf(last[j+1:i], "%d", f.dst)
		require.NoError(t, err)
	}
	if i := strings.Index(last, " warning"); i > 0 {
		j := strings.LastIndex(last[:i], " ")
		_, err := fmt.Sscanf(last[j+1:i], "%d", &fromText.warnings)
		require.NoError(t, err)
	}
	junitDoc, fromJUnit := parseJUnit(t, []byte(junit.String()))

	want := counts{rep.Summary.Total, rep.Summary.Passed, rep.Summary.Failed, rep.Summary.Skipped, rep.Summary.Warnings}
	assert.Equal(t, want, fromJSON, "JSON counts")
	assert.Equal(t, want, fromText, "text counts")
	assert.Equal(t, want, fromJUnit, "JUnit counts")
	assert.Equal(t, len(rep.Checks), want.total, "one testcase per check")
	return doc, junitDoc
}
