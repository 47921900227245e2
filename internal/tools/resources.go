package tools

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// ListResourcesInput is the arguments of list_resources.
type ListResourcesInput struct {
	Filter string `json:"filter,omitempty" jsonschema:"keep only resources whose uri, name, title or description contains this text (case-insensitive)"`
}

// ListResourcesOutput is the result of list_resources.
type ListResourcesOutput struct {
	Result
	Resources []ResourceSummary     `json:"resources,omitzero" jsonschema:"the target's resources, in the order it listed them"`
	Metadata  ListResourcesMetadata `json:"metadata"`
}

// ResourceSummary is one of the target's resources.
type ResourceSummary struct {
	URI         string `json:"uri"`
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	MIMEType    string `json:"mime_type,omitempty"`
	Size        int64  `json:"size,omitempty" jsonschema:"the size in bytes the target declared, if it did"`
	Annotations any    `json:"annotations,omitempty" jsonschema:"the resource's annotations as the target declared them"`
	wireExtras
}

// wireExtras are the parts of a listed resource, template or prompt that
// go-sdk's structs drop or reshape, as the target sent them.
type wireExtras struct {
	Icons       any            `json:"icons,omitempty" jsonschema:"the item's icons as sent"`
	Meta        any            `json:"meta,omitempty" jsonschema:"the item's _meta as sent"`
	OtherFields map[string]any `json:"other_fields,omitempty" jsonschema:"fields of the item that MCP does not define, as sent, keyed by their wire names"`
}

// extras are the wireExtras of f, an item's fields, other being those not
// shown in their own places.
func extras(f map[string]json.RawMessage, other map[string]any) wireExtras {
	return wireExtras{Icons: wireValue(f["icons"]), Meta: wireValue(f["_meta"]), OtherFields: other}
}

// resourceFields and templateFields are the fields of a resource and a
// template that their summaries show in their own places.
var (
	resourceFields = []string{"uri", "name", "title", "description", "mimeType", "size", "annotations", "icons", "_meta"}
	templateFields = []string{"uriTemplate", "name", "title", "description", "mimeType", "annotations", "icons", "_meta"}
)

// ListResourcesMetadata is list_resources' metadata.
type ListResourcesMetadata struct {
	Metadata
	TotalResources    *int `json:"total_resources,omitempty" jsonschema:"how many resources the target lists"`
	ReturnedResources *int `json:"returned_resources,omitempty" jsonschema:"how many are returned after filtering"`
	ListedServer
}

func (o *ListResourcesOutput) metadata() *Metadata { return &o.Metadata.Metadata }

var listResourcesTool = &mcp.Tool{
	Name:  "list_resources",
	Title: "List the server's resources",
	Description: `List every fixed resource of the connected server (all pages): uri, name, title, description, mime_type, size and annotations as the server declared them. URI patterns are listed by list_resource_templates.

Use it to see what read_resource can read. Example: {"filter": "config"} keeps resources whose uri, name, title or description mention "config".`,
	Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: jsonschema.Ptr(true)},
}

func (h *handlers) listResources(ctx context.Context, _ *mcp.CallToolRequest, in *ListResourcesInput) *ListResourcesOutput {
	out := &ListResourcesOutput{}
	wire := map[string]json.RawMessage{}
	list, err := h.mgr.ListResourcesWire(ctx, wire)
	l, ok := resourceLister.list(&out.Result, list, wire, err, in.Filter, h.serverInfo())
	if ok {
		out.Resources, out.Metadata.TotalResources, out.Metadata.ReturnedResources = l.items, l.total, l.returned
		out.Metadata.ListedServer = l.server
	}
	return out
}

var resourceLister = lister[*mcp.Resource, ResourceSummary]{
	one: "resource", many: "resources",
	fields: func(r *mcp.Resource) []string { return []string{r.URI, r.Name, r.Title, r.Description} },
	key:    func(r *mcp.Resource) string { return r.URI },
	summary: func(r *mcp.Resource, raw json.RawMessage) ResourceSummary {
		f, other := wireFields(raw, r, resourceFields)
		return ResourceSummary{URI: r.URI, Name: r.Name, Title: r.Title, Description: r.Description, MIMEType: r.MIMEType, Size: r.Size,
			Annotations: wireValue(f["annotations"]), wireExtras: extras(f, other)}
	},
}

