// Package postback receives conversions from affiliate networks: it parses
// a postback (query, form or JSON body) under every parameter name that
// Keitaro, Binom, Voluum, RedTrack, BeMob and PeerClick templates use,
// authenticates it, attributes it to its click and records the conversion
// before it answers.
package postback

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"strings"

	"github.com/trackd/trackd/internal/track"
)

// MaxBody is the largest postback body accepted.
const MaxBody = 64 << 10

// Params are a postback's parameters, from the query and the body; a query
// parameter wins over a body one of the same name.
type Params struct {
	v url.Values
}

// aliases are the names each canonical parameter goes by, in order of
// preference (DESIGN.md).
var aliases = map[string][]string{
	"clickid":  {"clickid", "click_id", "subid", "sub_id", "cid", "cnv_id"},
	"status":   {"status", "cnv_status"},
	"payout":   {"payout", "revenue", "sum", "amount"},
	"currency": {"currency", "cnv_currency"},
	"tid":      {"tid", "txid", "tx", "transaction_id", "order_id"},
	"event":    {"type", "et", "event"},
}

// ParseParams reads the parameters of a raw query and body. contentType
// chooses how the body is read: a form, a JSON object (scalar values; nested
// ones are kept as their JSON text), or nothing for other types.
func ParseParams(rawQuery, contentType string, body []byte) (Params, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return Params{}, fmt.Errorf("malformed query string: %w", err)
	}
	if len(body) > 0 {
		mt, _, _ := mime.ParseMediaType(contentType)
		var b url.Values
		switch mt {
		case "application/x-www-form-urlencoded":
			if b, err = url.ParseQuery(string(body)); err != nil {
				return Params{}, fmt.Errorf("malformed form body: %w", err)
			}
		case "application/json":
			if b, err = jsonParams(body); err != nil {
				return Params{}, err
			}
		}
		for k, vs := range b {
			if _, ok := q[k]; !ok {
				q[k] = vs
			}
		}
	}
	return Params{v: q}, nil
}

func jsonParams(body []byte) (url.Values, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("malformed JSON body (want an object): %w", err)
	}
	out := url.Values{}
	for k, raw := range m {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out.Set(k, s)
			continue
		}
		if string(raw) == "null" {
			continue
		}
		out.Set(k, string(raw)) // numbers and booleans as written; objects as JSON text
	}
	return out, nil
}

// Get returns the first non-empty value of a parameter.
func (p Params) Get(name string) string {
	for _, v := range p.v[name] {
		if v != "" {
			return v
		}
	}
	return ""
}

// Canonical returns a canonical parameter (clickid, status, payout,
// currency, tid, event): under the network's own name first, then its
// aliases. name is the parameter it came from.
func (p Params) Canonical(canon string, renames map[string]string) (value, name string) {
	if n := renames[canon]; n != "" {
		if v := p.Get(n); v != "" {
			return v, n
		}
	}
	for _, n := range aliases[canon] {
		if v := p.Get(n); v != "" {
			return v, n
		}
	}
	return "", ""
}

// List returns a comma-separated list parameter (Keitaro's lead_status...).
func (p Params) List(name string) []string {
	var out []string
	for _, v := range p.v[name] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// SubIDs returns the sub_id_N parameters (index N-1), which update the click.
func (p Params) SubIDs() map[int]string {
	var out map[int]string
	for k := range p.v {
		n, ok := strings.CutPrefix(k, "sub_id_")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(n)
		if err != nil || i < 1 || i > track.MaxSubIDs || strconv.Itoa(i) != n {
			continue
		}
		v := p.Get(k)
		if Unsubstituted(v) {
			continue
		}
		if out == nil {
			out = map[int]string{}
		}
		out[i-1] = cut(track.CleanText(v), 255)
	}
	return out
}

// Unsubstituted reports whether v looks like a network macro that was
// never filled in: {clickid}, #s2#, [sub1], %clickid%, {{aff_sub}}, $sub1.
// Networks send these when a template names a macro they do not know.
func Unsubstituted(v string) bool {
	v = strings.TrimSpace(v)
	if len(v) < 2 {
		return false
	}
	first, last := v[0], v[len(v)-1]
	switch {
	case first == '{' && last == '}', first == '[' && last == ']', first == '#' && last == '#',
		first == '%' && last == '%' && len(v) > 2, first == '<' && last == '>':
		return true
	case first == '$' && len(v) > 1 && isWordByte(v[1]):
		return true
	}
	return strings.Contains(v, "{") && strings.Contains(v, "}")
}

func isWordByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		n--
	}
	return s[:n]
}

// ParsePayout parses a payout as networks send it: "12", "-3.5" (a negative
// correction), "1,5" (a decimal comma: one comma, no dot, 1-2 digits
// after it). Exponents, NaN, thousands separators and more than 6 decimals
// are refused: guessing would count the wrong money.
func ParsePayout(s string) (track.Money, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ','); i >= 0 {
		frac := s[i+1:]
		if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") && len(frac) >= 1 && len(frac) <= 2 {
			s = s[:i] + "." + frac
		} else {
			return 0, fmt.Errorf("%s is ambiguous: use a dot for decimals and no thousands separator", strconv.Quote(cut(s, 40)))
		}
	}
	m, err := track.ParseMoney(s)
	if err != nil {
		return 0, fmt.Errorf("%s is not a decimal amount: %v", strconv.Quote(cut(s, 40)), err)
	}
	return m, nil
}
