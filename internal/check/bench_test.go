package check

import (
	"io"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/testtargets"
)

// BenchmarkCheckVsBareClient compares a plain check (start, initialize,
// the lists, ping, close, report) of go-sdk's everything-server over stdio
// with a bare go-sdk client that only starts it, initializes, lists its
// tools and closes. It reports the median of 10 runs of each and their
// ratio; the target is at most 1.3.
func BenchmarkCheckVsBareClient(b *testing.B) {
	server := testtargets.GoEverythingServer(b)
	const runs = 10
	var checkMS, bareMS []float64
	for b.Loop() {
		for range runs {
			// Interleaved, so that both see the same machine load.
			start := time.Now()
			rep, err := Run(b.Context(), &Options{Target: &Target{Command: server}})
			require.NoError(b, err)
			require.True(b, rep.Passed, "%+v", rep.Checks)
			require.NoError(b, rep.WriteText(io.Discard, nil))
			checkMS = append(checkMS, ms(time.Since(start)))

			start = time.Now()
			client := mcp.NewClient(&mcp.Implementation{Name: "bare", Version: "1"}, nil)
			cs, err := client.Connect(b.Context(), &mcp.CommandTransport{Command: exec.Command(server)}, nil)
			require.NoError(b, err)
			_, err = cs.ListTools(b.Context(), nil)
			require.NoError(b, err)
			require.NoError(b, cs.Close())
			bareMS = append(bareMS, ms(time.Since(start)))
		}
	}
	c, bare := median(checkMS), median(bareMS)
	b.ReportMetric(c, "check-median-ms")
	b.ReportMetric(bare, "bare-median-ms")
	b.ReportMetric(c/bare, "ratio")
	if c/bare > 1.3 {
		b.Errorf("check takes %.2f× a bare client (%.1f ms vs %.1f ms); the target is 1.3×", c/bare, c, bare)
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
