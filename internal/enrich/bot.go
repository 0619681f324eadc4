package enrich

import (
	"net/http"
	"net/netip"
	"strings"
)

// Bot decides whether a click comes from a bot. It checks, in order:
//
//  1. the User-Agent alone (cached per UA like Device, so a hit does not
//     allocate): "empty user agent"; "headless browser: HeadlessChrome"
//     (HeadlessChrome, PhantomJS, Puppeteer, Playwright, Selenium, WebDriver
//     …); "automation tool: curl" (curl, Wget, python-requests, Go-http-client,
//     okhttp, Java, Apache-HttpClient, node-fetch, axios, Scrapy …); then
//     crawlerdetect's crawler list, "crawler: Googlebot".
//  2. ip inside Config.BotRanges: "ip range 203.0.113.0/24" (the broadest
//     matching range).
//  3. header signs, only when h is non-nil and the UA claims to be a browser
//     (starts with "Mozilla/" or "Opera/"): "no accept header" and "no
//     accept-language header". Every mainstream browser (Chrome, Safari,
//     Firefox, Edge, Samsung Internet, and the Android/iOS web views that
//     in-app browsers use) sends both on a top-level navigation, while HTTP
//     libraries that fake a browser UA usually send neither (Go sends no
//     Accept, curl and python-requests send no Accept-Language), so either
//     one missing is treated as a bot. Signs NOT used, because real browsers
//     fail them: Sec-Fetch-* and Sec-CH-UA (absent over plain HTTP, from
//     Safari < 16.4 and Firefox < 90, and stripped by some proxies), "Accept:
//     */*", Referer, cookies, Connection/keep-alive, header order.
//
// h must have canonical keys, as net/http's server provides them.
func (e *Enricher) Bot(ip netip.Addr, ua string, h http.Header) Verdict {
	info := e.uaInfo(ua)
	if info.botReason != "" {
		return Verdict{Bot: true, Reason: info.botReason}
	}
	if r, ok := e.ranges.lookup(ip.Unmap().WithZone("")); ok {
		return Verdict{Bot: true, Reason: r}
	}
	if h != nil && info.browserLike {
		if !hasHeader(h, "Accept") {
			return Verdict{Bot: true, Reason: "no accept header"}
		}
		if !hasHeader(h, "Accept-Language") {
			return Verdict{Bot: true, Reason: "no accept-language header"}
		}
	}
	return Verdict{}
}

func hasHeader(h http.Header, key string) bool {
	for _, v := range h[key] {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// headlessSigns are lower-case markers of headless or remote-controlled
// browsers, with the name used in the reason.
var headlessSigns = []struct{ marker, name string }{
	{"headlesschrome", "HeadlessChrome"},
	{"phantomjs", "PhantomJS"},
	{"slimerjs", "SlimerJS"},
	{"puppeteer", "Puppeteer"},
	{"playwright", "Playwright"},
	{"selenium", "Selenium"},
	{"webdriver", "WebDriver"},
	{"cypress", "Cypress"},
	{"jsdom", "jsdom"},
	{"electron-headless", "Electron"},
	{"headless", "headless"},
}

func headlessSign(lower string) (string, bool) {
	for _, s := range headlessSigns {
		if strings.Contains(lower, s.marker) {
			return s.name, true
		}
	}
	return "", false
}

// automationSigns are lower-case markers of HTTP libraries and command-line
// tools; prefix markers must start the UA, others may appear anywhere.
var automationSigns = []struct {
	marker, name string
	prefix       bool
}{
	{"curl/", "curl", false},
	{"curl", "curl", true},
	{"wget", "Wget", false},
	{"python-requests", "python-requests", false},
	{"python-urllib", "Python-urllib", false},
	{"python-httpx", "python-httpx", false},
	{"python/", "Python", true},
	{"aiohttp", "aiohttp", false},
	{"httpx", "httpx", true},
	{"go-http-client", "Go-http-client", false},
	{"okhttp", "okhttp", false},
	{"java/", "Java", true},
	{"java-http-client", "Java-http-client", false},
	{"apache-httpclient", "Apache-HttpClient", false},
	{"libwww-perl", "libwww-perl", false},
	{"lwp::", "libwww-perl", false},
	{"node-fetch", "node-fetch", false},
	{"undici", "undici", false},
	{"axios/", "axios", false},
	{"got (", "got", true},
	{"scrapy", "Scrapy", false},
	{"httpie", "HTTPie", false},
	{"postmanruntime", "PostmanRuntime", false},
	{"insomnia/", "Insomnia", false},
	{"guzzlehttp", "GuzzleHttp", false},
	{"php/", "PHP", true},
	{"ruby", "Ruby", true},
	{"faraday", "Faraday", false},
	{"http.rb", "http.rb", false},
	{"reqwest", "reqwest", false},
	{"restsharp", "RestSharp", false},
	{"fasthttp", "fasthttp", false},
	{"colly", "colly", false},
	{"mechanize", "Mechanize", false},
	{"windowspowershell", "PowerShell", false},
	{"zgrab", "zgrab", false},
	{"masscan", "masscan", false},
	{"nmap", "Nmap", false},
}

// automationSign returns the tool name and the index in ua where its token
// starts (for reading its version).
func automationSign(ua, lower string) (name string, at int, ok bool) {
	for _, s := range automationSigns {
		if s.prefix {
			if strings.HasPrefix(lower, s.marker) {
				return s.name, 0, true
			}
			continue
		}
		if i := strings.Index(lower, s.marker); i >= 0 {
			return s.name, i, true
		}
	}
	return "", 0, false
}

// tokenVersion reads the version after the product token starting at ua[at]:
// "curl/8.5.0" → "8.5.0".
func tokenVersion(ua string, at int) string {
	rest := ua[at:]
	i := strings.IndexAny(rest, "/ ")
	if i < 0 || rest[i] != '/' {
		return ""
	}
	return versionPrefix(rest[i+1:])
}

// crawlerWords mark the token that names a crawler.
var crawlerWords = []string{"bot", "crawl", "spider", "slurp", "fetch", "externalhit", "preview", "archiv", "scan", "check", "monitor", "scrap"}

// crawlerName picks a readable name for a UA crawlerdetect flagged:
// the first product token containing a crawler word ("Googlebot/2.1" in
// "Mozilla/5.0 (compatible; Googlebot/2.1; +http://…)"), else the first
// product token that is not "Mozilla" or "compatible".
func crawlerName(ua string) (name, version string) {
	var first, firstVer string
	rest := ua
	for rest != "" {
		i := strings.IndexAny(rest, " ;()[],")
		tok := rest
		if i >= 0 {
			tok, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		tok = strings.TrimLeft(tok, "+")
		if tok == "" || strings.Contains(tok, "://") || hasPrefixFold(tok, "http") ||
			hasPrefixFold(tok, "www.") || strings.ContainsRune(tok, '@') {
			continue
		}
		n, v, _ := strings.Cut(tok, "/")
		if n == "" || !isLetter(n[0]) || strings.EqualFold(n, "Mozilla") || strings.EqualFold(n, "compatible") {
			continue
		}
		if len(n) > 64 {
			n = n[:64]
		}
		if containsAny(asciiLower(n), crawlerWords) {
			return n, versionPrefix(v)
		}
		if first == "" {
			first, firstVer = n, versionPrefix(v)
		}
	}
	if first == "" {
		return "unknown", ""
	}
	return first, firstVer
}
