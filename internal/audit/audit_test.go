package audit

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/testtargets"
)

var update = flag.Bool("update", false, "rewrite the golden reports in testdata/audit")

// testOptions probes with a short deadline, so that the planted hangs cost
// little.
func testOptions() Options {
	return Options{Probe: true, ProbeTimeout: 2 * time.Second}
}

func auditRaw(t *testing.T, surfaceName string) *Report {
	t.Helper()
	mgr := connectSelf(t, rawTargetName, surfaceName)
	r, err := Run(t.Context(), mgr, testOptions())
	require.NoError(t, err)
	return r
}

func rules(r *Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Rule)
	}
	return out
}

func TestEachPlantedDefectIsFoundAlone(t *testing.T) {
	t.Parallel()
	for _, d := range defects {
		t.Run(d.name+" is reported as "+d.want, func(t *testing.T) {
			t.Parallel()
			r := auditRaw(t, d.name)
			assert.Equal(t, []string{d.want}, rules(r), "findings: %+v", r.Findings)
			for _, f := range r.Findings {
				assert.NotEmpty(t, f.Where)
				assert.NotEmpty(t, f.Message)
				assert.Regexp(t, `^https://modelcontextprotocol\.io/specification/(2025-11-25|2026-07-28)/`, f.Spec)
			}
		})
	}
}

func TestEveryRuleHasAPlantedDefect(t *testing.T) {
	t.Parallel()
	planted := map[string]bool{}
	for _, d := range defects {
		planted[d.want] = true
	}
	for _, r := range Rules {
		assert.True(t, planted[r.ID], "rule %s has no planted defect", r.ID)
		assert.NotEmpty(t, r.Summary, r.ID)
		assert.NotEmpty(t, r.Fix, r.ID)
	}
}

func TestCleanTargetsHaveNothingAtWarningOrAbove(t *testing.T) {
	t.Parallel()
	t.Run("the clean raw target has no finding at all", func(t *testing.T) {
		t.Parallel()
		r := auditRaw(t, "clean")
		assert.Empty(t, r.Findings)
		assert.Empty(t, r.Skipped)
		assert.Equal(t, 2, r.Summary.Tools)
		assert.Equal(t, 2, r.Summary.ProbeCalls, "search is called with invalid and with valid arguments")
		assert.False(t, r.Failed(SeverityInfo))
	})
	t.Run("the example server in normal mode passes at warning", func(t *testing.T) {
		t.Parallel()
		mgr := connectSelf(t, hostile.ExampleServer, "--mode", "normal")
		r, err := Run(t.Context(), mgr, testOptions())
		require.NoError(t, err)
		assert.False(t, r.Failed(SeverityWarning), "findings: %+v", r.Findings)
		assert.True(t, mgr.Status().Connected)
	})
}

func TestCleanSchemaShapesHaveNoFinding(t *testing.T) {
	t.Parallel()
	for _, c := range cleanShapes {
		t.Run(c.name+" has no finding", func(t *testing.T) {
			t.Parallel()
			r := auditRaw(t, c.name)
			assert.Empty(t, r.Findings)
			assert.Len(t, r.Skipped, c.skipped, "skipped: %+v", r.Skipped)
		})
	}
}

func TestRunNeedsAConnection(t *testing.T) {
	t.Parallel()
	_, err := Run(t.Context(), connmgr.New(nil), Options{})
	assert.ErrorIs(t, err, connmgr.ErrNotConnected)
}

func TestFailedAndSeverities(t *testing.T) {
	t.Parallel()
	r := &Report{Findings: []Finding{{Rule: "tool.description.missing", Severity: SeverityWarning}}}
	tests := []struct {
		failOn Severity
		want   bool
	}{
		{SeverityError, false},
		{"", false},
		{SeverityWarning, true},
		{SeverityInfo, true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, r.Failed(tt.failOn), "fail on %q", tt.failOn)
	}
	s, err := ParseSeverity(" Warning ")
	require.NoError(t, err)
	assert.Equal(t, SeverityWarning, s)
	_, err = ParseSeverity("fatal")
	assert.ErrorContains(t, err, "use error, warning or info")
}

func TestTextRendering(t *testing.T) {
	t.Parallel()
	r := auditRaw(t, "a tool name with a space")
	var b bytes.Buffer
	require.NoError(t, r.WriteText(&b))
	assert.Contains(t, b.String(), "ERROR   tool.name.invalid at tools/delete doc\n")
	assert.Contains(t, b.String(), "fix: Rename the tool")
	assert.Contains(t, b.String(), "1 errors, 0 warnings, 0 info")
}

// TestReferenceServers audits the two reference servers and compares the
// reports with testdata/audit (go test -run TestReferenceServers -update
// rewrites them).
func TestReferenceServers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, golden string
		argv         func(t *testing.T) []string
	}{
		{"server-everything", "server-everything.json", func(t *testing.T) []string {
			node, script := testtargets.NodeEverything(t)
			return []string{node, script, "stdio"}
		}},
		{"go-sdk's everything-server", "go-everything-server.json", func(t *testing.T) []string {
			return []string{testtargets.GoEverythingServer(t)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" matches its golden report", func(t *testing.T) {
			t.Parallel()
			mgr := connectTarget(t, tt.argv(t)...)
			opts := testOptions()
			opts.ProbeTimeout = 10 * time.Second
			r, err := Run(t.Context(), mgr, opts)
			require.NoError(t, err)
			r.DurationMS = 0
			got, err := r.JSON()
			require.NoError(t, err)
			got = append(got, '\n')
			path := filepath.Join(testtargets.Root(t), "testdata", "audit", tt.golden)
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./internal/audit -run TestReferenceServers -update")
			assert.JSONEq(t, string(want), string(got))
			assert.True(t, mgr.Status().Connected, "the target survives the audit")
			var decoded Report
			require.NoError(t, json.Unmarshal(got, &decoded))
			assert.True(t, slices.IsSortedFunc(decoded.Findings, func(x, y Finding) int { return y.Severity.rank() - x.Severity.rank() }))
		})
	}
}

// BenchmarkAudit200Tools audits a target with 200 read-only tools, probes
// included, and fails above 2 s per audit.
func BenchmarkAudit200Tools(b *testing.B) {
	mgr := connectSelf(b, rawTargetName, "many-200")
	opts := Options{Probe: true}
	var last *Report
	b.ResetTimer()
	for b.Loop() {
		r, err := Run(b.Context(), mgr, opts)
		if err != nil {
			b.Fatal(err)
		}
		last = r
	}
	b.StopTimer()
	perAudit := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(perAudit.Milliseconds()), "ms/audit")
	b.ReportMetric(float64(last.Summary.ToolListTokens), "tool-tokens")
	// 200 tools of ~520 bytes each are over the token budget, rightly.
	if got := rules(last); !slices.Equal(got, []string{"tool.list.large"}) || last.Summary.ProbeCalls != 2*DefaultMaxProbeCalls {
		b.Fatalf("findings %v after %d probe calls, want only tool.list.large after %d", got, last.Summary.ProbeCalls, 2*DefaultMaxProbeCalls)
	}
	if perAudit > 2*time.Second {
		b.Fatalf("one audit of 200 tools took %s, over 2 s", perAudit)
	}
}

func TestReadmeListsEveryRule(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join(testtargets.Root(t), "README.md"))
	require.NoError(t, err)
	for _, r := range Rules {
		assert.Contains(t, string(readme), fmt.Sprintf("| `%s` | %s | %s |\n", r.ID, r.Severity, r.Summary), "README's audit table")
	}
}
