package tools

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/testtargets"
)

func TestResourcesOfTheExampleServer(t *testing.T) {
	t.Parallel()
	h := newConnectedHost(t, exampleserver.ModeNormal, nil)

	t.Run("list_resources lists every fixed resource", func(t *testing.T) {
		env := h.call("list_resources", nil)
		require.Equal(t, true, env["success"], "%v", env)
		assert.Equal(t, 2.0, get(env, "metadata", "total_resources"))
		assert.Equal(t, exampleserver.ServerName, get(env, "metadata", "server_name"))
		byURI := map[string]any{}
		for _, r := range env["resources"].([]any) {
			byURI[get(r, "uri").(string)] = r
		}
		assert.Equal(t, "text/markdown", get(byURI["example://readme"], "mime_type"))
		assert.Equal(t, "Read me", get(byURI["example://readme"], "title"))
		assert.Equal(t, "image/png", get(byURI["example://logo.png"], "mime_type"))
		assert.Positive(t, get(byURI["example://logo.png"], "size"))
	})
	t.Run("list_resources filters", func(t *testing.T) {
		env := h.call("list_resources", map[string]any{"filter": "LOGO"})
		require.Equal(t, true, env["success"])
		assert.Len(t, env["resources"], 1)
		assert.Equal(t, 1.0, get(env, "metadata", "returned_resources"))
		assert.Contains(t, env["message"], "1 of the 2 resources")
	})
	t.Run("list_resource_templates lists the template", func(t *testing.T) {
		env := h.call("list_resource_templates", nil)
		require.Equal(t, true, env["success"], "%v", env)
		assert.Equal(t, "example://items/{id}", get(env, "resource_templates", 0, "uri_template"))
		assert.Equal(t, "text/plain", get(env, "resource_templates", 0, "mime_type"))
		assert.Equal(t, 1.0, get(env, "metadata", "total_templates"))
	})
	t.Run("read_resource reads text", func(t *testing.T) {
		env := h.call("read_resource", map[string]any{"uri": "example://readme"})
		require.Equal(t, true, env["success"], "%v", env)
		item := get(env, "contents", 0).(map[string]any)
		assert.Equal(t, "example://readme", item["uri"])
		assert.Equal(t, "text/markdown", item["mime_type"])
		assert.Contains(t, item["text"], "example server")
		assert.NotContains(t, item, "blob")
		assert.NotContains(t, item, "truncated")
		assert.Equal(t, 1.0, get(env, "metadata", "connection_statistics", "resources_accessed"))
	})
	t.Run("read_resource reads a blob with its checksum", func(t *testing.T) {
		env := h.call("read_resource", map[string]any{"uri": "example://logo.png"})
		require.Equal(t, true, env["success"], "%v", env)
		item := get(env, "contents", 0).(map[string]any)
		blob, err := base64.StdEncoding.DecodeString(item["blob"].(string))
		require.NoError(t, err)
		assert.Equal(t, "\x89PNG", string(blob[:4]))
		sum := sha256.Sum256(blob)
		assert.Equal(t, hex.EncodeToString(sum[:]), item["sha256"])
		assert.Equal(t, float64(len(blob)), item["size_bytes"])
		assert.Equal(t, false, item["truncated"])
		assert.NotContains(t, item, "text")
	})
	t.Run("read_resource reads a template's instance", func(t *testing.T) {
		env := h.call("read_resource", map[string]any{"uri": "example://items/42"})
		require.Equal(t, true, env["success"], "%v", env)
		assert.Equal(t, "Item 42", get(env, "contents", 0, "text"))
	})
	t.Run("an unknown URI is resource_not_found, with similar URIs", func(t *testing.T) {
		env := h.call("read_resource", map[string]any{"uri": "example://readm"})
		assert.Equal(t, "resource_not_found", errType(env))
		assert.Contains(t, get(env, "error", "suggestion"), "list_resources")
		assert.Contains(t, get(env, "error", "suggestion"), "list_resource_templates")
		assert.Contains(t, get(env, "error", "details", "similar_uris"), "example://readme")
		assert.Equal(t, "example://readm", get(env, "error", "details", "uri"))
	})
	t.Run("read_resource needs a uri", func(t *testing.T) {
		env := h.call("read_resource", map[string]any{})
		assert.Equal(t, "invalid_arguments", errType(env))
	})
	t.Run("subscribing without the capability is capability_missing", func(t *testing.T) {
		env := h.call("subscribe_resource", map[string]any{"uri": "example://readme"})
		assert.Equal(t, "capability_missing", errType(env))
		assert.Equal(t, "resources.subscribe", get(env, "error", "details", "capability"))
		assert.Contains(t, get(env, "error", "suggestion"), "status")
	})
}

