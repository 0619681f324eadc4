package enrich

import (
	"net/http"
	"net/netip"
	"testing"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func uaOf(name string) string {
	for _, tc := range deviceCases {
		if tc.name == name {
			return tc.ua
		}
	}
	panic("no device case " + name)
}

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"

// browserHeaders are what Chrome sends on a top-level navigation.
func browserHeaders() http.Header {
	return http.Header{
		"Accept":             {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8"},
		"Accept-Language":    {"en-US,en;q=0.9"},
		"Accept-Encoding":    {"gzip, deflate, br, zstd"},
		"Sec-Fetch-Mode":     {"navigate"},
		"Sec-Fetch-Dest":     {"document"},
		"Sec-Ch-Ua-Platform": {`"Windows"`},
	}
}

func without(h http.Header, keys ...string) http.Header {
	h = h.Clone()
	for _, k := range keys {
		h.Del(k)
	}
	return h
}

func TestBot(t *testing.T) {
	e := mustNew(t, Config{BotRanges: []netip.Prefix{
		netip.MustParsePrefix("203.0.113.0/24"),
		netip.MustParsePrefix("198.51.100.7/32"),
		netip.MustParsePrefix("::ffff:192.0.2.0/120"), // mapped form of 192.0.2.0/24
		netip.MustParsePrefix("2001:db8:1234::/48"),
		netip.MustParsePrefix("203.0.0.0/16"), // broader range containing the first
	}})
	human := mustAddr("81.2.69.142")
	hdr := browserHeaders()
	tests := []struct {
		name   string
		ip     netip.Addr
		ua     string
		h      http.Header
		bot    bool
		reason string
	}{
		{"normal Chrome", human, chromeUA, hdr, false, ""},
		{"normal Chrome, headers unknown", human, chromeUA, nil, false, ""},
		{"Chrome with only Accept and Accept-Language", human, chromeUA, http.Header{"Accept": {"*/*"}, "Accept-Language": {"de"}}, false, ""},
		{"iPhone Safari", human, uaOf("iPhone Safari"), hdr, false, ""},
		{"Facebook in-app", mustAddr("2a02:ec80::1"), uaOf("Facebook in-app Android"), hdr, false, ""},
		{"empty UA", human, "", hdr, true, "empty user agent"},
		{"blank UA", human, " \t", hdr, true, "empty user agent"},
		{"Googlebot", human, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", hdr, true, "crawler: Googlebot"},
		{"bingbot", human, "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", hdr, true, "crawler: bingbot"},
		{"Slack preview", human, "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", hdr, true, "crawler: Slackbot-LinkExpanding"},
		{"WhatsApp preview", human, "WhatsApp/2.23.20.0 A", hdr, true, "crawler: WhatsApp"},
		{"HeadlessChrome", human, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36", hdr, true, "headless browser: HeadlessChrome"},
		{"PhantomJS", human, "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1", hdr, true, "headless browser: PhantomJS"},
		{"curl", human, "curl/8.5.0", nil, true, "automation tool: curl"},
		{"python-requests", human, "python-requests/2.32.3", nil, true, "automation tool: python-requests"},
		{"Go client", human, "Go-http-client/1.1", nil, true, "automation tool: Go-http-client"},
		{"wget", human, "Wget/1.21.4", nil, true, "automation tool: Wget"},
		{"Chrome UA without Accept", human, chromeUA, without(hdr, "Accept"), true, "no accept header"},
		{"Chrome UA with blank Accept", human, chromeUA, func() http.Header { h := hdr.Clone(); h.Set("Accept", " "); return h }(), true, "no accept header"},
		{"Chrome UA without Accept-Language", human, chromeUA, without(hdr, "Accept-Language"), true, "no accept-language header"},
		{"Chrome UA with no headers at all", human, chromeUA, http.Header{}, true, "no accept header"},
		{"non-browser app UA without headers is not judged on headers", human, "MyApp/1.0 CFNetwork/1490.0.4 Darwin/23.2.0", http.Header{}, false, ""},
		{"IP in bot range", mustAddr("198.51.100.7"), chromeUA, hdr, true, "ip range 198.51.100.7/32"},
		{"IP in bot range, broadest reported", mustAddr("203.0.113.9"), chromeUA, hdr, true, "ip range 203.0.0.0/16"},
		{"mapped IP in v4 range", mustAddr("::ffff:192.0.2.55"), chromeUA, hdr, true, "ip range 192.0.2.0/24"},
		{"IPv6 in range", mustAddr("2001:db8:1234:5::1"), chromeUA, hdr, true, "ip range 2001:db8:1234::/48"},
		{"IPv6 outside range", mustAddr("2001:db8:1235::1"), chromeUA, hdr, false, ""},
		{"zero IP", netip.Addr{}, chromeUA, hdr, false, ""},
		{"UA reason beats IP range", mustAddr("198.51.100.7"), "curl/8.5.0", hdr, true, "automation tool: curl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for round := range 2 {
				got := e.Bot(tc.ip, tc.ua, tc.h)
				if got != (Verdict{Bot: tc.bot, Reason: tc.reason}) {
					t.Errorf("round %d: Bot = %+v, want {%v %q}", round, got, tc.bot, tc.reason)
				}
			}
		})
	}
}

// Real browsers must not be called crawlers by any of the UA checks.
func TestBotNoFalsePositivesOnDeviceTable(t *testing.T) {
	e := mustNew(t, Config{})
	for _, tc := range deviceCases {
		v := e.Bot(mustAddr("81.2.69.142"), tc.ua, browserHeaders())
		if v.Bot != (tc.typ == TypeBot) {
			t.Errorf("%s: Bot = %+v", tc.name, v)
		}
	}
}

func TestCrawlerName(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)":                               "Googlebot 2.1",
		"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)":                                       "YandexBot 3.0",
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)":                              "facebookexternalhit 1.1",
		"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)":                                     "AhrefsBot 7.0",
		"TelegramBot (like TwitterBot)":                                                                          "TelegramBot ",
		"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)": "GPTBot 1.2",
		"SomeTool/3.1":                        "SomeTool 3.1",
		"Mozilla/5.0 (compatible; +http://x)": "unknown ",
	} {
		n, v := crawlerName(ua)
		if got := n + " " + v; got != want {
			t.Errorf("crawlerName(%q) = %q, want %q", ua, got, want)
		}
	}
}

func TestBotCachedNoAlloc(t *testing.T) {
	e := mustNew(t, Config{BotRanges: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	hdr := browserHeaders()
	ip := mustAddr("81.2.69.142")
	for _, ua := range []string{chromeUA, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", ""} {
		e.Bot(ip, ua, hdr)
		if n := testing.AllocsPerRun(1000, func() { e.Bot(ip, ua, hdr) }); n != 0 {
			t.Errorf("cached Bot(%q) allocates %v times", ua, n)
		}
	}
	rangeIP := mustAddr("203.0.113.5")
	if n := testing.AllocsPerRun(1000, func() { e.Bot(rangeIP, chromeUA, hdr) }); n != 0 {
		t.Errorf("Bot with a range hit allocates %v times", n)
	}
}
