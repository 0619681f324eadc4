package track

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Click is one visit to a campaign link, as recorded.
type Click struct {
	ClickID         string    `json:"click_id"`
	CreatedAt       time.Time `json:"created_at"`
	CampaignID      int64     `json:"campaign_id"`
	StreamID        int64     `json:"stream_id"`
	OfferID         int64     `json:"offer_id"`
	LandingID       int64     `json:"landing_id"`
	TrafficSourceID int64     `json:"traffic_source_id"`

	// The source's parameters, mapped to slots.
	ExternalID   string `json:"external_id"`
	CreativeID   string `json:"creative_id"`
	AdCampaignID string `json:"ad_campaign_id"`
	Keyword      string `json:"keyword"`
	Source       string `json:"source"`
	// SubIDs are sub_id_1 .. sub_id_30.
	SubIDs [MaxSubIDs]string `json:"sub_ids"`
	// Cost is in the account currency; OriginalCost in CostCurrency is what
	// the source or the campaign said.
	Cost         Money  `json:"cost"`
	OriginalCost Money  `json:"original_cost"`
	CostCurrency string `json:"cost_currency"`
	// Query is the raw query string of the click, cut at MaxQueryBytes.
	Query string `json:"query"`

	IP             string `json:"ip"`
	UserAgent      string `json:"user_agent"`
	Referrer       string `json:"referrer"`
	Language       string `json:"language"`
	Country        string `json:"country"`
	Region         string `json:"region"`
	City           string `json:"city"`
	ISP            string `json:"isp"`
	ASN            uint32 `json:"asn"`
	ConnectionType string `json:"connection_type"`
	DeviceType     string `json:"device_type"`
	OS             string `json:"os"`
	OSVersion      string `json:"os_version"`
	Browser        string `json:"browser"`
	BrowserVersion string `json:"browser_version"`

	IsBot     bool   `json:"is_bot"`
	BotReason string `json:"bot_reason"`
	// Uniqueness within the campaign's window.
	UniqueCampaign bool `json:"unique_campaign"`
	UniqueStream   bool `json:"unique_stream"`
	UniqueGlobal   bool `json:"unique_global"`
}

// MaxQueryBytes bounds the raw query kept with a click.
const MaxQueryBytes = 2048

// LandingClick records that a visitor went on from a landing to an offer.
type LandingClick struct {
	ClickID   string    `json:"click_id"`
	CreatedAt time.Time `json:"created_at"`
	OfferID   int64     `json:"offer_id"`
	// Click is the click it follows, when the click path has it at hand:
	// its statistics are counted without reading it back (it may not be
	// written yet).
	Click *Click `json:"-"`
}

// CleanText makes s storable everywhere: invalid UTF-8 becomes U+FFFD and
// NUL bytes are dropped (PostgreSQL refuses both in text). It returns s
// itself, without allocating, when s is already clean.
func CleanText(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] == 0 || s[i] >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean || (utf8.ValidString(s) && strings.IndexByte(s, 0) < 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// ClickSummary is what a click shows to the outside (webhooks, the live
// feed): where it went, where it came from, and the source's values.
type ClickSummary struct {
	ClickID         string            `json:"click_id"`
	CreatedAt       time.Time         `json:"created_at"`
	CampaignID      int64             `json:"campaign_id"`
	StreamID        int64             `json:"stream_id"`
	OfferID         int64             `json:"offer_id"`
	LandingID       int64             `json:"landing_id"`
	TrafficSourceID int64             `json:"traffic_source_id"`
	ExternalID      string            `json:"external_id"`
	Source          string            `json:"source"`
	CreativeID      string            `json:"creative_id"`
	AdCampaignID    string            `json:"ad_campaign_id"`
	Keyword         string            `json:"keyword"`
	Country         string            `json:"country"`
	DeviceType      string            `json:"device_type"`
	OS              string            `json:"os"`
	Browser         string            `json:"browser"`
	IsBot           bool              `json:"is_bot"`
	Unique          bool              `json:"unique"`
	SubIDs          map[string]string `json:"sub_ids"` // the ones set, by name
}

// Summary returns c's summary.
func (c *Click) Summary() ClickSummary {
	s := ClickSummary{ClickID: c.ClickID, CreatedAt: c.CreatedAt, CampaignID: c.CampaignID, StreamID: c.StreamID,
		OfferID: c.OfferID, LandingID: c.LandingID, TrafficSourceID: c.TrafficSourceID, ExternalID: c.ExternalID,
		Source: c.Source, CreativeID: c.CreativeID, AdCampaignID: c.AdCampaignID, Keyword: c.Keyword,
		Country: c.Country, DeviceType: c.DeviceType, OS: c.OS, Browser: c.Browser, IsBot: c.IsBot,
		Unique: c.UniqueCampaign, SubIDs: map[string]string{}}
	for i, v := range c.SubIDs {
		if v != "" {
			s.SubIDs["sub_id_"+strconv.Itoa(i+1)] = v
		}
	}
	return s
}
