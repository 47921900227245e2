package audit

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/yosida95/uritemplate/v3"

	lists "github.com/mcp-test-mcp/mcp-test-mcp/internal/surface"
)

// knownVersions are the released MCP protocol versions, newest first.
var knownVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

func (a *auditor) lifecycle() {
	in := a.info
	switch v := in.ProtocolVersion; {
	case v == knownVersions[0]:
	case slices.Index(knownVersions, v) > 0:
		a.add("lifecycle.protocol_version.outdated", "initialize.protocolVersion",
			"The server negotiated protocol version %s; the latest is %s.", v, knownVersions[0])
	default:
		a.add("lifecycle.protocol_version.unknown", "initialize.protocolVersion",
			"The server negotiated protocol version %q, which is not a released MCP version (%s).", v, strings.Join(knownVersions, ", "))
	}
	if strings.TrimSpace(in.ServerInfo.Name) == "" {
		a.add("lifecycle.server_info.incomplete", "initialize.serverInfo.name", "serverInfo has no name.")
	}
	if strings.TrimSpace(in.ServerInfo.Version) == "" {
		a.add("lifecycle.server_info.incomplete", "initialize.serverInfo.version", "serverInfo has no version.")
	}
	if len(in.Instructions) > a.opts.MaxInstructionsBytes {
		a.add("lifecycle.instructions.large", "initialize.instructions",
			"The instructions are over %d bytes; every conversation that uses the server pays for them.", a.opts.MaxInstructionsBytes)
	}
}

// tool is a tool as the target listed it.
type tool struct {
	name, title, description string
	where                    string
	input, output            json.RawMessage // nil when absent
	annotations              json.RawMessage
	readOnly                 bool
	in, out                  *compiled // nil when absent or not compiling
}

type rawResource struct {
	URI      string `json:"uri"`
	Name     string `json:"name"`
	MimeType string `json:"mimeType"`
}

type rawTemplate struct {
	URITemplate string `json:"uriTemplate"`
	Name        string `json:"name"`
	MimeType    string `json:"mimeType"`
}

type rawPrompt struct {
	Name      string `json:"name"`
	Arguments []struct {
		Name string `json:"name"`
	} `json:"arguments"`
}

// decodeEach decodes each item as far as it goes: an item that does not
// decode is kept with the fields that did.
func decodeEach[T any](raws []json.RawMessage) []T {
	var out []T
	for _, raw := range raws {
		var v T
		_ = json.Unmarshal(raw, &v)
		out = append(out, v)
	}
	return out
}

// decodeItems decodes the listed items leniently: a field of the wrong type
// is a finding, not a reason to drop the item.
func (a *auditor) decodeItems(items map[string][]json.RawMessage) {
	tools := items["tools/list"]
	a.report.Summary.Tools = len(tools)
	if b, err := json.Marshal(tools); err == nil && tools != nil {
		a.report.Summary.ToolListBytes = len(b)
		a.report.Summary.ToolListTokens = len(b) / 4
	}
	for i, raw := range tools {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(raw, &m)
		t := &tool{input: m["inputSchema"], output: m["outputSchema"], annotations: m["annotations"]}
		_ = json.Unmarshal(m["name"], &t.name)
		_ = json.Unmarshal(m["title"], &t.title)
		_ = json.Unmarshal(m["description"], &t.description)
		if isNull(t.output) {
			t.output = nil
		}
		t.where = "tools/" + t.name
		if t.name == "" {
			t.where = fmt.Sprintf("tools[%d]", i)
		}
		a.tools = append(a.tools, t)
	}
	a.resources = decodeEach[rawResource](items["resources/list"])
	a.templates = decodeEach[rawTemplate](items["resources/templates/list"])
	a.prompts = decodeEach[rawPrompt](items["prompts/list"])
	a.report.Summary.Resources = len(a.resources)
	a.report.Summary.ResourceTemplates = len(a.templates)
	a.report.Summary.Prompts = len(a.prompts)
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

var portableName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func validToolName(name string) string {
	switch {
	case name == "":
		return "is empty"
	case len(name) > 128:
		return fmt.Sprintf("is %d characters long (at most 128)", len(name))
	}
	var bad []string
	for _, r := range name {
		if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == '_' || r == '-' || r == '.') {
			if q := fmt.Sprintf("%q", r); !slices.Contains(bad, q) {
				bad = append(bad, q)
			}
		}
	}
	if len(bad) > 0 {
		return "contains " + strings.Join(bad, ", ")
	}
	return ""
}

