package store

import (
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/trackd/trackd/internal/track"
)

// clickDetails is the JSON shape of clicks.details. Field names are the
// public click field names, so reports can say json_extract(details,
// '$.sub_id_1') on SQLite and details::jsonb->>'sub_id_1' on PostgreSQL.
type clickDetails struct {
	CreativeID     string `json:"creative_id"`
	AdCampaignID   string `json:"ad_campaign_id"`
	Keyword        string `json:"keyword"`
	Source         string `json:"source"`
	CostCurrency   string `json:"cost_currency"`
	Query          string `json:"query"`
	IP             string `json:"ip"`
	UserAgent      string `json:"user_agent"`
	Referrer       string `json:"referrer"`
	Language       string `json:"language"`
	Region         string `json:"region"`
	City           string `json:"city"`
	ISP            string `json:"isp"`
	ASN            uint32 `json:"asn"`
	ConnectionType string `json:"connection_type"`
	OSVersion      string `json:"os_version"`
	BrowserVersion string `json:"browser_version"`
	BotReason      string `json:"bot_reason"`
	// sub_id_1 .. sub_id_30 are read by unmarshalDetails.
}

// appendDetails writes c's detail fields as a JSON object, leaving empty
// ones out. It is hand-written because it runs for every click in the
// writer, where encoding/json's reflection would cost more than the row.
func appendDetails(b []byte, c *track.Click) []byte {
	b = append(b, '{')
	first := true
	key := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	str := func(name, v string) {
		if v != "" {
			key(name)
			b = appendJSONString(b, v)
		}
	}
	str("creative_id", c.CreativeID)
	str("ad_campaign_id", c.AdCampaignID)
	str("keyword", c.Keyword)
	str("source", c.Source)
	if c.OriginalCost != 0 {
		str("original_cost", c.OriginalCost.String())
	}
	str("cost_currency", c.CostCurrency)
	str("query", c.Query)
	str("ip", c.IP)
	str("user_agent", c.UserAgent)
	str("referrer", c.Referrer)
	str("language", c.Language)
	str("region", c.Region)
	str("city", c.City)
	str("isp", c.ISP)
	if c.ASN != 0 {
		key("asn")
		b = strconv.AppendUint(b, uint64(c.ASN), 10)
	}
	str("connection_type", c.ConnectionType)
	str("os_version", c.OSVersion)
	str("browser_version", c.BrowserVersion)
	str("bot_reason", c.BotReason)
	var name [len("sub_id_30")]byte
	copy(name[:], "sub_id_")
	for i, s := range c.SubIDs {
		n := strconv.AppendInt(name[:7], int64(i+1), 10)
		str(string(n), s)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string. Only '"', '\\' and control
// characters need escaping; the text was made valid UTF-8 by
// track.CleanText before it got here.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// detailsSubIDs are the sub_id_N keys of clicks.details as fields, so
// that one json.Unmarshal reads a whole row (a map of the keys took
// twice as long: it runs for every postback's click).
type detailsSubIDs struct {
	S1  string `json:"sub_id_1"`
	S2  string `json:"sub_id_2"`
	S3  string `json:"sub_id_3"`
	S4  string `json:"sub_id_4"`
	S5  string `json:"sub_id_5"`
	S6  string `json:"sub_id_6"`
	S7  string `json:"sub_id_7"`
	S8  string `json:"sub_id_8"`
	S9  string `json:"sub_id_9"`
	S10 string `json:"sub_id_10"`
	S11 string `json:"sub_id_11"`
	S12 string `json:"sub_id_12"`
	S13 string `json:"sub_id_13"`
	S14 string `json:"sub_id_14"`
	S15 string `json:"sub_id_15"`
	S16 string `json:"sub_id_16"`
	S17 string `json:"sub_id_17"`
	S18 string `json:"sub_id_18"`
	S19 string `json:"sub_id_19"`
	S20 string `json:"sub_id_20"`
	S21 string `json:"sub_id_21"`
	S22 string `json:"sub_id_22"`
	S23 string `json:"sub_id_23"`
	S24 string `json:"sub_id_24"`
	S25 string `json:"sub_id_25"`
	S26 string `json:"sub_id_26"`
	S27 string `json:"sub_id_27"`
	S28 string `json:"sub_id_28"`
	S29 string `json:"sub_id_29"`
	S30 string `json:"sub_id_30"`
}

// detailsJSON is every field a details object may have.
type detailsJSON struct {
	clickDetails
	detailsSubIDs
	OriginalCost string `json:"original_cost"`
}

// unmarshalDetails fills c from a details JSON object.
func unmarshalDetails(data []byte, c *track.Click) error {
	var d detailsJSON
	if !d.decode(data) {
		d = detailsJSON{}
		if err := json.Unmarshal(data, &d); err != nil {
			return err
		}
	}
	c.CreativeID, c.AdCampaignID, c.Keyword, c.Source = d.CreativeID, d.AdCampaignID, d.Keyword, d.Source
	if d.OriginalCost != "" {
		m, err := track.ParseMoney(d.OriginalCost)
		if err != nil {
			return err
		}
		c.OriginalCost = m
	}
	c.CostCurrency, c.Query, c.IP, c.UserAgent, c.Referrer = d.CostCurrency, d.Query, d.IP, d.UserAgent, d.Referrer
	c.Language, c.Region, c.City, c.ISP, c.ASN = d.Language, d.Region, d.City, d.ISP, d.ASN
	c.ConnectionType, c.OSVersion, c.BrowserVersion, c.BotReason = d.ConnectionType, d.OSVersion, d.BrowserVersion, d.BotReason
	s := &d.detailsSubIDs
	c.SubIDs = [track.MaxSubIDs]string{
		s.S1, s.S2, s.S3, s.S4, s.S5, s.S6, s.S7, s.S8, s.S9, s.S10,
		s.S11, s.S12, s.S13, s.S14, s.S15, s.S16, s.S17, s.S18, s.S19, s.S20,
		s.S21, s.S22, s.S23, s.S24, s.S25, s.S26, s.S27, s.S28, s.S29, s.S30,
	}
	return nil
}

// decode reads data as json.Unmarshal would into d, for the objects
// appendDetails writes: flat, known keys, string values and an unsigned
// asn. It reports false, leaving d in any state, for anything else (a key
// in another case, a float, a nested value, a surrogate escape, invalid
// UTF-8, malformed JSON...), and the caller then asks encoding/json,
// whose reflection was the largest part of reading a click back off each
// postback (BenchmarkClicksByID). FuzzDetailsDecode checks the two agree.
func (d *detailsJSON) decode(data []byte) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipSpace(data, i+1) == len(data)
	}
	var buf []byte
	for {
		if i >= len(data) || data[i] != '"' {
			return false
		}
		key, next, ok := jsonString(data, i, buf[:0])
		if !ok {
			return false
		}
		buf = key[:0]
		i = skipSpace(data, next)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		str, u32 := d.field(key)
		if str == nil && u32 == nil {
			return false // a key json.Unmarshal may match in another case
		}
		switch {
		case i >= len(data):
			return false
		case hasLiteral(data[i:], "null"):
			i += 4 // null leaves a field as it is
		case data[i] == '"':
			if str == nil {
				return false
			}
			v, next, ok := jsonString(data, i, nil)
			if !ok {
				return false
			}
			*str, i = string(v), next
		default:
			v, next, ok := jsonInt(data, i)
			if !ok || u32 == nil || data[i] == '-' || v > 1<<32-1 { // json refuses even -0
				return false
			}
			*u32, i = uint32(v), next
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return skipSpace(data, i+1) == len(data)
		default:
			return false
		}
	}
}

