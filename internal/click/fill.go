package click

import (
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/trackd/trackd/internal/enrich"
	"github.com/trackd/trackd/internal/track"
)

func randIntN(n int) int { return rand.IntN(n) }

// fill records the request on the click: the source's parameters, the
// visitor, enrichment and cost. Bad values are dropped and counted; they
// never stop the visitor.
func (h *Handler) fill(ck *track.Click, r *http.Request, ip netip.Addr, snap *Snapshot, c *campaign) {
	raw := r.URL.RawQuery
	if len(raw) > track.MaxQueryBytes {
		h.m.dropped.WithLabelValues("query_too_long").Inc()
		raw = raw[:track.MaxQueryBytes]
	}
	ck.Query = raw

	var costParam, currencyParam string
	if c.source != nil && len(c.source.params) > 0 {
		rest := r.URL.RawQuery
		for rest != "" {
			var pair string
			pair, rest, _ = strings.Cut(rest, "&")
			k, v, _ := strings.Cut(pair, "=")
			slot, ok := c.source.params[k]
			if !ok {
				if !strings.ContainsAny(k, "%+") {
					continue
				}
				dk, err := url.QueryUnescape(k)
				if slot, ok = c.source.params[dk]; err != nil || !ok {
					continue
				}
			}
			val := h.clean(unescape(v), maxParamBytes)
			switch {
			case slot >= slotSub:
				if ck.SubIDs[slot-slotSub] == "" {
					ck.SubIDs[slot-slotSub] = val
				}
			case track.Slots[slot] == "external_id":
				ck.ExternalID = val
			case track.Slots[slot] == "cost":
				costParam = val
			case track.Slots[slot] == "currency":
				currencyParam = strings.ToUpper(val)
			case track.Slots[slot] == "creative_id":
				ck.CreativeID = val
			case track.Slots[slot] == "ad_campaign_id":
				ck.AdCampaignID = val
			case track.Slots[slot] == "keyword":
				ck.Keyword = val
			case track.Slots[slot] == "source":
				ck.Source = val
			}
		}
	}

	if ip.IsValid() {
		ck.IP = ip.String()
	}
	ck.UserAgent = h.clean(r.Header.Get("User-Agent"), maxUABytes)
	ck.Referrer = h.clean(r.Header.Get("Referer"), maxReferrerBytes)
	ck.Language = enrich.Language(r.Header.Get("Accept-Language"))

	geo := h.enrich.Geo(ip)
	ck.Country, ck.Region, ck.City, ck.ISP, ck.ASN, ck.ConnectionType = geo.Country, geo.Region, geo.City, geo.ISP, geo.ASN, geo.ConnectionType
	dev := h.enrich.Device(ck.UserAgent)
	ck.DeviceType, ck.OS, ck.OSVersion, ck.Browser, ck.BrowserVersion = dev.Type, dev.OS, dev.OSVersion, dev.Browser, dev.BrowserVersion
	bot := h.enrich.Bot(ip, ck.UserAgent, r.Header)
	ck.IsBot, ck.BotReason = bot.Bot, bot.Reason

	h.cost(ck, snap, c, costParam, currencyParam)
}

// cost applies the campaign's cost model: a fixed CPC or CPM, or the
// source's cost parameter, converted to the account currency.
func (h *Handler) cost(ck *track.Click, snap *Snapshot, c *campaign, param, currency string) {
	var amount track.Money
	cur := c.Cost.Currency
	switch c.Cost.Model {
	case "cpc":
		amount = c.Cost.Amount
	case "cpm":
		amount = c.Cost.Amount / 1000
	}
	if c.Cost.FromParam && param != "" {
		m, err := track.ParseMoney(param)
		if err != nil || m < 0 {
			h.m.dropped.WithLabelValues("bad_cost").Inc()
		} else {
			amount = m
			if currency != "" {
				cur = currency
			}
		}
	}
	if amount == 0 {
		return
	}
	rate, ok := snap.Rate(cur)
	if !ok {
		h.m.dropped.WithLabelValues("unknown_currency").Inc()
		return
	}
	ck.OriginalCost, ck.CostCurrency = amount, cur
	ck.Cost = track.Convert(amount, rate)
}

// clean bounds s and makes it valid text, counting what it had to change.
func (h *Handler) clean(s string, max int) string {
	if len(s) > max {
		h.m.dropped.WithLabelValues("too_long").Inc()
		s = s[:max]
		// Do not leave half a character at the cut.
		for len(s) > 0 {
			if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size != 1 {
				break
			}
			s = s[:len(s)-1]
		}
	}
	if c := track.CleanText(s); c != s {
		h.m.dropped.WithLabelValues("invalid_text").Inc()
		return c
	}
	return s
}
