package connmgr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/stats"
)

// codeResourceNotFound is MCP's error code for an unknown resource URI.
const codeResourceNotFound = -32002

// ClientSide answers the requests a target sends to the client. A nil
// function means that capability is not declared, and the target's request
// gets a JSON-RPC error. answeredBy says who answered ("host",
// "connect_options", "declined"…); it is recorded with the request.
type ClientSide struct {
	Sampling    func(ctx context.Context, params *mcp.CreateMessageParams) (res *mcp.CreateMessageResult, answeredBy string, err error)
	Elicitation func(ctx context.Context, params *mcp.ElicitParams) (res *mcp.ElicitResult, answeredBy string, err error)
	// Roots are offered by roots/list; nil means the roots capability is not
	// declared (an empty, non-nil list declares it with no roots).
	Roots []*mcp.Root
	// ListRoots, if set, answers roots/list instead of Roots (for example
	// by asking the tester's own host) and declares the roots capability.
	ListRoots func(ctx context.Context) (roots []*mcp.Root, answeredBy string, err error)
}

// ElicitationActions are the answers a client can give an elicitation
// request (the action of its result).
var ElicitationActions = []string{"accept", "decline", "cancel"}

// CapabilityError reports a request for a feature the target did not
// declare in initialize.
type CapabilityError struct {
	Capability string // "resources", "prompts", "completions", "logging", "resources.subscribe"
	Method     string
}

func (e *CapabilityError) Error() string {
	return fmt.Sprintf("the target did not declare the %s capability, so %s was not sent", e.Capability, e.Method)
}

// ResourceNotFoundError reports a resource URI the target does not know.
type ResourceNotFoundError struct {
	URI     string
	Message string // the target's words
}

func (e *ResourceNotFoundError) Error() string {
	return fmt.Sprintf("the target has no resource %q: %s", e.URI, e.Message)
}

// PromptNotFoundError reports a prompt name the target does not list.
type PromptNotFoundError struct {
	Name      string
	Available []string
}

func (e *PromptNotFoundError) Error() string {
	return fmt.Sprintf("the target has no prompt named %q", e.Name)
}

// MissingArgumentsError reports required prompt arguments that were not
// given; nothing was sent.
type MissingArgumentsError struct {
	Prompt  string
	Missing []string
}

func (e *MissingArgumentsError) Error() string {
	return fmt.Sprintf("prompt %q needs the arguments %q, which were not given", e.Prompt, e.Missing)
}

// require returns a CapabilityError when the target did not declare the
// capability, and counts the refusal.
func (c *conn) require(capability, method string) error {
	caps := c.static.Capabilities
	ok := caps != nil
	if ok {
		switch capability {
		case "resources":
			ok = caps.Resources != nil
		case "resources.subscribe":
			ok = caps.Resources != nil && caps.Resources.Subscribe
		case "prompts":
			ok = caps.Prompts != nil
		case "completions":
			ok = caps.Completions != nil
		case "logging":
			ok = caps.Logging != nil
		}
	}
	if !ok {
		c.stats.RecordRefused()
		return &CapabilityError{Capability: capability, Method: method}
	}
	return nil
}

// withConn runs fn on the live connection, waiting for one being
// reconnected (see Manager.acquire).
func withConn[T any](ctx context.Context, m *Manager, fn func(c *conn) (T, error)) (T, error) {
	c, err := m.acquire(ctx, 0)
	if err != nil {
		var zero T
		return zero, err
	}
	return fn(c)
}

// send runs fn, a request with no result to keep, on the live connection
// (see withConn) when the target declared capability, within the call
// timeout.
func (m *Manager) send(ctx context.Context, capability, method string, kind stats.Kind, fn func(context.Context, *mcp.ClientSession) error) error {
	_, err := withConn(ctx, m, func(c *conn) (struct{}, error) {
		if err := c.require(capability, method); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, c.do(ctx, method, kind, 0, func(ctx context.Context) error { return fn(ctx, c.cs) })
	})
	return err
}

// ListResources fetches every page of the target's resources.
func (m *Manager) ListResources(ctx context.Context) ([]*mcp.Resource, error) {
	return m.ListResourcesWire(ctx, nil)
}

// ListResourcesWire is ListResources that also gives wire, when it is not
// nil, each resource as the target sent it over stdio, by uri (over HTTP
// wire is left empty).
func (m *Manager) ListResourcesWire(ctx context.Context, wire map[string]json.RawMessage) ([]*mcp.Resource, error) {
	return withConn(ctx, m, func(c *conn) ([]*mcp.Resource, error) {
		if err := c.require("resources", "resources/list"); err != nil {
			return nil, err
		}
		return c.listResources(ctx, 0, wire)
	})
}

