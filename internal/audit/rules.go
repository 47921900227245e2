package audit

// Rule is one check of the audit.
type Rule struct {
	// ID is stable: reports, CI filters and the README refer to it.
	ID       string
	Severity Severity
	// Summary is the one line the README shows.
	Summary string
	// Fix says how to make the finding go away.
	Fix string
	// Spec links to the MCP specification (2025-11-25, or 2026-07-28 for
	// what only that revision defines).
	Spec string
}

const specBase = "https://modelcontextprotocol.io/specification/2025-11-25/"

// specModern is the revision that rules of the modern era rest on.
const specModern = "https://modelcontextprotocol.io/specification/2026-07-28/"

// Rules lists every rule, in the order the README shows them.
var Rules = []Rule{
	// Lifecycle.
	{"lifecycle.protocol_version.unknown", SeverityError,
		"the negotiated protocol version is not a released MCP version",
		"Answer initialize with the client's protocolVersion when you support it, otherwise with the latest released version you support (2025-11-25, 2025-06-18, 2025-03-26 or 2024-11-05).",
		specBase + "basic/lifecycle#version-negotiation"},
	{"lifecycle.protocol_version.outdated", SeverityInfo,
		"the negotiated protocol version is older than 2025-11-25",
		"Upgrade the server's MCP SDK so that it speaks 2025-11-25.",
		specBase + "basic/lifecycle#version-negotiation"},
	{"lifecycle.server_info.incomplete", SeverityError,
		"serverInfo lacks its name or version",
		"Set serverInfo.name and serverInfo.version in the initialize result (in the SDKs: the Implementation given to the server).",
		specBase + "basic/lifecycle#initialization"},
	{"lifecycle.instructions.large", SeverityWarning,
		"the instructions are larger than 8 KiB (Options.MaxInstructionsBytes)",
		"Keep instructions to what a model needs to use the server well; move reference material into resources or tool descriptions.",
		specBase + "basic/lifecycle#initialization"},
	{"capability.list_failed", SeverityError,
		"a declared capability's list method (tools/list, resources/list, resources/templates/list, prompts/list) fails",
		"Make the list method answer, or stop declaring the capability.",
		specBase + "basic/lifecycle#capability-negotiation"},
	{"capability.undeclared", SeverityWarning,
		"tools, resources or prompts are served but their capability is not declared, so clients never ask for them",
		"Declare the capability in the initialize result's capabilities.",
		specBase + "basic/lifecycle#capability-negotiation"},

	// Tools.
	{"tool.name.invalid", SeverityError,
		"a tool name is empty, longer than 128 characters, or uses characters other than A-Z a-z 0-9 _ - .",
		"Rename the tool: 1 to 128 characters from A-Z, a-z, 0-9, underscore, hyphen and dot. Hosts and LLM APIs reject other names.",
		specBase + "server/tools#tool-names"},
	{"tool.name.duplicate", SeverityError,
		"two tools share a name (names are case-sensitive)",
		"Give every tool a unique name.",
		specBase + "server/tools#tool-names"},
	{"tool.name.portable", SeverityInfo,
		"a valid tool name that some LLM APIs still reject: it has a dot or is longer than 64 characters",
		"Prefer names matching ^[a-zA-Z0-9_-]{1,64}$, which every major LLM API accepts.",
		specBase + "server/tools#tool-names"},
	{"tool.description.missing", SeverityWarning,
		"a tool has no description",
		"Describe what the tool does, when to use it and what it returns: the model chooses tools from their descriptions.",
		specBase + "server/tools#tool"},
	{"tool.description.unhelpful", SeverityWarning,
		"a tool's description only repeats its name or title",
		"Describe what the tool does, when to use it and what it returns.",
		specBase + "server/tools#tool"},
	{"tool.input_schema.invalid", SeverityError,
		"a tool's inputSchema is not a JSON Schema that compiles, has a negative or contradictory bound (minItems above maxItems), or a $ref loop that validation never leaves",
		"Fix the schema so that it is valid JSON Schema (2020-12 by default; draft-07 when $schema says so), with bounds some value can meet, and no $ref that leads back to itself through allOf, anyOf, oneOf or not without descending into a property or item.",
		specBase + "basic#json-schema-usage"},
	{"tool.input_schema.not_object", SeverityError,
		"a tool's inputSchema is not of type object",
		`Give the inputSchema "type": "object"; a tool without arguments uses {"type": "object", "additionalProperties": false}.`,
		specBase + "server/tools#tool"},
	{"tool.input_schema.required_unknown", SeverityError,
		"a name in an object schema's required list is declared by none of its properties, nor those it takes through $ref, allOf, anyOf or oneOf",
		"Add the property, or remove the name from required.",
		specBase + "server/tools#tool"},
	{"tool.input_schema.header_invalid", SeverityError,
		"a tool's inputSchema has an x-mcp-header annotation that clients of MCP 2026-07-28 must reject, so they leave the tool out",
		"Put x-mcp-header only on string, integer or boolean properties reached through properties alone (not under items, allOf or $defs), with a header name that is an HTTP token (no spaces, colons or non-ASCII) and unique regardless of case.",
		specModern + "basic/transports#streamable-http"},
	{"tool.output_schema.invalid", SeverityError,
		"a tool's outputSchema is not a JSON Schema that compiles, has a negative or contradictory bound (minItems above maxItems), or a $ref loop that validation never leaves",
		"Fix the schema so that it is valid JSON Schema (2020-12 by default; draft-07 when $schema says so), with bounds some value can meet, and no $ref that leads back to itself through allOf, anyOf, oneOf or not without descending into a property or item.",
		specBase + "server/tools#output-schema"},
	{"tool.output_schema.not_object", SeverityError,
		"a tool's outputSchema is not of type object",
		`Give the outputSchema "type": "object": structuredContent is always a JSON object.`,
		specBase + "server/tools#output-schema"},
	{"tool.annotations.invalid", SeverityError,
		"a tool's annotations have the wrong JSON types (hints must be booleans, title a string)",
		"Send readOnlyHint, destructiveHint, idempotentHint and openWorldHint as true or false, and title as a string.",
		specBase + "schema#toolannotations"},
	{"tool.list.large", SeverityWarning,
		"the tool list is larger than 25,000 estimated tokens (bytes/4; Options.MaxToolTokens), which every conversation pays for",
		"Shorten descriptions and schemas, or split the server so that hosts load fewer tools at once.",
		specBase + "server/tools#listing-tools"},

	// Resources, templates, prompts.
	{"resource.uri.invalid", SeverityError,
		"a resource URI does not parse as an absolute URI with a scheme",
		"Use absolute URIs such as file:///path, https://host/path or a custom scheme such as docs://readme.",
		specBase + "server/resources#resource"},
	{"resource.uri.duplicate", SeverityWarning,
		"two resources share a URI",
		"List each resource once.",
		specBase + "server/resources#listing-resources"},
	{"resource.template.invalid", SeverityError,
		"a resource template is not a valid RFC 6570 URI template with a scheme",
		"Fix the template (balanced braces, valid variable names and operators), e.g. docs://items/{id}.",
		specBase + "server/resources#resource-templates"},
	{"resource.mime_type.missing", SeverityInfo,
		"a resource or resource template has no mimeType",
		"Set mimeType so that clients know how to show the content.",
		specBase + "server/resources#resource"},
	{"prompt.name.duplicate", SeverityError,
		"two prompts share a name",
		"Give every prompt a unique name.",
		specBase + "server/prompts#listing-prompts"},
	{"prompt.argument.duplicate", SeverityError,
		"a prompt lists two arguments with the same name",
		"Give every argument of a prompt a unique name.",
		specBase + "server/prompts#prompt"},

	// Pagination.
	{"pagination.cursor.repeated", SeverityError,
		"a list method hands out a cursor it already gave, so a client walking the pages never ends",
		"Make nextCursor advance, and omit it on the last page.",
		specBase + "server/utilities/pagination"},
	{"pagination.page.empty", SeverityWarning,
		"a list page is empty but has a nextCursor",
		"Fill every page, or end the list (omit nextCursor) when nothing is left.",
		specBase + "server/utilities/pagination"},
	{"pagination.pages.too_many", SeverityError,
		"a list method needs more than 100 pages (the tester stops there)",
		"Use larger pages, or check that nextCursor ends.",
		specBase + "server/utilities/pagination"},

	// Active probes.
	{"probe.ping.failed", SeverityError,
		"ping is not answered with an empty result",
		"Answer ping with {} at any time after initialize.",
		specBase + "basic/utilities/ping"},
	{"probe.unknown_method.wrong_answer", SeverityError,
		"an unknown method is not answered with JSON-RPC error -32601",
		"Answer methods you do not implement with error -32601 (Method not found).",
		specBase + "basic#responses"},
	{"probe.unknown_tool.wrong_answer", SeverityError,
		"tools/call of a tool that does not exist succeeds",
		"Answer a call of an unknown tool with JSON-RPC error -32602 (or a result with isError: true).",
		specBase + "server/tools#error-handling"},
	{"probe.invalid_arguments.accepted", SeverityWarning,
		"a read-only tool called with arguments its inputSchema forbids succeeds",
		"Validate arguments against the inputSchema and answer -32602 or a result with isError: true.",
		specBase + "server/tools#error-handling"},
	{"probe.read_only.output_invalid", SeverityError,
		"a read-only tool called with valid arguments returns structuredContent that is missing or does not match its outputSchema",
		"Return structuredContent that validates against the outputSchema in every successful result.",
		specBase + "server/tools#output-schema"},
	{"probe.hang", SeverityError,
		"a probe got no answer within its deadline (Options.ProbeTimeout)",
		"Answer every request, with an error if need be; never leave one unanswered.",
		specBase + "basic#responses"},
	{"probe.crash", SeverityError,
		"a probe ended the connection (the target exited or closed it)",
		"Handle bad input with an error answer; never exit on it. The target's stderr says why it ended.",
		specBase + "basic/lifecycle#operation"},
	{"probe.target.unresponsive", SeverityError,
		"the target no longer answers ping after the probes",
		"Make sure that errors in a request leave the server able to answer the next one.",
		specBase + "basic/utilities/ping"},
}

var ruleByID = func() map[string]Rule {
	m := make(map[string]Rule, len(Rules))
	for _, r := range Rules {
		if _, dup := m[r.ID]; dup {
			panic("audit: duplicate rule " + r.ID)
		}
		m[r.ID] = r
	}
	return m
}()