// ListResourceTemplatesInput is the arguments of list_resource_templates.
type ListResourceTemplatesInput struct {
	Filter string `json:"filter,omitempty" jsonschema:"keep only templates whose uri_template, name, title or description contains this text (case-insensitive)"`
}

// ListResourceTemplatesOutput is the result of list_resource_templates.
type ListResourceTemplatesOutput struct {
	Result
	ResourceTemplates []ResourceTemplateSummary     `json:"resource_templates,omitzero" jsonschema:"the target's resource templates, in the order it listed them"`
	Metadata          ListResourceTemplatesMetadata `json:"metadata"`
}

// ListResourceTemplatesMetadata is list_resource_templates' metadata.
type ListResourceTemplatesMetadata struct {
	Metadata
	TotalTemplates    *int `json:"total_templates,omitempty" jsonschema:"how many resource templates the target lists"`
	ReturnedTemplates *int `json:"returned_templates,omitempty" jsonschema:"how many are returned after filtering"`
	ListedServer
}

// ResourceTemplateSummary is one of the target's resource templates.
type ResourceTemplateSummary struct {
	URITemplate string `json:"uri_template" jsonschema:"an RFC 6570 URI template, such as file:///logs/{date}"`
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	MIMEType    string `json:"mime_type,omitempty"`
	Annotations any    `json:"annotations,omitempty" jsonschema:"the template's annotations as the target declared them"`
	wireExtras
}

func (o *ListResourceTemplatesOutput) metadata() *Metadata { return &o.Metadata.Metadata }

var listResourceTemplatesTool = &mcp.Tool{
	Name:  "list_resource_templates",
	Title: "List the server's resource templates",
	Description: `List every resource template of the connected server (all pages): uri_template (RFC 6570, such as "db://tables/{table}"), name, title, description, mime_type and annotations.

Use it to learn which URIs read_resource can read beyond the fixed ones of list_resources: fill in the template's variables (complete with ref_type "resource_template" suggests values). Example: {"filter": "log"}.`,
	Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: jsonschema.Ptr(true)},
}

func (h *handlers) listResourceTemplates(ctx context.Context, _ *mcp.CallToolRequest, in *ListResourceTemplatesInput) *ListResourceTemplatesOutput {
	out := &ListResourceTemplatesOutput{}
	wire := map[string]json.RawMessage{}
	list, err := h.mgr.ListResourceTemplatesWire(ctx, wire)
	l, ok := templateLister.list(&out.Result, list, wire, err, in.Filter, h.serverInfo())
	if ok {
		out.ResourceTemplates, out.Metadata.TotalTemplates, out.Metadata.ReturnedTemplates = l.items, l.total, l.returned
		out.Metadata.ListedServer = l.server
	}
	return out
}

var templateLister = lister[*mcp.ResourceTemplate, ResourceTemplateSummary]{
	one: "resource template", many: "resource templates",
	fields: func(t *mcp.ResourceTemplate) []string { return []string{t.URITemplate, t.Name, t.Title, t.Description} },
	key:    func(t *mcp.ResourceTemplate) string { return t.URITemplate },
	summary: func(t *mcp.ResourceTemplate, raw json.RawMessage) ResourceTemplateSummary {
		f, other := wireFields(raw, t, templateFields)
		return ResourceTemplateSummary{URITemplate: t.URITemplate, Name: t.Name, Title: t.Title, Description: t.Description, MIMEType: t.MIMEType,
			Annotations: wireValue(f["annotations"]), wireExtras: extras(f, other)}
	},
}

// ReadResourceInput is the arguments of read_resource.
type ReadResourceInput struct {
	URI            string   `json:"uri" jsonschema:"the resource's URI: one listed by list_resources, or a resource template with its variables filled in"`
	TimeoutSeconds *float64 `json:"timeout_seconds,omitempty" jsonschema:"deadline of this read in seconds; default: the connection's call_timeout_seconds"`
}