// ListResourceTemplates fetches every page of the target's resource templates.
func (m *Manager) ListResourceTemplates(ctx context.Context) ([]*mcp.ResourceTemplate, error) {
	return m.ListResourceTemplatesWire(ctx, nil)
}

// ListResourceTemplatesWire is ListResourceTemplates with wire, by
// uriTemplate, as in ListResourcesWire.
func (m *Manager) ListResourceTemplatesWire(ctx context.Context, wire map[string]json.RawMessage) ([]*mcp.ResourceTemplate, error) {
	return withConn(ctx, m, func(c *conn) ([]*mcp.ResourceTemplate, error) {
		if err := c.require("resources", "resources/templates/list"); err != nil {
			return nil, err
		}
		return c.listResourceTemplates(ctx, 0, wire)
	})
}

// ReadResource reads one resource. timeout zero means the connection's call
// timeout.
func (m *Manager) ReadResource(ctx context.Context, uri string, timeout time.Duration) (*mcp.ReadResourceResult, error) {
	res, _, err := m.ReadResourceWire(ctx, uri, timeout)
	return res, err
}

// ReadResourceWire is ReadResource that also returns the result as the
// target sent it over stdio (_meta, unknown fields, exact numbers), or nil
// over HTTP.
func (m *Manager) ReadResourceWire(ctx context.Context, uri string, timeout time.Duration) (*mcp.ReadResourceResult, json.RawMessage, error) {
	type read struct {
		res *mcp.ReadResourceResult
		raw json.RawMessage
	}
	r, err := withConn(ctx, m, func(c *conn) (read, error) {
		if err := c.require("resources", "resources/read"); err != nil {
			return read{}, err
		}
		var res *mcp.ReadResourceResult
		capture := &rawCapture{}
		err := c.do(context.WithValue(ctx, rawCaptureKey{}, capture), "resources/read", stats.KindResource, timeout, func(ctx context.Context) (err error) {
			res, err = c.cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
			return err
		})
		raw, _, _ := capture.get()
		// MCP says -32002; go-sdk and others answer -32602 "Resource not
		// found", which is the newer spec's choice.
		var rpc *RPCError
		if errors.As(err, &rpc) && (rpc.Code == codeResourceNotFound ||
			rpc.Code == jsonrpc.CodeInvalidParams && strings.Contains(strings.ToLower(rpc.Message), "not found")) {
			return read{}, &ResourceNotFoundError{URI: uri, Message: rpc.Message}
		}
		return read{res, raw}, err
	})
	return r.res, r.raw, err
}

// Subscribe asks the target for notifications/resources/updated about uri.
// They arrive as EventResourceUpdated events.
func (m *Manager) Subscribe(ctx context.Context, uri string) error {
	return m.send(ctx, "resources.subscribe", "resources/subscribe", stats.KindResource, func(ctx context.Context, cs *mcp.ClientSession) error {
		return cs.Subscribe(ctx, &mcp.SubscribeParams{URI: uri})
	})
}

// Unsubscribe ends a subscription made with Subscribe.
func (m *Manager) Unsubscribe(ctx context.Context, uri string) error {
	return m.send(ctx, "resources.subscribe", "resources/unsubscribe", stats.KindResource, func(ctx context.Context, cs *mcp.ClientSession) error {
		return cs.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: uri})
	})
}

// ListPrompts fetches every page of the target's prompts.
func (m *Manager) ListPrompts(ctx context.Context) ([]*mcp.Prompt, error) {
	return m.ListPromptsWire(ctx, nil)
}

// ListPromptsWire is ListPrompts with wire, by name, as in
// ListResourcesWire.
func (m *Manager) ListPromptsWire(ctx context.Context, wire map[string]json.RawMessage) ([]*mcp.Prompt, error) {
	return withConn(ctx, m, func(c *conn) ([]*mcp.Prompt, error) {
		if err := c.require("prompts", "prompts/list"); err != nil {
			return nil, err
		}
		return c.listPrompts(ctx, 0, wire)
	})
}

// PromptResult is a rendered prompt and its definition.
type PromptResult struct {
	Result *mcp.GetPromptResult
	// Raw is the result as the target sent it over stdio (unknown fields,
	// _meta, exact numbers), or nil over HTTP.
	Raw json.RawMessage
	// Prompt is the definition from prompts/list, or nil if the list could
	// not be had.
	Prompt *mcp.Prompt
}