func (a *auditor) checkTools() {
	seen := map[string]bool{}
	for _, t := range a.tools {
		if why := validToolName(t.name); why != "" {
			a.add("tool.name.invalid", t.where, "The tool name %q %s.", t.name, why)
		} else if !portableName.MatchString(t.name) {
			a.add("tool.name.portable", t.where, "The tool name %q is valid MCP, but LLM APIs that accept only ^[a-zA-Z0-9_-]{1,64}$ reject it.", t.name)
		}
		if seen[t.name] && t.name != "" {
			a.add("tool.name.duplicate", t.where, "More than one tool is named %q.", t.name)
		}
		seen[t.name] = true

		desc := strings.TrimSpace(t.description)
		switch {
		case desc == "":
			a.add("tool.description.missing", t.where+".description", "The tool %s has no description.", t.name)
		case normalize(desc) == normalize(t.name) || t.title != "" && normalize(desc) == normalize(t.title):
			a.add("tool.description.unhelpful", t.where+".description", "The description %q only repeats the tool's name.", desc)
		}

		if err := guard(func() {
			t.in = a.checkSchema(t, t.input, "inputSchema", "tool.input_schema")
			if t.output != nil {
				t.out = a.checkSchema(t, t.output, "outputSchema", "tool.output_schema")
			}
		}); err != nil {
			t.in, t.out = nil, nil
			a.skip("schemas: "+t.where, trimPeriod(err.Error()))
		}
		if why := lists.HeaderProblem(t.input); why != "" {
			a.add("tool.input_schema.header_invalid", t.where+".inputSchema", "The tool %s: %s.", t.name, why)
		}
		t.readOnly = a.checkAnnotations(t)
	}
	if a.report.Summary.ToolListTokens > a.opts.MaxToolTokens {
		a.add("tool.list.large", "tools/list",
			"The tool list is %d bytes, about %d tokens (over %d) that the host puts in front of the model in every conversation.",
			a.report.Summary.ToolListBytes, a.report.Summary.ToolListTokens, a.opts.MaxToolTokens)
	}
}

// normalize lowercases s and drops everything but letters and digits, so
// that "get_weather", "Get weather." and "getWeather" compare equal.
func normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// checkSchema checks one of a tool's schemas and returns it compiled, or
// nil.
func (a *auditor) checkSchema(t *tool, raw json.RawMessage, field, rule string) *compiled {
	where := t.where + "." + field
	if isNull(raw) {
		a.add(rule+".not_object", where, "The tool %s has no %s; it must be an object schema.", t.name, field)
		return nil
	}
	c, err := compileSchema(raw)
	if err != nil {
		a.add(rule+".invalid", where, "The %s of %s is not a usable JSON Schema: %v.", field, t.name, trimPeriod(err.Error()))
		return nil
	}
	schema := c.schema
	if !isObjectSchema(schema) {
		typ := c.schema.Type
		if typ == "" {
			typ = strings.Join(c.schema.Types, ", ")
		}
		a.add(rule+".not_object", where+".type", "The %s of %s has type %q, not \"object\".", field, t.name, typ)
		c = nil // arguments and results are objects: nothing to probe with
	}
	if field == "inputSchema" {
		for path, names := range sortedMap(unknownRequired(schema)) {
			a.add("tool.input_schema.required_unknown", where+path+".required",
				"The %s of %s requires %s, which %s not among its properties.", field, t.name, quoteList(names), plural(len(names), "is", "are"))
		}
	}
	return c
}