func TestPromptsOfTheExampleServer(t *testing.T) {
	t.Parallel()
	h := newConnectedHost(t, exampleserver.ModeNormal, nil)

	t.Run("list_prompts shows required as a bool on every argument", func(t *testing.T) {
		env := h.call("list_prompts", nil)
		require.Equal(t, true, env["success"], "%v", env)
		assert.Equal(t, 2.0, get(env, "metadata", "total_prompts"))
		greet := get(env, "prompts", 0)
		assert.Equal(t, "greet", get(greet, "name"))
		assert.Equal(t, map[string]any{"name": "name", "description": "who to greet", "required": true}, get(greet, "arguments", 0))
		assert.Equal(t, false, get(greet, "arguments", 1, "required"), "required is false when the target leaves it out")
	})
	t.Run("get_prompt renders messages in wire form", func(t *testing.T) {
		env := h.call("get_prompt", map[string]any{"name": "greet", "arguments": map[string]any{"name": "Ada", "style": "formal"}})
		require.Equal(t, true, env["success"], "%v", env)
		p := env["prompt"].(map[string]any)
		assert.Equal(t, "A greeting for Ada", p["description"])
		assert.Equal(t, "user", get(p, "messages", 0, "role"))
		assert.Equal(t, "text", get(p, "messages", 0, "content", "type"))
		assert.Equal(t, "Write a formal greeting addressed to Ada.", p["text"])
		assert.Equal(t, map[string]any{"name": "Ada", "style": "formal"}, p["arguments"])
		assert.Equal(t, 1.0, get(env, "metadata", "connection_statistics", "prompts_executed"))
	})
	t.Run("get_prompt takes arguments as a JSON string, and numbers as text", func(t *testing.T) {
		env := h.call("get_prompt", map[string]any{"name": "greet", "arguments": `{"name": 42}`})
		require.Equal(t, true, env["success"], "%v", env)
		assert.Equal(t, "Say hi to 42.", get(env, "prompt", "text"))
	})
	t.Run("secret-looking arguments are not echoed", func(t *testing.T) {
		env := h.call("get_prompt", map[string]any{"name": "greet", "arguments": map[string]any{"name": "Ada", "api_key": "hunter22"}})
		require.Equal(t, true, env["success"], "%v", env)
		assert.Equal(t, "***", get(env, "prompt", "arguments", "api_key"))
		assert.Equal(t, "Ada", get(env, "prompt", "arguments", "name"))
	})
	t.Run("missing required arguments are named, and nothing is sent", func(t *testing.T) {
		before := h.mgr.Status().Info.Statistics.ByMethod["prompts/get"].Count
		env := h.call("get_prompt", map[string]any{"name": "greet", "arguments": map[string]any{"style": "pirate"}})
		assert.Equal(t, "invalid_arguments", errType(env))
		assert.Contains(t, get(env, "error", "message"), `"name"`)
		assert.Equal(t, []any{"name"}, get(env, "error", "details", "missing_arguments"))
		assert.Equal(t, before, h.mgr.Status().Info.Statistics.ByMethod["prompts/get"].Count)
	})
	t.Run("the target's own -32602 is invalid_arguments", func(t *testing.T) {
		env := h.call("get_prompt", map[string]any{"name": "greet", "arguments": map[string]any{"name": "Ada", "style": "rude"}})
		assert.Equal(t, "invalid_arguments", errType(env))
		assert.Contains(t, get(env, "error", "message"), "unknown style")
		assert.Contains(t, get(env, "error", "suggestion"), "list_prompts")
	})
	t.Run("an unknown prompt is prompt_not_found with the closest names", func(t *testing.T) {
		env := h.call("get_prompt", map[string]any{"name": "gret"})
		assert.Equal(t, "prompt_not_found", errType(env))
		assert.Contains(t, get(env, "error", "suggestion"), `"greet"`)
		assert.ElementsMatch(t, []any{"greet", "summarize"}, get(env, "error", "details", "available_prompts"))
	})
	t.Run("arguments that are not strings are refused", func(t *testing.T) {
		env := h.call("get_prompt", map[string]any{"name": "greet", "arguments": map[string]any{"name": []any{"A"}}})
		assert.Equal(t, "invalid_arguments", errType(env))
		assert.Contains(t, get(env, "error", "message"), `"name"`)
	})
	t.Run("complete suggests values of a prompt argument", func(t *testing.T) {
		env := h.call("complete", map[string]any{"ref_type": "prompt", "name": "greet", "argument": map[string]any{"name": "style"}})
		require.Equal(t, true, env["success"], "%v", env)
		assert.Equal(t, []any{"casual", "formal", "pirate"}, env["values"])
		assert.Equal(t, 3.0, env["total"])
		assert.Equal(t, false, env["has_more"])
		env = h.call("complete", map[string]any{"ref_type": "prompt", "name": "greet", "argument": map[string]any{"name": "style", "value": "f"}})
		assert.Equal(t, []any{"formal"}, env["values"])
	})
	t.Run("complete checks its reference", func(t *testing.T) {
		env := h.call("complete", map[string]any{"ref_type": "tool", "name": "greet", "argument": map[string]any{"name": "style"}})
		assert.Equal(t, "invalid_arguments", errType(env))
		env = h.call("complete", map[string]any{"ref_type": "resource_template", "argument": map[string]any{"name": "id"}})
		assert.Equal(t, "invalid_arguments", errType(env))
		assert.Contains(t, get(env, "error", "suggestion"), "list_resource_templates")
	})
}

