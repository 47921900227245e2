package main

import (
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

// peakRSSBound is the memory target of SPEC §6 and issue 9: whatever a target
// sends, the tester stays under it.
const peakRSSBound = 200

// benchPeakRSS starts the built tester for each iteration, connects it with
// connect's arguments, calls tool, hands the answer to check, and reports
// the tester's peak RSS (VmHWM; rusage would include the target). It fails
// above peakRSSBound MB; what names the case in that failure.
func benchPeakRSS(b *testing.B, what string, connect map[string]any, tool string, args map[string]any, check func(env map[string]any)) {
	b.Helper()
	var peakMB float64
	for b.Loop() {
		tt := startTester(b)
		env := tt.call(b, "connect", connect)
		require.Equal(b, true, env["success"], "%v", env)
		call := map[string]any{"name": tool}
		if args != nil {
			call["arguments"] = args
		}
		check(tt.call(b, "call_tool", call))
		peakMB = max(peakMB, float64(peakRSSKB(b, tt.cmd.Process.Pid))/1024)
	}
	b.ReportMetric(peakMB, "peak-rss-MB")
	if peakMB > peakRSSBound {
		b.Errorf("%s cost the tester %.0f MB of RSS; the target is %d MB", what, peakMB, peakRSSBound)
	}
}

// BenchmarkLogFlood measures the tester's peak RSS when a target sends 60
// log messages of 4 MiB during one call (issue 9: this used to take the
// tester past 2 GB).
func BenchmarkLogFlood(b *testing.B) {
	connect := map[string]any{"command": os.Args[0], "env": map[string]any{
		hostile.Behaviour: hostile.LogFlood, "HOSTILE_LOGS": "60", "HOSTILE_LOG_BYTES": "4194304",
	}}
	benchPeakRSS(b, "60 log messages of 4 MiB", connect, hostile.Tool, nil, func(env map[string]any) {
		require.Equal(b, true, env["success"], "%v", env["message"])
		assert.Len(b, env["tool_call"].(map[string]any)["logs"], 60)
	})
}

// BenchmarkLogFloodOverHTTP is BenchmarkLogFlood with the log messages on
// a streamable HTTP target's event stream.
func BenchmarkLogFloodOverHTTP(b *testing.B) {
	srv := httptest.NewServer(hostile.LogFloodHandler())
	b.Cleanup(srv.Close)
	benchPeakRSS(b, "60 log messages of 4 MiB over HTTP", map[string]any{"url": srv.URL + "/mcp"}, hostile.BombTool, nil, func(env map[string]any) {
		require.Equal(b, true, env["success"], "%v", env["message"])
	})
}

// BenchmarkGzipBomb measures the tester's peak RSS when an HTTP target
// answers with 0.5 MB of gzip that expands to 400 MB, as JSON and as an SSE
// event.
func BenchmarkGzipBomb(b *testing.B) {
	for _, tc := range []struct {
		name string
		sse  bool
	}{{"json", false}, {"sse", true}} {
		b.Run(tc.name, func(b *testing.B) {
			srv := httptest.NewServer(hostile.BombHandler(tc.sse))
			b.Cleanup(srv.Close)
			benchPeakRSS(b, "a gzip bomb", map[string]any{"url": srv.URL + "/mcp"}, hostile.BombTool, nil, func(env map[string]any) {
				require.Equal(b, false, env["success"])
				assert.Contains(b, env["message"], "MCP_TEST_MAX_MESSAGE_BYTES")
			})
		})
	}
}

// BenchmarkTwentyMegabyteResult checks the memory target of SPEC §6: a
// 20 MB result must not cost the tester more than ~200 MB.
func BenchmarkTwentyMegabyteResult(b *testing.B) {
	connect := map[string]any{"command": binary, "args": []any{"example-server", "--mode", "faults"}}
	benchPeakRSS(b, "a 20 MB result", connect, "huge", map[string]any{"size_bytes": 20_000_000}, func(env map[string]any) {
		require.Equal(b, true, env["success"], "%v", env["message"])
	})
}
