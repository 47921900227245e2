package errtype

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
)

func TestClassify(t *testing.T) {
	code := 1
	tests := []struct {
		name     string
		err      error
		during   Op
		wantType Type
		check    func(t *testing.T, e Info)
	}{
		{name: "no connection", err: connmgr.ErrNotConnected, during: Request, wantType: NotConnected},
		{
			name: "the tester's own argument check keeps its suggestion", during: Args, wantType: InvalidArguments,
			err: &ArgError{Msg: "format \"xml\" is not json, text or junit", Suggestion: "Pass json."},
			check: func(t *testing.T, e Info) {
				assert.Equal(t, `Format "xml" is not json, text or junit.`, e.Message)
				assert.Equal(t, "Pass json.", e.Suggestion)
			},
		},
		{
			name: "an argument error without a suggestion gets a generic one", during: Args, wantType: InvalidArguments,
			err: fmt.Errorf("step 2: %w", &ArgError{Msg: "bad", Err: errors.New("cause")}),
			check: func(t *testing.T, e Info) {
				assert.Contains(t, e.Suggestion, "Fix the arguments")
			},
		},
		{
			name: "an unknown prompt lists close names", during: Request, wantType: PromptNotFound,
			err: &connmgr.PromptNotFoundError{Name: "greet", Available: []string{"greeting", "summary"}},
			check: func(t *testing.T, e Info) {
				assert.Equal(t, `Did you mean "greeting"? Call list_prompts to see the available prompts.`, e.Suggestion)
				assert.Equal(t, []string{"greeting", "summary"}, e.Details["available_prompts"])
			},
		},
		{
			name: "an unknown tool on a target without tools lists none", during: Request, wantType: ToolNotFound,
			err: &connmgr.ToolNotFoundError{Name: "echo"},
			check: func(t *testing.T, e Info) {
				assert.Equal(t, "Call list_tools to see the available tools.", e.Suggestion)
				assert.Equal(t, []string{}, e.Details["available_tools"])
			},
		},
		{name: "a refusal by the command policy", err: fmt.Errorf("%w: sh is not allowed", connmgr.ErrRefused), during: Connect, wantType: InvalidArguments},
		{name: "roots on a connection without them", err: connmgr.ErrRootsNotDeclared, during: Request, wantType: InvalidArguments},
		{
			name: "missing prompt arguments are named", during: Request, wantType: InvalidArguments,
			err: &connmgr.MissingArgumentsError{Prompt: "greet", Missing: []string{"name", "tone"}},
			check: func(t *testing.T, e Info) {
				assert.Equal(t, `The prompt greet needs the arguments "name" and "tone", which were not given; nothing was sent.`, e.Message)
			},
		},
		{name: "a lost stream while connecting failed the connection", err: &connmgr.LostError{Reason: "the stream ended"}, during: Connect, wantType: ConnectionFailed},
		{
			name: "an HTTP failure that lost the connection is a lost connection", during: Request, wantType: ConnectionLost,
			err: &connmgr.LostError{Reason: "the server answered HTTP 502", Err: &connmgr.HTTPError{StatusCode: 502}},
		},
		{name: "a bad spec", err: fmt.Errorf("%w: headers need an HTTP transport", connmgr.ErrInvalidSpec), during: Connect, wantType: InvalidArguments},
		{
			name: "a raw request whose params do not fit its method is not blamed on the target's description", during: Request, wantType: InvalidArguments,
			err: fmt.Errorf("%w: the params of prompts/get do not fit it", connmgr.ErrInvalidRequest),
			check: func(t *testing.T, e Info) {
				assert.Contains(t, e.Suggestion, "Fix the params")
				assert.NotContains(t, e.Suggestion, "url or command")
			},
		},
		{
			name: "a spawn failure carries its hint", during: Connect, wantType: ConnectionFailed,
			err: &connmgr.SpawnError{Command: "npx -y foo", Hint: "pass command: npx, args: [-y, foo]", Err: errors.New("not found")},
			check: func(t *testing.T, e Info) {
				assert.Equal(t, "pass command: npx, args: [-y, foo]", e.Suggestion)
			},
		},
		{
			name: "an exit while connecting failed the connection", during: Connect, wantType: ConnectionFailed,
			err: &connmgr.ExitError{Exit: connmgr.ExitInfo{Code: &code, StderrTail: "fatal\n"}, During: "initialize"},
			check: func(t *testing.T, e Info) {
				assert.Equal(t, "fatal\n", e.Details["stderr_tail"])
			},
		},
		{
			name: "an exit during a call lost the connection", during: Request, wantType: ConnectionLost,
			err: &connmgr.ExitError{Exit: connmgr.ExitInfo{Signal: "SIGKILL"}, During: "tools/call"},
			check: func(t *testing.T, e Info) {
				assert.Equal(t, "SIGKILL", e.Details["signal"])
			},
		},
		{name: "a lost stream", err: &connmgr.LostError{Reason: "the stream ended"}, during: Request, wantType: ConnectionLost},
		{
			name: "an HTTP 401 suggests credentials", during: Connect, wantType: ConnectionFailed,
			err: &connmgr.HTTPError{StatusCode: 401, WWWAuthenticate: "Bearer"},
			check: func(t *testing.T, e Info) {
				assert.Contains(t, e.Suggestion, "bearer_token")
				assert.Equal(t, 401, e.Details["status_code"])
			},
		},
		{
			name: "a timeout that closed the connection says so", during: Request, wantType: Timeout,
			err: &connmgr.TimeoutError{Method: "tools/call", After: time.Second, Lost: true},
			check: func(t *testing.T, e Info) {
				assert.Contains(t, e.Suggestion, "connect again")
			},
		},
		{
			name: "a timeout that left the connection usable says so", during: Request, wantType: Timeout,
			err: &connmgr.TimeoutError{Method: "tools/call", After: time.Second, Cancelled: true},
			check: func(t *testing.T, e Info) {
				assert.Contains(t, e.Suggestion, "still usable")
			},
		},
		{
			name: "an unknown tool lists close names", during: Request, wantType: ToolNotFound,
			err: &connmgr.ToolNotFoundError{Name: "get_wether", Available: []string{"echo", "get_weather", "add"}},
			check: func(t *testing.T, e Info) {
				assert.Contains(t, e.Suggestion, `Did you mean "get_weather"?`)
				assert.Equal(t, []string{"echo", "get_weather", "add"}, e.Details["available_tools"])
			},
		},
		{
			name: "the target's invalid params", during: Request, wantType: InvalidArguments,
			err: &connmgr.RPCError{Method: "tools/call", Code: -32602, Message: "missing a"},
			check: func(t *testing.T, e Info) {
				assert.Contains(t, e.Message, "missing a")
			},
		},
		{name: "another JSON-RPC error", err: &connmgr.RPCError{Method: "tools/call", Code: -32603, Message: "oops"}, during: Request, wantType: ProtocolError},
		{
			name: "a message over the limit names it", during: Request, wantType: ProtocolError,
			err: &connmgr.MessageTooLargeError{Limit: 32 << 20},
			check: func(t *testing.T, e Info) {
				assert.Contains(t, e.Message, "32 MiB")
				assert.Contains(t, e.Suggestion, "MCP_TEST_MAX_MESSAGE_BYTES")
			},
		},
		{name: "a protocol violation", err: &connmgr.ProtocolError{Msg: "cursor repeats"}, during: Request, wantType: ProtocolError},
		{name: "anything else", err: errors.New("surprise"), during: Request, wantType: InternalError},
		{name: "a wrapped error is still recognised", err: fmt.Errorf("listing: %w", connmgr.ErrNotConnected), during: Request, wantType: NotConnected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Classify(tt.err, tt.during)
			assert.Equal(t, tt.wantType, e.Type)
			assert.NotEmpty(t, e.Message)
			assert.NotEmpty(t, e.Suggestion)
			if tt.check != nil {
				tt.check(t, e)
			}
		})
	}
}