// ReadResourceOutput is the result of read_resource.
type ReadResourceOutput struct {
	Result
	URI      string         `json:"uri,omitempty" jsonschema:"the URI that was read"`
	Contents []ResourceItem `json:"contents,omitzero" jsonschema:"every content item the target returned"`
	wireParts
	Metadata ConnMetadata `json:"metadata"`
}

// wireParts are the _meta and the fields MCP does not define of a result
// or an item in it, as the target sent them.
type wireParts struct {
	Meta        any            `json:"meta,omitempty" jsonschema:"its _meta as sent"`
	OtherFields map[string]any `json:"other_fields,omitempty" jsonschema:"its fields that MCP does not define, as sent, keyed by their wire names"`
}

// partsOf are the wireParts of raw, known being the fields shown elsewhere;
// when raw is nil (over HTTP), the _meta go-sdk decoded. The typed value is
// not encoded again to find them: it may hold a 20 MB blob.
func partsOf(raw json.RawMessage, meta mcp.Meta, known []string) wireParts {
	if raw == nil {
		if len(meta) == 0 {
			return wireParts{}
		}
		return wireParts{Meta: meta}
	}
	f, _ := objectFields(raw)
	return wireParts{Meta: wireValue(f["_meta"]), OtherFields: otherFields(f, known)}
}

// readResultFields and contentsFields are the fields of a resources/read
// result and of one of its contents that are shown in their own places.
var (
	readResultFields = []string{"contents", "_meta"}
	contentsFields   = []string{"uri", "mimeType", "text", "blob", "_meta"}
)

// ResourceItem is one content item of a resource: text, or a binary blob.
type ResourceItem struct {
	URI      string  `json:"uri"`
	MIMEType string  `json:"mime_type,omitempty"`
	Text     *string `json:"text,omitempty" jsonschema:"the text of a text item, cut at the size limit"`
	Blob     *string `json:"blob,omitempty" jsonschema:"the binary data of a blob item, base64; only the first 64 KiB when truncated"`
	// SizeBytes is set for blobs, and for text that was cut.
	SizeBytes *int   `json:"size_bytes,omitempty" jsonschema:"the size of the decoded blob, or of a text that was cut, in bytes"`
	Truncated *bool  `json:"truncated,omitempty" jsonschema:"always set for blobs; true when blob or text was cut"`
	SHA256    string `json:"sha256,omitempty" jsonschema:"hex SHA-256 of the whole decoded blob, uncut"`
	Note      string `json:"note,omitempty" jsonschema:"what was cut and why"`
	wireParts
}

func (o *ReadResourceOutput) metadata() *Metadata { return &o.Metadata.Metadata }

func readResourceTool() *mcp.Tool {
	in := schemaFor[ReadResourceInput]()
	in.Properties["timeout_seconds"].ExclusiveMinimum = jsonschema.Ptr(0.0)
	return &mcp.Tool{
		Name:  "read_resource",
		Title: "Read one of the server's resources",
		Description: `Read a resource of the connected server and show every content item: {uri, mime_type, text} for text, {uri, mime_type, size_bytes, blob (base64), truncated, sha256} for binary data. Blobs over 64 KiB are cut (sha256 is of the whole blob); text is cut at 1 MiB.

Use it after list_resources or list_resource_templates. Example: {"uri": "file:///project/README.md"}, or a template filled in: {"uri": "db://tables/users"}. An unknown URI gives error.type resource_not_found with similar URIs.`,
		InputSchema: in,
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: jsonschema.Ptr(true)},
	}
}

