package errtype

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
)

// Closest returns up to n of candidates that look like what was meant by
// name: the same ignoring case, one starting with or containing the other, or
// within a small edit distance. The best matches come first.
func Closest(name string, candidates []string, n int) []string {
	type match struct {
		name       string
		rank, dist int
	}
	lname := strings.ToLower(name)
	var matches []match
	for _, c := range candidates {
		lc := strings.ToLower(c)
		m := match{name: c, dist: editDistance(lname, lc)}
		switch {
		case lc == lname:
			m.rank = 0
		case len(lname) >= 3 && strings.HasPrefix(lc, lname), len(lc) >= 3 && strings.HasPrefix(lname, lc):
			m.rank = 1
		case len(lname) >= 3 && strings.Contains(lc, lname), len(lc) >= 3 && strings.Contains(lname, lc):
			m.rank = 2
		case m.dist <= max(2, len(lname)/3):
			m.rank = 3
		default:
			continue
		}
		matches = append(matches, m)
	}
	slices.SortStableFunc(matches, func(a, b match) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.dist, b.dist), cmp.Compare(a.name, b.name))
	})
	var out []string
	for _, m := range matches[:min(n, len(matches))] {
		out = append(out, m.name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Sentence makes s start with a capital letter, unless it starts with an
// identifier such as timeout_seconds, and end with a period.
func Sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	if first, _, _ := strings.Cut(s, " "); !strings.ContainsAny(first, "_./") {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// OrList formats names as `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
func OrList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// andList formats names as `"a"`, `"a" and "b"`, `"a", "b" and "c"`.
func andList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

func httpSuggestion(e *connmgr.HTTPError) string {
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		return "The server wants authentication: pass bearer_token, or the headers it expects (see details.www_authenticate)."
	case e.StatusCode == http.StatusNotFound:
		return "Check the URL's path: streamable HTTP servers usually serve /mcp, legacy SSE servers /sse."
	case e.StatusCode == http.StatusMethodNotAllowed:
		return "The URL does not accept MCP POSTs: check the path, or pass transport: sse for a legacy SSE server."
	case e.StatusCode >= 500:
		return "The server failed: check its logs, then connect again."
	case e.StatusCode == 0:
		return "Nothing answered: check that the server is running and listening at that host and port (and http vs https)."
	case e.StatusCode < 400:
		return "The URL answered, but not with MCP: check that it is the server's MCP endpoint."
	default:
		return "Check the URL and the transport, then connect again."
	}
}

// invalidParamsSuggestion says where to read the arguments a method takes.
func invalidParamsSuggestion(method string) string {
	switch method {
	case "prompts/get":
		return "Call list_prompts to read the prompt's arguments (use complete for valid values), then fix them."
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		return "Check the URI against list_resources and list_resource_templates."
	case "completion/complete":
		return "Check ref_type, name or uri and the argument name against list_prompts or list_resource_templates."
	default:
		return "Call list_tools to read the tool's input_schema, then fix the arguments."
	}
}
