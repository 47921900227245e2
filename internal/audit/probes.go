package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
)

// Names the probes send; nothing real should answer to them.
const (
	unknownMethod = "mcp-test-mcp/audit/no-such-method"
	unknownTool   = "mcp-test-mcp-audit-no-such-tool"
)

// probe sends the active probes, each with a deadline, and stops at the
// first that ends the connection.
func (a *auditor) probe(ctx context.Context) {
	timeout := a.opts.ProbeTimeout
	pingOK := false
	steps := []struct {
		name string
		run  func() (crashed bool)
	}{
		{"ping", func() bool {
			_, err := a.mgr.Ping(ctx, timeout)
			if err == nil {
				pingOK = true
				return false
			}
			if a.crashed(err) {
				a.add("probe.crash", "ping", "The connection ended during ping: %v.", trimPeriod(err.Error()))
				return true
			}
			a.add("probe.ping.failed", "ping", "ping failed: %v.", trimPeriod(err.Error()))
			return false
		}},
		{"unknown method", func() bool { return a.probeUnknownMethod(ctx) }},
		{"unknown tool", func() bool { return a.probeUnknownTool(ctx) }},
		{"invalid arguments", func() bool { return a.probeInvalidArguments(ctx) }},
		{"read-only tools", func() bool { return a.probeReadOnly(ctx) }},
	}
	for i, s := range steps {
		if ctx.Err() != nil {
			return
		}
		if s.run() {
			for _, rest := range steps[i+1:] {
				a.skip("probe: "+rest.name, "the connection ended during an earlier probe")
			}
			return
		}
	}
	if !pingOK {
		return
	}
	if _, err := a.mgr.Ping(ctx, timeout); err != nil {
		a.add("probe.target.unresponsive", "ping", "The target answered ping before the probes but not after them: %v.", trimPeriod(err.Error()))
	}
}

// crashed reports whether err, or the state of the connection after it,
// says that the connection ended.
func (a *auditor) crashed(err error) bool {
	var (
		exit *connmgr.ExitError
		lost *connmgr.LostError
		to   *connmgr.TimeoutError
	)
	return errors.As(err, &exit) || errors.As(err, &lost) || errors.As(err, &to) && to.Lost || !a.connected()
}

// failed records a probe's failure to answer at all: a crash or a hang.
// It reports whether the failure was one, and whether it was a crash.
// what names the probe in a sentence ("the call of an unknown tool").
func (a *auditor) failed(where, what string, err error) (handled, crashed bool) {
	var to *connmgr.TimeoutError
	switch {
	case a.crashed(err):
		a.add("probe.crash", where, "The connection ended during %s: %v.", what, trimPeriod(err.Error()))
		return true, true
	case errors.As(err, &to):
		a.add("probe.hang", where, "%s got no answer within %s.", upperFirst(what), to.After)
		return true, false
	}
	return false, false
}

func (a *auditor) probeUnknownMethod(ctx context.Context) bool {
	if a.opts.Raw == nil {
		a.skip("probe: unknown method", "sending a method connmgr does not know needs raw requests, which this connection does not offer")
		return false
	}
	where := "probe:" + unknownMethod
	_, err := a.opts.Raw.RawRequest(ctx, unknownMethod, map[string]any{}, a.opts.ProbeTimeout)
	var (
		rpc     *connmgr.RPCError
		httpErr *connmgr.ProbeHTTPError
	)
	switch {
	case err == nil:
		a.add("probe.unknown_method.wrong_answer", where, "The unknown method %s was answered with a result, not error -32601.", unknownMethod)
	case errors.As(err, &httpErr):
		a.add("probe.unknown_method.wrong_answer", where, "The unknown method %s was answered with an HTTP error, not a JSON-RPC error -32601: %s.", unknownMethod, trimPeriod(httpErr.Error()))
	case errors.As(err, &rpc):
		if rpc.Code != jsonrpc.CodeMethodNotFound {
			a.add("probe.unknown_method.wrong_answer", where, "The unknown method %s was answered with error %d (%s), not -32601.", unknownMethod, rpc.Code, rpc.Message)
		}
	default:
		if handled, crashed := a.failed(where, "the request of an unknown method", err); handled {
			return crashed
		}
		a.add("probe.unknown_method.wrong_answer", where, "The unknown method %s got no usable answer: %v.", unknownMethod, trimPeriod(err.Error()))
	}
	return false
}

func (a *auditor) probeUnknownTool(ctx context.Context) bool {
	if a.opts.Raw == nil {
		a.skip("probe: unknown tool", "connmgr refuses unknown tool names before sending; the probe needs raw requests, which this connection does not offer")
		return false
	}
	where := "probe:tools/call " + unknownTool
	raw, err := a.opts.Raw.RawRequest(ctx, "tools/call", map[string]any{"name": unknownTool, "arguments": map[string]any{}}, a.opts.ProbeTimeout)
	var (
		rpc     *connmgr.RPCError
		httpErr *connmgr.ProbeHTTPError
	)
	switch {
	case err == nil:
		var res struct {
			IsError bool `json:"isError"`
		}
		if json.Unmarshal(raw, &res) != nil || !res.IsError {
			a.add("probe.unknown_tool.wrong_answer", where, "A call of the unknown tool %s succeeded; it should fail with error -32602 or isError: true.", unknownTool)
		}
	case errors.As(err, &httpErr):
		a.add("probe.unknown_tool.wrong_answer", where, "A call of the unknown tool %s was answered with an HTTP error, not error -32602 or isError: true: %s.", unknownTool, trimPeriod(httpErr.Error()))
	case errors.As(err, &rpc):
	default:
		if handled, crashed := a.failed(where, "the call of an unknown tool", err); handled {
			return crashed
		}
		a.add("probe.unknown_tool.wrong_answer", where, "A call of the unknown tool %s got no usable answer: %v.", unknownTool, trimPeriod(err.Error()))
	}
	return false
}

