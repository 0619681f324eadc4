package macro

import (
	"bytes"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// fuzzValues answers every macro with a value derived from its name and
// argument, salted with bytes that need escaping. It answers "status" with
// a canonical status so that status maps are exercised.
type fuzzValues struct{}

func (fuzzValues) AppendValue(dst []byte, name, arg string) ([]byte, bool) {
	switch name {
	case "status":
		return append(dst, "sale"...), true
	case "sub_id_5":
		return dst, false
	}
	dst = append(dst, name...)
	dst = append(dst, " &\xff%{}"...)
	return append(dst, arg...), true
}

// withoutMacros returns s with every macro removed: each {...} but those
// whose text up to the next brace holds a quote or a line break (JSON
// braces). s must have parsed.
func withoutMacros(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexAny(s[i+1:], "{}")
		if j < 0 {
			j = len(s) - i - 1
		}
		if strings.ContainsAny(s[i+1:i+1+j], "\"\n") {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		b.WriteString(s[:i])
		s = s[i+1+j+1:]
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"https://offer.example/",
		"https://offer.example/?aff_sub={clickid}&s2={sub_id_2}&ua={_user_agent}&d={date:2006-01-02,Europe/Berlin}&z={param:zone}",
		"https://pb.example/?cid={subid}&st={status:lead=0 sale=1 rejected=2}&p={payout}",
		"{_status:rebill=x lead=}",
		"{date:Jan 2, 2006 15:04:05 MST,America/New_York}",
		"{_date:2006,UTC}",
		"{param:a[b].c-d_e}",
		"}{}",
		"{",
		"a{b{c}",
		"{clikid}",
		`{"id":"{_clickid}","p":{payout},"n":{"x":[1]}}`,
		"{\n  \"a\": 1\n}",
		"{status}",
		"{date:2006,Nowhere/City}",
		"{status:lead=1 lead=2}",
		"{param:a b}",
		"\xff{clickid}\x00",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	now := time.Date(2024, 3, 31, 23, 30, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string, conversion bool) {
		ctx := Click
		if conversion {
			ctx = Conversion
		}
		tpl, err := Parse(s, ctx)
		verr := Validate(s, ctx)
		if (err == nil) != (verr == nil) || (err != nil && err.Error() != verr.Error()) {
			t.Fatalf("Parse(%q) error %v, Validate error %v", s, err, verr)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) error %v is not an *Error", s, err)
			}
			if e.Pos < 0 || e.Pos >= len(s) || s[e.Pos] != '{' {
				t.Fatalf("Parse(%q) error position %d is not at a '{'", s, e.Pos)
			}
			if !strings.HasPrefix(e.Macro, "{") || !strings.HasPrefix(s[e.Pos:], e.Macro) {
				t.Fatalf("Parse(%q) error macro %q is not the text at %d", s, e.Macro, e.Pos)
			}
			if !strings.Contains(err.Error(), e.Macro) {
				t.Fatalf("Parse(%q) error %q does not name the macro %q", s, err, e.Macro)
			}
			if ctx == Conversion && Validate(s, Click) == nil {
				t.Fatalf("%q is valid for clicks but not for conversions: %v", s, err)
			}
			return
		}
		if ctx == Click {
			if err := Validate(s, Conversion); err != nil {
				t.Fatalf("%q is valid for clicks but not for conversions: %v", s, err)
			}
		}

		out := tpl.Expand(nil, fuzzValues{}, now)
		if !strings.Contains(s, "{") && string(out) != s {
			t.Fatalf("Parse(%q).Expand = %q, want the template unchanged", s, out)
		}
		prefixed := tpl.Expand([]byte("prefix"), fuzzValues{}, now)
		if !bytes.Equal(prefixed, append([]byte("prefix"), out...)) {
			t.Fatalf("Parse(%q).Expand after a prefix = %q, want prefix + %q", s, prefixed, out)
		}

		macros := tpl.Macros()
		known := Known(ctx)
		for _, m := range macros {
			if !slices.Contains(known, m) && m != "date" && m != "param" && !(m == "status" && ctx == Conversion) {
				t.Fatalf("Parse(%q).Macros() lists %q, which is not known in %v", s, m, ctx)
			}
		}
		if !slices.Contains(macros, "date") {
			want := withoutMacros(s)
			if got := string(tpl.Expand(nil, nil, now)); got != want {
				t.Fatalf("Parse(%q).Expand with nil Values = %q, want %q", s, got, want)
			}
		}
	})
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "a b", "\xff", "日本", "$&+,/:;=?@~-._"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := url.QueryEscape(s)
		if got := string(escapeFrom([]byte("x"+s), 1)); got != "x"+want {
			t.Fatalf("escape(%q) = %q, want %q", s, got[1:], want)
		}
	})
}
