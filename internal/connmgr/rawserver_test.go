package connmgr

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawServer is a hand-written stdio MCP server for behaviours no SDK would
// produce. It answers initialize, and tools/list according to behaviour:
//
//	repeat-cursor  every page has nextCursor "again"
//	endless        every page has a new nextCursor
func rawServer(behaviour string) {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	page := 0
	for in.Scan() {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(in.Bytes(), &req) != nil || req.ID == nil {
			continue
		}
		var result any
		switch req.Method {
		case "initialize":
			result = map[string]any{
				"protocolVersion": DefaultProtocolVersion,
				"capabilities":    map[string]any{"tools": map[string]any{}},
				"serverInfo":      map[string]any{"name": "raw", "version": "0"},
			}
		case "tools/list":
			page++
			next := "again"
			if behaviour == "endless" {
				next = "page-" + strconv.Itoa(page)
			}
			result = map[string]any{
				"tools":      []any{map[string]any{"name": fmt.Sprintf("t%d", page), "inputSchema": map[string]any{"type": "object"}}},
				"nextCursor": next,
			}
		default:
			_ = out.Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "error": map[string]any{"code": -32601, "message": "method not found"}})
			continue
		}
		_ = out.Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
	}
}

func rawSpec(t *testing.T, behaviour string) Spec {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	return Spec{Command: exe, Args: []string{"raw-server", behaviour}}
}

func TestPaginationLoopsAreStopped(t *testing.T) {
	tests := []struct {
		behaviour string
		want      string
	}{
		{"repeat-cursor", `returned the cursor "again" twice`},
		{"endless", `more than 100 pages; the last cursor was "page-100"`},
	}
	for _, tt := range tests {
		t.Run("a server whose tools/list cursor is "+tt.behaviour+" gets a protocol error naming the cursor", func(t *testing.T) {
			m := newManager(t, nil)
			connect(t, m, rawSpec(t, tt.behaviour))
			_, err := m.ListTools(t.Context())
			var perr *ProtocolError
			require.ErrorAs(t, err, &perr)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, m.Status().Connected, "the connection stays usable")
		})
	}
}