func TestProtocolToolsOfTheExampleServer(t *testing.T) {
	t.Parallel()
	h := newConnectedHost(t, exampleserver.ModeNormal, nil)

	t.Run("ping measures a round trip", func(t *testing.T) {
		env := h.call("ping", map[string]any{"timeout_seconds": 5})
		require.Equal(t, true, env["success"], "%v", env)
		rtt := env["round_trip_ms"].(float64)
		assert.Positive(t, rtt)
		assert.Equal(t, round2(rtt), rtt, "two decimals")
	})
	t.Run("set_log_level sets the level the target logs at", func(t *testing.T) {
		env := h.call("set_log_level", map[string]any{"level": "warning"})
		require.Equal(t, true, env["success"], "%v", env)
		assert.Equal(t, "warning", env["level"])
		call := h.call("call_tool", map[string]any{"name": "log", "arguments": map[string]any{"level": "info", "message": "hidden"}})
		assert.Empty(t, get(call, "tool_call", "logs"), "info is below warning")
		h.call("set_log_level", map[string]any{"level": "debug"})
	})
	t.Run("set_log_level refuses an unknown level", func(t *testing.T) {
		env := h.call("set_log_level", map[string]any{"level": "warn"})
		assert.Equal(t, "invalid_arguments", errType(env))
		assert.Contains(t, get(env, "error", "suggestion"), `"warning"`)
	})
	t.Run("set_roots needs a connection made with roots", func(t *testing.T) {
		// This host declares roots, which connect passes on by default.
		h.connect(exampleserver.ModeNormal, map[string]any{"client_capabilities": map[string]any{"roots": false}})
		env := h.call("set_roots", map[string]any{"roots": []any{map[string]any{"uri": "file:///tmp", "name": "tmp"}}})
		assert.Equal(t, "invalid_arguments", errType(env))
		assert.Contains(t, get(env, "error", "suggestion"), "connect again with roots")
	})
}

