package hostile

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
)

// BombSize is what the gzip bomb expands to; compressed it is about 0.5 MB.
const BombSize = 400 << 20

// BombTool is the name of BombHandler's one tool.
const BombTool = "bomb"

var (
	bombOnce sync.Once
	bomb     []byte // gzip of the start of an answer holding BombSize bytes of text
)

// gzipBomb returns a gzip body that expands to an answer to id holding
// BombSize bytes of text, after prefix and followed by suffix. The id comes
// last (as the TypeScript SDK writes it), in a second gzip member.
func gzipBomb(prefix, id, suffix string) []byte {
	bombOnce.Do(func() {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","result":{"content":[{"type":"text","text":"`)
		chunk := bytes.Repeat([]byte("a"), 1<<20)
		for range BombSize >> 20 {
			_, _ = w.Write(chunk)
		}
		_ = w.Close()
		bomb = buf.Bytes()
	})
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	_, _ = io.WriteString(w, prefix)
	_ = w.Close()
	out.Write(bomb)
	w = gzip.NewWriter(&out)
	_, _ = io.WriteString(w, `"}]},"id":`+id+`}`+suffix)
	_ = w.Close()
	return out.Bytes()
}

// BombHandler serves a stateless streamable HTTP MCP target whose one tool,
// BombTool, answers with a gzip bomb: as application/json, or as one event
// of a text/event-stream when sse is true.
func BombHandler(sse bool) http.Handler { return httpTarget(sse, false) }

// LogFloodHandler serves a stateless streamable HTTP MCP target whose one
// tool, BombTool, answers on a text/event-stream after 60 log messages of
// 4 MiB.
func LogFloodHandler() http.Handler { return httpTarget(true, true) }

func httpTarget(sse, flood bool) http.Handler {
	return HTTPTarget(BombTool, func(w http.ResponseWriter, r *http.Request, id json.RawMessage) {
		if flood {
			w.Header().Set("Content-Type", "text/event-stream")
			data := strings.Repeat("L", 4<<20)
			for range 60 {
				b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "notifications/message", "params": map[string]any{"level": "info", "data": data}})
				_, _ = io.WriteString(w, "event: message\ndata: "+string(b)+"\n\n")
			}
			b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "result": map[string]any{"content": []any{map[string]any{"type": "text", "text": "done"}}}})
			_, _ = io.WriteString(w, "event: message\ndata: "+string(b)+"\n\n")
			return
		}
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			http.Error(w, "the bomb needs gzip", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		if sse {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write(gzipBomb("event: message\ndata: ", string(id), "\n\n"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(gzipBomb("", string(id), ""))
	})
}

// HTTPTarget serves a stateless streamable HTTP MCP target that lists one
// tool, named tool, and answers every other request with an empty result.
// call writes the whole HTTP answer to a tools/call whose JSON-RPC id is id.
func HTTPTarget(tool string, call func(w http.ResponseWriter, r *http.Request, id json.RawMessage)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
			result = map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{"tools": map[string]any{}, "logging": map[string]any{}}, "serverInfo": map[string]any{"name": "hostile-http", "version": "1"}}
		case "tools/list":
			result = map[string]any{"tools": []any{map[string]any{"name": tool, "inputSchema": map[string]any{"type": "object"}}}}
		case "tools/call":
			call(w, r, req.ID)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
	})
}
