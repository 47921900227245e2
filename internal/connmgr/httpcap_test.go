package connmgr

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bombSize is what the gzip bomb expands to; compressed it is about 0.5 MB.
const bombSize = 400 << 20

var (
	bombOnce sync.Once
	bomb     []byte // gzip of the start of an answer holding bombSize bytes of text
)

// gzipBomb returns a gzip body that expands to an answer to id holding
// bombSize bytes of text, prefixed by prefix and followed by suffix. The id
// comes last (as the TypeScript SDK writes it), in a second gzip member.
func gzipBomb(t testing.TB, prefix, id, suffix string) []byte {
	t.Helper()
	bombOnce.Do(func() {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","result":{"content":[{"type":"text","text":"`)
		chunk := bytes.Repeat([]byte("a"), 1<<20)
		for range bombSize >> 20 {
			_, _ = w.Write(chunk)
		}
		require.NoError(t, w.Close())
		bomb = buf.Bytes()
	})
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	_, _ = io.WriteString(w, prefix)
	require.NoError(t, w.Close())
	out.Write(bomb)
	w = gzip.NewWriter(&out)
	_, _ = io.WriteString(w, `"}]},"id":`+id+`}`+suffix)
	require.NoError(t, w.Close())
	return out.Bytes()
}

// startBombServer serves a stateless streamable HTTP MCP target whose one
// tool, bomb, answers with a gzip bomb: as application/json, or as an event
// of a text/event-stream when sse is true.
func startBombServer(t testing.TB, sse bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.ID == nil {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		var result any = map[string]any{}
		switch req.Method {
		case "initialize":
			result = map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{"tools": map[string]any{}}, "serverInfo": map[string]any{"name": "bomb", "version": "1"}}
		case "tools/list":
			result = map[string]any{"tools": []any{map[string]any{"name": "bomb", "inputSchema": map[string]any{"type": "object"}}}}
		case "tools/call":
			if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				http.Error(w, "the bomb needs gzip", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Encoding", "gzip")
			if sse {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = w.Write(gzipBomb(t, "event: message\ndata: ", string(req.ID), "\n\n"))
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(gzipBomb(t, "", string(req.ID), ""))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
	}))
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
			_, err := m.CallTool(t.Context(), "bomb", nil, 0)
			var tooLarge *MessageTooLargeError
			require.ErrorAs(t, err, &tooLarge)
			assert.Contains(t, err.Error(), "32 MiB limit (MCP_TEST_MAX_MESSAGE_BYTES)")
			_, err = m.Ping(t.Context(), 0)
			assert.NoError(t, err)
		})
	}
}