func TestNotificationsFromTheExampleServer(t *testing.T) {
	t.Parallel()
	const maxEvents = 12
	h := newHost(t, &hostOptions{maxEvents: maxEvents})

	env := h.call("get_notifications", nil)
	require.Equal(t, true, env["success"], "works without a connection: %v", env)
	assert.Equal(t, []any{}, env["notifications"])

	h.connect(exampleserver.ModeNormal, nil)
	since := h.call("get_notifications", nil)["last_seq"].(float64)
	call := h.call("call_tool", map[string]any{"name": "slow", "arguments": map[string]any{"steps": 3, "delay_ms": 1}})
	require.Equal(t, true, call["success"], "%v", call)

	t.Run("log and progress notifications of a call arrive in order", func(t *testing.T) {
		env := h.call("get_notifications", map[string]any{"kinds": []any{"log", "progress"}, "since": since})
		require.Equal(t, true, env["success"], "%v", env)
		ns := env["notifications"].([]any)
		require.Len(t, ns, 6)
		var progress, logs []string
		for i, n := range ns {
			if i > 0 {
				assert.Greater(t, get(n, "seq"), get(ns[i-1], "seq"))
			}
			assert.NotEmpty(t, get(n, "connection_id"))
			_, err := time.Parse(time.RFC3339, get(n, "at").(string))
			assert.NoError(t, err)
			switch get(n, "kind") {
			case "progress":
				assert.Equal(t, "notifications/progress", get(n, "method"))
				progress = append(progress, get(n, "data", "message").(string))
			case "log":
				assert.Equal(t, "notifications/message", get(n, "method"))
				logs = append(logs, get(n, "data", "data").(string))
			}
		}
		want := []string{"step 1 of 3", "step 2 of 3", "step 3 of 3"}
		assert.Equal(t, want, progress)
		assert.Equal(t, want, logs)
		assert.Equal(t, get(env, "last_seq"), get(ns, 5, "seq"))
		assert.Equal(t, 3.0, get(env, "counts", "progress"))
		assert.Equal(t, 0.0, get(env, "counts", "resource_updated"), "every kind is counted")
	})
	t.Run("since shows only what is new", func(t *testing.T) {
		last := h.call("get_notifications", nil)["last_seq"]
		env := h.call("get_notifications", map[string]any{"since": last})
		assert.Equal(t, []any{}, env["notifications"])
		assert.Contains(t, env["message"], "No new notifications")
	})
	t.Run("limit keeps the newest", func(t *testing.T) {
		env := h.call("get_notifications", map[string]any{"kinds": []any{"progress"}, "limit": 1})
		require.Len(t, env["notifications"], 1)
		assert.Equal(t, 3.0, env["matched"])
		assert.Equal(t, "step 3 of 3", get(env, "notifications", 0, "data", "message"))
	})
	t.Run("the buffer is bounded", func(t *testing.T) {
		h.call("call_tool", map[string]any{"name": "slow", "arguments": map[string]any{"steps": 10, "delay_ms": 1}})
		env := h.call("get_notifications", map[string]any{"limit": 1000})
		assert.Len(t, env["notifications"], maxEvents)
		assert.Positive(t, env["dropped"])
		assert.Equal(t, 13.0, get(env, "counts", "progress"), "counts include dropped notifications")
		assert.Contains(t, env["message"], "dropped")
	})
	t.Run("clear forgets after reading", func(t *testing.T) {
		env := h.call("get_notifications", map[string]any{"kinds": []any{"log"}, "clear": true})
		assert.NotEmpty(t, env["notifications"])
		assert.Equal(t, true, env["cleared"])
		env = h.call("get_notifications", nil)
		assert.Equal(t, []any{}, env["notifications"])
		assert.Equal(t, 0.0, get(env, "counts", "log"))
		assert.Equal(t, 0.0, env["dropped"])
	})
	t.Run("an unknown kind is refused with the valid ones", func(t *testing.T) {
		env := h.call("get_notifications", map[string]any{"kinds": []any{"logs"}})
		assert.Equal(t, "invalid_arguments", errType(env))
		assert.Contains(t, get(env, "error", "suggestion"), `"log"`)
	})
}

func TestProtocolToolsWithoutAConnection(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	for tool, args := range map[string]any{
		"list_resources":          nil,
		"list_resource_templates": nil,
		"read_resource":           map[string]any{"uri": "example://readme"},
		"subscribe_resource":      map[string]any{"uri": "example://readme"},
		"unsubscribe_resource":    map[string]any{"uri": "example://readme"},
		"list_prompts":            nil,
		"get_prompt":              map[string]any{"name": "greet"},
		"complete":                map[string]any{"ref_type": "prompt", "name": "greet", "argument": map[string]any{"name": "style"}},
		"ping":                    nil,
		"set_log_level":           map[string]any{"level": "info"},
		"set_roots":               map[string]any{"roots": []any{}},
	} {
		t.Run(tool+" says to connect first", func(t *testing.T) {
			assert.Equal(t, "not_connected", errType(h.call(tool, args)))
		})
	}
}

// templateVarRE matches a variable of an RFC 6570 URI template.
var templateVarRE = regexp.MustCompile(`\{[^}]*\}`)

