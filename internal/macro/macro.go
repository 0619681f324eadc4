// Package macro parses and expands the macros in trackd's URL templates.
//
// Offer URLs, landing URLs and outgoing postback URLs may contain macros in
// braces, for example
//
//	https://offer.example/?aff_sub={clickid}&ua={_user_agent}&d={date:2006-01-02,Europe/Berlin}&z={param:zone}
//
// A template is parsed once, when it is saved or loaded, and expanded many
// times on the hot path. Parse does all the work that can be done up front
// (splitting literal text, loading time zones, building status maps), so
// that Expand only appends to the caller's buffer.
//
// # Syntax
//
// Every '{' starts a macro, which runs up to the next '}'. A macro that is
// not closed, that contains another '{', that is empty, or whose name is not
// known is an error: this catches typos such as {clikid} and macros of an
// affiliate network that were pasted in unsubstituted. There is no way to
// write a literal '{'; a lone '}' outside a macro is ordinary text. All other
// text is copied to the output unchanged.
//
// Macro names are lowercase and case-sensitive. The simple macros are listed
// by [Known]; {subid} is an alias of {clickid}. Three macros take an
// argument after a colon:
//
//   - {date:LAYOUT} and {date:LAYOUT,ZONE} format the expansion time with
//     the Go time layout LAYOUT in the IANA time zone ZONE, or in UTC when no
//     zone is given. The zone is the text after the last comma, so a layout
//     that itself contains a comma must be followed by a zone:
//     {date:Jan 2, 2006,UTC}.
//   - {param:NAME} is the click's query parameter NAME. NAME consists of
//     ASCII letters, digits and the characters _ . - [ ].
//   - {status:lead=0 sale=1 rejected=2} is the conversion status translated
//     through a table of space-separated canonical=value pairs. The canonical
//     statuses are lead, sale, rejected and rebill; a value may be empty.
//     A status that the table does not map is output as it is.
//
// The conversion macros (status, payout, revenue, currency, tid, profit,
// conversion_id and the status map) are only allowed in the [Conversion]
// context, that is in outgoing postback templates.
//
// # Encoding
//
// Values are escaped as URL query components, byte for byte as
// url.QueryEscape does. A leading underscore marks a macro as raw, which
// is inserted unescaped: {_user_agent}, {_param:zone}, {_date:2006-01-02}.
package macro

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Context says where a template is used, which decides the macros it may contain.
type Context int

const (
	// Click is the context of offer and landing URLs, which are expanded
	// when a click is redirected. Only click macros are allowed.
	Click Context = iota
	// Conversion is the context of outgoing postback templates, which are
	// expanded when a conversion is reported. Click and conversion macros
	// are allowed.
	Conversion
)

// String returns "click" or "conversion".
func (c Context) String() string {
	switch c {
	case Click:
		return "click"
	case Conversion:
		return "conversion"
	}
	return "Context(" + strconv.Itoa(int(c)) + ")"
}

// Error describes the first problem found in a template.
type Error struct {
	// Pos is the byte offset in the template of the macro's '{'.
	Pos int
	// Macro is the macro as written, including its braces. For an
	// unterminated macro it is the text from '{' up to the next '{' or the
	// end of the template, shortened to at most 40 bytes.
	Macro string
	// Message describes the problem so that it reads well followed by the
	// macro, for example "unknown macro".
	Message string
}

// Error returns the message, the macro and its position, for example
// "unknown macro {foo} at position 12".
func (e *Error) Error() string {
	return e.Message + " " + e.Macro + " at position " + strconv.Itoa(e.Pos)
}

// Values supplies macro values at expansion time.
type Values interface {
	// AppendValue appends the raw, unescaped value of a macro to dst and
	// returns the extended slice. It must only append to dst, never modify
	// or drop what dst already holds.
	//
	// Name is the canonical macro name without the raw underscore, such as
	// "clickid" (also for {subid}), "sub_id_3", "user_agent", "random" or
	// "status". For {param:NAME} the name is "param" and arg is NAME; for
	// all other macros arg is empty. {date:...} is expanded by the package
	// and never asked for.
	//
	// The result ok=false means the value is unknown or missing; the macro
	// then expands to the empty string and anything appended is discarded.
	AppendValue(dst []byte, name, arg string) (_ []byte, ok bool)
}

// Template is a parsed template. It is immutable and safe for concurrent use.
type Template struct {
	src    string
	ctx    Context
	segs   []segment
	macros []string
}