// GetPrompt renders a prompt. The prompt must be listed by the target, and
// its required arguments must be given: both are checked before anything
// is sent. timeout zero means the connection's call timeout.
func (m *Manager) GetPrompt(ctx context.Context, name string, args map[string]string, timeout time.Duration) (*PromptResult, error) {
	return withConn(ctx, m, func(c *conn) (*PromptResult, error) {
		if err := c.require("prompts", "prompts/get"); err != nil {
			return nil, err
		}
		prompts, err := c.listPrompts(ctx, 0, nil)
		if err != nil && c.isDead() {
			return nil, err
		}
		var def *mcp.Prompt
		if err == nil {
			i := slices.IndexFunc(prompts, func(p *mcp.Prompt) bool { return p.Name == name })
			if i < 0 {
				c.stats.RecordRefused()
				names := make([]string, len(prompts))
				for i, p := range prompts {
					names[i] = p.Name
				}
				sort.Strings(names)
				return nil, &PromptNotFoundError{Name: name, Available: names}
			}
			def = prompts[i]
			var missing []string
			for _, a := range def.Arguments {
				if _, ok := args[a.Name]; a.Required && !ok {
					missing = append(missing, a.Name)
				}
			}
			if len(missing) > 0 {
				c.stats.RecordRefused()
				return nil, &MissingArgumentsError{Prompt: name, Missing: missing}
			}
		}
		var res *mcp.GetPromptResult
		capture := &rawCapture{}
		err = c.do(context.WithValue(ctx, rawCaptureKey{}, capture), "prompts/get", stats.KindPrompt, timeout, func(ctx context.Context) (err error) {
			res, err = c.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: name, Arguments: args})
			return err
		})
		if err != nil {
			return nil, err
		}
		raw, _, _ := capture.get()
		return &PromptResult{Result: res, Raw: raw, Prompt: def}, nil
	})
}

// Complete asks the target to complete an argument of a prompt or resource
// template.
func (m *Manager) Complete(ctx context.Context, params *mcp.CompleteParams) (*mcp.CompleteResult, error) {
	return withConn(ctx, m, func(c *conn) (*mcp.CompleteResult, error) {
		if err := c.require("completions", "completion/complete"); err != nil {
			return nil, err
		}
		var res *mcp.CompleteResult
		err := c.do(ctx, "completion/complete", stats.KindOther, 0, func(ctx context.Context) (err error) {
			res, err = c.cs.Complete(ctx, params)
			return err
		})
		return res, err
	})
}

// Ping sends a ping and returns its round-trip time.
func (m *Manager) Ping(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	return withConn(ctx, m, func(c *conn) (time.Duration, error) {
		var rtt time.Duration
		err := c.do(ctx, "ping", stats.KindOther, timeout, func(ctx context.Context) error {
			start := time.Now()
			err := c.cs.Ping(ctx, nil)
			rtt = time.Since(start)
			return err
		})
		return rtt, err
	})
}

// SetLogLevel sets the minimum level of the log notifications the target
// sends.
func (m *Manager) SetLogLevel(ctx context.Context, level string) error {
	return m.send(ctx, "logging", "logging/setLevel", stats.KindOther, func(ctx context.Context, cs *mcp.ClientSession) error {
		return cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: mcp.LoggingLevel(level)})
	})
}

// ErrRootsNotDeclared is returned by SetRoots when the connection was made
// without roots, so the roots capability was not declared.
var ErrRootsNotDeclared = errors.New("the connection was made without roots, so the roots capability was not declared; connect again with roots")

// SetRoots replaces the roots offered to the target and sends it
// notifications/roots/list_changed.
func (m *Manager) SetRoots(roots []*mcp.Root) error {
	_, err := withConn(context.Background(), m, func(c *conn) (struct{}, error) {
		if !c.rootsDeclared {
			return struct{}{}, ErrRootsNotDeclared
		}
		c.mu.Lock()
		old := c.roots
		c.roots = slices.Clone(roots)
		c.mu.Unlock()
		uris := make([]string, len(old))
		for i, r := range old {
			uris[i] = r.URI
		}
		// go-sdk sends list_changed on each change.
		c.client.RemoveRoots(uris...)
		c.client.AddRoots(roots...)
		return struct{}{}, nil
	})
	return err
}

// Events returns the events that match q.
func (m *Manager) Events(q EventQuery) EventPage { return m.events.query(q) }

// ClearEvents forgets the events up to and including Seq through; 0 means
// every event. Events that arrived after a read survive a clear through
// that read's LastSeq.
func (m *Manager) ClearEvents(through int64) { m.events.clear(through) }
