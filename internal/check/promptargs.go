package check

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
)

// ErrPromptArgument is wrapped, in an *errtype.ArgError, by PromptArguments
// for a value that is not a string, a number or a boolean.
var ErrPromptArgument = errors.New("prompt arguments are strings")

// PromptArguments turns prompt arguments given as JSON values into the
// strings MCP sends. It is the one rule of get_prompt, execute_prompt and a
// spec's get_prompt step: a string is sent as is; a number or a boolean as
// its JSON text (3 → "3", true → "true"), since that is what was meant; an
// object, an array or null is refused, naming the argument, since no one
// text is clearly meant (pass it as JSON text instead).
func PromptArguments(args map[string]any) (map[string]string, error) {
	if args == nil {
		return nil, nil
	}
	out := make(map[string]string, len(args))
	for _, k := range slices.Sorted(maps.Keys(args)) {
		s, ok := promptText(args[k])
		if !ok {
			return nil, &errtype.ArgError{
				Msg:        fmt.Sprintf("%v: %q is %s; pass structured values as JSON text, e.g. {%q: \"[1, 2]\"}", ErrPromptArgument, k, jsonKind(args[k]), k),
				Suggestion: `Prompt arguments are strings; numbers and booleans are sent as their JSON text. Pass objects and arrays as JSON text, e.g. {"items": "[1, 2]"}.`,
				Err:        ErrPromptArgument,
			}
		}
		out[k] = s
	}
	return out, nil
}

func promptText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		return x.String(), true
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return "", false
		}
		b, _ := json.Marshal(x)
		return string(b), true
	case float32:
		return promptText(float64(x))
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	}
	return "", false
}

// jsonKind names the JSON type of v for an error message.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case float64, float32:
		return "a number that JSON cannot hold"
	}
	return fmt.Sprintf("a %T", v)
}
