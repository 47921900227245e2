package check

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// surface lists what the target declares (and pings it, if ping is set)
// and returns the surface and the checks, in a fixed order. The requests
// are independent, so they are sent together: a plain check then costs
// little more than its slowest request.
func (r *runner) surface(ctx context.Context, ping bool) (*Surface, []Check) {
	caps := r.info.Capabilities
	sum := &SurfaceSummary{Tools: []string{}, Prompts: []string{}}
	r.report.Surface = sum
	var (
		res     []*mcp.Resource
		tmpl    []*mcp.ResourceTemplate
		prompts []*mcp.Prompt
		jobs    []func() Check
	)
	if caps == nil || caps.Tools != nil {
		jobs = append(jobs, listJob(ctx, ActionListTools, &r.tools, r.listTools))
	} else {
		sum.Undeclared = append(sum.Undeclared, "tools")
	}
	if caps != nil && caps.Resources != nil {
		jobs = append(jobs,
			listJob(ctx, ActionListResources, &res, r.mgr.ListResources),
			listJob(ctx, ActionListResourceTemplates, &tmpl, r.mgr.ListResourceTemplates))
	} else {
		sum.Undeclared = append(sum.Undeclared, "resources")
	}
	if caps != nil && caps.Prompts != nil {
		jobs = append(jobs, listJob(ctx, ActionListPrompts, &prompts, r.mgr.ListPrompts))
	} else {
		sum.Undeclared = append(sum.Undeclared, "prompts")
	}
	if ping {
		jobs = append(jobs, func() Check { return r.ping(ctx) })
	}
	checks := make([]Check, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Go(func() { checks[i] = job() })
	}
	wg.Wait()
	for _, c := range checks {
		if c.Status == StatusFailed && c.Action != ActionPing {
			r.listFailed = true
		}
	}
	for _, t := range r.tools {
		sum.Tools = append(sum.Tools, t.Name)
	}
	for _, p := range prompts {
		sum.Prompts = append(sum.Prompts, p.Name)
	}
	slices.Sort(sum.Tools)
	slices.Sort(sum.Prompts)
	sum.Resources, sum.ResourceTemplates = len(res), len(tmpl)
	return newSurface(r.info.ServerInfo.Name, r.tools, res, tmpl, prompts, caps), checks
}

// listJob is the check of one list of the surface; what the list returned
// is kept in into.
func listJob[T any](ctx context.Context, action string, into *[]T, list func(context.Context) ([]T, error)) func() Check {
	what := map[string]string{
		ActionListTools: "tool", ActionListResources: "resource",
		ActionListResourceTemplates: "resource template", ActionListPrompts: "prompt",
	}[action]
	return func() Check {
		return surfaceCheck(action, "the list", func() (string, error) {
			var err error
			*into, err = list(ctx)
			n := len(*into)
			return fmt.Sprintf("%d %s", n, plural(n, what, what+"s")), err
		})
	}
}

// listTools is every page of the target's tools.
func (r *runner) listTools(ctx context.Context) ([]*mcp.Tool, error) {
	list, err := r.mgr.ListTools(ctx)
	if err != nil {
		return nil, err
	}
	return list.Tools, nil
}

// surfaceCheck runs one request of the surface as a check: do returns the
// message of its success; expected is what a failure did not get.
func surfaceCheck(action, expected string, do func() (string, error)) Check {
	start := time.Now()
	msg, err := do()
	c := Check{Name: action, Group: GroupSurface, Action: action, DurationMS: ms(time.Since(start))}
	if err != nil {
		c.Status, c.ErrorType = StatusFailed, ErrorType(err, false)
		c.Message = err.Error()
		c.Failures = []Failure{{Expectation: "success", Expected: expected, Actual: c.ErrorType + ": " + err.Error()}}
		return c
	}
	c.Status, c.Message = StatusPassed, msg
	return c
}

// ping is the surface's ping check, with the connection's call timeout.
func (r *runner) ping(ctx context.Context) Check {
	return surfaceCheck(ActionPing, "a ping answer", func() (string, error) {
		rtt, err := r.mgr.Ping(ctx, 0)
		return "answered in " + fmtMS(ms(rtt)), err
	})
}
