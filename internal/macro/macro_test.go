package macro

import (
	"errors"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the host's zoneinfo
)

// fakeValues is a Values backed by maps. It never allocates.
type fakeValues struct {
	simple map[string]string // by canonical name
	params map[string]string // by query parameter name
}

func (f *fakeValues) AppendValue(dst []byte, name, arg string) ([]byte, bool) {
	var v string
	var ok bool
	if name == "param" {
		v, ok = f.params[arg]
	} else {
		v, ok = f.simple[name]
	}
	if !ok {
		return dst, false
	}
	return append(dst, v...), true
}

// partialValues appends junk and then reports the value as missing.
type partialValues struct{}

func (partialValues) AppendValue(dst []byte, name, arg string) ([]byte, bool) {
	return append(dst, "junk"...), false
}

func mustParse(t testing.TB, template string, ctx Context) *Template {
	t.Helper()
	tpl, err := Parse(template, ctx)
	if err != nil {
		t.Fatalf("Parse(%q, %v): %v", template, ctx, err)
	}
	return tpl
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		template string
		ctx      Context
		macros   []string
	}{
		{"", Click, nil},
		{"https://offer.example/", Click, nil},
		{"https://offer.example/?a=}b", Click, nil},
		{"}}", Click, nil},
		{"{clickid}", Click, []string{"clickid"}},
		{"{subid}{clickid}{_subid}", Click, []string{"clickid"}},
		{"https://o.example/?aff_sub={clickid}&s2={sub_id_2}&ua={_user_agent}", Click,
			[]string{"clickid", "sub_id_2", "user_agent"}},
		{"{sub_id_1}{sub_id_30}", Click, []string{"sub_id_1", "sub_id_30"}},
		{"{date:2006-01-02}", Click, []string{"date"}},
		{"{date:2006-01-02 15:04,America/New_York}", Click, []string{"date"}},
		{"{date:2006-01-02, Europe/Berlin}", Click, []string{"date"}},
		{"{date:Jan 2, 2006,UTC}", Click, []string{"date"}},
		{"{_date:15:04:05}", Click, []string{"date"}},
		{"{param:zone}{_param:a.b-c[d]_E9}", Click, []string{"param"}},
		{"{random}{offer}{ip}", Click, []string{"random", "offer", "ip"}},
		{"{status}{payout}{revenue}{currency}{tid}{profit}{conversion_id}", Conversion,
			[]string{"status", "payout", "revenue", "currency", "tid", "profit", "conversion_id"}},
		{"{status:lead=0 sale=1 rejected=2}", Conversion, []string{"status"}},
		{"{_status:lead= sale=1  rebill=x=y}", Conversion, []string{"status"}},
		{"{clickid}{status:sale=approved}", Conversion, []string{"clickid", "status"}},
	}
	for _, tc := range tests {
		tpl := mustParse(t, tc.template, tc.ctx)
		if got := tpl.Macros(); !slices.Equal(got, tc.macros) {
			t.Errorf("Parse(%q, %v).Macros() = %q, want %q", tc.template, tc.ctx, got, tc.macros)
		}
		if err := Validate(tc.template, tc.ctx); err != nil {
			t.Errorf("Validate(%q, %v) = %v, want nil", tc.template, tc.ctx, err)
		}
		if tpl.String() != tc.template {
			t.Errorf("Parse(%q, %v).String() = %q", tc.template, tc.ctx, tpl.String())
		}
		if tpl.Context() != tc.ctx {
			t.Errorf("Parse(%q, %v).Context() = %v", tc.template, tc.ctx, tpl.Context())
		}
		if tc.ctx == Click {
			// Everything valid for a click is valid in a postback too.
			if err := Validate(tc.template, Conversion); err != nil {
				t.Errorf("Validate(%q, Conversion) = %v, want nil", tc.template, err)
			}
		}
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		template string
		ctx      Context
		pos      int
		macro    string
		message  string // a substring of Message
	}{
		{"{", Click, 0, "{", "unterminated macro"},
		{"abc{clickid", Click, 3, "{clickid", "unterminated macro"},
		{"a={clickid&b={subid}", Click, 2, "{clickid&b=", "unterminated macro"},
		{"{" + strings.Repeat("x", 100), Click, 0, "{" + strings.Repeat("x", 39), "unterminated macro"},
		{"{" + strings.Repeat("é", 30), Click, 0, "{" + strings.Repeat("é", 19), "unterminated macro"},
		{"{" + strings.Repeat("\xbf", 50), Click, 0, "{" + strings.Repeat("\xbf", 36), "unterminated macro"},
		{"x{}", Click, 1, "{}", "empty macro"},
		{"{_}", Click, 0, "{_}", "empty macro"},
		{"{:x}", Click, 0, "{:x}", "empty macro"},
		{"?a={clikid}", Click, 3, "{clikid}", "unknown macro"},
		{"{ClickID}", Click, 0, "{ClickID}", "unknown macro"},
		{"{ clickid }", Click, 0, "{ clickid }", "unknown macro"},
		{"{__clickid}", Click, 0, "{__clickid}", "unknown macro"},
		{"{sub_id_0}", Click, 0, "{sub_id_0}", "unknown macro"},
		{"{sub_id_31}", Click, 0, "{sub_id_31}", "unknown macro"},
		{"{aff_sub}", Click, 0, "{aff_sub}", "unknown macro"},
		{"ok={clickid}&bad={foo}&x={bar}", Click, 17, "{foo}", "unknown macro"},
		{"{clickid:x}", Click, 0, "{clickid:x}", "unexpected argument"},
		{"{status}", Click, 0, "{status}", "click URLs cannot use conversion macro"},
		{"{payout}", Click, 0, "{payout}", "click URLs cannot use conversion macro"},
		{"{conversion_id}", Click, 0, "{conversion_id}", "click URLs cannot use conversion macro"},
		{"{status:lead=1}", Click, 0, "{status:lead=1}", "click URLs cannot use conversion macro"},
		{"{date}", Click, 0, "{date}", "missing time layout"},
		{"{date:}", Click, 0, "{date:}", "missing time layout"},
		{"{date:,UTC}", Click, 0, "{date:,UTC}", "missing time layout"},
		{"{date:2006,}", Click, 0, "{date:2006,}", "missing time zone"},
		{"{date:2006,Mars/Olympus}", Click, 0, "{date:2006,Mars/Olympus}", `unknown time zone "Mars/Olympus"`},
		{"{date:Jan 2, 2006}", Click, 0, "{date:Jan 2, 2006}", `unknown time zone "2006"`},
		{"{date:2006,../etc/passwd}", Click, 0, "{date:2006,../etc/passwd}", "unknown time zone"},
		{"{param}", Click, 0, "{param}", "missing parameter name"},
		{"{param:}", Click, 0, "{param:}", "missing parameter name"},
		{"{param:a b}", Click, 0, "{param:a b}", `invalid character ' '`},
		{"{param:zöne}", Click, 0, "{param:zöne}", `invalid character 'ö'`},
		{"{param:a\xffb}", Click, 0, "{param:a\xffb}", "invalid byte 0xff"},
		{"{status:}", Conversion, 0, "{status:}", "empty status map"},
		{"{status:   }", Conversion, 0, "{status:   }", "empty status map"},
		{"{status:lead}", Conversion, 0, "{status:lead}", `entry "lead" without '='`},
		{"{status:won=1}", Conversion, 0, "{status:won=1}", `unknown status "won"`},
		{"{status:=1}", Conversion, 0, "{status:=1}", `unknown status ""`},
		{"{status:Lead=1}", Conversion, 0, "{status:Lead=1}", `unknown status "Lead"`},
		{"{status:lead=1 sale=2 lead=3}", Conversion, 0, "{status:lead=1 sale=2 lead=3}", `duplicate status "lead"`},
	}
	for _, tc := range tests {
		_, err := Parse(tc.template, tc.ctx)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q, %v) error = %v, want *Error", tc.template, tc.ctx, err)
			continue
		}
		if e.Pos != tc.pos || e.Macro != tc.macro || !strings.Contains(e.Message, tc.message) {
			t.Errorf("Parse(%q, %v) = %#v, want Pos %d, Macro %q, Message containing %q",
				tc.template, tc.ctx, e, tc.pos, tc.macro, tc.message)
		}
		if !strings.Contains(err.Error(), e.Macro) {
			t.Errorf("Parse(%q, %v) error %q does not name the macro %q", tc.template, tc.ctx, err, e.Macro)
		}
		if verr := Validate(tc.template, tc.ctx); verr == nil || verr.Error() != err.Error() {
			t.Errorf("Validate(%q, %v) = %v, want %v", tc.template, tc.ctx, verr, err)
		}
	}
}

