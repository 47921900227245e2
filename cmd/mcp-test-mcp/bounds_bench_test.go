package main

import (
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

// BenchmarkLogFlood measures the tester's peak RSS (VmHWM) when a target
// sends 60 log messages of 4 MiB during one call (issue 9: this used to take
// the tester past 2 GB). It fails above 200 MB.
func BenchmarkLogFlood(b *testing.B) {
	var peakMB float64
	for b.Loop() {
		tt := startTester(b)
		env := tt.call(b, "connect", map[string]any{"command": os.Args[0], "env": map[string]any{
			hostile.Behaviour: hostile.LogFlood, "HOSTILE_LOGS": "60", "HOSTILE_LOG_BYTES": "4194304",
		}})
		require.Equal(b, true, env["success"], "%v", env)
		env = tt.call(b, "call_tool", map[string]any{"name": hostile.Tool})
		require.Equal(b, true, env["success"], "%v", env["message"])
		assert.Len(b, env["tool_call"].(map[string]any)["logs"], 60)
		peakMB = max(peakMB, float64(peakRSSKB(b, tt.cmd.Process.Pid))/1024)
	}
	b.ReportMetric(peakMB, "peak-rss-MB")
	if peakMB > 200 {
		b.Errorf("60 log messages of 4 MiB cost the tester %.0f MB of RSS; the target is 200 MB", peakMB)
	}
}

// BenchmarkLogFloodOverHTTP is BenchmarkLogFlood with the log messages on
// a streamable HTTP target's event stream.
func BenchmarkLogFloodOverHTTP(b *testing.B) {
	srv := httptest.NewServer(hostile.LogFloodHandler())
	b.Cleanup(srv.Close)
	var peakMB float64
	for b.Loop() {
		tt := startTester(b)
		env := tt.call(b, "connect", map[string]any{"url": srv.URL + "/mcp"})
		require.Equal(b, true, env["success"], "%v", env)
		env = tt.call(b, "call_tool", map[string]any{"name": hostile.BombTool})
		require.Equal(b, true, env["success"], "%v", env["message"])
		peakMB = max(peakMB, float64(peakRSSKB(b, tt.cmd.Process.Pid))/1024)
	}
	b.ReportMetric(peakMB, "peak-rss-MB")
	if peakMB > 200 {
		b.Errorf("60 log messages of 4 MiB over HTTP cost the tester %.0f MB of RSS; the target is 200 MB", peakMB)
	}
}

// BenchmarkGzipBomb measures the tester's peak RSS when an HTTP target
// answers with 0.5 MB of gzip that expands to 400 MB, as JSON and as an SSE
// event. It fails above 200 MB.
func BenchmarkGzipBomb(b *testing.B) {
	for _, tc := range []struct {
		name string
		sse  bool
	}{{"json", false}, {"sse", true}} {
		b.Run(tc.name, func(b *testing.B) {
			srv := httptest.NewServer(hostile.BombHandler(tc.sse))
			b.Cleanup(srv.Close)
			var peakMB float64
			for b.Loop() {
				tt := startTester(b)
				env := tt.call(b, "connect", map[string]any{"url": srv.URL + "/mcp"})
				require.Equal(b, true, env["success"], "%v", env)
				env = tt.call(b, "call_tool", map[string]any{"name": hostile.BombTool})
				require.Equal(b, false, env["success"])
				assert.Contains(b, env["message"], "MCP_TEST_MAX_MESSAGE_BYTES")
				peakMB = max(peakMB, float64(peakRSSKB(b, tt.cmd.Process.Pid))/1024)
			}
			b.ReportMetric(peakMB, "peak-rss-MB")
			if peakMB > 200 {
				b.Errorf("a gzip bomb cost the tester %.0f MB of RSS; the target is 200 MB", peakMB)
			}
		})
	}
}
