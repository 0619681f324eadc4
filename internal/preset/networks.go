package preset

import "github.com/trackd/trackd/internal/track"

// commonStatuses maps the raw status words that networks commonly send to
// canonical statuses. Every call returns a new map.
func commonStatuses() map[string]track.Status {
	const (
		lead     = track.StatusLead
		sale     = track.StatusSale
		rejected = track.StatusRejected
		rebill   = track.StatusRebill
	)
	return map[string]track.Status{
		"lead":       lead,
		"pending":    lead,
		"hold":       lead,
		"on_hold":    lead,
		"new":        lead,
		"processing": lead,
		"sale":       sale,
		"approved":   sale,
		"approve":    sale,
		"confirmed":  sale,
		"accepted":   sale,
		"paid":       sale,
		"rejected":   rejected,
		"reject":     rejected,
		"declined":   rejected,
		"trash":      rejected,
		"cancelled":  rejected,
		"canceled":   rejected,
		"invalid":    rejected,
		"fraud":      rejected,
		"chargeback": rejected,
		"refund":     rejected,
		"refunded":   rejected,
		"reversed":   rejected,
		"rebill":     rebill,
	}
}

// withStatuses returns commonStatuses with extra added.
func withStatuses(extra map[string]track.Status) map[string]track.Status {
	m := commonStatuses()
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// networkTable builds the affiliate network presets afresh on every call.
func networkTable() []Network {
	return []Network{
		{
			Key:  "everflow",
			Name: "Everflow",
			// Verified: partner sub ids sub1..sub5 come back as {sub1}..,
			// {transaction_id} is Everflow's own id for the conversion's
			// click (Everflow helpdesk, parameters and macros).
			Docs: "https://helpdesk.everflow.io/en/articles/6173403-a-guide-to-parameters-and-macros",
			Notes: "Add sub1={clickid} to the offer URL (trackd fills in its click id) and paste the postback URL " +
				"into Everflow as a partner postback.",
			ClickIDParam:   "sub1",
			PostbackParams: map[string]string{},
			PostbackMacros: map[string]string{
				"clickid":  "{sub1}",
				"payout":   "{payout_amount}", // unverified: widely used by trackers' Everflow templates
				"tid":      "{transaction_id}",
				"currency": "{currency}", // unverified: macro name not found in the platform's docs
			},
			Statuses: commonStatuses(),
		},
		{
			Key:  "cake",
			Name: "CAKE",
			// Verified: #s1#..#s5#, #price#, #tid#, #leadid# (CAKE
			// knowledge base, affiliate pixel tokens); CAKE recommends s2
			// for click ids because s1 is reserved for sub-affiliate ids.
			Docs: "https://support.getcake.com/support/solutions/articles/5000545788",
			Notes: "Add s2={clickid} to the offer URL. #leadid# (CAKE's id of the conversion) is used as the " +
				"transaction id; #tid# is only set when the advertiser passes one. s2 holds at most 100 characters, " +
				"more than a trackd click id.",
			ClickIDParam:   "s2",
			PostbackParams: map[string]string{},
			PostbackMacros: map[string]string{
				"clickid": "#s2#",
				"payout":  "#price#",
				"tid":     "#leadid#",
			},
			Statuses: commonStatuses(),
		},
		{
			Key:  "tune",
			Name: "TUNE (HasOffers)",
			// Verified: partner sub ids aff_sub..aff_sub5 and their macros,
			// aff_click_id for unique click ids, {transaction_id}
			// (TUNE support, partner tracking and conversion links).
			Docs: "https://support.tune.com/hc/en-us/articles/1500008248741-Passing-Values-to-a-Partner-Conversion-URL",
			Notes: "Add aff_sub={clickid} to the offer URL, as most HasOffers networks ask. TUNE itself recommends " +
				"aff_click_id for unique values such as click ids: if your network allows it, set the click id " +
				"parameter to aff_click_id and the clickid macro to {aff_click_id}.",
			ClickIDParam:   "aff_sub",
			PostbackParams: map[string]string{},
			PostbackMacros: map[string]string{
				"clickid":  "{aff_sub}",
				"payout":   "{payout}", // unverified: not re-checked in TUNE's macro table
				"tid":      "{transaction_id}",
				"currency": "{currency}", // unverified: macro name not found in the platform's docs
			},
			// TUNE's conversion statuses are approved, pending and rejected;
			// commonStatuses covers them.
			Statuses: commonStatuses(),
		},
		{
			Key:  "affise",
			Name: "Affise",
			// Verified: no clickid macro, use {sub1}..{sub8}; {sum}
			// payout, {currency}, {transactionid}, {goal}; {status} is 1
			// approved, 2 pending, 3 declined, 5 approved and on hold.
			Docs: "https://help-center.affise.com/en/articles/6655842-affiliate-postback-macros-affiliates",
			Notes: "Add sub1={clickid} to the offer URL. Affise sends numeric statuses: 1 approved, 2 pending, " +
				"3 declined, 5 hold.",
			ClickIDParam:   "sub1",
			PostbackParams: map[string]string{},
			PostbackMacros: map[string]string{
				"clickid":  "{sub1}",
				"status":   "{status}",
				"payout":   "{sum}",
				"currency": "{currency}",
				"tid":      "{transactionid}",
				"event":    "{goal}",
			},
			Statuses: withStatuses(map[string]track.Status{
				"1": track.StatusSale,
				"2": track.StatusLead,
				"3": track.StatusRejected,
				"5": track.StatusLead,
			}),
		},
		{
			Key:  "scaleo",
			Name: "Scaleo",
			// Verified: aff_click_id / {aff_click_id} is the affiliate's
			// click id (Affiliate Parameters); conversion statuses
			// pending, approved, rejected, hold (Scaleo API reference).
			Docs:           "https://help.scaleo.io/article/384-affiliate-parameters",
			Notes:          "Add aff_click_id={clickid} to the offer URL.",
			ClickIDParam:   "aff_click_id",
			PostbackParams: map[string]string{},
			PostbackMacros: map[string]string{
				"clickid": "{aff_click_id}",
				// unverified: Scaleo's affiliate postback macro names for
				// the conversion values.
				"payout":   "{payout}",
				"currency": "{currency}",
				"status":   "{status}",
				"tid":      "{transaction_id}",
			},
			Statuses: commonStatuses(),
		},
		{
			Key:  "zeydoo",
			Name: "Zeydoo",
			// Verified: offer URL parameters ymid (conversion id) and var
			// (source id); postback macros {ymid} and {amount}.
			Docs:           "http://help.zeydoo.com/en/articles/4362736-how-to-setup-zeydoo-s2s-conversion-tracking",
			Notes:          "Add ymid={clickid} to the offer URL (var may carry a source id of up to 40 characters).",
			ClickIDParam:   "ymid",
			PostbackParams: map[string]string{},
			PostbackMacros: map[string]string{
				"clickid": "{ymid}",
				"payout":  "{amount}",
			},
			Statuses: commonStatuses(),
		},
		{
			Key:  "generic",
			Name: "Generic (Keitaro-style)",
			// unverified: a template, not a platform. These are the macro
			// names most in-house networks use; replace them with your
			// network's own.
			Docs: "https://docs.keitaro.io/en/",
			Notes: "A starting point for a network without a preset: add subid={clickid} to the offer URL and " +
				"replace the macros with the ones your network documents. Raw statuses lead, sale, rejected and " +
				"rebill are accepted as they are.",
			ClickIDParam:   "subid",
			PostbackParams: map[string]string{},
			PostbackMacros: map[string]string{
				"clickid":  "{subid}",
				"status":   "{status}",
				"payout":   "{payout}",
				"currency": "{currency}",
				"tid":      "{tid}",
			},
			Statuses: commonStatuses(),
		},
	}
}