func TestErrorString(t *testing.T) {
	_, err := Parse("https://x/?a={foo}", Click)
	want := "unknown macro {foo} at position 13"
	if err == nil || err.Error() != want {
		t.Errorf("Parse error = %v, want %q", err, want)
	}
	_, err = Parse("{payout}", Click)
	want = "click URLs cannot use conversion macro {payout} at position 0"
	if err == nil || err.Error() != want {
		t.Errorf("Parse error = %v, want %q", err, want)
	}
}

func TestInvalidContext(t *testing.T) {
	if _, err := Parse("{clickid}", Context(7)); err == nil {
		t.Error("Parse with Context(7) succeeded, want error")
	}
	if got := Context(7).String(); got != "Context(7)" {
		t.Errorf("Context(7).String() = %q", got)
	}
	if Click.String() != "click" || Conversion.String() != "conversion" {
		t.Errorf("Context strings = %q, %q", Click, Conversion)
	}
}

func TestKnown(t *testing.T) {
	click, conv := Known(Click), Known(Conversion)
	for _, ctx := range []Context{Click, Conversion} {
		names := Known(ctx)
		if !slices.IsSorted(names) {
			t.Errorf("Known(%v) is not sorted: %q", ctx, names)
		}
		for _, n := range names {
			if err := Validate("{"+n+"}{_"+n+"}", ctx); err != nil {
				t.Errorf("Known(%v) lists %q, but Validate: %v", ctx, n, err)
			}
		}
	}
	for i := 1; i <= 30; i++ {
		n := "sub_id_" + strconv.Itoa(i)
		if !slices.Contains(click, n) {
			t.Errorf("Known(Click) lacks %q", n)
		}
	}
	for _, n := range []string{"clickid", "subid", "user_agent", "random", "offer", "cost"} {
		if !slices.Contains(click, n) {
			t.Errorf("Known(Click) lacks %q", n)
		}
	}
	conversionOnly := []string{"status", "payout", "revenue", "currency", "tid", "profit", "conversion_id"}
	for _, n := range conversionOnly {
		if slices.Contains(click, n) {
			t.Errorf("Known(Click) lists conversion macro %q", n)
		}
		if !slices.Contains(conv, n) {
			t.Errorf("Known(Conversion) lacks %q", n)
		}
	}
	if len(conv) != len(click)+len(conversionOnly) {
		t.Errorf("len(Known(Conversion)) = %d, want %d", len(conv), len(click)+len(conversionOnly))
	}
	for _, n := range []string{"date", "param"} {
		if slices.Contains(conv, n) {
			t.Errorf("Known lists parameterised macro %q", n)
		}
	}
}

