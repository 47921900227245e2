//lint:file-ignore SA1019 sampling and roots are deprecated from protocol 2026-07-28 on, but the tester offers only earlier versions, where targets use them.

package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/check"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
)

// Who answered a target's request, as recorded with it (connmgr.ClientSide).
const (
	answeredByHost    = "host"
	answeredByOptions = "connect_options"
	answeredByDecline = "declined"
)

// hostAnswerTimeout bounds a request forwarded to the tester's own host. A
// person may be answering an elicitation; the target's own cancellation
// usually ends the wait much sooner.
const hostAnswerTimeout = 5 * time.Minute

// codeDeclined is the JSON-RPC error code of a declined request; MCP uses
// -1 for a sampling request the user rejected.
const codeDeclined = -1

// defaultSamplingModel is the model named in answers from sampling_response.
const defaultSamplingModel = "mcp-test-mcp"

// ClientCapabilitiesInput says which client capabilities connect declares.
type ClientCapabilitiesInput struct {
	Sampling    *bool `json:"sampling,omitempty" jsonschema:"declare sampling; default: when the host supports sampling or sampling_response is given"`
	Elicitation *bool `json:"elicitation,omitempty" jsonschema:"declare elicitation; default: when the host supports elicitation or elicitation_action is given"`
	Roots       *bool `json:"roots,omitempty" jsonschema:"declare roots; default: when roots is given"`
}

// SamplingResponseInput is the canned answer to the target's sampling
// requests.
type SamplingResponseInput struct {
	Text  string `json:"text" jsonschema:"the assistant's reply"`
	Model string `json:"model,omitempty" jsonschema:"the model named in the answer; default mcp-test-mcp"`
}

// ClientCapabilities says which client capabilities a connection declared
// and who answers the target's requests for each.
type ClientCapabilities struct {
	Sampling    ClientCapability `json:"sampling"`
	Elicitation ClientCapability `json:"elicitation"`
	Roots       ClientCapability `json:"roots"`
}

// ClientCapability is one declared (or not) client capability.
type ClientCapability struct {
	Declared bool `json:"declared"`
	// AnsweredBy is empty when the capability is not declared.
	AnsweredBy string `json:"answered_by,omitempty" jsonschema:"who answers the target's requests: host (forwarded to the tester's own host), connect_options, or declined (a JSON-RPC error that says how to enable it)"`
}

// clientCapsStore remembers the client capabilities of the live connection,
// for status. The zero value is ready to use.
type clientCapsStore struct {
	mu sync.Mutex
	// connID and caps are guarded by mu; caps belongs to connection connID.
	connID string
	caps   ClientCapabilities
}

func (s *clientCapsStore) set(connID string, caps ClientCapabilities) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connID, s.caps = connID, caps
}

func (s *clientCapsStore) get(connID string) *ClientCapabilities {
	s.mu.Lock()
	defer s.mu.Unlock()
	if connID == "" || connID != s.connID {
		return nil
	}
	c := s.caps
	return &c
}

// checkClient checks connect's client-side arguments.
func (in *ConnectInput) checkClient() error {
	cc := in.ClientCapabilities
	if cc == nil {
		cc = &ClientCapabilitiesInput{}
	}
	off := func(b *bool) bool { return b != nil && !*b }
	if in.ElicitationAction != "" && !slices.Contains(connmgr.ElicitationActions, in.ElicitationAction) {
		return &errtype.ArgError{
			Msg:        fmt.Sprintf("elicitation_action %q is not one of %s", in.ElicitationAction, strings.Join(connmgr.ElicitationActions, ", ")),
			Suggestion: "Pass accept (with elicitation_content, or none to use the schema's defaults), decline or cancel.",
		}
	}
	if in.ElicitationContent != nil && in.ElicitationAction != "accept" {
		return &errtype.ArgError{
			Msg:        "elicitation_content is sent only when elicitation_action is accept",
			Suggestion: `Add "elicitation_action": "accept", or drop elicitation_content.`,
		}
	}
	for _, c := range []struct {
		name, option string
		off, given   bool
	}{
		{"sampling", "sampling_response", off(cc.Sampling), in.SamplingResponse != nil},
		{"elicitation", "elicitation_action", off(cc.Elicitation), in.ElicitationAction != ""},
		{"roots", "roots", off(cc.Roots), in.Roots != nil},
	} {
		if c.off && c.given {
			return &errtype.ArgError{
				Msg:        fmt.Sprintf("client_capabilities.%s is false, but %s was given to answer it", c.name, c.option),
				Suggestion: fmt.Sprintf("Drop %s, or set client_capabilities.%s to true (or leave it out).", c.option, c.name),
			}
		}
	}
	for i, r := range in.Roots {
		if u, err := url.Parse(r.URI); err != nil || u.Scheme == "" {
			return &errtype.ArgError{
				Msg:        fmt.Sprintf("roots[%d].uri %q is not a URI with a scheme", i, r.URI),
				Suggestion: `Give each root as {"uri": "file:///abs/path", "name": "project"}.`,
			}
		}
	}
	return nil
}

