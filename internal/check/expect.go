package check

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// The operators of a comparison object in expect.structured.
var operators = []string{"eq", "ne", "gt", "gte", "lt", "lte", "exists", "matches"}

// asComparison returns v as a comparison object: a mapping whose keys are
// all operators. Any other value is compared for equality.
func asComparison(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, false
	}
	for k := range m {
		if !slices.Contains(operators, k) {
			return nil, false
		}
	}
	return m, true
}

// checkComparison reports a comparison object that cannot be evaluated.
func checkComparison(want any) error {
	cmp, ok := asComparison(want)
	if !ok {
		return nil
	}
	for _, op := range slices.Sorted(maps.Keys(cmp)) {
		v := cmp[op]
		switch op {
		case "gt", "gte", "lt", "lte":
			if _, ok := number(v); !ok {
				return fmt.Errorf("%s needs a number, not %v", op, v)
			}
		case "exists":
			if _, ok := v.(bool); !ok {
				return fmt.Errorf("exists needs true or false, not %v", v)
			}
		case "matches":
			s, ok := v.(string)
			if !ok {
				return fmt.Errorf("matches needs a regular expression string, not %v", v)
			}
			if _, err := regexp.Compile(s); err != nil {
				return fmt.Errorf("matches %q is not a valid regular expression: %v", s, err)
			}
		}
	}
	return nil
}

// compareValue checks got (found says whether the path exists) against want:
// a comparison object or a value that must be equal. It returns what was
// expected, in words, when the check fails.
func compareValue(want, got any, found bool) (ok bool, expected string) {
	cmp, isCmp := asComparison(want)
	if !isCmp {
		if !found {
			return false, "= " + show(want)
		}
		return equal(want, got), "= " + show(want)
	}
	var failed []string
	for _, op := range slices.Sorted(maps.Keys(cmp)) {
		v := cmp[op]
		var pass bool
		switch op {
		case "exists":
			pass = found == v.(bool)
		case "eq":
			pass = found && equal(v, got)
		case "ne":
			pass = !found || !equal(v, got)
		case "matches":
			s, isStr := got.(string)
			if !isStr && found {
				s = show(got)
			}
			pass = found && regexp.MustCompile(v.(string)).MatchString(s)
		default:
			w, _ := number(v)
			g, isNum := number(got)
			pass = found && isNum && map[string]bool{"gt": g > w, "gte": g >= w, "lt": g < w, "lte": g <= w}[op]
		}
		if !pass {
			failed = append(failed, fmt.Sprintf("%s %s", op, show(v)))
		}
	}
	return len(failed) == 0, strings.Join(failed, ", ")
}

// number returns v as a float64 when it is a number.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// equal compares two JSON-like values: objects and arrays deeply, numbers
// by value (numbersEqual).
func equal(a, b any) bool {
	if _, ok := number(a); ok {
		return numbersEqual(a, b)
	}
	return equalPlain(plain(a), plain(b))
}

func equalPlain(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !equalPlain(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalPlain(x[i], y[i]) {
				return false
			}
		}
		return true
	case float64:
		return numbersEqual(x, b)
	}
	return reflect.DeepEqual(a, b)
}

// fractionTolerance is how far apart, relatively, two numbers that are not
// both integers may be and still be equal: a few units in the last place,
// for values computed in floating point (0.1+0.2 is 0.3).
const fractionTolerance = 1e-15

// numbersEqual compares two numbers. Integers are compared exactly
// (1700000001000 is not 1700000000000); beyond 2^53 a float64 is compared
// as the float64 it is, since that is all a decoded JSON number keeps.
// Other numbers may differ by fractionTolerance.
func numbersEqual(a, b any) bool {
	ra, fa, ok := rational(a)
	if !ok {
		return false
	}
	rb, fb, ok := rational(b)
	if !ok {
		return false
	}
	x, _ := ra.Float64()
	y, _ := rb.Float64()
	if ra.IsInt() && rb.IsInt() {
		if fa || fb {
			return x == y
		}
		return ra.Cmp(rb) == 0
	}
	return x == y || math.Abs(x-y) <= fractionTolerance*math.Max(math.Abs(x), math.Abs(y))
}

// rational returns the number v exactly, and whether it was a float64.
func rational(v any) (r *big.Rat, isFloat, ok bool) {
	switch n := v.(type) {
	case int:
		return new(big.Rat).SetInt64(int64(n)), false, true
	case int64:
		return new(big.Rat).SetInt64(n), false, true
	case uint64:
		return new(big.Rat).SetInt(new(big.Int).SetUint64(n)), false, true
	case float64:
		if math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, true, false
		}
		return new(big.Rat).SetFloat64(n), true, true
	case json.Number:
		r, ok := new(big.Rat).SetString(string(n))
		return r, false, ok
	}
	return nil, false, false
}

