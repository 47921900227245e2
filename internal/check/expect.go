package check

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
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

// equal compares two JSON-like values, numbers by value.
func equal(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && (x == y || math.Abs(x-y) < 1e-9*math.Max(math.Abs(x), math.Abs(y)))
	}
	return reflect.DeepEqual(plain(a), plain(b))
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
func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(clip(s, 200))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return clip(string(b), 200)
}

// clip cuts s to n bytes (at a rune boundary), marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = strings.ToValidUTF8(s[:n], "")
	return s + "…"
}

// lookup finds path in v. A path is dot-separated keys; a numeric segment
// or [n] indexes an array; "" or "$" is the whole value.
func lookup(v any, path string) (any, bool) {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "$"), ".")
	if path == "" {
		return v, v != nil
	}
	path = strings.NewReplacer("[", ".", "]", "").Replace(path)
	cur := v
	for _, seg := range strings.Split(path, ".") {
		if seg == "" {
			continue
		}
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[seg]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}
