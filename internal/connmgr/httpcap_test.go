package connmgr

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

// startBombServer serves hostile.BombHandler.
func startBombServer(t testing.TB, sse bool) string {
	t.Helper()
	srv := httptest.NewServer(hostile.BombHandler(sse))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

func TestDecodedBytesAreCapped(t *testing.T) {
	for _, sse := range []bool{false, true} {
		kind := "a JSON answer"
		if sse {
			kind = "an SSE event"
		}
		t.Run(fmt.Sprintf("%s that gunzips to 400 MB fails its call naming the limit, and the connection stays usable", kind), func(t *testing.T) {
			m := newManager(t, nil)
			connect(t, m, Spec{URL: startBombServer(t, sse)})
			_, err := m.CallTool(t.Context(), hostile.BombTool, nil, 0)
			var tooLarge *MessageTooLargeError
			require.ErrorAs(t, err, &tooLarge)
			assert.Contains(t, err.Error(), "32 MiB limit (MCP_TEST_MAX_MESSAGE_BYTES)")
			_, err = m.Ping(t.Context(), 0)
			assert.NoError(t, err)
		})
	}
}
