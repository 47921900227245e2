package check

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
)

// Spec is a check file: the target, how to answer its requests, and the
// steps to run against it. docs/spec.md describes the format.
type Spec struct {
	// Name labels the run in reports; empty means the server's name.
	Name   string  `yaml:"name,omitempty" json:"name,omitempty"`
	Target *Target `yaml:"target,omitempty" json:"target,omitempty"`
	Client *Client `yaml:"client,omitempty" json:"client,omitempty"`
	Steps  []Step  `yaml:"steps,omitempty" json:"steps,omitempty"`

	// secrets are the values expanded from the environment into places
	// that hold secrets; reports are scrubbed of them.
	secrets []string
}

// Client says how to answer the requests the target sends its client.
// A nil field leaves that capability undeclared.
type Client struct {
	// SamplingResponse is the text of every sampling/createMessage answer.
	SamplingResponse *string `yaml:"sampling_response,omitempty" json:"sampling_response,omitempty"`
	// ElicitationAction is accept, decline or cancel.
	ElicitationAction string `yaml:"elicitation_action,omitempty" json:"elicitation_action,omitempty"`
	// ElicitationContent is sent with accept; nil means the requested
	// schema's defaults (and placeholders for required fields without one).
	ElicitationContent map[string]any `yaml:"elicitation_content,omitempty" json:"elicitation_content,omitempty"`
	// Roots are offered by roots/list; nil leaves roots undeclared.
	Roots []string `yaml:"roots,omitempty" json:"roots,omitempty"`
}

// Step is one request and what its answer must be. Exactly one of the
// action fields is set.
type Step struct {
	Name string `yaml:"name,omitempty" json:"name,omitempty"`

	CallTool              string `yaml:"call_tool,omitempty" json:"call_tool,omitempty"`
	ReadResource          string `yaml:"read_resource,omitempty" json:"read_resource,omitempty"`
	GetPrompt             string `yaml:"get_prompt,omitempty" json:"get_prompt,omitempty"`
	ListTools             any    `yaml:"list_tools,omitempty" json:"list_tools,omitempty"`
	ListResources         any    `yaml:"list_resources,omitempty" json:"list_resources,omitempty"`
	ListResourceTemplates any    `yaml:"list_resource_templates,omitempty" json:"list_resource_templates,omitempty"`
	ListPrompts           any    `yaml:"list_prompts,omitempty" json:"list_prompts,omitempty"`
	Ping                  any    `yaml:"ping,omitempty" json:"ping,omitempty"`

	// Arguments are the tool's (any JSON) or the prompt's (strings).
	Arguments      map[string]any `yaml:"arguments,omitempty" json:"arguments,omitempty"`
	TimeoutSeconds float64        `yaml:"timeout_seconds,omitempty" json:"timeout_seconds,omitempty"`
	Expect         *Expect        `yaml:"expect,omitempty" json:"expect,omitempty"`

	// action and line are filled in by Parse.
	action string
	line   int
}

// Expect is what a step's answer must be. Unset fields are not checked,
// except that a step without error_type must succeed, and a call_tool step
// without is_error must not answer isError: true.
type Expect struct {
	IsError           *bool          `yaml:"is_error,omitempty" json:"is_error,omitempty"`
	TextContains      StringList     `yaml:"text_contains,omitempty" json:"text_contains,omitempty"`
	TextMatches       StringList     `yaml:"text_matches,omitempty" json:"text_matches,omitempty"`
	Structured        map[string]any `yaml:"structured,omitempty" json:"structured,omitempty"`
	ContentTypes      []string       `yaml:"content_types,omitempty" json:"content_types,omitempty"`
	MaxMS             float64        `yaml:"max_ms,omitempty" json:"max_ms,omitempty"`
	ErrorType         string         `yaml:"error_type,omitempty" json:"error_type,omitempty"`
	OutputSchemaValid *bool          `yaml:"output_schema_valid,omitempty" json:"output_schema_valid,omitempty"`
}

// StringList is one string or a list of strings.
type StringList []string

// UnmarshalYAML accepts a scalar or a sequence of scalars.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = StringList{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