// checkAnnotations checks the JSON types of a tool's annotations and
// reports whether it is declared read-only.
func (a *auditor) checkAnnotations(t *tool) bool {
	if isNull(t.annotations) {
		return false
	}
	where := t.where + ".annotations"
	var m map[string]json.RawMessage
	if err := json.Unmarshal(t.annotations, &m); err != nil {
		a.add("tool.annotations.invalid", where, "The annotations of %s are %s, not an object.", t.name, jsonKind(t.annotations))
		return false
	}
	readOnly := false
	for _, k := range []string{"destructiveHint", "idempotentHint", "openWorldHint", "readOnlyHint", "title"} {
		v, ok := m[k]
		if !ok || string(v) == "null" {
			continue
		}
		want := "boolean"
		if k == "title" {
			want = "string"
		}
		if got := jsonKind(v); got != want {
			a.add("tool.annotations.invalid", where+"."+k, "annotations.%s of %s is %s %s, not a %s.", k, t.name, article(got), got, want)
			continue
		}
		if k == "readOnlyHint" && string(v) == "true" {
			readOnly = true
		}
	}
	return readOnly
}

// jsonKind names the JSON type of raw.
func jsonKind(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "":
		return "nothing"
	case s == "true" || s == "false":
		return "boolean"
	case s == "null":
		return "null"
	case s[0] == '"':
		return "string"
	case s[0] == '{':
		return "object"
	case s[0] == '[':
		return "array"
	default:
		return "number"
	}
}

func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

func (a *auditor) checkResources() {
	seen := map[string]bool{}
	for i, r := range a.resources {
		where := "resources/" + r.URI
		if r.URI == "" {
			where = fmt.Sprintf("resources[%d]", i)
		}
		if u, err := url.Parse(r.URI); err != nil || u.Scheme == "" {
			why := "has no scheme"
			if err != nil {
				why = "does not parse: " + err.Error()
			}
			a.add("resource.uri.invalid", where+".uri", "The resource URI %q %s.", r.URI, why)
		}
		if seen[r.URI] && r.URI != "" {
			a.add("resource.uri.duplicate", where, "More than one resource has the URI %q.", r.URI)
		}
		seen[r.URI] = true
		if r.MimeType == "" {
			a.add("resource.mime_type.missing", where+".mimeType", "The resource %q has no mimeType.", r.URI)
		}
	}
	for i, t := range a.templates {
		where := "resourceTemplates/" + t.URITemplate
		if t.URITemplate == "" {
			where = fmt.Sprintf("resourceTemplates[%d]", i)
		}
		if _, err := uritemplate.New(t.URITemplate); err != nil {
			a.add("resource.template.invalid", where+".uriTemplate", "The URI template %q is not valid RFC 6570: %v.", t.URITemplate, trimPeriod(err.Error()))
		} else if !schemeRE.MatchString(t.URITemplate) {
			a.add("resource.template.invalid", where+".uriTemplate", "The URI template %q does not start with a scheme, so its URIs are not absolute.", t.URITemplate)
		}
		if t.MimeType == "" {
			a.add("resource.mime_type.missing", where+".mimeType", "The resource template %q has no mimeType.", t.URITemplate)
		}
	}
}

func (a *auditor) checkPrompts() {
	seen := map[string]bool{}
	for _, p := range a.prompts {
		where := "prompts/" + p.Name
		if seen[p.Name] {
			a.add("prompt.name.duplicate", where, "More than one prompt is named %q.", p.Name)
		}
		seen[p.Name] = true
		args := map[string]bool{}
		for i, arg := range p.Arguments {
			if args[arg.Name] {
				a.add("prompt.argument.duplicate", fmt.Sprintf("%s.arguments[%d]", where, i), "The prompt %s has more than one argument named %q.", p.Name, arg.Name)
			}
			args[arg.Name] = true
		}
	}
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
