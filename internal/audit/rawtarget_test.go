package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"strings"
)

// surface is what the raw target serves. clean() is a target that breaks
// no rule; each entry of defects plants one defect in it.
type surface struct {
	init      map[string]any
	tools     []map[string]any
	resources []map[string]any
	templates []map[string]any
	prompts   []map[string]any
	// paging is how tools/list is paged: "" two pages; "repeat" the second
	// page's cursor points at itself; "empty" an empty first page;
	// "endless" a new cursor on every page.
	paging string
	// failList names a list method answered with -32603.
	failList string
	// unknownMethod: "" answers -32601; "result" answers {}; "-32099"
	// answers that code, which the tester's made-up answers also use.
	unknownMethod string
	// unknownTool: "" answers -32602; "result" a success; "hang" nothing.
	unknownTool string
	// invalidArgs: "" answers isError; "accept" a success; "crash" exits.
	invalidArgs string
	// searchOutput is the structuredContent of a successful read-only call.
	searchOutput any
	pingFails    bool
	// pingStopsAfterCall leaves ping unanswered after the first tools/call.
	pingStopsAfterCall bool
}

func obj(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func searchTool(name string) map[string]any {
	return obj(
		"name", name,
		"title", "Search documents",
		"description", "Search the document index and return the titles that match a query.",
		"inputSchema", obj("type", "object",
			"properties", obj(
				"query", obj("type", "string", "description", "words to look for"),
				"limit", obj("type", "integer", "minimum", 1, "maximum", 50)),
			"required", []any{"query"},
			"additionalProperties", false),
		"outputSchema", obj("type", "object",
			"properties", obj("titles", obj("type", "array", "items", obj("type", "string"))),
			"required", []any{"titles"}),
		"annotations", obj("readOnlyHint", true, "openWorldHint", false),
	)
}

func clean() *surface {
	return &surface{
		init: obj(
			"protocolVersion", "2025-11-25",
			"capabilities", obj("tools", obj(), "resources", obj(), "prompts", obj()),
			"serverInfo", obj("name", "raw-clean", "version", "1.0.0"),
			"instructions", "Search the document index with search; read documents as resources.",
		),
		tools: []map[string]any{
			searchTool("search"),
			obj(
				"name", "delete_doc",
				"description", "Delete a document from the index by its id. This cannot be undone.",
				"inputSchema", obj("type", "object", "properties", obj("id", obj("type", "string")), "required", []any{"id"}),
				"annotations", obj("destructiveHint", true),
			),
		},
		resources:    []map[string]any{obj("uri", "docs://readme", "name", "readme", "mimeType", "text/markdown")},
		templates:    []map[string]any{obj("uriTemplate", "docs://items/{id}", "name", "item", "mimeType", "application/json")},
		prompts:      []map[string]any{obj("name", "summarize", "description", "Summarize a document.", "arguments", []any{obj("name", "topic", "required", true)})},
		searchOutput: obj("titles", []any{"Getting started"}),
	}
}

// defects plants one defect per rule in a clean surface; want is the rule
// it must trip (and nothing else).
var defects = []struct {
	name   string
	want   string
	mutate func(s *surface)
}{
	{"an unreleased protocol version", "lifecycle.protocol_version.unknown", func(s *surface) { s.init["protocolVersion"] = "2026-07-28" }},
	{"an old protocol version", "lifecycle.protocol_version.outdated", func(s *surface) { s.init["protocolVersion"] = "2024-11-05" }},
	{"a serverInfo without version", "lifecycle.server_info.incomplete", func(s *surface) { s.init["serverInfo"] = obj("name", "raw") }},
	{"9 KiB of instructions", "lifecycle.instructions.large", func(s *surface) { s.init["instructions"] = strings.Repeat("Use search first. ", 512) }},
	{"a failing prompts/list", "capability.list_failed", func(s *surface) { s.failList = "prompts/list" }},
	{"prompts served but not declared", "capability.undeclared", func(s *surface) {
		delete(s.init["capabilities"].(map[string]any), "prompts")
	}},
	{"a tool name with a space", "tool.name.invalid", func(s *surface) { s.tools[1]["name"] = "delete doc" }},
	{"two tools with one name", "tool.name.duplicate", func(s *surface) { s.tools = append(s.tools, maps.Clone(s.tools[1])) }},
	{"a dotted tool name", "tool.name.portable", func(s *surface) { s.tools[0]["name"] = "docs.search" }},
	{"a tool without description", "tool.description.missing", func(s *surface) { s.tools[1]["description"] = "" }},
	{"a description that repeats the name", "tool.description.unhelpful", func(s *surface) { s.tools[1]["description"] = "Delete doc." }},
	{"an input schema with an unknown type", "tool.input_schema.invalid", func(s *surface) {
		s.tools[1]["inputSchema"] = obj("type", "object", "properties", obj("id", obj("type", "str")))
	}},
	{"an x-mcp-header on an object property", "tool.input_schema.header_invalid", func(s *surface) {
		s.tools[1]["inputSchema"] = obj("type", "object", "properties", obj("id", obj("type", "string"), "where", obj("type", "object", "x-mcp-header", "Where")), "required", []any{"id"})
	}},
	{"an input schema of type string", "tool.input_schema.not_object", func(s *surface) { s.tools[1]["inputSchema"] = obj("type", "string") }},
	{"a required argument that is not a property", "tool.input_schema.required_unknown", func(s *surface) {
		s.tools[1]["inputSchema"] = obj("type", "object", "properties", obj("id", obj("type", "string")), "required", []any{"id", "reason"})
	}},
	{"a required argument that no allOf branch declares", "tool.input_schema.required_unknown", func(s *surface) {
		s.tools[1]["inputSchema"] = obj("type", "object",
			"allOf", []any{obj("$ref", "#/$defs/Doc"), obj("properties", obj("reason", obj("type", "string")))},
			"required", []any{"id", "reason", "force"},
			"$defs", obj("Doc", obj("type", "object", "properties", obj("id", obj("type", "string")))))
	}},
	// Hostile schemas on the read-only search tool, which the probes call
	// with generated arguments.
	{"an array argument with a negative minItems", "tool.input_schema.invalid", func(s *surface) {
		searchArgument(s, "tags", obj("type", "array", "minItems", -1, "items", obj("type", "string")))
	}},
	{"a string argument with a negative maxLength", "tool.input_schema.invalid", func(s *surface) {
		searchArgument(s, "lang", obj("type", "string", "maxLength", -1))
	}},
	{"an array argument with minItems above maxItems", "tool.input_schema.invalid", func(s *surface) {
		searchArgument(s, "tags", obj("type", "array", "minItems", 3, "maxItems", 2))
	}},
	{"an input schema whose $ref loops through allOf", "tool.input_schema.invalid", func(s *surface) {
		in := s.tools[0]["inputSchema"].(map[string]any)
		in["$defs"] = obj("A", obj("allOf", []any{obj("$ref", "#/$defs/A")}))
		in["allOf"] = []any{obj("$ref", "#/$defs/A")}
	}},
	{"an output schema whose $ref loops through allOf", "tool.output_schema.invalid", func(s *surface) {
		out := s.tools[0]["outputSchema"].(map[string]any)
		out["$defs"] = obj("A", obj("allOf", []any{obj("$ref", "#/$defs/A")}))
		out["properties"] = obj("titles", obj("$ref", "#/$defs/A"))
	}},
	{"an output schema with a bad pattern", "tool.output_schema.invalid", func(s *surface) {
		s.tools[0]["outputSchema"] = obj("type", "object", "properties", obj("titles", obj("type", "string", "pattern", "(")))
	}},
	{"an output schema of type array", "tool.output_schema.not_object", func(s *surface) {
		s.tools[0]["outputSchema"] = obj("type", "array", "items", obj("type", "string"))
	}},
	{"a string where a hint must be a boolean", "tool.annotations.invalid", func(s *surface) {
		s.tools[1]["annotations"] = obj("destructiveHint", "yes")
	}},
	{"a 110 KB tool list", "tool.list.large", func(s *surface) {
		s.tools[1]["description"] = strings.Repeat("Deletes a document for good. ", 4000)
	}},
	{"a resource URI without a scheme", "resource.uri.invalid", func(s *surface) { s.resources[0]["uri"] = "readme.md" }},
	{"two resources with one URI", "resource.uri.duplicate", func(s *surface) {
		s.resources = append(s.resources, obj("uri", "docs://readme", "name", "readme again", "mimeType", "text/plain"))
	}},
	{"an unclosed template expression", "resource.template.invalid", func(s *surface) { s.templates[0]["uriTemplate"] = "docs://items/{id" }},
	{"a resource without mimeType", "resource.mime_type.missing", func(s *surface) { delete(s.resources[0], "mimeType") }},
	{"two prompts with one name", "prompt.name.duplicate", func(s *surface) { s.prompts = append(s.prompts, s.prompts[0]) }},
	{"a prompt argument listed twice", "prompt.argument.duplicate", func(s *surface) {
		s.prompts[0]["arguments"] = []any{obj("name", "topic"), obj("name", "topic")}
	}},
	{"a cursor that repeats", "pagination.cursor.repeated", func(s *surface) { s.paging = "repeat" }},
	{"an empty page with a cursor", "pagination.page.empty", func(s *surface) { s.paging = "empty" }},
	{"pages without end", "pagination.pages.too_many", func(s *surface) { s.paging = "endless" }},
	{"a ping answered with an error", "probe.ping.failed", func(s *surface) { s.pingFails = true }},
	{"an unknown method answered with a result", "probe.unknown_method.wrong_answer", func(s *surface) { s.unknownMethod = "result" }},
	{"an unknown method answered with the target's own error -32099", "probe.unknown_method.wrong_answer", func(s *surface) { s.unknownMethod = "-32099" }},
	{"an unknown tool answered with a success", "probe.unknown_tool.wrong_answer", func(s *surface) { s.unknownTool = "result" }},
	{"invalid arguments accepted", "probe.invalid_arguments.accepted", func(s *surface) { s.invalidArgs = "accept" }},
	{"structured content that breaks the output schema", "probe.read_only.output_invalid", func(s *surface) {
		s.searchOutput = obj("titles", "Getting started")
	}},
	{"an unknown tool left unanswered", "probe.hang", func(s *surface) { s.unknownTool = "hang" }},
	{"a crash on invalid arguments", "probe.crash", func(s *surface) { s.invalidArgs = "crash" }},
	{"ping unanswered after a call", "probe.target.unresponsive", func(s *surface) { s.pingStopsAfterCall = true }},
}

// searchArgument adds a required argument to the search tool.
func searchArgument(s *surface, name string, schema map[string]any) {
	in := s.tools[0]["inputSchema"].(map[string]any)
	in["properties"].(map[string]any)[name] = schema
	in["required"] = append(in["required"].([]any), name)
}

// cleanShapes are schemas of real servers that break no rule; each entry
// changes the clean surface. skipped is how many checks the audit lists as
// not run.
var cleanShapes = []struct {
	name    string
	skipped int
	mutate  func(s *surface)
}{
	{"a pydantic model behind a top-level $ref", 0, func(s *surface) {
		s.tools[1]["inputSchema"] = obj("type", "object", "$ref", "#/$defs/DeleteArgs", "required", []any{"id"},
			"$defs", obj("DeleteArgs", obj("title", "DeleteArgs", "type", "object",
				"properties", obj("id", obj("title", "Id", "type", "string")), "required", []any{"id"})))
	}},
	{"a pydantic model whose fields are models", 0, func(s *surface) {
		s.tools[1]["inputSchema"] = obj("type", "object",
			"properties", obj("doc", obj("$ref", "#/$defs/DocRef"), "reason", obj("type", "string")),
			"required", []any{"doc"},
			"$defs", obj("DocRef", obj("type", "object", "allOf", []any{obj("$ref", "#/$defs/Base")},
				"required", []any{"id"}),
				"Base", obj("type", "object", "properties", obj("id", obj("type", "string")))))
	}},
	{"properties composed with allOf and $ref", 0, func(s *surface) {
		s.tools[1]["inputSchema"] = obj("type", "object",
			"allOf", []any{obj("$ref", "#/$defs/Doc"), obj("properties", obj("reason", obj("type", "string")))},
			"required", []any{"id", "reason"},
			"$defs", obj("Doc", obj("type", "object", "properties", obj("id", obj("type", "string")))))
	}},
	{"a draft-07 schema that composes definitions", 0, func(s *surface) {
		s.tools[1]["inputSchema"] = obj("$schema", "http://json-schema.org/draft-07/schema#", "type", "object",
			"allOf", []any{obj("$ref", "#/definitions/Doc")}, "required", []any{"id"},
			"definitions", obj("Doc", obj("properties", obj("id", obj("type", "string")))))
	}},
	{"a required list without properties", 0, func(s *surface) {
		s.tools[1]["inputSchema"] = obj("type", "object", "required", []any{"id"},
			"$defs", obj("HasID", obj("required", []any{"id"})))
	}},
	{"required names that an additionalProperties schema admits", 0, func(s *surface) {
		s.tools[1]["inputSchema"] = obj("type", "object", "properties", obj(),
			"additionalProperties", obj("type", "string"), "required", []any{"id"})
	}},
	{"a required name that one anyOf branch declares", 0, func(s *surface) {
		s.tools[1]["inputSchema"] = obj("type", "object", "required", []any{"id"},
			"anyOf", []any{obj("properties", obj("id", obj("type", "string"))), obj("properties", obj("path", obj("type", "string")))})
	}},
	{"the email-or-phone anyOf idiom", 0, func(s *surface) {
		s.tools[1]["inputSchema"] = obj("type", "object",
			"properties", obj("email", obj("type", "string"), "phone", obj("type", "string")),
			"anyOf", []any{obj("required", []any{"email"}), obj("required", []any{"phone"})})
	}},
	// The probes skip what they cannot generate within their bounds.
	{"a required array of at least 100 items", 1, func(s *surface) {
		searchArgument(s, "tags", obj("type", "array", "minItems", 100, "items", obj("type", "string")))
	}},
	{"a required string of at least 1 MB", 1, func(s *surface) {
		searchArgument(s, "text", obj("type", "string", "minLength", 1<<20))
	}},
	{"a required tree with at least 16 children per node", 1, func(s *surface) {
		s.tools[0]["inputSchema"].(map[string]any)["$defs"] = obj("Node", obj("type", "object",
			"properties", obj("children", obj("type", "array", "minItems", 16, "items", obj("$ref", "#/$defs/Node"))),
			"required", []any{"children"}))
		searchArgument(s, "tree", obj("$ref", "#/$defs/Node"))
	}},
}

// manyTools is a clean surface with n read-only search tools.
func manyTools(n int) *surface {
	s := clean()
	s.tools = nil
	for i := range n {
		s.tools = append(s.tools, searchTool(fmt.Sprintf("search_%03d", i)))
	}
	return s
}

// surfaceNamed returns the surface a raw-target argument names: "clean",
// "many-N", or the name of a defect or of a clean shape.
func surfaceNamed(name string) *surface {
	var n int
	if _, err := fmt.Sscanf(name, "many-%d", &n); err == nil {
		return manyTools(n)
	}
	s := clean()
	for _, d := range defects {
		if d.name == name {
			d.mutate(s)
		}
	}
	for _, c := range cleanShapes {
		if c.name == name {
			c.mutate(s)
		}
	}
	return s
}

// rawTarget serves a surface over stdio as hand-written JSON-RPC, to plant
// defects no SDK would let through.
func rawTarget(name string) {
	s := surfaceNamed(name)
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := json.NewEncoder(os.Stdout)
	reply := func(id json.RawMessage, result any) {
		_ = out.Encode(obj("jsonrpc", "2.0", "id", id, "result", result))
	}
	fail := func(id json.RawMessage, code int, msg string) {
		_ = out.Encode(obj("jsonrpc", "2.0", "id", id, "error", obj("code", code, "message", msg)))
	}
	called := false
	for {
		line, err := in.ReadBytes('\n')
		if err != nil {
			return
		}
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Cursor    string         `json:"cursor"`
				Name      string         `json:"name"`
				Arguments map[string]any `json:"arguments"`
			} `json:"params"`
		}
		if json.Unmarshal(line, &req) != nil || req.ID == nil {
			continue
		}
		if req.Method == s.failList {
			fail(req.ID, -32603, "the index is offline")
			continue
		}
		switch req.Method {
		case "initialize":
			reply(req.ID, s.init)
		case "ping":
			switch {
			case s.pingFails:
				fail(req.ID, -32603, "not now")
			case s.pingStopsAfterCall && called:
			default:
				reply(req.ID, obj())
			}
		case "tools/list":
			reply(req.ID, s.toolPage(req.Params.Cursor))
		case "resources/list":
			reply(req.ID, obj("resources", s.resources))
		case "resources/templates/list":
			reply(req.ID, obj("resourceTemplates", s.templates))
		case "prompts/list":
			reply(req.ID, obj("prompts", s.prompts))
		case "tools/call":
			called = true
			s.call(req.ID, req.Params.Name, req.Params.Arguments, reply, fail)
		default:
			if s.unknownMethod == "result" {
				reply(req.ID, obj())
				continue
			}
			if s.unknownMethod == "-32099" {
				fail(req.ID, -32099, "no such method here")
				continue
			}
			fail(req.ID, -32601, "Method not found")
		}
	}
}

