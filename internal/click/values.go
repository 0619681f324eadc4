package click

import (
	"math/rand/v2"
	"strconv"

	"github.com/trackd/trackd/internal/track"
)

// values gives macro templates the values of one click.
type values struct {
	c        *track.Click
	campaign *campaign
	query    string // raw query of the click
	offerURL string // what {offer} expands to on a landing
}

// AppendValue implements macro.Values.
func (v *values) AppendValue(dst []byte, name, arg string) ([]byte, bool) {
	c := v.c
	var s string
	switch name {
	case "clickid":
		s = c.ClickID
	case "campaign_id":
		return strconv.AppendInt(dst, c.CampaignID, 10), true
	case "campaign_name":
		s = v.campaign.Name
	case "stream_id":
		return strconv.AppendInt(dst, c.StreamID, 10), true
	case "offer_id":
		return strconv.AppendInt(dst, c.OfferID, 10), true
	case "landing_id":
		return strconv.AppendInt(dst, c.LandingID, 10), true
	case "source":
		s = c.Source
	case "traffic_source_name":
		if v.campaign.source != nil {
			s = v.campaign.source.Name
		}
	case "external_id":
		s = c.ExternalID
	case "creative_id":
		s = c.CreativeID
	case "ad_campaign_id":
		s = c.AdCampaignID
	case "keyword":
		s = c.Keyword
	case "cost":
		return append(dst, c.OriginalCost.String()...), true
	case "country":
		s = c.Country
	case "region":
		s = c.Region
	case "city":
		s = c.City
	case "isp":
		s = c.ISP
	case "device_type":
		s = c.DeviceType
	case "os":
		s = c.OS
	case "os_version":
		s = c.OSVersion
	case "browser":
		s = c.Browser
	case "browser_version":
		s = c.BrowserVersion
	case "language":
		s = c.Language
	case "ip":
		s = c.IP
	case "user_agent":
		s = c.UserAgent
	case "referrer":
		s = c.Referrer
	case "random":
		return strconv.AppendUint(dst, rand.Uint64(), 10), true
	case "offer":
		s = v.offerURL
	case "param":
		s, _ = queryValue(v.query, arg)
	default:
		if n, ok := subIDNumber(name); ok {
			s = c.SubIDs[n-1]
			break
		}
		return dst, false
	}
	return append(dst, s...), true
}

// subIDNumber parses "sub_id_N" for N in 1..30 without allocating.
func subIDNumber(name string) (int, bool) {
	const prefix = "sub_id_"
	if len(name) <= len(prefix) || len(name) > len(prefix)+2 || name[:len(prefix)] != prefix {
		return 0, false
	}
	n := 0
	for _, ch := range []byte(name[len(prefix):]) {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		n = n*10 + int(ch-'0')
	}
	return n, n >= 1 && n <= track.MaxSubIDs
}
