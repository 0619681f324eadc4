package store

import (
	"encoding/json"
	"strconv"

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
func appendDetails(b []byte, c *track.Click) []byte { return appendDetailsOf(b, c, true) }

// appendRestDetails is appendDetails without the values click_facts has
// as columns: the details of a click on SQLite (migration 0009).
func appendRestDetails(b []byte, c *track.Click) []byte { return appendDetailsOf(b, c, false) }

func appendDetailsOf(b []byte, c *track.Click, facts bool) []byte {
	b = append(b, '{')
	first := true
	str := func(name, v string) {
		if v == "" {
			return
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b = appendJSONString(b, v)
	}
	if facts {
		str("creative_id", c.CreativeID)
		str("ad_campaign_id", c.AdCampaignID)
		str("keyword", c.Keyword)
		str("source", c.Source)
	}
	if c.OriginalCost != 0 {
		str("original_cost", c.OriginalCost.String())
	}
	str("cost_currency", c.CostCurrency)
	str("query", c.Query)
	str("ip", c.IP)
	str("user_agent", c.UserAgent)
	str("referrer", c.Referrer)
	if facts {
		str("language", c.Language)
		str("region", c.Region)
		str("city", c.City)
		str("isp", c.ISP)
	}
	if c.ASN != 0 {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `"asn":`...)
		b = strconv.AppendUint(b, uint64(c.ASN), 10)
	}
	if facts {
		str("connection_type", c.ConnectionType)
		str("os_version", c.OSVersion)
		str("browser_version", c.BrowserVersion)
	}
	str("bot_reason", c.BotReason)
	if facts {
		var name [len("sub_id_30")]byte
		copy(name[:], "sub_id_")
		for i, s := range c.SubIDs {
			n := strconv.AppendInt(name[:7], int64(i+1), 10)
			str(string(n), s)
		}
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

// unmarshalDetails fills c from a details JSON object.
func unmarshalDetails(data []byte, c *track.Click) error {
	var d struct {
		clickDetails
		detailsSubIDs
		OriginalCost string `json:"original_cost"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return err
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