// The step actions, as spelled in a spec.
const (
	ActionCallTool              = "call_tool"
	ActionReadResource          = "read_resource"
	ActionGetPrompt             = "get_prompt"
	ActionListTools             = "list_tools"
	ActionListResources         = "list_resources"
	ActionListResourceTemplates = "list_resource_templates"
	ActionListPrompts           = "list_prompts"
	ActionPing                  = "ping"
)

var actions = []string{
	ActionCallTool, ActionReadResource, ActionGetPrompt, ActionListTools,
	ActionListResources, ActionListResourceTemplates, ActionListPrompts, ActionPing,
}

// SpecError is a problem with a spec: it could not be read, is not valid
// YAML or JSON, has an unknown key, or a value that makes no sense.
type SpecError struct {
	// File is the spec's path, or "spec" for an inline one.
	File string
	// Line is the 1-based line of the problem, or 0 when unknown.
	Line int
	Msg  string
}

func (e *SpecError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ReadSpec reads and parses the spec file at path.
func ReadSpec(path string, getenv func(string) (string, bool)) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &SpecError{File: path, Msg: fmt.Sprintf("reading the spec: %v", err)}
	}
	return ParseSpec(b, path, getenv)
}

// ParseSpec parses a spec in YAML or JSON (a JSON document is YAML too).
// Unknown keys are errors that name their line. ${VAR} in the target, the
// client answers and the steps' arguments is replaced by the environment
// variable VAR (looked up with getenv; nil means os.LookupEnv); $$ is a
// literal $. name labels errors.
func ParseSpec(data []byte, name string, getenv func(string) (string, bool)) (*Spec, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	if name == "" {
		name = "spec"
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(name, err)
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, &SpecError{File: name, Msg: "the spec is empty"}
	}
	if doc := root.Content[0]; doc.Kind != yaml.MappingNode {
		return nil, &SpecError{File: name, Line: doc.Line, Msg: "the spec must be a mapping with target, client and steps"}
	}
	spec := &Spec{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(spec); err != nil {
		return nil, yamlError(name, err)
	}
	keepScalarText(spec, root.Content[0])
	stepNodes := stepNodes(root.Content[0])
	for i := range spec.Steps {
		s := &spec.Steps[i]
		var keys []string
		line := 0
		if i < len(stepNodes) {
			line = stepNodes[i].Line
			for j := 0; j+1 < len(stepNodes[i].Content); j += 2 {
				keys = append(keys, stepNodes[i].Content[j].Value)
			}
		}
		s.line = line
		var found []string
		for _, k := range keys {
			if slices.Contains(actions, k) {
				found = append(found, k)
			}
		}
		switch len(found) {
		case 0:
			return nil, &SpecError{File: name, Line: line, Msg: fmt.Sprintf("step %d has no action: give one of %s", i+1, strings.Join(actions, ", "))}
		case 1:
			s.action = found[0]
		default:
			return nil, &SpecError{File: name, Line: line, Msg: fmt.Sprintf("step %d has %d actions (%s): give exactly one", i+1, len(found), strings.Join(found, ", "))}
		}
	}
	if err := spec.expand(getenv); err != nil {
		return nil, &SpecError{File: name, Msg: err.Error()}
	}
	if err := spec.validate(name); err != nil {
		return nil, err
	}
	return spec, nil
}

// stepNodes returns the mapping nodes of the steps sequence.
func stepNodes(doc *yaml.Node) []*yaml.Node {
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "steps" && doc.Content[i+1].Kind == yaml.SequenceNode {
			return doc.Content[i+1].Content
		}
	}
	return nil
}