// field returns the field of d a key names: one of the pointers is set.
func (d *detailsJSON) field(key []byte) (str *string, u32 *uint32) {
	if len(key) > len("sub_id_") && string(key[:len("sub_id_")]) == "sub_id_" {
		n, err := strconv.Atoi(string(key[len("sub_id_"):]))
		if err != nil || n < 1 || n > track.MaxSubIDs || strconv.Itoa(n) != string(key[len("sub_id_"):]) {
			return
		}
		s := &d.detailsSubIDs
		return [track.MaxSubIDs]*string{&s.S1, &s.S2, &s.S3, &s.S4, &s.S5, &s.S6, &s.S7, &s.S8, &s.S9, &s.S10,
			&s.S11, &s.S12, &s.S13, &s.S14, &s.S15, &s.S16, &s.S17, &s.S18, &s.S19, &s.S20,
			&s.S21, &s.S22, &s.S23, &s.S24, &s.S25, &s.S26, &s.S27, &s.S28, &s.S29, &s.S30}[n-1], nil
	}
	switch string(key) {
	case "creative_id":
		str = &d.CreativeID
	case "ad_campaign_id":
		str = &d.AdCampaignID
	case "keyword":
		str = &d.Keyword
	case "source":
		str = &d.Source
	case "original_cost":
		str = &d.OriginalCost
	case "cost_currency":
		str = &d.CostCurrency
	case "query":
		str = &d.Query
	case "ip":
		str = &d.IP
	case "user_agent":
		str = &d.UserAgent
	case "referrer":
		str = &d.Referrer
	case "language":
		str = &d.Language
	case "region":
		str = &d.Region
	case "city":
		str = &d.City
	case "isp":
		str = &d.ISP
	case "asn":
		u32 = &d.ASN
	case "connection_type":
		str = &d.ConnectionType
	case "os_version":
		str = &d.OSVersion
	case "browser_version":
		str = &d.BrowserVersion
	case "bot_reason":
		str = &d.BotReason
	}
	return
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

func hasLiteral(data []byte, lit string) bool {
	return len(data) >= len(lit) && string(data[:len(lit)]) == lit
}

// jsonString reads the string starting at data[i] (a quote), appending
// its value to dst; it returns the index after the closing quote.
func jsonString(data []byte, i int, dst []byte) ([]byte, int, bool) {
	i++
	start := i
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			if !utf8.Valid(data[start:i]) {
				return nil, 0, false // json.Unmarshal would put U+FFFD in
			}
			return append(dst, data[start:i]...), i + 1, true
		case c < 0x20:
			return nil, 0, false
		case c != '\\':
			i++
			continue
		}
		if !utf8.Valid(data[start:i]) {
			return nil, 0, false
		}
		dst = append(dst, data[start:i]...)
		if i+1 >= len(data) {
			return nil, 0, false
		}
		switch e := data[i+1]; e {
		case '"', '\\', '/':
			dst = append(dst, e)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+6 > len(data) {
				return nil, 0, false
			}
			r, err := strconv.ParseUint(string(data[i+2:i+6]), 16, 16)
			if err != nil || utf16.IsSurrogate(rune(r)) {
				return nil, 0, false
			}
			dst = utf8.AppendRune(dst, rune(r))
			i += 4
		default:
			return nil, 0, false
		}
		i += 2
		start = i
	}
	return nil, 0, false
}

// jsonInt reads the integer starting at data[i]: JSON's grammar, without
// a fraction or an exponent, in int64's range.
func jsonInt(data []byte, i int) (int64, int, bool) {
	start := i
	if i < len(data) && data[i] == '-' {
		i++
	}
	digits := i
	for i < len(data) && data[i] >= '0' && data[i] <= '9' {
		i++
	}
	if i == digits || (data[digits] == '0' && i-digits > 1) {
		return 0, 0, false
	}
	if i < len(data) && (data[i] == '.' || data[i] == 'e' || data[i] == 'E') {
		return 0, 0, false
	}
	v, err := strconv.ParseInt(string(data[start:i]), 10, 64)
	return v, i, err == nil
}