// plain returns v as decoded JSON (map[string]any, []any, float64...).
func plain(v any) any {
	switch v.(type) {
	case nil, string, bool, float64:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

// show formats a value for a report, cut to a readable length.
func show(v any) string { return textcut.Value(v, 200) }

// A path names a place in a JSON value: keys separated by dots, a number
// (items.0) or [n] (items[0]) indexing an array, and ["key"] (a JSON string
// in brackets) for a key that holds one of . [ ] $ " or is empty. "" or "$"
// is the whole value; a leading "$." or "$[" is the same as none.
type pathSeg struct {
	key string
	// quoted says the key was bracket-quoted: a map key, never an index.
	quoted bool
}

// parsePath splits a path into its segments.
func parsePath(path string) ([]pathSeg, error) {
	if path == "$" {
		return nil, nil
	}
	if strings.HasPrefix(path, "$.") || strings.HasPrefix(path, "$[") {
		path = path[1:]
	}
	var segs []pathSeg
	for i := 0; i < len(path); {
		switch {
		case path[i] == '.':
			i++
		case strings.HasPrefix(path[i:], `["`):
			j := i + 2
			for j < len(path) && path[j] != '"' {
				if path[j] == '\\' {
					j++
				}
				j++
			}
			if j+1 >= len(path) || path[j+1] != ']' {
				return nil, fmt.Errorf("the quoted key at byte %d has no closing \"]", i)
			}
			var key string
			if err := json.Unmarshal([]byte(path[i+1:j+1]), &key); err != nil {
				return nil, fmt.Errorf("the quoted key at byte %d is not a JSON string: %v", i, err)
			}
			segs = append(segs, pathSeg{key: key, quoted: true})
			i = j + 2
		case path[i] == '[':
			end := strings.IndexByte(path[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("the [ at byte %d has no closing ]", i)
			}
			segs = append(segs, pathSeg{key: path[i+1 : i+end]})
			i += end + 1
		default:
			j := i
			for j < len(path) && path[j] != '.' && path[j] != '[' {
				j++
			}
			segs = append(segs, pathSeg{key: path[i:j]})
			i = j
		}
	}
	return segs, nil
}

// lookup finds path (see pathSeg) in v.
func lookup(v any, path string) (any, bool) {
	segs, err := parsePath(path)
	if err != nil {
		return nil, false
	}
	if len(segs) == 0 {
		return v, v != nil
	}
	cur := v
	for _, seg := range segs {
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[seg.key]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(seg.key)
			if seg.quoted || err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// pathKey is key as a path segment: bracket-quoted when it is empty or
// holds a character that paths use.
func pathKey(key string) string {
	if key != "" && !strings.ContainsAny(key, `.[]$"\`) {
		return key
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(key)
	return "[" + strings.TrimSuffix(b.String(), "\n") + "]"
}

// evaluate checks an observation against a step's expectations.
func evaluate(e *Expect, action string, o observation) []Failure {
	var fails []Failure
	fail := func(exp, want, got string) { fails = append(fails, Failure{exp, want, got}) }
	wantToolError := e.ErrorType == string(errtype.ToolError)
	if o.err != nil {
		switch {
		case e.ErrorType == "":
			fail("success", "the step to succeed", o.errType+": "+o.err.Error())
		case e.ErrorType != o.errType:
			fail("error_type", e.ErrorType, o.errType+": "+o.err.Error())
		}
		if e.MaxMS > 0 && ms(o.duration) > e.MaxMS {
			fail("max_ms", fmt.Sprintf("at most %g ms", e.MaxMS), fmtMS(ms(o.duration)))
		}
		return fails
	}
	if e.ErrorType != "" && !(wantToolError && o.isError) {
		fail("error_type", e.ErrorType, "the step succeeded: "+show(firstLine(o.text)))
	}
	if action == ActionCallTool {
		want := wantToolError
		if e.IsError != nil {
			want = *e.IsError
		}
		if o.isError != want {
			got := "false"
			if o.isError {
				got = "true: " + show(firstLine(o.text))
			}
			fail("is_error", fmt.Sprint(want), got)
		}
		switch v := e.OutputSchemaValid; {
		case v != nil && !o.schema.checked:
			fail("output_schema_valid", fmt.Sprint(*v), "not checked: the tool declares no outputSchema or returned an error without structured content")
		case v != nil && *v != o.schema.valid:
			fail("output_schema_valid", fmt.Sprint(*v), fmt.Sprintf("%v %s", o.schema.valid, strings.Join(o.schema.errors, "; ")))
		case v == nil && o.schema.checked && !o.schema.valid:
			fail("output_schema_valid", "structured content that matches the outputSchema", strings.Join(o.schema.errors, "; "))
		}
	}
	for _, s := range e.TextContains {
		if !strings.Contains(o.text, s) {
			fail("text_contains", show(s), "text "+show(o.text))
		}
	}
	for _, re := range e.TextMatches {
		if !regexp.MustCompile(re).MatchString(o.text) {
			fail("text_matches", "/"+re+"/", "text "+show(o.text))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(e.Structured)) {
		// Without structured content nothing is at any path, which is what
		// exists: false and ne expect.
		var got any
		found := false
		if o.hasStruc {
			got, found = lookup(o.struc, p)
		}
		if ok, want := compareValue(e.Structured[p], got, found); !ok {
			actual := "nothing at that path"
			switch {
			case !o.hasStruc:
				actual = "no structured content"
			case found:
				actual = show(got)
			}
			fail("structured."+p, want, actual)
		}
	}
	if e.ContentTypes != nil {
		want := slices.Clone([]string(e.ContentTypes))
		got := slices.Clone(o.types)
		slices.Sort(want)
		slices.Sort(got)
		want, got = slices.Compact(want), slices.Compact(got)
		if !slices.Equal(want, got) {
			fail("content_types", show(want), show(got))
		}
	}
	if e.MaxMS > 0 && ms(o.duration) > e.MaxMS {
		fail("max_ms", fmt.Sprintf("at most %g ms", e.MaxMS), fmtMS(ms(o.duration)))
	}
	return fails
}