// keepScalarText re-reads the spec's free-form values (arguments,
// structured expectations, elicitation content) from the YAML nodes, so
// that a scalar JSON has no type for stays the text it was written as: the
// decoder would make 2024-01-02 a time.Time, sent as
// "2024-01-02T00:00:00Z", and .inf a float JSON cannot carry.
func keepScalarText(spec *Spec, doc *yaml.Node) {
	if c := mappingValue(doc, "client"); c != nil && spec.Client != nil {
		if n := mappingValue(c, "elicitation_content"); n != nil {
			spec.Client.ElicitationContent, _ = nodeValue(n).(map[string]any)
		}
	}
	for i, sn := range stepNodes(doc) {
		if i >= len(spec.Steps) {
			break
		}
		st := &spec.Steps[i]
		if n := mappingValue(sn, "arguments"); n != nil {
			st.Arguments, _ = nodeValue(n).(map[string]any)
		}
		if e := mappingValue(sn, "expect"); e != nil && st.Expect != nil {
			if n := mappingValue(e, "structured"); n != nil {
				st.Expect.Structured, _ = nodeValue(n).(map[string]any)
			}
		}
	}
}

// mappingValue returns the value of key in the mapping node m, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// nodeValue is what decoding n into an any gives, except that a scalar
// other than a string, a finite number, a boolean or null is its text.
func nodeValue(n *yaml.Node) any {
	switch n.Kind {
	case yaml.AliasNode:
		return nodeValue(n.Alias)
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str", "!!int", "!!float", "!!bool", "!!null":
			var v any
			if n.Decode(&v) != nil {
				return n.Value
			}
			if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
				return n.Value
			}
			return v
		}
		return n.Value
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			out = append(out, nodeValue(c))
		}
		return out
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Tag == "!!merge" {
				var v any
				_ = n.Decode(&v) // merge keys: the decoder's reading
				return v
			}
			out[n.Content[i].Value] = nodeValue(n.Content[i+1])
		}
		return out
	}
	var v any
	_ = n.Decode(&v)
	return v
}

var (
	yamlLineRE    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknownRE = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
)