type segmentKind uint8

const (
	kindLiteral   segmentKind = iota // text is copied as is
	kindValue                        // the value of name (and arg) from Values
	kindDate                         // now, formatted with layout text in loc
	kindStatusMap                    // the status from Values, translated by status
)

type segment struct {
	kind   segmentKind
	raw    bool
	text   string // literal text, or the date layout
	name   string // canonical macro name for kindValue
	arg    string // parameter name for {param:NAME}
	loc    *time.Location
	status *statusMap
}

// The canonical statuses a status map can translate, in table order.
var canonicalStatuses = [...]string{"lead", "sale", "rejected", "rebill"}

type statusMap struct {
	value [len(canonicalStatuses)]string
	set   [len(canonicalStatuses)]bool
}

type macroInfo struct {
	canonical  string
	conversion bool
}

// names maps each simple macro name to its canonical name and context.
// It is built once and only read afterwards.
var names = func() map[string]macroInfo {
	click := []string{
		"clickid", "campaign_id", "campaign_name", "stream_id", "offer_id",
		"landing_id", "source", "traffic_source_name", "external_id",
		"creative_id", "ad_campaign_id", "keyword", "cost",
		"country", "region", "city", "isp", "device_type", "os", "os_version",
		"browser", "browser_version", "language", "ip", "user_agent",
		"referrer", "random", "offer",
	}
	conversion := []string{
		"status", "payout", "revenue", "currency", "tid", "profit", "conversion_id",
	}
	m := make(map[string]macroInfo, len(click)+len(conversion)+31)
	for _, n := range click {
		m[n] = macroInfo{canonical: n}
	}
	for i := 1; i <= 30; i++ {
		n := "sub_id_" + strconv.Itoa(i)
		m[n] = macroInfo{canonical: n}
	}
	m["subid"] = macroInfo{canonical: "clickid"}
	for _, n := range conversion {
		m[n] = macroInfo{canonical: n, conversion: true}
	}
	return m
}()

