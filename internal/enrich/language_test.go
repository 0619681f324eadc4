package enrich

import (
	"strings"
	"testing"
)

func TestLanguage(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"*", ""},
		{"en-US,en;q=0.9", "en"},
		{"pt-BR", "pt"},
		{"zh-Hant-TW", "zh"},
		{"zh-Hant-TW,zh;q=0.9,en;q=0.8", "zh"},
		{"de", "de"},
		{"DE-de", "de"},
		{"EN", "en"},
		{"fil-PH", "fil"},
		{"FIL", "fil"},
		{"en_US", "en"},
		{"  fr-CH , fr;q=0.9", "fr"},
		{"*, es;q=0.5", "es"},
		{"en;q=0, de;q=0.5", "de"},
		{"en;q=0.000,nl", "nl"},
		{"en;q=0.5", "en"},
		{"x-klingon, it", "it"},
		{"i-klingon", ""},
		{"english", ""},
		{"e", ""},
		{"12-34", ""},
		{"%%%garbage!!", ""},
		{"en\x00", ""},
		{"\xff\xfe", ""},
		{";q=1", ""},
		{",,,ja-JP", "ja"},
		{strings.Repeat(",", 10*1024), ""},
		{strings.Repeat(",", 10*1024) + "en", ""}, // beyond the 1 KiB read
		{strings.Repeat(" ", 100) + "ko-KR", "ko"},
	}
	for _, tc := range tests {
		if got := Language(tc.in); got != tc.want {
			in := tc.in
			if len(in) > 40 {
				in = in[:40] + "…"
			}
			t.Errorf("Language(%q) = %q, want %q", in, got, tc.want)
		}
	}
}

func TestLanguageNoAlloc(t *testing.T) {
	for _, in := range []string{"en-US,en;q=0.9", "DE-de", "FIL", strings.Repeat(",", 10*1024), "*"} {
		if n := testing.AllocsPerRun(1000, func() { Language(in) }); n != 0 {
			t.Errorf("Language(%.20q) allocates %v times", in, n)
		}
	}
}

func FuzzLanguage(f *testing.F) {
	for _, s := range []string{"", "*", "en-US,en;q=0.9", "pt-BR", "zh-Hant-TW", "DE;q=0", "a,b,c", "\xff", strings.Repeat(",", 2000) + "en"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Language(s)
		if got == "" {
			return
		}
		if len(got) < 2 || len(got) > 3 {
			t.Fatalf("Language(%q) = %q: length", s, got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] < 'a' || got[i] > 'z' {
				t.Fatalf("Language(%q) = %q: not lower-case ASCII letters", s, got)
			}
		}
		if !strings.Contains(strings.ToLower(s), got) {
			t.Fatalf("Language(%q) = %q: not from the input", s, got)
		}
	})
}