func (h *handlers) readResource(ctx context.Context, req *mcp.CallToolRequest, in *ReadResourceInput) *ReadResourceOutput {
	out := &ReadResourceOutput{}
	defer h.recordReadResource(in, out)
	timeout, err := seconds("timeout_seconds", in.TimeoutSeconds)
	if err == nil {
		err = requireURI("read_resource", in.URI)
	}
	if err != nil {
		out.fail(classify(err, errtype.Args))
		return out
	}
	out.URI = in.URI
	h.notify(ctx, req, "info", "Reading resource %s", in.URI)
	defer out.Metadata.fill(h.mgr)
	explain := func(err error) *ErrorInfo {
		e := classify(err, errtype.Request)
		if e.Type == errtype.ResourceNotFound {
			h.similarURIs(ctx, in.URI, e)
		}
		return e
	}
	var raw json.RawMessage
	res, d, ok := send(ctx, h, req, &out.Result, "Reading resource "+in.URI, explain, func() (res *mcp.ReadResourceResult, err error) {
		res, raw, err = h.mgr.ReadResourceWire(ctx, in.URI, timeout)
		return res, err
	})
	if !ok {
		return out
	}
	took := formatMS(d)
	out.wireParts = partsOf(raw, res.Meta, readResultFields)
	f, _ := objectFields(raw)
	var rawContents []rawRef
	_ = json.Unmarshal(f["contents"], &rawContents)
	out.Contents = h.resourceItems(res.Contents, rawContents)
	out.Success = true
	out.Message = fmt.Sprintf("Read %s in %s: %s.", in.URI, took, describeItems(out.Contents))
	h.notify(ctx, req, "info", "Read resource %s in %s", in.URI, took)
	return out
}

// similarURIs adds the target's resource URIs that look like uri to e, when
// the list can be had quickly.
func (h *handlers) similarURIs(ctx context.Context, uri string, e *ErrorInfo) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	list, err := h.mgr.ListResources(ctx)
	if err != nil {
		return
	}
	uris := make([]string, len(list))
	for i, r := range list {
		uris[i] = r.URI
	}
	if close := errtype.Closest(uri, uris, 3); len(close) > 0 {
		e.Suggestion = fmt.Sprintf("Did you mean %s? %s", errtype.OrList(close), e.Suggestion)
		if e.Details == nil {
			e.Details = map[string]any{}
		}
		e.Details["similar_uris"] = close
	}
}

// resourceItems shapes a resource's contents, cutting text past maxText and
// blobs past maxBinaryBytes.
//
// raw are the contents as the target sent them, in the same order (empty
// over HTTP).
func (h *handlers) resourceItems(contents []*mcp.ResourceContents, raw []rawRef) []ResourceItem {
	items := make([]ResourceItem, 0, len(contents))
	for i, c := range contents {
		if c == nil {
			continue
		}
		var sent json.RawMessage
		if i < len(raw) {
			sent = json.RawMessage(raw[i])
		}
		it := ResourceItem{URI: c.URI, MIMEType: c.MIMEType, wireParts: partsOf(sent, c.Meta, contentsFields)}
		if c.Blob != nil {
			sum := sha256.Sum256(c.Blob)
			size, cut := len(c.Blob), len(c.Blob) > maxBinaryBytes
			b64 := base64.StdEncoding.EncodeToString(c.Blob[:min(size, maxBinaryBytes)])
			it.Blob, it.SizeBytes, it.Truncated, it.SHA256 = &b64, &size, &cut, hex.EncodeToString(sum[:])
			if cut {
				it.Note = fmt.Sprintf("The blob is %d bytes; only the first %d are shown. sha256 is of the whole blob.", size, maxBinaryBytes)
			}
		} else {
			text, size := textcut.Cut(c.Text, h.maxText), len(c.Text)
			it.Text = &text
			if size > len(text) {
				cut := true
				it.SizeBytes, it.Truncated = &size, &cut
				it.Note = fmt.Sprintf("The text is %d bytes; only the first %d are shown (MCP_TEST_MAX_TEXT_BYTES).", size, len(text))
			}
		}
		items = append(items, it)
	}
	return items
}