func (s *surface) toolPage(cursor string) map[string]any {
	half := len(s.tools) / 2
	first, second := s.tools[:half], s.tools[half:]
	if len(s.tools) < 2 {
		first, second = s.tools, nil
	}
	switch {
	case s.paging == "empty" && cursor == "":
		return obj("tools", []any{}, "nextCursor", "page-1")
	case cursor == "" || cursor == "page-1":
		return obj("tools", first, "nextCursor", "page-2")
	case cursor == "page-2" && s.paging == "repeat":
		return obj("tools", second, "nextCursor", "page-2")
	case cursor == "page-2" && s.paging == "endless":
		return obj("tools", second, "nextCursor", "page-3")
	case cursor == "page-2":
		return obj("tools", second)
	default:
		var n int
		fmt.Sscanf(cursor, "page-%d", &n)
		return obj("tools", []any{obj(
			"name", fmt.Sprintf("extra_%d", n),
			"description", fmt.Sprintf("Return item %d of the endless list.", n),
			"inputSchema", obj("type", "object"),
		)}, "nextCursor", fmt.Sprintf("page-%d", n+1))
	}
}

func (s *surface) call(id json.RawMessage, name string, args map[string]any, reply func(json.RawMessage, any), fail func(json.RawMessage, int, string)) {
	var def map[string]any
	for _, t := range s.tools {
		if t["name"] == name {
			def = t
		}
	}
	switch {
	case def == nil && s.unknownTool == "hang":
		return
	case def == nil && s.unknownTool == "result":
		reply(id, obj("content", []any{obj("type", "text", "text", "done")}))
		return
	case def == nil:
		fail(id, -32602, "Unknown tool: "+name)
		return
	}
	if ann, _ := def["annotations"].(map[string]any); ann["readOnlyHint"] != true {
		reply(id, obj("content", []any{obj("type", "text", "text", "done")}))
		return
	}
	query, ok := args["query"].(string)
	if _, extra := args["mcp_test_mcp_unexpected"]; !ok || extra {
		switch s.invalidArgs {
		case "crash":
			fmt.Fprintln(os.Stderr, "panic: interface conversion: interface {} is nil, not string")
			os.Exit(2)
		case "accept":
		default:
			reply(id, obj("content", []any{obj("type", "text", "text", "query must be a string")}, "isError", true))
			return
		}
	}
	reply(id, obj("content", []any{obj("type", "text", "text", "found "+query)}, "structuredContent", s.searchOutput))
}
