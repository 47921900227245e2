package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// MarshalYAML writes a one-item list as a plain string.
func (l StringList) MarshalYAML() (any, error) {
	if len(l) == 1 {
		return l[0], nil
	}
	return []string(l), nil
}

// indentedJSON is v as indented JSON, with <, > and & as they are: the form
// of the files check writes (specs, snapshots).
func indentedJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Marshal encodes a spec as YAML, or as indented JSON when asJSON is set.
// The result parses back with ParseSpec.
func Marshal(s *Spec, asJSON bool) ([]byte, error) {
	if asJSON {
		return indentedJSON(s)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(plainSpec(s)); err != nil {
		return nil, fmt.Errorf("encoding the spec: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// plainSpec is s with its free-form values (arguments, structured
// expectations) as plain JSON values, which YAML encodes faithfully
// (json.Number would become a string).
func plainSpec(s *Spec) *Spec {
	out := *s
	out.Steps = slices.Clone(s.Steps)
	for i := range out.Steps {
		st := &out.Steps[i]
		if st.Arguments != nil {
			st.Arguments, _ = plain(st.Arguments).(map[string]any)
		}
		if st.Expect != nil {
			e := *st.Expect
			if e.Structured != nil {
				e.Structured, _ = plain(e.Structured).(map[string]any)
			}
			st.Expect = &e
		}
	}
	return &out
}

// Escape returns s with each $ doubled, so that ParseSpec reads it back as
// s rather than expanding a ${VAR} in it.
func Escape(s string) string { return strings.ReplaceAll(s, "$", "$$") }

// EscapeLiterals escapes (Escape) the values of s that ParseSpec expands and
// that hold literal text: the target's url, command, args and cwd, the
// client answers, and the steps' tool, prompt and resource names and
// arguments. The target's env, headers and bearer_token are left as they
// are: an exported spec writes ${VAR} references there. Expectations are
// never expanded.
func (s *Spec) EscapeLiterals() {
	if t := s.Target; t != nil {
		t.URL, t.Command, t.Cwd = Escape(t.URL), Escape(t.Command), Escape(t.Cwd)
		for i := range t.Args {
			t.Args[i] = Escape(t.Args[i])
		}
	}
	if c := s.Client; c != nil {
		if c.SamplingResponse != nil {
			v := Escape(*c.SamplingResponse)
			c.SamplingResponse = &v
		}
		c.ElicitationContent, _ = escapeValue(c.ElicitationContent).(map[string]any)
		for i := range c.Roots {
			c.Roots[i] = Escape(c.Roots[i])
		}
	}
	for i := range s.Steps {
		st := &s.Steps[i]
		st.CallTool, st.ReadResource, st.GetPrompt = Escape(st.CallTool), Escape(st.ReadResource), Escape(st.GetPrompt)
		st.Arguments, _ = escapeValue(st.Arguments).(map[string]any)
	}
}

// escapeValue returns a copy of the JSON value v with its strings escaped.
func escapeValue(v any) any {
	switch v := v.(type) {
	case string:
		return Escape(v)
	case map[string]any:
		if v == nil {
			return v
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = escapeValue(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = escapeValue(e)
		}
		return out
	}
	return v
}

// volatileRE finds where text stops being stable: digits (counts, times,
// ids) and the like.
var volatileRE = regexp.MustCompile(`[0-9]`)

// StablePrefix returns the start of text that is likely to be the same on
// the next run: its first line, up to the first digit, at most 80 bytes,
// cut at a word boundary. It is "" when too little is left to be useful.
func StablePrefix(text string) string {
	s := strings.TrimLeftFunc(text, unicode.IsSpace)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if loc := volatileRE.FindStringIndex(s); loc != nil {
		s = s[:loc[0]]
	}
	if len(s) > 80 {
		s = textcut.Cut(s, 80)
		if i := strings.LastIndexByte(s, ' '); i > 20 {
			s = s[:i]
		}
	}
	s = strings.TrimRightFunc(s, unicode.IsSpace)
	if len([]rune(s)) < 3 {
		return ""
	}
	return s
}

// StructuredExpectations turns structured content into path → value
// expectations for its scalar leaves (strings up to 200 bytes, numbers,
// booleans), at most limit of them, in path order.
func StructuredExpectations(v any, limit int) map[string]any {
	out := map[string]any{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		if len(out) >= limit {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				walk(joinPath(path, pathKey(k)), x[k])
			}
		case []any:
			for i, e := range x {
				walk(joinPath(path, strconv.Itoa(i)), e)
			}
		case string:
			if len(x) <= 200 && path != "" {
				out[path] = x
			}
		case float64, bool:
			if path != "" {
				out[path] = x
			}
		}
	}
	walk("", plain(v))
	return out
}

func joinPath(path, seg string) string {
	if path == "" || strings.HasPrefix(seg, "[") {
		return path + seg
	}
	return path + "." + seg
}
