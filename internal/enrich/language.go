package enrich

import "strings"

// maxLanguageScan bounds the work Language does on hostile headers; real
// Accept-Language values are well under 200 bytes.
const maxLanguageScan = 1024

// letters3 holds every three-letter lower-case string "aaa", "aab" … "zzz",
// so that Language can return a lower-cased code without allocating.
var letters3 = func() string {
	b := make([]byte, 0, 26*26*26*3)
	for x := byte('a'); x <= 'z'; x++ {
		for y := byte('a'); y <= 'z'; y++ {
			for z := byte('a'); z <= 'z'; z++ {
				b = append(b, x, y, z)
			}
		}
	}
	return string(b)
}()

// Language returns the primary language subtag, lower case, of the first
// usable entry of an Accept-Language header: "en" for "en-US,en;q=0.9",
// "zh" for "zh-Hant-TW", "fil" for "fil-PH". Entries that are empty, "*",
// refused with q=0, or whose primary subtag is not 2–3 ASCII letters are
// skipped; only the first 1 KiB is read. It returns "" when nothing usable
// is found. It never allocates.
func Language(acceptLanguage string) string {
	s := acceptLanguage
	if len(s) > maxLanguageScan {
		s = s[:maxLanguageScan]
	}
	for s != "" {
		entry := s
		if i := strings.IndexByte(s, ','); i >= 0 {
			entry, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		tag, params, _ := strings.Cut(entry, ";")
		tag = trimOWS(tag)
		if tag == "" || tag == "*" || qIsZero(params) {
			continue
		}
		n := 0
		for n < len(tag) && isLetter(tag[n]) {
			n++
		}
		if n < 2 || n > 3 || (n < len(tag) && tag[n] != '-' && tag[n] != '_') {
			continue
		}
		return lowerCode(tag[:n])
	}
	return ""
}

// lowerCode returns the lower-case form of a 2–3 letter ASCII code, from the
// input itself when it is already lower case, else from letters3.
func lowerCode(c string) string {
	lower := true
	for i := 0; i < len(c); i++ {
		if c[i] < 'a' {
			lower = false
			break
		}
	}
	if lower {
		return c
	}
	idx := 0
	for i := 0; i < 3; i++ {
		d := 0
		if i < len(c) {
			d = int(c[i]|0x20) - 'a'
		}
		idx = idx*26 + d
	}
	return letters3[idx*3 : idx*3+len(c)]
}

// qIsZero reports whether the parameters of an Accept-Language entry
// contain q=0 (also "q=0.0", "q=0.000"): the language is refused.
func qIsZero(params string) bool {
	for params != "" {
		p := params
		if i := strings.IndexByte(params, ';'); i >= 0 {
			p, params = params[:i], params[i+1:]
		} else {
			params = ""
		}
		p = trimOWS(p)
		if len(p) < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=' {
			continue
		}
		v := p[2:]
		if v == "" || v[0] != '0' {
			return false
		}
		for i := 1; i < len(v); i++ {
			if v[i] != '0' && v[i] != '.' {
				return false
			}
		}
		return true
	}
	return false
}

func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