func TestExpand(t *testing.T) {
	now := time.Date(2024, 3, 31, 23, 30, 5, 0, time.UTC)
	vals := &fakeValues{
		simple: map[string]string{
			"clickid":    "abc123",
			"sub_id_2":   "a b&c=d",
			"user_agent": "Mozilla/5.0 (X11; Linux)",
			"keyword":    "crème brûlée",
			"random":     "42",
			"status":     "sale",
			"payout":     "1.5",
			"empty":      "",
		},
		params: map[string]string{"zone": "z/1?", "a[]": "x"},
	}
	tests := []struct {
		template string
		ctx      Context
		want     string
	}{
		{"", Click, ""},
		{"https://o.example/path}?x=1", Click, "https://o.example/path}?x=1"},
		{"{clickid}", Click, "abc123"},
		{"?a={clickid}&b={subid}&c={_subid}", Click, "?a=abc123&b=abc123&c=abc123"},
		{"s2={sub_id_2}", Click, "s2=a+b%26c%3Dd"},
		{"s2={_sub_id_2}", Click, "s2=a b&c=d"},
		{"ua={user_agent}", Click, "ua=Mozilla%2F5.0+%28X11%3B+Linux%29"},
		{"ua={_user_agent}", Click, "ua=Mozilla/5.0 (X11; Linux)"},
		{"k={keyword}", Click, "k=cr%C3%A8me+br%C3%BBl%C3%A9e"},
		{"r={random}", Click, "r=42"},
		{"missing={sub_id_9}&x", Click, "missing=&x"},
		{"z={param:zone}&raw={_param:zone}&arr={param:a[]}&none={param:nope}", Click,
			"z=z%2F1%3F&raw=z/1?&arr=x&none="},
		{"d={date:2006-01-02}", Click, "d=2024-03-31"},
		{"d={date:2006-01-02,Europe/Berlin}", Click, "d=2024-04-01"},
		{"d={date:2006-01-02 15:04,America/New_York}", Click, "d=2024-03-31+19%3A30"},
		{"d={_date:2006-01-02 15:04,America/New_York}", Click, "d=2024-03-31 19:30"},
		{"d={date:Jan 2, 2006 MST,Europe/Berlin}", Click, "d=Apr+1%2C+2024+CEST"},
		{"s={status}&p={payout}", Conversion, "s=sale&p=1.5"},
		{"s={status:lead=0 sale=1 rejected=2}", Conversion, "s=1"},
		{"s={status:lead=0 rejected=2}", Conversion, "s=sale"},
		{"s={status:sale= lead=1}", Conversion, "s="},
		{"s={status:sale=a&b}", Conversion, "s=a%26b"},
		{"s={_status:sale=a&b}", Conversion, "s=a&b"},
	}
	for _, tc := range tests {
		tpl := mustParse(t, tc.template, tc.ctx)
		if got := string(tpl.Expand(nil, vals, now)); got != tc.want {
			t.Errorf("Parse(%q).Expand = %q, want %q", tc.template, got, tc.want)
		}
		// Expanding after existing content must keep it.
		if got := string(tpl.Expand([]byte("prefix:"), vals, now)); got != "prefix:"+tc.want {
			t.Errorf("Parse(%q).Expand after prefix = %q, want %q", tc.template, got, "prefix:"+tc.want)
		}
	}
}