// Known returns the sorted names of the simple macros allowed in ctx,
// including the alias subid. The macros that take an argument, {date:...},
// {param:...} and in the Conversion context {status:...}, are not listed.
// The caller may modify the returned slice.
func Known(ctx Context) []string {
	out := make([]string, 0, len(names))
	for n, info := range names {
		if !info.conversion || ctx == Conversion {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// Validate reports whether template is valid in ctx. It returns the same
// error as Parse: nil or an *Error describing the first problem.
func Validate(template string, ctx Context) error {
	_, err := Parse(template, ctx)
	return err
}

// Parse parses template for use in ctx. If the template has an unknown,
// empty or unterminated macro, a malformed argument, or a conversion macro
// in the Click context, Parse returns an *Error describing the first
// problem. An unknown ctx is a programming error, reported as a plain error.
func Parse(template string, ctx Context) (*Template, error) {
	if ctx != Click && ctx != Conversion {
		return nil, errors.New("macro: invalid context " + ctx.String())
	}
	t := &Template{src: template, ctx: ctx}
	s := template
	i := 0
	for i < len(s) {
		j := strings.IndexByte(s[i:], '{')
		if j < 0 {
			t.appendLiteral(s[i:])
			break
		}
		open := i + j
		if jsonBrace(s[open+1:]) {
			t.appendLiteral(s[i : open+1])
			i = open + 1
			continue
		}
		if open > i {
			t.appendLiteral(s[i:open])
		}
		k := strings.IndexAny(s[open+1:], "{}")
		if k < 0 || s[open+1+k] == '{' {
			end := len(s)
			if k >= 0 {
				end = open + 1 + k
			}
			return nil, &Error{Pos: open, Macro: shorten(s[open:end], 40), Message: "unterminated macro"}
		}
		close := open + 1 + k
		seg, msg := parseMacro(s[open+1:close], ctx)
		if msg != "" {
			return nil, &Error{Pos: open, Macro: s[open : close+1], Message: msg}
		}
		t.segs = append(t.segs, seg)
		name := seg.name
		switch seg.kind {
		case kindDate:
			name = "date"
		case kindStatusMap:
			name = "status"
		}
		if !slices.Contains(t.macros, name) {
			t.macros = append(t.macros, name)
		}
		i = close + 1
	}
	return t, nil
}

// jsonBrace reports whether the brace before rest is text, as in a JSON
// body ({"id": "{clickid}"}): what follows it up to the next brace holds a
// quote or a line break, which no macro does.
func jsonBrace(rest string) bool {
	if k := strings.IndexAny(rest, "{}"); k >= 0 {
		rest = rest[:k]
	}
	return strings.ContainsAny(rest, "\"\n")
}

// appendLiteral adds text, joined to a literal segment before it.
func (t *Template) appendLiteral(text string) {
	if n := len(t.segs); n > 0 && t.segs[n-1].kind == kindLiteral {
		t.segs[n-1].text += text
		return
	}
	t.segs = append(t.segs, segment{kind: kindLiteral, text: text})
}

// shorten returns at most n bytes of s, avoiding a cut inside a valid
// UTF-8 sequence. It never returns less than n-3 bytes, however long a run
// of stray continuation bytes is.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for i := 0; i < utf8.UTFMax-1 && n > 1 && !utf8.RuneStart(s[n]); i++ {
		n--
	}
	return s[:n]
}

// parseMacro parses the text between the braces of a macro. It returns
// a non-empty message if the macro is invalid in ctx.
func parseMacro(body string, ctx Context) (segment, string) {
	var seg segment
	if body == "" {
		return seg, "empty macro"
	}
	if body[0] == '_' {
		seg.raw = true
		body = body[1:]
	}
	name, arg, hasArg := strings.Cut(body, ":")
	switch {
	case name == "":
		return seg, "empty macro"
	case name == "date" && hasArg:
		return parseDate(seg, arg)
	case name == "date":
		return seg, "missing time layout in macro"
	case name == "param" && hasArg:
		if arg == "" {
			return seg, "missing parameter name in macro"
		}
		for i := 0; i < len(arg); i++ {
			if !isParamByte(arg[i]) {
				r, size := utf8.DecodeRuneInString(arg[i:])
				if r == utf8.RuneError && size == 1 {
					return seg, "invalid byte 0x" + strconv.FormatUint(uint64(arg[i]), 16) + " in parameter name in macro"
				}
				return seg, "invalid character " + strconv.QuoteRune(r) + " in parameter name in macro"
			}
		}
		seg.kind, seg.name, seg.arg = kindValue, "param", arg
		return seg, ""
	case name == "param":
		return seg, "missing parameter name in macro"
	case name == "status" && hasArg:
		if ctx != Conversion {
			return seg, "click URLs cannot use conversion macro"
		}
		return parseStatusMap(seg, arg)
	}
	info, ok := names[name]
	switch {
	case !ok:
		return seg, "unknown macro"
	case hasArg:
		return seg, "unexpected argument in macro"
	case info.conversion && ctx != Conversion:
		return seg, "click URLs cannot use conversion macro"
	}
	seg.kind, seg.name = kindValue, info.canonical
	return seg, ""
}

func isParamByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '_', '.', '-', '[', ']':
		return true
	}
	return false
}

// parseDate parses the argument of {date:LAYOUT} or {date:LAYOUT,ZONE}.
func parseDate(seg segment, arg string) (segment, string) {
	layout, zone := arg, ""
	hasZone := false
	if i := strings.LastIndexByte(arg, ','); i >= 0 {
		layout, zone, hasZone = arg[:i], strings.TrimSpace(arg[i+1:]), true
	}
	if layout == "" {
		return seg, "missing time layout in macro"
	}
	loc := time.UTC
	if hasZone {
		if zone == "" {
			return seg, "missing time zone after ',' in macro"
		}
		l, err := time.LoadLocation(zone)
		if err != nil {
			return seg, "unknown time zone " + strconv.Quote(zone) + " in macro"
		}
		loc = l
	}
	seg.kind, seg.text, seg.loc = kindDate, layout, loc
	return seg, ""
}

// parseStatusMap parses the argument of {status:lead=0 sale=1 ...}.
func parseStatusMap(seg segment, arg string) (segment, string) {
	m := new(statusMap)
	fields := strings.Fields(arg)
	if len(fields) == 0 {
		return seg, "empty status map in macro"
	}
	for _, f := range fields {
		canon, value, ok := strings.Cut(f, "=")
		if !ok {
			return seg, "status map entry " + strconv.Quote(f) + " without '=' in macro"
		}
		i := slices.Index(canonicalStatuses[:], canon)
		if i < 0 {
			return seg, "unknown status " + strconv.Quote(canon) + " (want lead, sale, rejected or rebill) in macro"
		}
		if m.set[i] {
			return seg, "duplicate status " + strconv.Quote(canon) + " in macro"
		}
		m.value[i], m.set[i] = value, true
	}
	seg.kind, seg.name, seg.status = kindStatusMap, "status", m
	return seg, ""
}