// describeItems summarises a resource's contents for the message.
func describeItems(items []ResourceItem) string {
	if len(items) == 0 {
		return "no content items"
	}
	var parts []string
	for _, it := range items {
		kind, size := "text", 0
		if it.Blob != nil {
			kind, size = "blob", *it.SizeBytes
		} else {
			size = len(*it.Text)
			if it.SizeBytes != nil {
				size = *it.SizeBytes
			}
		}
		p := fmt.Sprintf("%s of %d bytes", kind, size)
		if it.MIMEType != "" {
			p += " (" + it.MIMEType + ")"
		}
		if it.Truncated != nil && *it.Truncated {
			p += ", truncated"
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("%d content %s: %s", len(items), plural(len(items), "item", "items"), strings.Join(parts, "; "))
}

func requireURI(tool, uri string) error {
	if strings.TrimSpace(uri) == "" {
		return &errtype.ArgError{
			Msg:        tool + " needs the uri of a resource",
			Suggestion: "Call list_resources (fixed URIs) or list_resource_templates (URI patterns), then pass one as uri.",
		}
	}
	return nil
}

// SubscribeInput is the arguments of subscribe_resource and
// unsubscribe_resource.
type SubscribeInput struct {
	URI string `json:"uri" jsonschema:"the resource's URI, as listed by list_resources"`
}

// SubscribeOutput is the result of subscribe_resource and
// unsubscribe_resource.
type SubscribeOutput struct {
	Result
	URI        string       `json:"uri,omitempty"`
	Subscribed bool         `json:"subscribed" jsonschema:"whether the tester is now subscribed to the URI"`
	Metadata   ConnMetadata `json:"metadata"`
}

func (o *SubscribeOutput) metadata() *Metadata { return &o.Metadata.Metadata }

var subscribeResourceTool = &mcp.Tool{
	Name:  "subscribe_resource",
	Title: "Subscribe to a resource's updates",
	Description: `Ask the connected server to send notifications/resources/updated whenever a resource changes (resources/subscribe). The notifications are collected: read them with get_notifications {"kinds": ["resource_updated"]}.

Use it to test a server's subscriptions. Example: {"uri": "file:///project/config.json"}. A server that does not declare resources.subscribe gives error.type capability_missing.`,
	Annotations: &mcp.ToolAnnotations{IdempotentHint: true, OpenWorldHint: jsonschema.Ptr(true)},
}

var unsubscribeResourceTool = &mcp.Tool{
	Name:  "unsubscribe_resource",
	Title: "Unsubscribe from a resource's updates",
	Description: `End a subscription made with subscribe_resource (resources/unsubscribe). Updates already received stay in get_notifications.

Example: {"uri": "file:///project/config.json"}.`,
	Annotations: &mcp.ToolAnnotations{IdempotentHint: true, OpenWorldHint: jsonschema.Ptr(true)},
}

func (h *handlers) subscribeResource(ctx context.Context, req *mcp.CallToolRequest, in *SubscribeInput) *SubscribeOutput {
	return h.subscription(ctx, req, in, true)
}

func (h *handlers) unsubscribeResource(ctx context.Context, req *mcp.CallToolRequest, in *SubscribeInput) *SubscribeOutput {
	return h.subscription(ctx, req, in, false)
}

func (h *handlers) subscription(ctx context.Context, req *mcp.CallToolRequest, in *SubscribeInput, subscribe bool) *SubscribeOutput {
	out := &SubscribeOutput{}
	tool, verb, f := "unsubscribe_resource", "Unsubscribing from", h.mgr.Unsubscribe
	if subscribe {
		tool, verb, f = "subscribe_resource", "Subscribing to", h.mgr.Subscribe
	}
	if err := requireURI(tool, in.URI); err != nil {
		out.fail(classify(err, errtype.Args))
		return out
	}
	out.URI = in.URI
	defer out.Metadata.fill(h.mgr)
	doing := verb + " resource " + in.URI
	h.notify(ctx, req, "info", "%s", doing)
	if _, _, ok := send(ctx, h, req, &out.Result, doing, nil, func() (struct{}, error) { return noResult(f(ctx, in.URI)) }); !ok {
		return out
	}
	out.Success, out.Subscribed = true, subscribe
	if subscribe {
		out.Message = fmt.Sprintf(`Subscribed to %s: its updates arrive in get_notifications {"kinds": ["resource_updated"]}.`, in.URI)
	} else {
		out.Message = fmt.Sprintf("Unsubscribed from %s; updates already received stay in get_notifications.", in.URI)
	}
	return out
}