func TestExpandStatusMap(t *testing.T) {
	tpl := mustParse(t, "{status:lead=L sale=S rejected=R rebill=B}", Conversion)
	tests := map[string]string{
		"lead": "L", "sale": "S", "rejected": "R", "rebill": "B",
		"Sale": "Sale", "hold": "hold", "": "", "sales": "sales", "lea": "lea",
	}
	for status, want := range tests {
		v := &fakeValues{simple: map[string]string{"status": status}}
		if got := string(tpl.Expand(nil, v, time.Time{})); got != want {
			t.Errorf("status %q expands to %q, want %q", status, got, want)
		}
	}
	if got := string(tpl.Expand(nil, &fakeValues{}, time.Time{})); got != "" {
		t.Errorf("missing status expands to %q, want empty", got)
	}
}

func TestExpandMissingValues(t *testing.T) {
	tpl := mustParse(t, "a={clickid}&s={status:sale=1}&p={param:x}&d={date:2006}", Conversion)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	want := "a=&s=&p=&d=2030"
	if got := string(tpl.Expand(nil, nil, now)); got != want {
		t.Errorf("Expand with nil Values = %q, want %q", got, want)
	}
	if got := string(tpl.Expand(nil, partialValues{}, now)); got != want {
		t.Errorf("Expand with values that are not ok = %q, want %q", got, want)
	}
}

