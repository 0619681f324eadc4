package track

import (
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Conversion is what a click turned into: a lead, a sale, a rejection or a
// rebill, reported by the affiliate network. It is identified by its click
// id and transaction id (TID, "" when the network sent none).
type Conversion struct {
	ID      int64  `json:"id"`
	ClickID string `json:"click_id"`
	TID     string `json:"tid"`
	Status  Status `json:"status"`
	// PreviousStatus is the status before the last change ("" if none).
	PreviousStatus Status `json:"previous_status"`
	// RawStatus is the status as the network sent it.
	RawStatus string `json:"raw_status"`
	// Event is the network's event type (registration, deposit...), if any.
	Event string `json:"event"`
	// Upsell is set on a further conversion of an already converted click
	// (a new transaction id on an offer that allows upsells).
	Upsell bool `json:"upsell"`
	// Payout is in the account currency; OriginalPayout, OriginalCurrency
	// and Rate are what it was converted from.
	Payout         Money `json:"payout"`
	OriginalPayout Money `json:"original_payout"`
	// Cost is what the conversion costs its campaign under a cpa or
	// revshare cost model (account currency); 0 otherwise.
	Cost             Money  `json:"cost"`
	OriginalCurrency string `json:"original_currency"`
	Rate             Rate   `json:"rate"`

	ClickTime          time.Time `json:"click_time"`
	CampaignID         int64     `json:"campaign_id"`
	StreamID           int64     `json:"stream_id"`
	OfferID            int64     `json:"offer_id"`
	LandingID          int64     `json:"landing_id"`
	TrafficSourceID    int64     `json:"traffic_source_id"`
	AffiliateNetworkID int64     `json:"affiliate_network_id"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

// Outcome is what became of an incoming postback.
type Outcome string

// The outcomes of a postback, as the postback log shows them.
const (
	OutcomeCreated   Outcome = "created"   // a new conversion
	OutcomeUpdated   Outcome = "updated"   // a status change or a new payout
	OutcomeDuplicate Outcome = "duplicate" // nothing new: counted once
	OutcomeIgnored   Outcome = "ignored"   // a status the postback asked to ignore
	OutcomePending   Outcome = "pending"   // the click is not recorded yet: retried
	OutcomeRefused   Outcome = "refused"   // not counted, for the reason given
	OutcomeError     Outcome = "error"     // the store failed: the network should retry
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{OutcomeCreated, OutcomeUpdated, OutcomeDuplicate, OutcomeIgnored, OutcomePending,
	OutcomeRefused, OutcomeError}

// ConversionInput is a postback's conversion in canonical terms, its
// payout already converted to the account currency.
type ConversionInput struct {
	TID       string
	Status    Status
	RawStatus string
	Event     string
	// HasPayout says whether Payout counts: a postback without a payout
	// keeps the conversion's payout.
	HasPayout        bool
	Payout           Money // in the account currency
	OriginalPayout   Money
	OriginalCurrency string
	Rate             Rate
}

// ConversionRules are the offer's and network's settings that decide.
type ConversionRules struct {
	UpsellsAllowed bool
	// UpdatePayout: a repeated postback with a new payout replaces the
	// payout (the network's duplicate policy "update_payout").
	UpdatePayout bool
	// AnyTransition allows every status change (an admin's edit).
	AnyTransition bool
}

// Decision is what Decide concluded.
type Decision struct {
	Outcome Outcome
	Reason  string
	// Index is the conversion in existing that changes, or -1 for a new one.
	Index int
	// Conversion is the new or changed conversion (for created, updated
	// and duplicate).
	Conversion Conversion
}

// allowed lists the status changes a postback may make.
var allowed = map[[2]Status]bool{
	{StatusLead, StatusSale}:       true,
	{StatusLead, StatusRejected}:   true,
	{StatusSale, StatusRejected}:   true,
	{StatusRebill, StatusRejected}: true,
}

// TransitionAllowed reports whether a conversion may go from one status to
// another: lead→sale, lead→rejected, sale→rejected, rebill→rejected.
func TransitionAllowed(from, to Status) bool { return allowed[[2]Status{from, to}] }

// Decide applies the conversion rules to a postback for a click whose
// conversions so far are existing (oldest first). base carries the click's
// fields for a new conversion. It never fails: a postback that cannot count
// gets OutcomeRefused with the reason.
//
//   - Identity is (click id, tid). A postback without a tid, or with a tid
//     when the click's first conversion has none yet, is about the click's
//     first conversion (which then takes the tid).
//   - A new tid on a converted click is an upsell when the offer allows
//     upsells and the status is sale or rebill: a new conversion with status
//     rebill. Without upsells, the postback is about the first conversion.
//   - The same status again is a duplicate, counted once (its payout
//     replaces the old one under the update_payout policy). Allowed changes
//     are those of TransitionAllowed; others are refused.
func Decide(existing []Conversion, in ConversionInput, rules ConversionRules, base Conversion, now time.Time) Decision {
	target := -1
	if in.TID != "" {
		for i := range existing {
			if existing[i].TID == in.TID {
				target = i
				break
			}
		}
	}
	if target < 0 && len(existing) > 0 {
		first := existing[0]
		switch {
		case in.TID == "" || first.TID == "":
			target = 0
		case rules.UpsellsAllowed && (in.Status == StatusSale || in.Status == StatusRebill):
			c := newConversion(base, in, now)
			c.Status, c.Upsell = StatusRebill, true
			return Decision{Outcome: OutcomeCreated, Reason: "upsell: new transaction id " + quote(in.TID), Index: -1, Conversion: c}
		case rules.UpsellsAllowed:
			return Decision{Outcome: OutcomeRefused, Index: -1, Reason: fmt.Sprintf(
				"new transaction id %s on a converted click: an upsell must be a sale or rebill, not %s", quote(in.TID), in.Status)}
		case in.Status == StatusRebill:
			return Decision{Outcome: OutcomeRefused, Index: -1, Reason: "rebill on an offer that does not allow upsells"}
		default:
			target = 0
		}
	}
	if target < 0 {
		return Decision{Outcome: OutcomeCreated, Index: -1, Conversion: newConversion(base, in, now)}
	}
	c := existing[target]
	if c.TID == "" && in.TID != "" {
		c.TID = in.TID
	}
	// An upsell is recorded as rebill; the network keeps calling it a sale.
	if in.Status == c.Status || c.Upsell && c.Status == StatusRebill && in.Status == StatusSale {
		if rules.UpdatePayout && in.HasPayout && in.Payout != c.Payout {
			old := c.Payout
			setPayout(&c, in)
			c.RawStatus, c.UpdatedAt = in.RawStatus, now
			return Decision{Outcome: OutcomeUpdated, Index: target, Conversion: c,
				Reason: fmt.Sprintf("repeated %s: payout %s → %s (update_payout)", c.Status, old, c.Payout)}
		}
		return Decision{Outcome: OutcomeDuplicate, Index: target, Conversion: existing[target],
			Reason: fmt.Sprintf("conversion %d is already %s", c.ID, c.Status)}
	}
	if !rules.AnyTransition && !TransitionAllowed(c.Status, in.Status) {
		return Decision{Outcome: OutcomeRefused, Index: target, Reason: fmt.Sprintf(
			"conversion %d may not go from %s to %s (allowed: lead→sale, lead→rejected, sale→rejected, rebill→rejected)",
			c.ID, c.Status, in.Status)}
	}
	c.PreviousStatus, c.Status, c.RawStatus, c.UpdatedAt = c.Status, in.Status, in.RawStatus, now
	if in.Event != "" {
		c.Event = in.Event
	}
	if in.HasPayout {
		setPayout(&c, in)
	}
	return Decision{Outcome: OutcomeUpdated, Index: target, Conversion: c,
		Reason: fmt.Sprintf("%s → %s", c.PreviousStatus, c.Status)}
}

func newConversion(base Conversion, in ConversionInput, now time.Time) Conversion {
	c := base
	c.ID = 0
	c.TID, c.Status, c.PreviousStatus, c.RawStatus, c.Event = in.TID, in.Status, "", in.RawStatus, in.Event
	c.Upsell = false
	setPayout(&c, in)
	c.CreatedAt, c.UpdatedAt = now, now
	return c
}

func setPayout(c *Conversion, in ConversionInput) {
	c.Payout, c.OriginalPayout, c.OriginalCurrency, c.Rate = in.Payout, in.OriginalPayout, in.OriginalCurrency, in.Rate
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// defaultStatuses maps the raw statuses networks commonly send to canonical
// ones; a network's own mapping and a postback's lead_status, sale_status
// and rejected_status lists come first.
var defaultStatuses = map[string]Status{
	"lead": StatusLead, "pending": StatusLead, "hold": StatusLead, "pend": StatusLead, "new": StatusLead,
	"sale": StatusSale, "approved": StatusSale, "approve": StatusSale, "confirmed": StatusSale, "paid": StatusSale,
	"success":  StatusSale,
	"rejected": StatusRejected, "reject": StatusRejected, "declined": StatusRejected, "decline": StatusRejected,
	"trash": StatusRejected, "canceled": StatusRejected, "cancelled": StatusRejected, "fraud": StatusRejected,
	"rebill": StatusRebill, "upsell": StatusRebill,
}

// CanonicalStatus maps a raw status with the network's mapping first, then
// the common names (case-insensitive). ok is false for a status nobody
// mapped.
func CanonicalStatus(raw string, network map[string]Status) (Status, bool) {
	if st, ok := network[raw]; ok {
		return st, true
	}
	for k, st := range network {
		if strings.EqualFold(k, raw) {
			return st, true
		}
	}
	st, ok := defaultStatuses[strings.ToLower(strings.TrimSpace(raw))]
	return st, ok
}

// PostbackLogEntry is one incoming postback as the log keeps it.
type PostbackLogEntry struct {
	ID         int64     `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	Method     string    `json:"method"`
	SourceIP   string    `json:"source_ip"`
	// ClickID is the click id as sent (cleaned and cut to 64 bytes).
	ClickID string `json:"click_id"`
	// Request is the query string and body as received, cut to 8 KiB, the
	// postback key masked.
	Request string `json:"request"`
	// Auth says what authenticated the postback: "key", "network_key",
	// "signature", "pixel", "admin" or "" (nothing).
	Auth               string  `json:"auth"`
	Outcome            Outcome `json:"outcome"`
	Reason             string  `json:"reason"`
	HTTPStatus         int     `json:"http_status"`
	ConversionID       int64   `json:"conversion_id"`
	AffiliateNetworkID int64   `json:"affiliate_network_id"`
}

// ConversionCost is what conversion c costs under cost model m: the cpa
// amount (converted with rate, the value of one unit of m's currency) for
// a lead or a sale, the revshare percentage of the payout of a sale or a
// rebill; nothing for other models and statuses.
func ConversionCost(m Cost, rate Rate, c *Conversion) Money {
	switch {
	case m.Model == "cpa" && (c.Status == StatusLead || c.Status == StatusSale):
		return Convert(m.Amount, rate)
	case m.Model == "revshare" && (c.Status == StatusSale || c.Status == StatusRebill):
		return Money(ratioRound(int64(c.Payout), int64(m.Amount), 100*MoneyScale))
	}
	return 0
}

// ratioRound is a × b / d rounded half away from zero, without overflow
// for money-sized values.
func ratioRound(a, b, d int64) int64 {
	x := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	q, r := new(big.Int).QuoRem(x, big.NewInt(d), new(big.Int))
	if new(big.Int).Abs(new(big.Int).Mul(r, big.NewInt(2))).Cmp(big.NewInt(d)) >= 0 {
		if x.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q.Int64()
}
