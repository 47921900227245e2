// Package errtype owns SPEC's error vocabulary (§1): the names of the error
// types, and Classify, which maps an error from decoding arguments or from
// connmgr to its type, message and suggestion. The tools' envelopes and the
// checks' error_type both take their answer from here, so that a failure has
// the same name wherever it is reported.
package errtype

import (
	"errors"
	"fmt"
	"math"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
)

// Type is the error.type of a failed envelope, and a check's error_type.
type Type string

// SPEC's error types.
const (
	InvalidArguments  Type = "invalid_arguments"
	NotConnected      Type = "not_connected"
	ConnectionFailed  Type = "connection_failed"
	ConnectionLost    Type = "connection_lost"
	Timeout           Type = "timeout"
	ToolNotFound      Type = "tool_not_found"
	ResourceNotFound  Type = "resource_not_found"
	PromptNotFound    Type = "prompt_not_found"
	ToolError         Type = "tool_error"
	ProtocolError     Type = "protocol_error"
	CapabilityMissing Type = "capability_missing"
	InternalError     Type = "internal_error"
)

// Types are all the error types, in SPEC's order.
var Types = []Type{
	InvalidArguments, NotConnected, ConnectionFailed, ConnectionLost,
	Timeout, ToolNotFound, ResourceNotFound, PromptNotFound,
	ToolError, ProtocolError, CapabilityMissing, InternalError,
}

// Names are the error types as strings, in SPEC's order.
func Names() []string {
	out := make([]string, len(Types))
	for i, t := range Types {
		out[i] = string(t)
	}
	return out
}

// Op says what the tester was doing when an error happened, which decides
// how some errors are classified (a process exit while connecting is a
// failed connection, during a request a lost one).
type Op int

// What the tester was doing.
const (
	// Args is decoding and checking arguments, before anything is sent.
	Args Op = iota
	// Connect is starting or reaching the target and initializing it.
	Connect
	// Request is a request on an established connection.
	Request
)

// Info is what Classify says about an error.
type Info struct {
	Type Type
	// Message is one plain sentence saying what went wrong.
	Message string
	// Suggestion says what to do next.
	Suggestion string
	// Details are facts that depend on the type; nil when there are none.
	Details map[string]any
}

// ArgError is a problem with arguments found by the tester itself, before
// anything was sent: it is classified as invalid_arguments.
type ArgError struct {
	// Msg says what is wrong.
	Msg string
	// Suggestion says how to fix it; empty means a generic one.
	Suggestion string
	// Err is the underlying error, if any.
	Err error
}

func (e *ArgError) Error() string { return e.Msg }

func (e *ArgError) Unwrap() error { return e.Err }

