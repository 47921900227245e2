package connmgr

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

type probeKey struct{}

// WithProbe marks ctx's requests as the tester's own probes of the target
// (the audit's): they are kept out of the user's statistics, and an HTTP
// 4xx answer without a JSON-RPC error in its body (a plain-text 400, say)
// fails only that request, with a *ProbeHTTPError, instead of ending the
// connection as go-sdk's streamable transport would. A probe must never
// cost the user the connection it examines.
func WithProbe(ctx context.Context) context.Context {
	return context.WithValue(withoutStats(ctx), probeKey{}, true)
}

func probing(ctx context.Context) bool {
	v, _ := ctx.Value(probeKey{}).(bool)
	return v
}

// probeAnswer rewrites an HTTP 4xx answer to a probe into a JSON-RPC error
// answer to the request it carried, which go-sdk fails that request with
// and nothing else. It reports false, leaving resp alone, when resp is not
// such an answer or already carries a JSON-RPC error.
func probeAnswer(req *http.Request, resp *http.Response, snippet string) bool {
	if !probing(req.Context()) || resp.StatusCode < 400 || resp.StatusCode >= 500 || req.GetBody == nil {
		return false
	}
	body, err := req.GetBody()
	if err != nil {
		return false
	}
	defer body.Close()
	var msg struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.NewDecoder(io.LimitReader(body, 1<<20)).Decode(&msg); err != nil || len(msg.ID) == 0 {
		return false
	}
	if strings.HasPrefix(snippet, "{") && strings.Contains(snippet, `"error"`) {
		return false // a JSON-RPC error, which go-sdk handles (snippet may be cut)
	}
	ct := resp.Header.Get("Content-Type")
	text := fmt.Sprintf("the server answered HTTP %d (Content-Type %q), not a JSON-RPC message", resp.StatusCode, ct)
	out, err := json.Marshal(map[string]any{
		"jsonrpc": "2.0",
		"id":      msg.ID,
		"error": map[string]any{"code": codeProbeHTTPError, "message": text, "data": map[string]any{
			probeHTTPMarker: madeUpNonce, "status_code": resp.StatusCode, "content_type": ct, "body_snippet": snippet,
		}},
	})
	if err != nil {
		return false
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(out)))
	resp.ContentLength = int64(len(out))
	resp.Header = resp.Header.Clone()
	resp.Header.Set("Content-Type", "application/json")
	resp.Header.Del("Content-Length")
	return true
}