// readOnlyTools returns the tools that may be called: annotated read-only,
// with a unique, valid name and an input schema that compiles.
func (a *auditor) readOnlyTools() []*tool {
	count := map[string]int{}
	for _, t := range a.tools {
		count[t.name]++
	}
	var out []*tool
	for _, t := range a.tools {
		if t.readOnly && t.in != nil && count[t.name] == 1 && validToolName(t.name) == "" {
			out = append(out, t)
		}
	}
	return out
}

// call calls a tool for a probe, within the probe's budget of calls.
func (a *auditor) call(ctx context.Context, t *tool, args map[string]any) (res *connmgr.CallResult, sent bool, err error) {
	if a.callsLeft <= 0 {
		a.skip("probe: "+t.where, fmt.Sprintf("the probes' budget of %d tool calls (Options.MaxProbeCalls) was spent", a.opts.MaxProbeCalls))
		return nil, false, nil
	}
	a.callsLeft--
	a.report.Summary.ProbeCalls++
	res, err = a.mgr.CallTool(ctx, t.name, args, a.opts.ProbeTimeout)
	return res, true, err
}

// probeInvalidArguments calls each read-only tool with arguments its input
// schema forbids. Only read-only tools: a server that does not validate
// would run the tool.
func (a *auditor) probeInvalidArguments(ctx context.Context) bool {
	a.callsLeft = a.opts.MaxProbeCalls
	for _, t := range a.readOnlyTools() {
		check := "probe: " + t.where + " with invalid arguments"
		if t.in.opaque != "" {
			a.skip(check, "the audit cannot follow its inputSchema: "+t.in.opaque)
			continue
		}
		var (
			args map[string]any
			what string
			ok   bool
		)
		if err := guard(func() { args, what, ok = invalidArguments(t.in) }); err != nil {
			a.skip(check, err.Error())
			continue
		}
		if !ok {
			continue
		}
		res, sent, err := a.call(ctx, t, args)
		if !sent {
			return false
		}
		var rpc *connmgr.RPCError
		switch {
		case err == nil:
			if !res.Result.IsError {
				b, _ := json.Marshal(args)
				a.add("probe.invalid_arguments.accepted", t.where, "%s called %s (%s) succeeded instead of failing with -32602 or isError: true.", t.name, what, b)
			}
		case errors.As(err, &rpc):
		default:
			if handled, crashed := a.failed(t.where, "the call of "+t.name+" with invalid arguments", err); handled {
				if crashed {
					return true
				}
				continue
			}
			a.skip(check, err.Error())
		}
	}
	return false
}

// probeReadOnly calls each read-only tool that has an output schema with
// arguments generated from its input schema, and validates the structured
// content it returns.
func (a *auditor) probeReadOnly(ctx context.Context) bool {
	a.callsLeft = a.opts.MaxProbeCalls
	for _, t := range a.readOnlyTools() {
		if t.out == nil {
			continue
		}
		check := "probe: " + t.where + " with valid arguments"
		switch {
		case t.in.opaque != "":
			a.skip(check, "the audit cannot follow its inputSchema: "+t.in.opaque)
			continue
		case t.out.opaque != "":
			a.skip(check, "the audit cannot follow its outputSchema: "+t.out.opaque)
			continue
		}
		var (
			args   map[string]any
			genErr error
		)
		if err := guard(func() { args, genErr = validArguments(t.in) }); err != nil {
			a.skip(check, err.Error())
			continue
		}
		if genErr != nil {
			a.skip(check, "no arguments that satisfy its inputSchema could be generated: "+genErr.Error())
			continue
		}
		res, sent, err := a.call(ctx, t, args)
		if !sent {
			return false
		}
		if err != nil {
			var rpc *connmgr.RPCError
			if errors.As(err, &rpc) {
				continue // the generated arguments may be meaningless to it
			}
			if handled, crashed := a.failed(t.where, "the call of "+t.name+" with valid arguments", err); handled {
				if crashed {
					return true
				}
				continue
			}
			a.skip(check, err.Error())
			continue
		}
		if res.Result.IsError {
			continue
		}
		b, _ := json.Marshal(args)
		if res.Result.StructuredContent == nil {
			a.add("probe.read_only.output_invalid", t.where+".outputSchema", "%s called with %s returned no structuredContent, though it declares an outputSchema.", t.name, b)
			continue
		}
		var v any
		sc, _ := json.Marshal(res.Result.StructuredContent)
		if err := json.Unmarshal(sc, &v); err != nil {
			a.add("probe.read_only.output_invalid", t.where+".outputSchema", "%s called with %s returned structuredContent that is not JSON: %v.", t.name, b, err)
			continue
		}
		var verr error
		if err := guard(func() { verr = t.out.resolved.Validate(v) }); err != nil {
			a.skip(check, err.Error())
			continue
		}
		if verr != nil {
			a.add("probe.read_only.output_invalid", t.where+".outputSchema", "%s called with %s returned structuredContent that does not match its outputSchema: %v.", t.name, b, trimPeriod(verr.Error()))
		}
	}
	return false
}

// sortedMap iterates over m in the order of its keys.
func sortedMap[V any](m map[string]V) iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
