package connmgr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/stats"
)

// RawRequest sends one request on the live connection as given, without
// the tester's own checks (declared capabilities, known tool names), and
// returns its result as the target sent it. It is for auditing what a
// well-behaved client would never send.
//
// Over stdio the result is the target's exact bytes, even when go-sdk could
// not decode them. Over HTTP it is go-sdk's decoding, encoded again; a
// result go-sdk cannot decode is a ProtocolError there. A method MCP does
// not define is sent as a custom method. timeout zero means the
// connection's call timeout.
func (m *Manager) RawRequest(ctx context.Context, method string, params any, timeout time.Duration) (json.RawMessage, error) {
	c, err := m.acquire(ctx, timeout)
	if err != nil {
		return nil, err
	}
	p, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("%w: encoding the params of %s: %v", ErrInvalidRequest, method, err)
	}
	if params == nil {
		p = []byte("{}")
	}
	capture := &rawCapture{}
	ctx = context.WithValue(ctx, rawCaptureKey{}, capture)
	var typed any
	err = c.do(ctx, method, stats.KindOther, timeout, func(ctx context.Context) (err error) {
		typed, err = c.sendTyped(ctx, method, p)
		return err
	})
	if result, rpcErr, ok := capture.get(); ok {
		if rpcErr != nil {
			return nil, &RPCError{Method: method, Code: rpcErr.Code, Message: c.scrub(rpcErr.Message)}
		}
		return result, nil
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(typed)
}

// sendTyped sends method through go-sdk's typed API, or as a custom method.
func (c *conn) sendTyped(ctx context.Context, method string, params json.RawMessage) (any, error) {
	switch method {
	case "ping":
		return struct{}{}, c.cs.Ping(ctx, nil)
	case "tools/list":
		return sendDecoded(ctx, method, params, c.cs.ListTools)
	case "tools/call":
		return sendDecoded(ctx, method, params, c.cs.CallTool)
	case "resources/list":
		return sendDecoded(ctx, method, params, c.cs.ListResources)
	case "resources/templates/list":
		return sendDecoded(ctx, method, params, c.cs.ListResourceTemplates)
	case "resources/read":
		return sendDecoded(ctx, method, params, c.cs.ReadResource)
	case "prompts/list":
		return sendDecoded(ctx, method, params, c.cs.ListPrompts)
	case "prompts/get":
		return sendDecoded(ctx, method, params, c.cs.GetPrompt)
	case "completion/complete":
		return sendDecoded(ctx, method, params, c.cs.Complete)
	}
	if err := mcp.AddSendingCustomMethod[*rawParams, *rawResult](c.client, method); err != nil {
		return nil, fmt.Errorf("%w: raw requests do not support %s: %v", ErrInvalidRequest, method, err)
	}
	res, err := mcp.CallCustomMethod[*rawParams, *rawResult](ctx, c.cs, method, &rawParams{raw: params})
	if err != nil {
		return nil, err
	}
	return res.raw, nil
}

// sendDecoded decodes params into method's params type P and sends them
// with send, go-sdk's typed call for method.
func sendDecoded[P, R any](ctx context.Context, method string, params json.RawMessage, send func(context.Context, *P) (R, error)) (any, error) {
	var p P
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, fmt.Errorf("%w: the params of %s do not fit it: %v", ErrInvalidRequest, method, err)
	}
	return send(ctx, &p)
}

// rawParams sends params exactly as given.
type rawParams struct {
	mcp.ParamsBase
	raw json.RawMessage
}

func (p *rawParams) MarshalJSON() ([]byte, error) { return p.raw, nil }

// rawResult keeps a custom method's result as sent.
type rawResult struct {
	mcp.ResultBase
	raw json.RawMessage
}

func (r *rawResult) UnmarshalJSON(b []byte) error {
	r.raw = append(json.RawMessage(nil), b...)
	return nil
}

// rawCaptureKey carries a *rawCapture from RawRequest to stdioConn.Write,
// which pairs it with the request's id, so that the read loop can keep the
// answer's bytes before go-sdk decodes them.
type rawCaptureKey struct{}

type rawCapture struct {
	mu     sync.Mutex
	done   bool
	result json.RawMessage
	err    *jsonrpc.Error
}

func (r *rawCapture) set(resp *jsonrpc.Response) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = true
	// No copy: the decoded message owns its Result, which go-sdk only
	// reads (a 20 MB result is not held twice).
	r.result = resp.Result
	var werr *jsonrpc.Error
	if errors.As(resp.Error, &werr) {
		r.err = werr
	}
}

func (r *rawCapture) get() (json.RawMessage, *jsonrpc.Error, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.result, r.err, r.done
}