// String returns the template as it was given to Parse.
func (t *Template) String() string { return t.src }

// Context returns the context the template was parsed for.
func (t *Template) Context() Context { return t.ctx }

// Macros returns the canonical names of the macros the template uses, in
// order of first use and without duplicates. Raw markers and arguments are
// dropped, so {subid} is listed as "clickid", {_param:zone} as "param",
// {date:...} as "date" and {status:...} as "status". The caller may modify
// the returned slice.
func (t *Template) Macros() []string {
	return slices.Clone(t.macros)
}

// Expand appends the expanded template to dst and returns the extended
// slice. Literal text is copied, {date:...} is formatted from now, and all
// other macros take their values from v (a nil v leaves them all empty).
// Values are escaped as query components unless the macro is raw.
//
// Expand allocates nothing itself; when dst has room for the output, and
// v does not allocate, expansion is allocation-free.
func (t *Template) Expand(dst []byte, v Values, now time.Time) []byte {
	return t.expand(dst, v, now, escapeFrom)
}

// ExpandJSON is Expand for a template that is a JSON text, such as a POST
// body: values are escaped as the inside of a JSON string instead of a
// query component ({"id":"{external_id}"} stays valid JSON whatever the
// value holds); raw macros are put in as they are.
func (t *Template) ExpandJSON(dst []byte, v Values, now time.Time) []byte {
	return t.expand(dst, v, now, escapeJSONFrom)
}

func (t *Template) expand(dst []byte, v Values, now time.Time, escape func([]byte, int) []byte) []byte {
	for i := range t.segs {
		seg := &t.segs[i]
		start := len(dst)
		switch seg.kind {
		case kindLiteral:
			dst = append(dst, seg.text...)
			continue
		case kindDate:
			dst = now.In(seg.loc).AppendFormat(dst, seg.text)
		case kindValue, kindStatusMap:
			if v == nil {
				continue
			}
			var ok bool
			dst, ok = v.AppendValue(dst, seg.name, seg.arg)
			if !ok {
				dst = dst[:start]
				continue
			}
			if seg.kind == kindStatusMap {
				dst = seg.status.translate(dst, start)
			}
		}
		if !seg.raw {
			dst = escape(dst, start)
		}
	}
	return dst
}

// translate replaces the status in dst[start:] by its mapped value, if the
// status is canonical and the map has a value for it.
func (m *statusMap) translate(dst []byte, start int) []byte {
	for i, canon := range canonicalStatuses {
		if m.set[i] && string(dst[start:]) == canon {
			return append(dst[:start], m.value[i]...)
		}
	}
	return dst
}

const upperHex = "0123456789ABCDEF"

// shouldEscape reports whether c must be percent-encoded in a query
// component, as url.QueryEscape decides. Space is handled separately.
func shouldEscape(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return false
	}
	switch c {
	case '-', '_', '.', '~':
		return false
	}
	return true
}

// escapeJSONFrom escapes dst[start:] as the inside of a JSON string:
// quotes, backslashes and control characters. Invalid UTF-8 is replaced.
func escapeJSONFrom(dst []byte, start int) []byte {
	v := string(dst[start:])
	dst = dst[:start]
	const hex = "0123456789abcdef"
	for _, r := range strings.ToValidUTF8(v, "\uFFFD") {
		switch {
		case r == '"' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}

// escapeFrom escapes dst[start:] in place as a query component, exactly as
// url.QueryEscape would, growing dst as needed.
func escapeFrom(dst []byte, start int) []byte {
	extra := 0
	for _, c := range dst[start:] {
		if c != ' ' && shouldEscape(c) {
			extra += 2
		}
	}
	n := len(dst)
	if extra > 0 {
		dst = slices.Grow(dst, extra)[:n+extra]
	}
	// Work backwards so that every byte is read before it is overwritten:
	// the write position never falls below the read position.
	w := n + extra
	for r := n - 1; r >= start; r-- {
		c := dst[r]
		switch {
		case c == ' ':
			w--
			dst[w] = '+'
		case shouldEscape(c):
			w -= 3
			dst[w] = '%'
			dst[w+1] = upperHex[c>>4]
			dst[w+2] = upperHex[c&15]
		default:
			w--
			dst[w] = c
		}
	}
	return dst
}