func TestClosest(t *testing.T) {
	names := []string{"echo", "add", "get_weather", "get_forecast", "tiny_image", "slow"}
	tests := []struct {
		name, query string
		want        []string
	}{
		{"a typo finds the tool", "ecko", []string{"echo"}},
		{"case does not matter", "ECHO", []string{"echo"}},
		{"a fragment finds the tools containing it", "weather", []string{"get_weather"}},
		{"a prefix finds every match, closest first", "get_", []string{"get_weather", "get_forecast"}},
		{"a name unlike any finds nothing", "zzzzzzzz", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Closest(tt.query, names, 3))
		})
	}
	t.Run("a prefix ranks above a substring", func(t *testing.T) {
		got := Closest("timeout", []string{"call_timeout_seconds", "timeout_seconds"}, 1)
		assert.Equal(t, []string{"timeout_seconds"}, got)
	})
}

func TestSentence(t *testing.T) {
	assert.Equal(t, "Starting \"x\": not found.", Sentence(`starting "x": not found`))
	assert.Equal(t, "Done?", Sentence("done?"))
	assert.Equal(t, "", Sentence(" "))
	assert.False(t, strings.HasSuffix(Sentence("ends."), ".."))
}

func TestClassifyNil(t *testing.T) {
	assert.Equal(t, Info{}, Classify(nil, Request))
}

func TestNamesAreTheTypes(t *testing.T) {
	names := Names()
	assert.Len(t, names, 12, "SPEC §1 names twelve error types")
	for i, typ := range Types {
		assert.Equal(t, string(typ), names[i])
	}
}
