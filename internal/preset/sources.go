package preset

import "github.com/trackd/trackd/internal/track"

func p(slot, param, macro string) track.SourceParam {
	return track.SourceParam{Slot: slot, Param: param, Macro: macro}
}

// postback is a GET postback that fires on leads and sales and reports the
// full payout.
func postback(url string) track.SourcePostback {
	return track.SourcePostback{
		URL:                url,
		Method:             "GET",
		Statuses:           []track.Status{track.StatusLead, track.StatusSale},
		PayoutSharePercent: 100,
	}
}

// noPostback is the postback of a source without a simple S2S GET postback.
func noPostback() track.SourcePostback {
	return track.SourcePostback{Method: "GET", Statuses: []track.Status{}, PayoutSharePercent: 100}
}

// sourceTable builds the traffic source presets afresh on every call.
func sourceTable() []Source {
	return []Source{
		{
			Key:  "propellerads",
			Name: "PropellerAds",
			// unverified: PropellerAds' own macro page was not found; the
			// macros and the postback below are the form documented by
			// trackers' PropellerAds templates (BeMob: visitor_id=${SUBID},
			// postback with the account's aid and tid) and used by public
			// integrations.
			Docs: "https://help.bemob.com/docs/postback-settings-of-a-traffic-source",
			Notes: "Replace YOUR_AID and YOUR_TID in the postback URL with the aid and tid values of the S2S postback " +
				"URL shown in your PropellerAds account (Tracking). ${SUBID} is PropellerAds' click id; its postback " +
				"takes it back in visitor_id.",
			Params: []track.SourceParam{
				p("external_id", "clickid", "${SUBID}"),
				p("source", "zone", "{zoneid}"),
				p("ad_campaign_id", "campaign", "{campaignid}"),
				p("creative_id", "banner", "{bannerid}"),
				p("cost", "cost", "{cost}"),
			},
			Postback: postback("https://ad.propellerads.com/conversion.php?aid=YOUR_AID&pid=&tid=YOUR_TID" +
				"&visitor_id={external_id}&payout={payout}"),
		},
		{
			Key:  "exoclick",
			Name: "ExoClick",
			// Verified: {conversions_tracking} is the click id token, the
			// postback is GET tag.php?goal=GOAL_ID&tag=... (Conversion
			// Tracking API page).
			Docs: "https://docs.exoclick.com/docs/conversion-tracking-api/",
			Notes: "Create a conversion goal in ExoClick (Campaigns > Conversion Tracking) and replace YOUR_GOAL_ID " +
				"with its ID. Drop value= if the goal has no dynamic value.",
			Params: []track.SourceParam{
				p("external_id", "clickid", "{conversions_tracking}"),
				// unverified: the tokens below are the ones trackers'
				// ExoClick templates use; not re-checked on ExoClick's own
				// token list.
				p("ad_campaign_id", "campaign", "{campaign_id}"),
				p("creative_id", "variation", "{variation_id}"),
				p("source", "site", "{src_hostname}"),
				p("sub_id_1", "site_id", "{site_id}"),
				p("sub_id_2", "zone", "{zone_id}"),
				p("sub_id_3", "category", "{category_id}"),
			},
			// unverified: the host s.magsrv.com is the one public
			// integrations call (the docs show a placeholder host), and the
			// name of the dynamic value parameter (value) is not shown on
			// the docs page.
			Postback: postback("https://s.magsrv.com/tag.php?goal=YOUR_GOAL_ID&tag={external_id}&value={payout}"),
		},
		{
			Key:  "trafficstars",
			Name: "TrafficStars",
			// Verified: token list on this page; postback format
			// tsyndicate.com/api/v1/cpa/action?clickid=...&value=...&key=...
			// on https://trafficstars.com/faq/articles/how-to-set-up-tracking-conversions
			Docs: "https://support.trafficstars.com/advertising/tracking/what-are-the-available-dynamic-parameters",
			Notes: "Replace YOUR_KEY with the key of the S2S postback URL generated in TrafficStars (Tracking Tools). " +
				"{cost} is the amount actually paid for dynamic-CPM campaigns.",
			Params: []track.SourceParam{
				p("external_id", "clickid", "{click_id}"),
				p("ad_campaign_id", "campaign", "{campaign_id}"),
				p("creative_id", "creative", "{creative_id}"),
				p("source", "site", "{site_id}"),
				p("cost", "cost", "{cost}"),
				p("keyword", "keyword", "{keywords}"),
				p("sub_id_1", "spot", "{adspot_id}"),
				p("sub_id_2", "format", "{format}"),
			},
			Postback: postback("https://tsyndicate.com/api/v1/cpa/action?key=YOUR_KEY&clickid={external_id}&value={payout}"),
		},
		{
			Key:  "zeropark",
			Name: "Zeropark",
			// Verified: {source} (Zeropark docs, Sources).
			Docs: "https://doc.zeropark.com/en/sources.html",
			Notes: "Replace YOUR_POSTBACK_KEY with the key of the postback URL shown in your Zeropark account " +
				"(the part after /zppostback/).",
			Params: []track.SourceParam{
				// unverified: {cid}, {target}, {campaign_id}, {keyword},
				// {visit_cost} and {geo} are the tokens trackers' Zeropark
				// templates use; Zeropark's own token list was not found.
				p("external_id", "clickid", "{cid}"),
				p("source", "source", "{source}"),
				p("sub_id_1", "target", "{target}"),
				p("ad_campaign_id", "campaign", "{campaign_id}"),
				p("keyword", "keyword", "{keyword}"),
				p("cost", "cost", "{visit_cost}"),
				p("sub_id_2", "geo", "{geo}"),
			},
			// unverified: host and parameters as used by trackers' templates.
			Postback: postback("http://postback.zeroredirect1.com/zppostback/YOUR_POSTBACK_KEY?cid={external_id}&payout={payout}"),
		},
		{
			Key:  "richads",
			Name: "RichAds",
			// Verified: [CLICK_ID] is the click id the postback needs
			// (RichAds blog on postback setup).
			Docs: "https://richads.com/blog/postback-access-to-all-richpush-features/",
			Notes: "RichAds shows the postback URL to use in the campaign's Tracking settings; its host differs between " +
				"products and accounts, so compare it with the preset and replace the host if needed.",
			Params: []track.SourceParam{
				p("external_id", "clickid", "[CLICK_ID]"),
				// unverified: the other bracket macros come from third-party
				// macro lists that cite RichAds' docs.
				p("ad_campaign_id", "campaign", "[CAMPAIGN_ID]"),
				p("source", "publisher", "[PUBLISHER_ID]"),
				p("sub_id_1", "site", "[SITE_ID]"),
				p("creative_id", "creative", "[CREATIVE_ID]"),
			},
			// unverified: postback host and price parameter as in BeMob's
			// RichAds template (docs.bemob.com/en/richads-pops).
			Postback: postback("http://xml.auxml.com/log?action=conversion&key={external_id}&price={payout}"),
		},
		{
			Key:  "googleads",
			Name: "Google Ads",
			// Verified: ValueTrack parameters {gclid}, {campaignid},
			// {adgroupid}, {creative}, {keyword}, {matchtype}, {network},
			// {device}, {placement}.
			Docs: "https://developers.google.com/google-ads/api/docs/reporting/valuetrack-mapping",
			Notes: "Put the parameters in the campaign's tracking template or final URL suffix. Google Ads has no " +
				"S2S GET postback: upload conversions with their gclid through offline conversion import or the " +
				"Google Ads API, so the postback URL is left empty.",
			Params: []track.SourceParam{
				p("external_id", "gclid", "{gclid}"),
				p("ad_campaign_id", "campaign", "{campaignid}"),
				p("sub_id_1", "adgroup", "{adgroupid}"),
				p("creative_id", "creative", "{creative}"),
				p("keyword", "keyword", "{keyword}"),
				p("sub_id_2", "matchtype", "{matchtype}"),
				p("sub_id_3", "network", "{network}"),
				p("sub_id_4", "device", "{device}"),
				p("sub_id_5", "placement", "{placement}"),
			},
			Postback: noPostback(),
		},
		{
			Key:  "facebook",
			Name: "Facebook (Meta)",
			// Verified: {{campaign.id}}, {{adset.id}}, {{ad.id}},
			// {{campaign.name}}, {{adset.name}}, {{ad.name}} (Meta URL tags
			// page).
			Docs: "https://developers.facebook.com/docs/instagram/ads-api/guides/url-tags-for-tracking",
			Notes: "Put the parameters in the ad's URL parameters. Meta appends fbclid to the link by itself, so the " +
				"external_id parameter has no macro. Meta has no S2S GET postback: send conversions through the " +
				"Conversions API, so the postback URL is left empty.",
			Params: []track.SourceParam{
				p("external_id", "fbclid", ""),
				p("ad_campaign_id", "campaign", "{{campaign.id}}"),
				p("sub_id_1", "adset", "{{adset.id}}"),
				p("creative_id", "ad", "{{ad.id}}"),
				p("sub_id_2", "campaign_name", "{{campaign.name}}"),
				p("sub_id_3", "adset_name", "{{adset.name}}"),
				p("sub_id_4", "ad_name", "{{ad.name}}"),
				// unverified: {{site_source_name}} and {{placement}} are not on
				// the URL tags page; they are offered by Ads Manager's URL
				// parameters builder and widely used.
				p("source", "site", "{{site_source_name}}"),
				p("sub_id_5", "placement", "{{placement}}"),
			},
			Postback: noPostback(),
		},
		{
			Key:  "mgid",
			Name: "MGID",
			// Verified: macros (Macros article) and the postback
			// a.mgid.com/postback?c=CLICK_ID&e=EVENT&r=REVENUE (Postback
			// setup article).
			Docs: "https://help.mgid.com/postback-setup",
			Notes: "Replace YOUR_EVENT_NAME with the event name of the campaign's postback conversion goal in MGID. " +
				"{click_price} may differ from the final charge; MGID recommends its API for exact costs.",
			Params: []track.SourceParam{
				p("external_id", "clickid", "{click_id}"),
				p("ad_campaign_id", "campaign", "{campaign_id}"),
				p("creative_id", "teaser", "{teaser_id}"),
				p("source", "widget", "{widget_id}"),
				p("cost", "cost", "{click_price}"),
				p("sub_id_1", "category", "{category_id}"),
			},
			Postback: postback("https://a.mgid.com/postback?c={external_id}&e=YOUR_EVENT_NAME&r={payout}"),
		},
		{
			Key:  "taboola",
			Name: "Taboola",
			// Verified: postback format and parameter names (click-id, name,
			// revenue, currency, orderid).
			Docs: "https://developers.taboola.com/pixel/docs/the-postback-url",
			Notes: "Replace YOUR_EVENT_NAME with the Event Name of the conversion defined in Taboola Realize " +
				"(case-sensitive).",
			Params: []track.SourceParam{
				p("external_id", "clickid", "{click_id}"),
				// unverified: tracking macros as listed by trackers' Taboola
				// presets; Taboola's own macro page was not found.
				p("ad_campaign_id", "campaign", "{campaign_id}"),
				p("creative_id", "item", "{campaign_item_id}"),
				p("source", "site", "{site}"),
				p("sub_id_1", "site_id", "{site_id}"),
				p("sub_id_2", "platform", "{platform}"),
			},
			Postback: postback("https://trc.taboola.com/actions-handler/log/3/s2s-action?click-id={external_id}" +
				"&name=YOUR_EVENT_NAME&revenue={payout}&currency={currency}&orderid={tid}"),
		},
		{
			Key:  "outbrain",
			Name: "Outbrain",
			// {{ob_click_id}} is Outbrain's click id macro for S2S
			// integrations (cited from this page by public integrations).
			Docs:  "https://www.outbrain.com/help/advertisers/server2server-integrations/",
			Notes: "Create an event-based conversion in Outbrain and replace YOUR_CONVERSION_NAME with its name.",
			Params: []track.SourceParam{
				p("external_id", "clickid", "{{ob_click_id}}"),
				// unverified: the other macros are the ones trackers'
				// Outbrain templates use.
				p("ad_campaign_id", "campaign", "{{campaign_id}}"),
				p("creative_id", "ad", "{{ad_id}}"),
				p("source", "publisher", "{{publisher_name}}"),
				p("sub_id_1", "section", "{{section_name}}"),
				p("sub_id_2", "publisher_id", "{{publisher_id}}"),
				p("sub_id_3", "section_id", "{{section_id}}"),
			},
			// unverified: unifiedPixel endpoint and parameter names.
			Postback: postback("https://tr.outbrain.com/unifiedPixel?ob_click_id={external_id}&name=YOUR_CONVERSION_NAME" +
				"&orderValue={payout}&currency={currency}"),
		},
		{
			Key:  "tiktok",
			Name: "TikTok",
			// Verified: TikTok appends ttclid to landing page URLs by itself.
			Docs: "https://ads.tiktok.com/help/article/tiktok-click-id",
			Notes: "TikTok appends ttclid to the link by itself, so the external_id parameter has no macro. TikTok has " +
				"no S2S GET postback: send conversions through the Events API, so the postback URL is left empty.",
			Params: []track.SourceParam{
				p("external_id", "ttclid", ""),
				// unverified: TikTok's __MACRO__ URL parameters as listed by
				// analytics vendors' TikTok guides.
				p("ad_campaign_id", "campaign", "__CAMPAIGN_ID__"),
				p("sub_id_1", "adgroup", "__AID__"),
				p("creative_id", "ad", "__CID__"),
				p("sub_id_2", "campaign_name", "__CAMPAIGN_NAME__"),
				p("sub_id_3", "ad_name", "__CID_NAME__"),
				p("sub_id_4", "placement", "__PLACEMENT__"),
			},
			Postback: noPostback(),
		},
		{
			Key:  "adsterra",
			Name: "Adsterra",
			// Verified: postback www.pbterra.com/name/NAMEOFADVERTISER/at
			// ?subid_short=CLICK_ID&atpay=PAYOUT, atpay in USD only.
			Docs: "http://help-advertisers.adsterra.com/en/articles/4575914-how-do-i-setup-postback",
			Notes: "Replace YOUR_ADSTERRA_LOGIN with your Adsterra advertiser username. atpay must be in USD; for " +
				"another currency generate Adsterra's complex postback (Tracking > Conversion tracking) instead.",
			Params: []track.SourceParam{
				// unverified: ##MACRO## tokens as used by public Adsterra
				// integrations.
				p("external_id", "clickid", "##SUB_ID_SHORT##"),
				p("ad_campaign_id", "campaign", "##CAMPAIGN_ID##"),
				p("source", "placement", "##PLACEMENT_ID##"),
			},
			Postback: postback("https://www.pbterra.com/name/YOUR_ADSTERRA_LOGIN/at?subid_short={external_id}&atpay={payout}"),
		},
		{
			Key:  "kadam",
			Name: "Kadam",
			// Verified: {click_id} and the postback kdtrk.net/ru/postback/
			// ?data=... (Configuring postback for CPA, current revision);
			// older revisions and the Macro setup page use [CPA], [SID],
			// [ID], [CID] instead.
			Docs: "https://wiki.kadam.net/en/index.php?title=Configuring_postback_for_CPA",
			Notes: "If your Kadam account still shows bracket macros, use [CPA] for the click id, [CID] for the " +
				"campaign, [ID] for the ad and [SID] for the site.",
			Params: []track.SourceParam{
				p("external_id", "clickid", "{click_id}"),
				// unverified: brace forms of Kadam's campaign, ad and site
				// macros.
				p("ad_campaign_id", "campaign", "{campaign_id}"),
				p("creative_id", "ad", "{ad_id}"),
				p("source", "site", "{site_id}"),
			},
			Postback: postback("http://kdtrk.net/ru/postback/?data={external_id}"),
		},
	}
}