// exerciseFeatures reads every resource and template, renders every prompt
// (with values from the target's completions) and checks what it returns.
// skipPrompts names prompts that cannot render for this client.
func exerciseFeatures(t *testing.T, h *host, skipPrompts ...string) {
	// list calls a list tool and returns the items under key, of which it
	// requires some.
	list := func(t *testing.T, tool, key string) []any {
		env := h.call(tool, nil)
		require.Equal(t, true, env["success"], "%v", env)
		require.NotEmpty(t, env[key])
		return env[key].([]any)
	}
	read := func(t *testing.T, uri string) {
		env := h.call("read_resource", map[string]any{"uri": uri})
		if assert.Equal(t, true, env["success"], "%s: %v", uri, env) {
			assert.NotEmpty(t, env["contents"], uri)
		}
	}
	t.Run("every resource is read", func(t *testing.T) {
		for _, r := range list(t, "list_resources", "resources") {
			read(t, get(r, "uri").(string))
		}
	})
	t.Run("every template is read, with values from completion", func(t *testing.T) {
		for _, rt := range list(t, "list_resource_templates", "resource_templates") {
			tmpl := get(rt, "uri_template").(string)
			uri := templateVarRE.ReplaceAllStringFunc(tmpl, func(v string) string {
				name := strings.Trim(v, "{}+#./;?&")
				c := h.call("complete", map[string]any{"ref_type": "resource_template", "uri": tmpl, "argument": map[string]any{"name": name, "value": "1"}})
				require.Equal(t, true, c["success"], "%s: %v", tmpl, c)
				if vs := c["values"].([]any); len(vs) > 0 {
					return vs[0].(string)
				}
				return "1"
			})
			read(t, uri)
		}
	})
	t.Run("every prompt renders", func(t *testing.T) {
		for _, p := range list(t, "list_prompts", "prompts") {
			name := get(p, "name").(string)
			if slices.Contains(skipPrompts, name) {
				continue
			}
			args := map[string]any{}
			for _, a := range get(p, "arguments").([]any) {
				require.IsType(t, true, get(a, "required"), "required is a bool")
				if get(a, "required") != true {
					continue
				}
				arg := get(a, "name").(string)
				args[arg] = "1"
				c := h.call("complete", map[string]any{"ref_type": "prompt", "name": name,
					"argument": map[string]any{"name": arg}, "context_arguments": args})
				require.Equal(t, true, c["success"], "%s.%s: %v", name, arg, c)
				if vs := c["values"].([]any); len(vs) > 0 {
					args[arg] = vs[0]
				}
			}
			env := h.call("get_prompt", map[string]any{"name": name, "arguments": args})
			if !assert.Equal(t, true, env["success"], "%s: %v", name, env) {
				continue
			}
			for _, m := range get(env, "prompt", "messages").([]any) {
				assert.Contains(t, []any{"user", "assistant"}, get(m, "role"))
				switch typ := get(m, "content", "type"); typ {
				case "text":
					assert.Contains(t, get(env, "prompt", "text"), get(m, "content", "text"))
				case "image", "audio":
					assert.NotEmpty(t, get(m, "content", "data"), name)
					assert.NotEmpty(t, get(m, "content", "mimeType"), name)
				case "resource":
					assert.NotEmpty(t, get(m, "content", "resource", "uri"), name)
				case "resource_link":
					assert.NotEmpty(t, get(m, "content", "uri"), name)
				default:
					t.Errorf("%s: unexpected content type %v", name, typ)
				}
			}
		}
	})
}

