package tools

import "github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"

// classify maps an error from decoding arguments or from the connmgr to the
// envelope's error: errtype.Classify's answer, as the envelope shows it.
func classify(err error, during errtype.Op) *ErrorInfo {
	i := errtype.Classify(err, during)
	return &ErrorInfo{Type: i.Type, Message: i.Message, Suggestion: i.Suggestion, Details: i.Details}
}
