package check

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
)

// observation is what a request came back with, in a form expectations can
// be checked against.
type observation struct {
	err      error
	errType  string
	isError  bool
	text     string
	struc    any
	hasStruc bool
	types    []string
	duration time.Duration
	schema   schemaVerdict
}

func (r *runner) callTool(ctx context.Context, name string, args map[string]any, timeout time.Duration) observation {
	start := time.Now()
	res, err := r.mgr.CallTool(ctx, name, args, timeout)
	obs := observation{duration: time.Since(start)}
	if err != nil {
		obs.err, obs.errType = err, ErrorType(err, false)
		return obs
	}
	obs.duration = res.CompletedAt.Sub(res.StartedAt)
	cr := res.Result
	if cr == nil {
		cr = &mcp.CallToolResult{}
	}
	obs.isError = cr.IsError
	obs.text = joinText(cr.Content)
	obs.types = contentTypes(cr.Content)
	if cr.StructuredContent != nil {
		obs.struc, obs.hasStruc = plain(cr.StructuredContent), true
	}
	obs.schema = checkOutput(res.Tool, cr)
	return obs
}

func describeObs(o observation) string {
	var parts []string
	if len(o.types) > 0 {
		parts = append(parts, strings.Join(o.types, ", "))
	}
	if o.hasStruc {
		parts = append(parts, "structured content")
	}
	if o.schema.checked {
		parts = append(parts, "matches its outputSchema")
	}
	if len(parts) == 0 {
		return "ok"
	}
	return "ok: " + strings.Join(parts, "; ")
}

// step runs one step of the spec.
func (r *runner) step(ctx context.Context, st *Step) {
	timeout := durationOf(st.TimeoutSeconds)
	var obs observation
	start := time.Now()
	switch st.action {
	case ActionCallTool:
		obs = r.callTool(ctx, st.CallTool, st.Arguments, timeout)
	case ActionReadResource:
		res, err := r.mgr.ReadResource(ctx, st.ReadResource, timeout)
		obs = r.fromRead(res, err)
	case ActionGetPrompt:
		args, err := PromptArguments(st.Arguments)
		if err != nil {
			obs = observation{err: err}
			break
		}
		if args == nil {
			args = map[string]string{}
		}
		res, err := r.mgr.GetPrompt(ctx, st.GetPrompt, args, timeout)
		obs = r.fromPrompt(res, err)
	case ActionPing:
		rtt, err := r.mgr.Ping(ctx, timeout)
		obs = observation{struc: map[string]any{"round_trip_ms": ms(rtt)}, hasStruc: err == nil}
		obs.err = err
	default:
		obs = r.fromList(ctx, st.action)
	}
	if obs.err != nil {
		obs.errType = ErrorType(obs.err, false)
	}
	if st.action != ActionCallTool || obs.duration == 0 {
		obs.duration = time.Since(start)
	}
	c := Check{Name: st.title(), Group: GroupSteps, Action: st.action, Line: st.line, DurationMS: ms(obs.duration)}
	if st.Arguments != nil {
		c.Arguments = st.Arguments
	}
	exp := st.Expect
	if exp == nil {
		exp = &Expect{}
	}
	c.Failures = evaluate(exp, st.action, obs)
	c.ErrorType = obs.errType
	if obs.isError && obs.err == nil {
		c.ErrorType = string(errtype.ToolError)
	}
	switch {
	case len(c.Failures) > 0:
		c.Status = StatusFailed
		var what []string
		for _, f := range c.Failures {
			what = append(what, f.Expectation)
		}
		c.Message = "not as expected: " + strings.Join(what, ", ")
	case obs.err != nil:
		c.Status = StatusPassed
		c.Message = "failed as expected: " + obs.errType
	default:
		c.Status = StatusPassed
		c.Message = describeObs(obs)
	}
	r.add(c)
}

func (r *runner) fromRead(res *mcp.ReadResourceResult, err error) observation {
	if err != nil {
		return observation{err: err}
	}
	obs := observation{hasStruc: true}
	var texts []string
	items := []any{}
	for _, c := range res.Contents {
		if c == nil {
			continue
		}
		item := map[string]any{"uri": c.URI, "mime_type": c.MIMEType}
		if c.Blob != nil {
			item["size_bytes"] = len(c.Blob)
			if !slices.Contains(obs.types, "blob") {
				obs.types = append(obs.types, "blob")
			}
		} else {
			item["text"] = c.Text
			texts = append(texts, c.Text)
			if !slices.Contains(obs.types, "text") {
				obs.types = append(obs.types, "text")
			}
		}
		items = append(items, item)
	}
	obs.text = strings.Join(texts, "\n")
	obs.struc = plain(map[string]any{"contents": items})
	return obs
}

func (r *runner) fromPrompt(res *connmgr.PromptResult, err error) observation {
	if err != nil {
		return observation{err: err}
	}
	obs := observation{hasStruc: true}
	var blocks []mcp.Content
	msgs := []any{}
	if res.Result != nil {
		for _, m := range res.Result.Messages {
			if m == nil {
				continue
			}
			blocks = append(blocks, m.Content)
			msgs = append(msgs, map[string]any{"role": string(m.Role), "content": m.Content})
		}
		obs.struc = plain(map[string]any{"description": res.Result.Description, "messages": msgs})
	}
	obs.text = joinText(blocks)
	obs.types = contentTypes(blocks)
	return obs
}

// fromList lists what a list step names.
func (r *runner) fromList(ctx context.Context, action string) observation {
	switch action {
	case ActionListTools:
		list, err := r.listTools(ctx)
		return fromItems(list, err, func(t *mcp.Tool) string { return t.Name })
	case ActionListResources:
		list, err := r.mgr.ListResources(ctx)
		return fromItems(list, err, func(x *mcp.Resource) string { return x.URI })
	case ActionListResourceTemplates:
		list, err := r.mgr.ListResourceTemplates(ctx)
		return fromItems(list, err, func(x *mcp.ResourceTemplate) string { return x.URITemplate })
	case ActionListPrompts:
		list, err := r.mgr.ListPrompts(ctx)
		return fromItems(list, err, func(x *mcp.Prompt) string { return x.Name })
	}
	return fromItems[any](nil, nil, nil)
}

// fromItems is what a list step observes: the items' names as its text,
// and the count, the names and the items as its structured content.
func fromItems[T any](items []T, err error, name func(T) string) observation {
	if err != nil {
		return observation{err: err}
	}
	names := []string{}
	for _, x := range items {
		names = append(names, name(x))
	}
	return observation{
		text:     strings.Join(names, "\n"),
		struc:    plain(map[string]any{"count": len(names), "names": names, "items": items}),
		hasStruc: true,
	}
}