func TestGoEverythingServerFeatures(t *testing.T) {
	t.Parallel()
	server := testtargets.GoEverythingServer(t)
	h := newHost(t, nil)
	env := h.call("connect", map[string]any{"command": server})
	require.Equal(t, true, env["success"], "%v", env)

	// test_input_required_result_prompt asks the client for input through
	// elicitation, which this connection does not declare.
	exerciseFeatures(t, h, "test_input_required_result_prompt")

	t.Run("a blob's sha256 matches a direct read", func(t *testing.T) {
		env := h.call("read_resource", map[string]any{"uri": "test://static-binary"})
		require.Equal(t, true, env["success"], "%v", env)
		item := get(env, "contents", 0)
		assert.Equal(t, "image/png", get(item, "mime_type"))
		assert.Equal(t, directBlobSHA256(t, server, "test://static-binary"), get(item, "sha256"))
	})
	t.Run("a prompt with an embedded resource and an image", func(t *testing.T) {
		env := h.call("get_prompt", map[string]any{"name": "test_prompt_with_embedded_resource", "arguments": map[string]any{"resourceUri": "test://x"}})
		require.Equal(t, true, env["success"], "%v", env)
		assert.Equal(t, "resource", get(env, "prompt", "messages", 0, "content", "type"))
		assert.Equal(t, "test://x", get(env, "prompt", "messages", 0, "content", "resource", "uri"))
		env = h.call("get_prompt", map[string]any{"name": "test_prompt_with_image"})
		require.Equal(t, true, env["success"], "%v", env)
		assert.Equal(t, "image", get(env, "prompt", "messages", 0, "content", "type"))
		assert.Equal(t, "Please analyze the image above.", get(env, "prompt", "text"))
	})
	t.Run("missing required arguments are named", func(t *testing.T) {
		env := h.call("get_prompt", map[string]any{"name": "test_prompt_with_arguments", "arguments": map[string]any{"arg2": "x"}})
		assert.Equal(t, "invalid_arguments", errType(env))
		assert.Equal(t, []any{"arg1"}, get(env, "error", "details", "missing_arguments"))
	})
	t.Run("subscriptions deliver resource_updated", func(t *testing.T) {
		const uri = "test://watched-resource"
		since := h.mgr.Events(connmgr.EventQuery{}).LastSeq
		env := h.call("subscribe_resource", map[string]any{"uri": uri})
		require.Equal(t, true, env["success"], "%v", env)
		assert.Contains(t, env["message"], "get_notifications")
		assert.Contains(t, env["message"], "resource_updated")
		waitForEvent(t, h, connmgr.EventResourceUpdated, since)
		env = h.call("get_notifications", map[string]any{"kinds": []any{"resource_updated"}, "since": since})
		require.NotEmpty(t, env["notifications"])
		assert.Equal(t, uri, get(env, "notifications", 0, "data", "uri"))
		assert.Equal(t, "notifications/resources/updated", get(env, "notifications", 0, "method"))
		env = h.call("unsubscribe_resource", map[string]any{"uri": uri})
		assert.Equal(t, true, env["success"], "%v", env)
		assert.Equal(t, false, env["subscribed"])
	})
}

func TestServerEverythingFeatures(t *testing.T) {
	t.Parallel()
	node, script := testtargets.NodeEverything(t)
	h := newHost(t, nil)
	env := h.call("connect", map[string]any{"command": node, "args": []any{script, "stdio"}})
	require.Equal(t, true, env["success"], "%v", env)

	exerciseFeatures(t, h)

	t.Run("resource-prompt embeds the resource chosen by completion", func(t *testing.T) {
		c := h.call("complete", map[string]any{"ref_type": "prompt", "name": "resource-prompt", "argument": map[string]any{"name": "resourceType", "value": "B"}})
		require.Equal(t, []any{"Blob"}, c["values"], "%v", c)
		env := h.call("get_prompt", map[string]any{"name": "resource-prompt", "arguments": `{"resourceType": "Blob", "resourceId": "3"}`})
		require.Equal(t, true, env["success"], "%v", env)
		res := get(env, "prompt", "messages", 1, "content")
		assert.Equal(t, "resource", get(res, "type"))
		assert.Equal(t, "demo://resource/dynamic/blob/3", get(res, "resource", "uri"))
		blob, err := base64.StdEncoding.DecodeString(get(res, "resource", "blob").(string))
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(blob), "Resource 3: This is a base64 blob"), "%q", blob)
	})
	t.Run("completion narrows by context arguments", func(t *testing.T) {
		c := h.call("complete", map[string]any{"ref_type": "prompt", "name": "completable-prompt",
			"argument": map[string]any{"name": "name"}, "context_arguments": map[string]any{"department": "Sales"}})
		require.Equal(t, true, c["success"], "%v", c)
		assert.Equal(t, []any{"David", "Eve", "Frank"}, c["values"])
	})
	t.Run("a blob resource is decoded and checksummed", func(t *testing.T) {
		env := h.call("read_resource", map[string]any{"uri": "demo://resource/dynamic/blob/7"})
		require.Equal(t, true, env["success"], "%v", env)
		item := get(env, "contents", 0)
		blob, err := base64.StdEncoding.DecodeString(get(item, "blob").(string))
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(blob), "Resource 7: This is a base64 blob"), "%q", blob)
		sum := sha256.Sum256(blob)
		assert.Equal(t, hex.EncodeToString(sum[:]), get(item, "sha256"))
	})
	t.Run("an unknown prompt is prompt_not_found", func(t *testing.T) {
		env := h.call("get_prompt", map[string]any{"name": "simple_prompt"})
		assert.Equal(t, "prompt_not_found", errType(env))
		assert.Contains(t, get(env, "error", "suggestion"), `"simple-prompt"`)
	})
	t.Run("missing required arguments are named", func(t *testing.T) {
		env := h.call("get_prompt", map[string]any{"name": "args-prompt", "arguments": map[string]any{"state": "CA"}})
		assert.Equal(t, "invalid_arguments", errType(env))
		assert.Equal(t, []any{"city"}, get(env, "error", "details", "missing_arguments"))
	})
	t.Run("subscriptions deliver resource_updated", func(t *testing.T) {
		list := h.call("list_resources", nil)
		uri := get(list, "resources", 0, "uri").(string)
		since := h.mgr.Events(connmgr.EventQuery{}).LastSeq
		env := h.call("subscribe_resource", map[string]any{"uri": uri})
		require.Equal(t, true, env["success"], "%v", env)
		assert.Equal(t, true, env["subscribed"])
		call := h.call("call_tool", map[string]any{"name": "toggle-subscriber-updates"})
		require.Equal(t, true, call["success"], "%v", call)
		waitForEvent(t, h, connmgr.EventResourceUpdated, since)
		env = h.call("get_notifications", map[string]any{"kinds": []any{"resource_updated"}, "since": since})
		require.NotEmpty(t, env["notifications"])
		assert.Equal(t, uri, get(env, "notifications", 0, "data", "uri"))
		env = h.call("unsubscribe_resource", map[string]any{"uri": uri})
		assert.Equal(t, true, env["success"], "%v", env)
		h.call("call_tool", map[string]any{"name": "toggle-subscriber-updates"})
	})
}