// Classify maps err, met during op, to SPEC's error type, with a message
// and a suggestion. It branches on error types only, never on messages. A
// nil err has no type: the zero Info.
func Classify(err error, during Op) Info {
	if err == nil {
		return Info{}
	}
	var (
		argErr     *ArgError
		spawnErr   *connmgr.SpawnError
		exitErr    *connmgr.ExitError
		lostErr    *connmgr.LostError
		httpErr    *connmgr.HTTPError
		timeoutErr *connmgr.TimeoutError
		notFound   *connmgr.ToolNotFoundError
		rpcErr     *connmgr.RPCError
		tooLarge   *connmgr.MessageTooLargeError
		protoErr   *connmgr.ProtocolError
		capErr     *connmgr.CapabilityError
		resErr     *connmgr.ResourceNotFoundError
		promptErr  *connmgr.PromptNotFoundError
		missingErr *connmgr.MissingArgumentsError
	)
	switch {
	case errors.As(err, &argErr):
		sugg := argErr.Suggestion
		if sugg == "" {
			sugg = "Fix the arguments and call the tool again."
		}
		return Info{Type: InvalidArguments, Message: Sentence(argErr.Msg), Suggestion: sugg}

	case errors.Is(err, connmgr.ErrNotConnected):
		return Info{
			Type:       NotConnected,
			Message:    "Not connected to an MCP server.",
			Suggestion: `Call connect first, for example connect {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]} or connect {"url": "http://localhost:3000/mcp"}.`,
		}

	case errors.Is(err, connmgr.ErrRefused):
		return Info{
			Type:       InvalidArguments,
			Message:    Sentence(err.Error()),
			Suggestion: "This tester runs with a command policy (serve --allow-command or --no-stdio): use one of the allowed programs, leave code-loading variables out of env, or connect to an http(s) URL.",
		}

	case errors.Is(err, connmgr.ErrInvalidSpec):
		return Info{
			Type:       InvalidArguments,
			Message:    Sentence(err.Error()),
			Suggestion: "Fix the target's description as the message says (url or command, and only the options that fit it: headers and bearer_token for HTTP, args, env and cwd for stdio).",
		}

	case errors.Is(err, connmgr.ErrInvalidRequest):
		return Info{
			Type:       InvalidArguments,
			Message:    Sentence(err.Error()),
			Suggestion: "Fix the params so that they fit the method as the MCP specification defines it; nothing was sent.",
		}

	case errors.As(err, &spawnErr):
		sugg := spawnErr.Hint
		if sugg == "" {
			sugg = "Check that the command exists (on PATH, or give its full path), that it is executable, and that cwd exists."
		}
		return Info{
			Type:       ConnectionFailed,
			Message:    Sentence(err.Error()),
			Suggestion: sugg,
			Details:    map[string]any{"command": spawnErr.Command, "os_error": errString(spawnErr.Err)},
		}

	case errors.As(err, &exitErr):
		details := map[string]any{
			"exit_code":   exitErr.Exit.Code,
			"stderr_tail": exitErr.Exit.StderrTail,
			"during":      exitErr.During,
		}
		if exitErr.Exit.Signal != "" {
			details["signal"] = exitErr.Exit.Signal
		}
		if during == Connect || exitErr.During == "initialize" {
			return Info{
				Type:       ConnectionFailed,
				Message:    Sentence(err.Error()),
				Suggestion: "The target exited before it was ready: read details.stderr_tail for its own error, fix it, then call connect again.",
				Details:    details,
			}
		}
		return Info{
			Type:       ConnectionLost,
			Message:    Sentence(err.Error()),
			Suggestion: "The target crashed: read details.stderr_tail, fix the server, then call connect again. status shows the ended connection.",
			Details:    details,
		}

	case errors.As(err, &timeoutErr):
		details := map[string]any{
			"method":            timeoutErr.Method,
			"timeout_seconds":   math.Round(timeoutErr.After.Seconds()*100) / 100,
			"cancel_sent":       timeoutErr.Cancelled,
			"connection_closed": timeoutErr.Lost,
		}
		sugg := "The connection is still usable: retry with a larger timeout_seconds, or check the tool for a hang."
		switch {
		case during == Connect:
			sugg = "The target did not finish initialize in time: check that it speaks MCP on this transport (call status for its stderr), or raise timeout_seconds."
		case timeoutErr.Lost:
			sugg = "The target stopped reading our messages, so the connection was closed: call connect again."
		}
		return Info{Type: Timeout, Message: Sentence(err.Error()), Suggestion: sugg, Details: details}

	case errors.As(err, &lostErr):
		typ, sugg := ConnectionLost, "The connection ended: call status for the details, then connect again."
		if during == Connect {
			typ, sugg = ConnectionFailed, "The connection ended before initialize finished: check the target's logs and the URL or command, then connect again."
		}
		return Info{Type: typ, Message: Sentence(err.Error()), Suggestion: sugg, Details: map[string]any{"reason": lostErr.Reason}}

	case errors.As(err, &httpErr):
		details := map[string]any{}
		if httpErr.StatusCode != 0 {
			details["status_code"] = httpErr.StatusCode
		}
		for k, v := range map[string]string{
			"www_authenticate": httpErr.WWWAuthenticate,
			"content_type":     httpErr.ContentType,
			"body_snippet":     httpErr.BodySnippet,
		} {
			if v != "" {
				details[k] = v
			}
		}
		return Info{Type: ConnectionFailed, Message: Sentence(err.Error()), Suggestion: httpSuggestion(httpErr), Details: details}

	case errors.As(err, &notFound):
		return unknownName(ToolNotFound, err, notFound.Name, notFound.Available, "tools")

	case errors.As(err, &capErr):
		return Info{
			Type:    CapabilityMissing,
			Message: Sentence(err.Error()),
			Suggestion: fmt.Sprintf("The target does not offer %s: call status and read connection.capabilities for what it does declare. "+
				"If the server should support this, declare the %s capability in its initialize result.", capErr.Capability, capErr.Capability),
			Details: map[string]any{"capability": capErr.Capability, "method": capErr.Method},
		}

	case errors.As(err, &resErr):
		return Info{
			Type:       ResourceNotFound,
			Message:    Sentence(err.Error()),
			Suggestion: "Call list_resources for the fixed URIs and list_resource_templates for the URI patterns the target serves.",
			Details:    map[string]any{"uri": resErr.URI, "target_message": resErr.Message},
		}

	case errors.As(err, &promptErr):
		return unknownName(PromptNotFound, err, promptErr.Name, promptErr.Available, "prompts")

	case errors.As(err, &missingErr):
		n := len(missingErr.Missing)
		noun, verb := "arguments", "were"
		if n == 1 {
			noun, verb = "argument", "was"
		}
		return Info{
			Type:       InvalidArguments,
			Message:    fmt.Sprintf("The prompt %s needs the %s %s, which %s not given; nothing was sent.", missingErr.Prompt, noun, andList(missingErr.Missing), verb),
			Suggestion: "Pass the missing arguments in arguments (an object of strings); list_prompts shows every argument and whether it is required, and complete can suggest values.",
			Details:    map[string]any{"prompt": missingErr.Prompt, "missing_arguments": missingErr.Missing},
		}

	case errors.Is(err, connmgr.ErrRootsNotDeclared):
		return Info{
			Type:       InvalidArguments,
			Message:    Sentence(err.Error()),
			Suggestion: "Roots can only change on a connection that declared them: call connect again with roots, then set_roots.",
		}

	case errors.As(err, &rpcErr):
		details := map[string]any{"method": rpcErr.Method, "code": rpcErr.Code, "target_message": rpcErr.Message}
		if rpcErr.Code == jsonrpc.CodeInvalidParams {
			return Info{
				Type:       InvalidArguments,
				Message:    Sentence("The target rejected the arguments: " + rpcErr.Message),
				Suggestion: invalidParamsSuggestion(rpcErr.Method),
				Details:    details,
			}
		}
		return Info{
			Type:       ProtocolError,
			Message:    Sentence(err.Error()),
			Suggestion: "The target answered with a JSON-RPC error: see details.code and details.target_message.",
			Details:    details,
		}

	case errors.As(err, &tooLarge):
		return Info{
			Type:       ProtocolError,
			Message:    Sentence(err.Error()),
			Suggestion: "Make the tool return less, or start mcp-test-mcp with a larger MCP_TEST_MAX_MESSAGE_BYTES.",
			Details:    map[string]any{"limit_bytes": tooLarge.Limit},
		}

	case errors.As(err, &protoErr):
		return Info{
			Type:       ProtocolError,
			Message:    Sentence(err.Error()),
			Suggestion: "The target broke the MCP protocol: the message says how. Fix the server and call connect again.",
		}

	default:
		return Info{
			Type:       InternalError,
			Message:    Sentence(err.Error()),
			Suggestion: "This is an unexpected failure inside mcp-test-mcp; status shows whether the connection is still up.",
		}
	}
}

// unknownName is the Info of a name the target does not list among its
// kind ("tools", "prompts"): the suggestion offers the closest names it does
// list, and details hold all of them.
func unknownName(typ Type, err error, name string, available []string, kind string) Info {
	sugg := fmt.Sprintf("Call list_%s to see the available %s.", kind, kind)
	if close := Closest(name, available, 3); len(close) > 0 {
		sugg = fmt.Sprintf("Did you mean %s? %s", OrList(close), sugg)
	}
	return Info{
		Type:       typ,
		Message:    Sentence(err.Error()),
		Suggestion: sugg,
		Details:    map[string]any{"available_" + kind: nonNil(available)},
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
