package check

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// The JUnit XML shape most CI systems read (the Ant/Jenkins schema):
// testsuites > testsuite > testcase > failure | skipped.
type (
	junitSuites struct {
		XMLName xml.Name `xml:"testsuites"`
		Name    string   `xml:"name,attr"`
		junitCounts
		Suites []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name string `xml:"name,attr"`
		junitCounts
		Timestamp string      `xml:"timestamp,attr"`
		Hostname  string      `xml:"hostname,attr"`
		Cases     []junitCase `xml:"testcase"`
		SystemOut string      `xml:"system-out,omitempty"`
	}
	// junitCounts are the attributes the root and each suite both carry,
	// in the schema's order.
	junitCounts struct {
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Time     string `xml:"time,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitFailure `xml:"failure,omitempty"`
		Skipped   *junitSkipped `xml:"skipped,omitempty"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr"`
	}
)

// WriteJUnit writes the report as JUnit XML: one testsuite per group of
// checks (connection, surface, call_all, steps, snapshot) and one testcase
// per check.
func (r *Report) WriteJUnit(w io.Writer) error {
	host, _ := os.Hostname()
	root := junitSuites{Name: "mcp-test-mcp check: " + r.Name, junitCounts: junitCounts{Time: seconds(r.DurationMS)}}
	for _, g := range groups {
		suite := junitSuite{
			Name:      r.Name + " " + g,
			Timestamp: junitTime(r.StartedAt),
			Hostname:  host,
		}
		var ms float64
		seen := map[string]int{} // CI systems merge testcases of one name
		for _, c := range r.Checks {
			if c.Group != g {
				continue
			}
			ms += c.DurationMS
			name := c.Name
			if seen[c.Name]++; seen[c.Name] > 1 {
				name = fmt.Sprintf("%s #%d", c.Name, seen[c.Name])
			}
			tc := junitCase{Name: name, Classname: "mcp-test-mcp." + g, Time: seconds(c.DurationMS)}
			var out []string
			out = append(out, c.Message)
			out = append(out, c.Notes...)
			tc.SystemOut = strings.Join(out, "\n")
			switch c.Status {
			case StatusFailed:
				suite.Failures++
				var text []string
				if c.Line > 0 {
					text = append(text, fmt.Sprintf("spec line %d", c.Line))
				}
				for _, f := range c.Failures {
					text = append(text, f.String())
				}
				typ := "expectation"
				if c.ErrorType != "" {
					typ = c.ErrorType
				}
				tc.Failure = &junitFailure{Message: c.Message, Type: typ, Text: strings.Join(text, "\n")}
			case StatusSkipped:
				suite.Skipped++
				tc.Skipped = &junitSkipped{Message: c.Message}
			case StatusWarning:
				tc.SystemOut = "[warning] " + tc.SystemOut
			}
			suite.Cases = append(suite.Cases, tc)
		}
		if len(suite.Cases) == 0 {
			continue
		}
		if g == GroupConnection && r.ConnectError != nil && r.ConnectError.StderrTail != "" {
			suite.SystemOut = "stderr tail of the target:\n" + r.ConnectError.StderrTail
		}
		suite.Tests = len(suite.Cases)
		suite.Time = seconds(ms)
		root.Tests += suite.Tests
		root.Failures += suite.Failures
		root.Skipped += suite.Skipped
		root.Suites = append(root.Suites, suite)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitTime is an RFC 3339 time in the XSD's form (no zone, no fraction).
func junitTime(rfc3339 string) string {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

func seconds(ms float64) string { return fmt.Sprintf("%.3f", ms/1000) }
