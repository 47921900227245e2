package check

import (
	"strings"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
)

// Target says how to reach the server under test. Exactly one of URL and
// Command is set.
type Target struct {
	URL                string            `yaml:"url,omitempty" json:"url,omitempty"`
	Command            string            `yaml:"command,omitempty" json:"command,omitempty"`
	Args               []string          `yaml:"args,omitempty" json:"args,omitempty"`
	Env                map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	Cwd                string            `yaml:"cwd,omitempty" json:"cwd,omitempty"`
	Transport          string            `yaml:"transport,omitempty" json:"transport,omitempty"`
	Headers            map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	BearerToken        string            `yaml:"bearer_token,omitempty" json:"bearer_token,omitempty"`
	TimeoutSeconds     float64           `yaml:"timeout_seconds,omitempty" json:"timeout_seconds,omitempty"`
	CallTimeoutSeconds float64           `yaml:"call_timeout_seconds,omitempty" json:"call_timeout_seconds,omitempty"`
}

// Spec describes t to connmgr: its own fields and timeouts, without a
// client side. Spec().Validate() is the check of t's description.
func (t *Target) Spec() connmgr.Spec {
	return connmgr.Spec{
		URL: t.URL, Command: t.Command, Args: t.Args, Env: t.Env, Cwd: t.Cwd,
		Transport: t.Transport, Headers: t.Headers, BearerToken: t.BearerToken,
		ConnectTimeout: durationOf(t.TimeoutSeconds), CallTimeout: durationOf(t.CallTimeoutSeconds),
	}
}

// connSpec is the Spec the run connects with: the target's, with the run's
// client answers, OAuth flow and timeouts.
func (r *runner) connSpec() connmgr.Spec {
	s := r.target.Spec()
	s.Client = r.client.side()
	// No expectation reads the target's logs.
	s.QuietLogs = true
	if r.oauth != nil {
		s.OAuth = r.oauth
	}
	if r.opts.ConnectTimeout > 0 {
		s.ConnectTimeout = r.opts.ConnectTimeout
	}
	if r.opts.CallTimeout > 0 {
		s.CallTimeout = r.opts.CallTimeout
	}
	return s
}

// describeTarget is the target in a report, before the connection says
// better; secrets are masked.
func describeTarget(t *Target) string {
	if t.URL != "" {
		return redact.URL(t.URL)
	}
	return strings.Join(append([]string{t.Command}, t.Args...), " ")
}

// targetSecrets are the secret values of a target.
func targetSecrets(t *Target) []string {
	return t.Spec().Secrets()
}