// waitForEvent waits until an event of kind newer than since was recorded.
func waitForEvent(t *testing.T, h *host, kind string, since int64) {
	t.Helper()
	require.Eventually(t, func() bool {
		return len(h.mgr.Events(connmgr.EventQuery{Kinds: []string{kind}, Since: since}).Events) > 0
	}, 15*time.Second, 20*time.Millisecond, "no %s event", kind)
}

// directBlobSHA256 reads uri from a fresh stdio server with a plain go-sdk
// client and returns the hex SHA-256 of its first blob.
func directBlobSHA256(t *testing.T, command, uri string) string {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "reference", Version: "1"}, nil)
	cs, err := client.Connect(t.Context(), &mcp.CommandTransport{Command: exec.Command(command), TerminateDuration: time.Second}, nil)
	require.NoError(t, err)
	defer func() { _ = cs.Close() }()
	res, err := cs.ReadResource(t.Context(), &mcp.ReadResourceParams{URI: uri})
	require.NoError(t, err)
	for _, c := range res.Contents {
		if c.Blob != nil {
			sum := sha256.Sum256(c.Blob)
			return hex.EncodeToString(sum[:])
		}
	}
	t.Fatalf("%s has no blob when read directly", uri)
	return ""
}

func TestResourceItemsAreCut(t *testing.T) {
	t.Parallel()
	h := &handlers{maxText: 10}
	big := make([]byte, maxBinaryBytes+100)
	for i := range big {
		big[i] = byte(i)
	}
	items := h.resourceItems([]*mcp.ResourceContents{
		{URI: "x://blob", MIMEType: "application/octet-stream", Blob: big},
		{URI: "x://text", Text: "0123456789abcdef"},
		{URI: "x://empty"},
	}, nil)
	require.Len(t, items, 3)

	blob := items[0]
	data, err := base64.StdEncoding.DecodeString(*blob.Blob)
	require.NoError(t, err)
	assert.Equal(t, big[:maxBinaryBytes], data)
	assert.True(t, *blob.Truncated)
	assert.Equal(t, len(big), *blob.SizeBytes)
	sum := sha256.Sum256(big)
	assert.Equal(t, hex.EncodeToString(sum[:]), blob.SHA256, "the checksum is of the whole blob")
	assert.Contains(t, blob.Note, "first 65536")

	text := items[1]
	assert.Equal(t, "0123456789", *text.Text)
	assert.True(t, *text.Truncated)
	assert.Equal(t, 16, *text.SizeBytes)

	empty := items[2]
	assert.Equal(t, "", *empty.Text, "an empty text item keeps its text")
	assert.Nil(t, empty.Truncated)
}