// yamlError turns a yaml error into SpecErrors that name the line and, for
// an unknown key, where it was and what is allowed there.
func yamlError(name string, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var errs []error
	for _, m := range msgs {
		se := &SpecError{File: name, Msg: strings.TrimPrefix(m, "yaml: ")}
		if g := yamlLineRE.FindStringSubmatch(m); g != nil {
			se.Line, _ = strconv.Atoi(g[1])
			se.Msg = g[2]
		}
		if strings.HasPrefix(se.Msg, "did not find expected") && se.Line > 0 {
			// These parser errors name where the unfinished block starts,
			// counting lines from 0.
			se.Line++
			se.Msg += " (in the block that starts on this line)"
		}
		if g := yamlUnknownRE.FindStringSubmatch(se.Msg); g != nil {
			where, known := describeType(g[2])
			se.Msg = fmt.Sprintf("unknown key %q in %s (known keys: %s)", g[1], where, strings.Join(known, ", "))
		}
		errs = append(errs, se)
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// describeType names a spec type for an error and lists its keys.
func describeType(goType string) (string, []string) {
	types := map[string]struct {
		where string
		t     reflect.Type
	}{
		"check.Spec":   {"the spec", reflect.TypeFor[Spec]()},
		"check.Target": {"target", reflect.TypeFor[Target]()},
		"check.Client": {"client", reflect.TypeFor[Client]()},
		"check.Step":   {"a step", reflect.TypeFor[Step]()},
		"check.Expect": {"expect", reflect.TypeFor[Expect]()},
	}
	d, ok := types[goType]
	if !ok {
		return goType, nil
	}
	var keys []string
	for i := range d.t.NumField() {
		f := d.t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	return d.where, keys
}

var varRE = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expander replaces ${VAR} from the environment and remembers the values
// that must be treated as secrets.
type expander struct {
	getenv  func(string) (string, bool)
	missing []string
	secrets []string
}

// expand replaces the variables in s. secret says that s sits where a
// secret goes (a header, the token, an env value); every value of a
// secret-looking variable is treated as secret wherever it goes.
func (x *expander) expand(s string, secret bool) string {
	if !strings.Contains(s, "$") {
		return s
	}
	return varRE.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		name := m[2 : len(m)-1]
		v, ok := x.getenv(name)
		if !ok {
			if !slices.Contains(x.missing, name) {
				x.missing = append(x.missing, name)
			}
			return ""
		}
		if secret || redact.IsSecretName(name) {
			x.secrets = append(x.secrets, v)
		}
		return v
	})
}

func (x *expander) value(v any) any {
	switch v := v.(type) {
	case string:
		return x.expand(v, false)
	case map[string]any:
		for k, e := range v {
			v[k] = x.value(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = x.value(e)
		}
		return v
	default:
		return v
	}
}

func (s *Spec) expand(getenv func(string) (string, bool)) error {
	x := &expander{getenv: getenv}
	if t := s.Target; t != nil {
		t.URL = x.expand(t.URL, false)
		s.secrets = append(s.secrets, redact.URLSecrets(t.URL)...)
		t.Command = x.expand(t.Command, false)
		for i := range t.Args {
			t.Args[i] = x.expand(t.Args[i], false)
		}
		for k, v := range t.Env {
			t.Env[k] = x.expand(v, true)
			if redact.IsSecretName(k) {
				s.secrets = append(s.secrets, t.Env[k])
			}
		}
		t.Cwd = x.expand(t.Cwd, false)
		for k, v := range t.Headers {
			t.Headers[k] = x.expand(v, true)
			s.secrets = append(s.secrets, t.Headers[k])
		}
		t.BearerToken = x.expand(t.BearerToken, true)
		s.secrets = append(s.secrets, t.BearerToken)
	}
	if c := s.Client; c != nil {
		if c.SamplingResponse != nil {
			v := x.expand(*c.SamplingResponse, false)
			c.SamplingResponse = &v
		}
		x.value(c.ElicitationContent)
		for i := range c.Roots {
			c.Roots[i] = x.expand(c.Roots[i], false)
		}
	}
	for i := range s.Steps {
		st := &s.Steps[i]
		st.CallTool = x.expand(st.CallTool, false)
		st.ReadResource = x.expand(st.ReadResource, false)
		st.GetPrompt = x.expand(st.GetPrompt, false)
		x.value(st.Arguments)
	}
	s.secrets = append(s.secrets, x.secrets...)
	if len(x.missing) > 0 {
		return fmt.Errorf("the environment %s %s %s not set (the spec uses ${%s})",
			plural(len(x.missing), "variable", "variables"), strings.Join(x.missing, ", "),
			plural(len(x.missing), "is", "are"), x.missing[0])
	}
	return nil
}

// validate checks the values the decoder could not.
func (s *Spec) validate(name string) error {
	bad := func(line int, format string, args ...any) error {
		return &SpecError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if t := s.Target; t != nil {
		if err := t.Spec().Validate(); err != nil {
			return bad(0, "target: %v", err)
		}
		switch {
		case t.TimeoutSeconds < 0 || t.CallTimeoutSeconds < 0:
			return bad(0, "target timeouts must be positive")
		case t.TimeoutSeconds > maxTimeoutSeconds || t.CallTimeoutSeconds > maxTimeoutSeconds:
			return bad(0, "target timeouts must be at most %d seconds (24 hours)", maxTimeoutSeconds)
		}
	}
	if c := s.Client; c != nil {
		if c.ElicitationAction != "" && !slices.Contains(connmgr.ElicitationActions, c.ElicitationAction) {
			return bad(0, "client.elicitation_action %q is not one of accept, decline, cancel", c.ElicitationAction)
		}
		if c.ElicitationContent != nil && c.ElicitationAction != "accept" {
			return bad(0, "client.elicitation_content is sent only with elicitation_action: accept")
		}
	}
	for i := range s.Steps {
		st := &s.Steps[i]
		switch st.action {
		case ActionCallTool, ActionGetPrompt, ActionReadResource:
			if st.target() == "" {
				return bad(st.line, "step %d: %s needs a value (the %s)", i+1, st.action, map[string]string{
					ActionCallTool: "tool's name", ActionGetPrompt: "prompt's name", ActionReadResource: "resource's URI",
				}[st.action])
			}
		}
		if st.Arguments != nil && st.action != ActionCallTool && st.action != ActionGetPrompt {
			return bad(st.line, "step %d: arguments are for call_tool and get_prompt, not %s", i+1, st.action)
		}
		if st.action == ActionGetPrompt {
			if _, err := PromptArguments(st.Arguments); err != nil {
				return bad(st.line, "step %d: %v", i+1, err)
			}
		}
		if st.TimeoutSeconds < 0 || st.TimeoutSeconds > maxTimeoutSeconds {
			return bad(st.line, "step %d: timeout_seconds must be positive and at most %d (24 hours)", i+1, maxTimeoutSeconds)
		}
		if v, named := st.actionValue(); !named && v != nil {
			if m, ok := v.(map[string]any); !(ok && len(m) == 0) && v != true {
				return bad(st.line, "step %d: %s takes no parameters: leave it empty, or give {} or true, not %s", i+1, st.action, show(v))
			}
		}
		e := st.Expect
		if e == nil {
			continue
		}
		if e.ErrorType != "" && !slices.Contains(errtype.Types, errtype.Type(e.ErrorType)) {
			return bad(st.line, "step %d: error_type %q is not one of %s", i+1, e.ErrorType, strings.Join(errtype.Names(), ", "))
		}
		if e.IsError != nil && st.action != ActionCallTool {
			return bad(st.line, "step %d: is_error is for call_tool steps", i+1)
		}
		if e.OutputSchemaValid != nil && st.action != ActionCallTool {
			return bad(st.line, "step %d: output_schema_valid is for call_tool steps", i+1)
		}
		valid := actionContentTypes[st.action]
		for _, ct := range e.ContentTypes {
			if !slices.Contains(valid, ct) {
				if len(valid) == 0 {
					return bad(st.line, "step %d: %s answers have no content types", i+1, st.action)
				}
				return bad(st.line, "step %d: content type %q is not one of %s", i+1, ct, strings.Join(valid, ", "))
			}
		}
		for _, re := range e.TextMatches {
			if _, err := regexp.Compile(re); err != nil {
				return bad(st.line, "step %d: text_matches %q is not a valid regular expression: %v", i+1, re, err)
			}
		}
		for path, want := range e.Structured {
			if _, err := parsePath(path); err != nil {
				return bad(st.line, "step %d: structured path %q: %v", i+1, path, err)
			}
			if err := checkComparison(want); err != nil {
				return bad(st.line, "step %d: structured %q: %v", i+1, path, err)
			}
		}
	}
	return nil
}

// maxTimeoutSeconds bounds the timeouts a spec may give: 24 hours.
const maxTimeoutSeconds = 24 * 60 * 60

// durationOf is a spec's timeout in seconds as a duration; 0 stays 0.
func durationOf(seconds float64) time.Duration {
	return time.Duration(seconds * float64(time.Second))
}

// actionContentTypes are the content types each action's answer can have.
var actionContentTypes = map[string][]string{
	ActionCallTool:     {"text", "image", "audio", "resource", "resource_link"},
	ActionGetPrompt:    {"text", "image", "audio", "resource", "resource_link"},
	ActionReadResource: {"text", "blob"},
}

// actionValue is the value of the step's action key. For call_tool,
// get_prompt and read_resource it is what the action names, a tool, a prompt
// or a URI (named is true); for a list or ping, it is the parameter, which
// must be empty.
func (st *Step) actionValue() (v any, named bool) {
	switch st.action {
	case ActionCallTool:
		return st.CallTool, true
	case ActionGetPrompt:
		return st.GetPrompt, true
	case ActionReadResource:
		return st.ReadResource, true
	case ActionListTools:
		return st.ListTools, false
	case ActionListResources:
		return st.ListResources, false
	case ActionListResourceTemplates:
		return st.ListResourceTemplates, false
	case ActionListPrompts:
		return st.ListPrompts, false
	case ActionPing:
		return st.Ping, false
	}
	return nil, false
}

// target is what the step's action names: a tool, a prompt or a URI.
func (st *Step) target() string {
	if v, named := st.actionValue(); named {
		return v.(string)
	}
	return ""
}

// Action returns the step's action (call_tool, ping...).
func (st *Step) Action() string { return st.action }

// title is how a step is named in reports.
func (st *Step) title() string {
	if st.Name != "" {
		return st.Name
	}
	if t := st.target(); t != "" {
		return st.action + " " + t
	}
	return st.action
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
