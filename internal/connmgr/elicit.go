package connmgr

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// answerElicitation answers the target's form elicitation/create with
// handle before go-sdk sees it. go-sdk v1.8.0 checks the requested schema
// first and refuses some valid ones, such as SEP-1330's titled enums
// (oneOf/anyOf of const and title, also as the items of a multi-select
// array, next to "type": "string"); the answer chain never saw those
// requests. The answer chain decides: the host gets the schema as the
// target sent it. URL elicitations still go through go-sdk.
func answerElicitation(handle func(ctx context.Context, params *mcp.ElicitParams) (*mcp.ElicitResult, string, error)) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			r, ok := req.(*mcp.ElicitRequest)
			if method != "elicitation/create" || !ok || r.Params == nil || r.Params.Mode == "url" || r.Params.URL != "" {
				return next(ctx, method, req)
			}
			res, who, err := handle(ctx, r.Params)
			setAnsweredBy(ctx, who)
			if err != nil {
				return nil, err
			}
			return res, nil
		}
	}
}