// clientSide decides which client capabilities to declare for a connect
// call, and how the target's requests are answered: forwarded to host
// (the tester's own host, the session of the connect call) when it declared
// the capability, else from connect's options, else declined.
func (in *ConnectInput) clientSide(host *mcp.ServerSession) (connmgr.ClientSide, ClientCapabilities) {
	var hostCaps *mcp.ClientCapabilities
	if host != nil {
		if p := host.InitializeParams(); p != nil {
			hostCaps = p.Capabilities
		}
	}
	hostSampling := hostCaps != nil && hostCaps.Sampling != nil
	hostElicitation := hostCaps != nil && hostCaps.Elicitation != nil
	hostRoots := hostCaps != nil && (hostCaps.RootsV2 != nil || hostCaps.Roots != (mcp.RootCapabilities{}))
	cc := in.ClientCapabilities
	if cc == nil {
		cc = &ClientCapabilitiesInput{}
	}
	declare := func(explicit *bool, dflt bool) bool {
		if explicit != nil {
			return *explicit
		}
		return dflt
	}

	var side connmgr.ClientSide
	var caps ClientCapabilities
	if declare(cc.Sampling, hostSampling || in.SamplingResponse != nil) {
		caps.Sampling.Declared = true
		switch {
		case hostSampling:
			caps.Sampling.AnsweredBy = answeredByHost
			side.Sampling = forward(host.CreateMessage, "sampling/createMessage")
		case in.SamplingResponse != nil:
			caps.Sampling.AnsweredBy = answeredByOptions
			sr := *in.SamplingResponse
			side.Sampling = func(context.Context, *mcp.CreateMessageParams) (*mcp.CreateMessageResult, string, error) {
				model := sr.Model
				if model == "" {
					model = defaultSamplingModel
				}
				return &mcp.CreateMessageResult{
					Content:    &mcp.TextContent{Text: sr.Text},
					Model:      model,
					Role:       "assistant",
					StopReason: "endTurn",
				}, answeredByOptions, nil
			}
		default:
			caps.Sampling.AnsweredBy = answeredByDecline
			side.Sampling = decline[*mcp.CreateMessageParams, *mcp.CreateMessageResult](
				"mcp-test-mcp declined sampling/createMessage: its host does not support sampling and connect was given no sampling_response. " +
					`To answer it, connect again with sampling_response {"text": "..."}.`)
		}
	}

	if declare(cc.Elicitation, hostElicitation || in.ElicitationAction != "") {
		caps.Elicitation.Declared = true
		switch {
		case hostElicitation:
			caps.Elicitation.AnsweredBy = answeredByHost
			side.Elicitation = forward(host.Elicit, "elicitation/create")
		case in.ElicitationAction != "":
			caps.Elicitation.AnsweredBy = answeredByOptions
			action, content := in.ElicitationAction, plainObject(in.ElicitationContent)
			side.Elicitation = func(_ context.Context, p *mcp.ElicitParams) (*mcp.ElicitResult, string, error) {
				return check.ElicitAnswer(action, content, p), answeredByOptions, nil
			}
		default:
			caps.Elicitation.AnsweredBy = answeredByDecline
			side.Elicitation = decline[*mcp.ElicitParams, *mcp.ElicitResult](
				"mcp-test-mcp declined elicitation/create: its host does not support elicitation and connect was given no elicitation_action. " +
					`To answer it, connect again with elicitation_action "accept" (optionally with elicitation_content), "decline" or "cancel".`)
		}
	}

	if declare(cc.Roots, in.Roots != nil || hostRoots) {
		// Roots given to connect win: they are configuration, not an answer.
		// Otherwise the host's own roots are passed on, as the host would.
		// An explicit roots: true with neither offers none.
		caps.Roots = ClientCapability{Declared: true, AnsweredBy: answeredByOptions}
		side.Roots = make([]*mcp.Root, 0, len(in.Roots))
		for _, r := range in.Roots {
			side.Roots = append(side.Roots, &mcp.Root{URI: r.URI, Name: r.Name})
		}
		if in.Roots == nil && hostRoots {
			caps.Roots.AnsweredBy = answeredByHost
			side.ListRoots = func(ctx context.Context) ([]*mcp.Root, string, error) {
				res, by, err := askHost(ctx, "roots/list", func(ctx context.Context) (*mcp.ListRootsResult, error) {
					return host.ListRoots(ctx, nil)
				})
				if err != nil {
					return nil, by, err
				}
				return res.Roots, by, nil
			}
		}
	}
	return side, caps
}

// askHost answers a target's request by asking the tester's own host,
// within hostAnswerTimeout.
func askHost[R any](ctx context.Context, method string, ask func(context.Context) (R, error)) (R, string, error) {
	ctx, cancel := context.WithTimeout(ctx, hostAnswerTimeout)
	defer cancel()
	res, err := ask(ctx)
	if err != nil {
		var none R
		return none, answeredByHost, fmt.Errorf("the tester's host did not answer %s: %w", method, err)
	}
	return res, answeredByHost, nil
}

// forward answers a target's request by passing it on to the tester's own
// host with ask, without its _meta: the target's progress token means
// nothing to our host.
func forward[T any, P interface {
	*T
	SetMeta(map[string]any)
}, R any](ask func(context.Context, P) (R, error), method string) func(context.Context, P) (R, string, error) {
	return func(ctx context.Context, p P) (R, string, error) {
		fwd := P(new(T))
		*fwd = *p
		fwd.SetMeta(nil)
		return askHost(ctx, method, func(ctx context.Context) (R, error) { return ask(ctx, fwd) })
	}
}

// decline answers a target's request of type P with a JSON-RPC error whose
// message, msg, says how to have it answered.
func decline[P, R any](msg string) func(context.Context, P) (R, string, error) {
	return func(context.Context, P) (R, string, error) {
		var none R
		return none, answeredByDecline, &jsonrpc.Error{Code: codeDeclined, Message: msg}
	}
}

// plainObject returns m with its values as plain JSON values (float64 rather
// than json.Number), as the SDK's schema validation expects.
func plainObject(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return m
	}
	var out map[string]any
	if json.Unmarshal(b, &out) != nil {
		return m
	}
	return out
}