func typicalOffer(t testing.TB) (*Template, *fakeValues) {
	t.Helper()
	tpl := mustParse(t, "https://offer.example/click?aff_sub={clickid}&s2={sub_id_2}&s3={sub_id_3}"+
		"&country={country}&ua={_user_agent}&kw={keyword}&z={param:zone}&d={date:2006-01-02,Europe/Berlin}", Click)
	vals := &fakeValues{
		simple: map[string]string{
			"clickid":    "0190f4b2c1d37a8e9b5c4d3e2f1a0b9c",
			"sub_id_2":   "campaign 12/summer",
			"sub_id_3":   "plain",
			"country":    "DE",
			"user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)",
			"keyword":    "crème brûlée & more",
		},
		params: map[string]string{"zone": "12345"},
	}
	return tpl, vals
}

func TestExpandDoesNotAllocate(t *testing.T) {
	tpl, vals := typicalOffer(t)
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		buf = tpl.Expand(buf[:0], vals, now)
	})
	if allocs != 0 {
		t.Errorf("Expand allocated %v times per run, want 0", allocs)
	}
	if !strings.Contains(string(buf), "s2=campaign+12%2Fsummer") {
		t.Errorf("unexpected expansion %q", buf)
	}
}

func BenchmarkExpand(b *testing.B) {
	tpl, vals := typicalOffer(b)
	now := time.Now()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = tpl.Expand(buf[:0], vals, now)
	}
}

func BenchmarkParse(b *testing.B) {
	const s = "https://offer.example/click?aff_sub={clickid}&s2={sub_id_2}&ua={_user_agent}&z={param:zone}"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(s, Click); err != nil {
			b.Fatal(err)
		}
	}
}

func checkEscape(t *testing.T, s string) {
	t.Helper()
	want := url.QueryEscape(s)
	if got := string(escapeFrom([]byte(s), 0)); got != want {
		t.Errorf("escape(%q) = %q, want %q", s, got, want)
	}
	// Escaping only the tail must leave the head alone.
	got := string(escapeFrom([]byte("h&d "+s), 4))
	if got != "h&d "+want {
		t.Errorf("escape after prefix (%q) = %q, want %q", s, got, "h&d "+want)
	}
}

func TestEscapeMatchesQueryEscape(t *testing.T) {
	for c := range 256 {
		checkEscape(t, string([]byte{byte(c)}))
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	checkEscape(t, string(all))
	for _, s := range []string{
		"", " ", "  ", "a", "a b", "%", "%%41", "+", "a+b c", "~-._", "ä", "日本語",
		"\xff\xfe", "a\x00b", "\xc3", "\xe2\x82", "https://x.example/?a=1&b=2#f",
		"$&+,/:;=?@", "!*'()[]{}<>\"\\^`|",
	} {
		checkEscape(t, s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		checkEscape(t, string(b))
	}
}

func TestEscapeUsesSpareCapacity(t *testing.T) {
	buf := make([]byte, 0, 64)
	buf = append(buf, "a b/c"...)
	out := escapeFrom(buf, 0)
	if string(out) != "a+b%2Fc" || &out[0] != &buf[:1][0] {
		t.Errorf("escapeFrom = %q, reallocated: %v", out, &out[0] != &buf[:1][0])
	}
}

func TestMacrosIsACopy(t *testing.T) {
	tpl := mustParse(t, "{clickid}{ip}", Click)
	m := tpl.Macros()
	m[0] = "changed"
	if got := tpl.Macros(); got[0] != "clickid" {
		t.Errorf("Macros() after modifying a previous result = %q", got)
	}
}

func TestExpandJSON(t *testing.T) {
	vals := &fakeValues{simple: map[string]string{"clickid": `a"b\c`, "keyword": "line\nbreak é", "payout": "1.5"}}
	tpl := mustParse(t, `{"id":"{clickid}","k":"{keyword}","p":{payout},"raw":"{_clickid}","o":{"n":[1]}}`, Conversion)
	got := string(tpl.ExpandJSON(nil, vals, time.Now()))
	want := `{"id":"a\"b\\c","k":"line\u000abreak é","p":1.5,"raw":"a"b\c","o":{"n":[1]}}`
	if got != want {
		t.Errorf("ExpandJSON = %s, want %s", got, want)
	}
	if got := string(tpl.ExpandJSON([]byte("x"), vals, time.Now())); got != "x"+want {
		t.Errorf("ExpandJSON after a prefix = %s", got)
	}
}
