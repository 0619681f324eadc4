package api

import (
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// OpenAPI returns the OpenAPI 3 document of the API. It is built from the
// route table and the Go types the handlers read and write, so a field or a
// route cannot exist in the code and be missing from the document; the
// API tests check the other direction by calling every documented route.
func (a *API) OpenAPI() map[string]any {
	g := &schemaGen{components: map[string]any{}}
	errSchema := map[string]any{
		"type": "object",
		"properties": map[string]any{"error": map[string]any{
			"type": "object",
			"properties": map[string]any{
				"code":    map[string]any{"type": "string", "example": "invalid"},
				"message": map[string]any{"type": "string"},
				"field":   map[string]any{"type": "string", "description": "JSON path of the offending field, when one is to blame"},
			},
			"required": []string{"code", "message"},
		}},
		"required": []string{"error"},
	}
	g.components["Error"] = errSchema
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{
			"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	}
	paths := map[string]any{}
	for _, rt := range a.Routes() {
		item, _ := paths[rt.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.Path] = item
		}
		op := map[string]any{
			"summary":     rt.Summary,
			"operationId": operationID(rt),
			"tags":        []string{strings.Split(strings.TrimPrefix(rt.Path, "/"), "/")[0]},
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			s := map[string]any{"type": "string"}
			if m[1] == "id" {
				s = map[string]any{"type": "integer", "format": "int64", "minimum": 1}
			}
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": s})
		}
		if params != nil {
			op["parameters"] = params
		}
		responses := map[string]any{}
		ok := map[string]any{"description": http.StatusText(rt.Status)}
		if rt.Out != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.Out))}}
		}
		if rt.Stream != "" {
			ok["content"] = map[string]any{rt.Stream: map[string]any{"schema": map[string]any{"type": "string"}}}
		}
		responses[strconv.Itoa(rt.Status)] = ok
		if rt.In != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.In))}}}
			responses["400"] = errResp("Malformed JSON, an unknown field or a wrong type")
			responses["413"] = errResp("Body larger than 1 MiB")
			responses["415"] = errResp("Body is not application/json")
			responses["422"] = errResp("A value breaks a rule; field names it")
		}
		if rt.Role == "" {
			op["security"] = []any{}
		} else {
			op["x-role"] = rt.Role
			responses["401"] = errResp("Missing or invalid API key")
			responses["403"] = errResp("The key's role may not do this")
			responses["429"] = errResp("Too many failed authentications from this address")
		}
		if params != nil {
			responses["404"] = errResp("No such object")
		}
		if rt.Method != "GET" && rt.Role != "" {
			responses["409"] = errResp("Conflicts with existing data (taken alias, object still in use)")
		}
		op["responses"] = responses
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "trackd admin API",
			"version":     a.version,
			"description": "Configuration of trackd: traffic sources, affiliate networks, offers, landings, campaigns and streams, users, API keys, currency rates and settings. Money is an exact decimal with at most 6 places; times are RFC 3339 in UTC.",
		},
		"servers": []any{map[string]any{"url": Prefix}},
		"security": []any{
			map[string]any{"bearer": []string{}},
			map[string]any{"apiKey": []string{}},
		},
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key>"},
				"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "Api-Key"},
			},
			"schemas": g.components,
		},
		"paths": paths,
	}
}

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, a.OpenAPI())
	return nil
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// operationID turns "GET /offers/{id}" into "getOffersById".
func operationID(rt Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.Method))
	for _, part := range strings.FieldsFunc(rt.Path, func(r rune) bool { return r == '/' || r == '-' || r == '.' || r == '_' }) {
		if strings.HasPrefix(part, "{") {
			b.WriteString("By")
			part = strings.Trim(part, "{}")
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// schemaGen turns Go types into OpenAPI schemas; named structs become
// components.
type schemaGen struct {
	components map[string]any
}

var (
	timeType = reflect.TypeFor[time.Time]()
)

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Name() {
	case "Money":
		return map[string]any{"type": "number", "description": "exact decimal, at most 6 places; a string such as \"1.50\" is accepted too"}
	case "Rate":
		return map[string]any{"type": "number", "description": "exact decimal, at most 9 places; a string is accepted too"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := g.schema(t.Elem())
		if _, isRef := s["$ref"]; isRef {
			return map[string]any{"allOf": []any{s}, "nullable": true}
		}
		s["nullable"] = true
		return s
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32:
		return map[string]any{"type": "integer"}
	case reflect.Int64, reflect.Uint64:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem()), "minItems": t.Len(), "maxItems": t.Len()}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := t.Name()
		generic := strings.Contains(name, "[")
		if name != "" && !generic {
			if _, done := g.components[name]; !done {
				g.components[name] = map[string]any{} // stops recursion
				g.components[name] = g.object(t)
			}
			return map[string]any{"$ref": "#/components/schemas/" + name}
		}
		return g.object(t)
	}
	return map[string]any{}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	g.fields(t, props)
	return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
}

// fields adds the JSON fields of struct t to props; the fields of an
// embedded struct are promoted, as encoding/json does.
func (g *schemaGen) fields(t reflect.Type, props map[string]any) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
			g.fields(f.Type, props)
			continue
		}
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := g.schema(f.Type)
		if f.Tag.Get("api") == "readonly" {
			if _, isRef := s["$ref"]; isRef {
				s = map[string]any{"allOf": []any{s}}
			}
			s["readOnly"] = true
		}
		if f.Tag.Get("api") == "writeonly" {
			s["writeOnly"] = true
		}
		props[name] = s
	}
}
