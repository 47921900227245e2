package hostile

// What WireExtras sends, byte for byte: everything go-sdk's structs drop or
// round (unknown keys, tasks and extensions, icons, execution, _meta,
// JSON Schema 2020-12 keywords, integers past 2^53), for tests that the
// tester shows them as sent.
const (
	// WireCapabilities is WireExtras' initialize capabilities.
	WireCapabilities = `{"tools":{"listChanged":true},"logging":{},"resources":{},"prompts":{},` +
		`"tasks":{"list":{},"cancel":{},"requests":{"tools":{"call":{}}}},` +
		`"extensions":{"io.example/ext":{"level":2}},` +
		`"x-vendor-cap":{"limit":9007199254740993}}`
	// WireServerInfo is WireExtras' initialize serverInfo.
	WireServerInfo = `{"name":"wire","title":"Wire","version":"1.0",` +
		`"icons":[{"src":"https://example.com/s.png","mimeType":"image/png"}],` +
		`"websiteUrl":"https://example.com","x-build":"b-7"}`
	// WireTool is the one tool WireExtras lists, named Tool.
	WireTool = `{"name":"hostile","title":"Wire","description":"a tool as sent",` +
		`"icons":[{"src":"https://example.com/t.png","mimeType":"image/png","sizes":["48x48"]}],` +
		`"execution":{"taskSupport":"optional"},` +
		`"_meta":{"io.example/owner":"team-a","n":9007199254740993},` +
		`"x-vendor":{"tier":"gold"},` +
		`"inputSchema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",` +
		`"$defs":{"id":{"type":"integer","minimum":0}},"properties":{"id":{"$ref":"#/$defs/id"}},` +
		`"additionalProperties":false,"unevaluatedProperties":false},` +
		`"outputSchema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",` +
		`"properties":{"big":{"type":"integer"},"tenth":{"type":"number"}},"required":["big","tenth"]},` +
		`"annotations":{"readOnlyHint":true,"x-hint":"kept"}}`
	// WireResource, WireTemplate and WirePrompt are the one resource,
	// resource template and prompt WireExtras lists.
	WireResource = `{"uri":"wire://r","name":"r","mimeType":"text/plain","size":9007199254740993,` +
		`"icons":[{"src":"https://example.com/r.png"}],"_meta":{"n":9007199254740993},` +
		`"annotations":{"priority":0.5,"x-a":1},"x-vendor":"r"}`
	WireTemplate = `{"uriTemplate":"wire://t/{id}","name":"t","icons":[{"src":"https://example.com/t.png"}],` +
		`"_meta":{"n":9007199254740993},"x-vendor":"t"}`
	WirePrompt = `{"name":"p","arguments":[{"name":"a","required":true}],` +
		`"icons":[{"src":"https://example.com/p.png"}],"_meta":{"n":9007199254740993},"x-vendor":"p"}`
	// WireContents is the one content item of WireReadResult.
	WireContents = `{"uri":"wire://r","mimeType":"text/plain","text":"hi","_meta":{"n":9007199254740993},"x-item":0.10}`
	// WireReadResult is WireExtras' answer to resources/read.
	WireReadResult = `{"contents":[` + WireContents + `],"_meta":{"n":9007199254740993},"x-vendor-read":{"cost":0.10}}`
	// WirePromptMessage is the one message of WirePromptResult.
	WirePromptMessage = `{"role":"user","content":{"type":"text","text":"hi","_meta":{"n":9007199254740993},"x-block":0.10},` +
		`"_meta":{"m":1},"x-msg":true}`
	// WirePromptResult is WireExtras' answer to prompts/get.
	WirePromptResult = `{"description":"d","messages":[` + WirePromptMessage + `],` +
		`"_meta":{"n":9007199254740993},"x-vendor-prompt":{"cost":0.10}}`
	// WireBig is 2^53+1, which a float64 rounds to 2^53.
	WireBig = "9007199254740993"
	// WireStructured is the structuredContent of WireCallResult.
	WireStructured = `{"big":9007199254740993,"tenth":0.1,"cents":0.10,"huge":1.5e300,` +
		`"exp":1E+2,"negzero":-0.0,"long":12345678901234567890123}`
	// WireCallResult is WireExtras' answer to tools/call.
	WireCallResult = `{"content":[{"type":"text","text":"wire","_meta":{"k":9007199254740993},"x-block":true,` +
		`"annotations":{"priority":0.30000000000000004}}],` +
		`"structuredContent":` + WireStructured + `,"isError":false,` +
		`"_meta":{"io.example/trace":"t-1","n":9007199254740993},` +
		`"x-vendor-result":{"cost":0.10}}`
)
