package enrich

import (
	"strings"

	useragent "github.com/medama-io/go-useragent"
	"github.com/medama-io/go-useragent/agents"
	"github.com/x-way/crawlerdetect"
)

// maxUALen caps the part of a User-Agent that is analysed and used as cache
// key: real UAs are shorter; longer ones would make cache memory and
// crawlerdetect's cost unbounded.
const maxUALen = 512

// uaInfo is everything derived from the User-Agent alone.
type uaInfo struct {
	dev         Device
	botReason   string // "" when the UA alone does not say bot
	browserLike bool   // claims to be a browser: header signs apply
}

var emptyUAInfo = uaInfo{dev: Device{Type: TypeBot}, botReason: "empty user agent"}

// uaKey trims and caps a User-Agent without allocating.
func uaKey(ua string) string {
	ua = strings.TrimSpace(ua)
	if len(ua) > maxUALen {
		ua = ua[:maxUALen]
	}
	return ua
}

// uaInfo returns the cached analysis of ua, computing it on a miss.
func (e *Enricher) uaInfo(ua string) uaInfo {
	key := uaKey(ua)
	if key == "" {
		return emptyUAInfo
	}
	if info, ok := e.ua.get(key); ok {
		return info
	}
	key = strings.Clone(key) // do not pin the caller's (maybe larger) buffer
	info := analyzeUA(e.parser, key)
	e.ua.put(key, info)
	return info
}

// Device says what the User-Agent is. Results are cached per UA (the first
// 512 bytes, trimmed); a cache hit does not allocate.
func (e *Enricher) Device(ua string) Device {
	return e.uaInfo(ua).dev
}

// analyzeUA does the uncached work. ua is trimmed, non-empty and capped.
func analyzeUA(p *useragent.Parser, ua string) uaInfo {
	lower := asciiLower(ua)
	info := uaInfo{browserLike: hasPrefixFold(ua, "Mozilla/") || hasPrefixFold(ua, "Opera/")}

	// UA-level bot verdict, cheapest and most specific first.
	var botName, botVersion string
	if name, ok := headlessSign(lower); ok {
		info.botReason = "headless browser: " + name
	} else if name, tok, ok := automationSign(ua, lower); ok {
		info.botReason = "automation tool: " + name
		botName, botVersion = name, tokenVersion(ua, tok)
	} else if crawlerdetect.IsCrawler(ua) {
		botName, botVersion = crawlerName(ua)
		info.botReason = "crawler: " + botName
	}

	m := p.Parse(ua)
	d := &info.dev
	d.OS, d.OSVersion = parseOS(ua, lower)
	if d.OS == "" {
		d.OS = osName(m.OS())
	}
	d.Type = deviceType(lower, d.OS, m, info.botReason != "")

	switch {
	case botName != "":
		d.Browser, d.BrowserVersion = botName, botVersion
	default:
		if name, ver, ok := inAppBrowser(ua); ok {
			d.Browser, d.BrowserVersion = name, ver
		} else if b := m.Browser(); b != "" {
			d.Browser, d.BrowserVersion = fixBrowser(ua, browserName(b), m.BrowserVersion())
		}
	}
	return info
}

var consoleSigns = []string{"playstation", "ps vita", "xbox", "nintendo"}

// mobileSigns mark phones beyond iOS and Android (feature phones included).
var mobileSigns = []string{
	"iphone", "ipod", "mobile", "windows phone", "opera mini", "blackberry",
	"bb10", "symbian", "series40", "series60", "midp", "kaios", "up.browser",
	"docomo", "nokia", "symbos", "opera mobi",
}

var tvSigns = []string{
	"smart-tv", "smarttv", "smart tv", "googletv", "google tv", "android tv",
	"androidtv", "appletv", "apple tv", "tvos", "crkey", "web0s", "webos.tv",
	"hbbtv", "bravia", "roku", "netcast", "viera", "vidaa", "; aft",
	"tizen tv", "philipstv", "firetv", "fire tv",
}

func deviceType(lower, os string, m useragent.UserAgent, bot bool) string {
	desktopOS := false
	switch os {
	case "Windows", "macOS", "Linux", "ChromeOS", "FreeBSD", "OpenBSD":
		desktopOS = true
	}
	mobileSign := containsAny(lower, mobileSigns)
	switch {
	case bot:
		return TypeBot
	case containsAny(lower, consoleSigns):
		return TypeConsole
	case containsAny(lower, tvSigns) || (os == "Tizen" && !mobileSign):
		return TypeTV
	case strings.Contains(lower, "ipad") || strings.Contains(lower, "kindle") ||
		strings.Contains(lower, "playbook") || strings.Contains(lower, "hp-tablet") ||
		(strings.Contains(lower, "tablet") && os != "Windows") || // "Tablet PC 2.0" is any Windows PC
		(strings.Contains(lower, "silk/") && !mobileSign) ||
		// Android browsers say "Mobile" on phones only; app HTTP clients
		// (Dalvik, okhttp) never do and are mostly phones.
		(os == "Android" && !mobileSign && strings.HasPrefix(lower, "mozilla/")):
		return TypeTablet
	case mobileSign || os == "Android" || os == "iOS" || os == "Windows Phone" || os == "HarmonyOS":
		return TypeMobile
	case desktopOS:
		return TypeDesktop
	case m.IsMobile():
		return TypeMobile
	case m.IsTablet():
		return TypeTablet
	case m.IsDesktop():
		return TypeDesktop
	}
	return TypeOther
}

// parseOS finds the operating system and its version in the UA.
func parseOS(ua, lower string) (os, version string) {
	switch {
	case strings.Contains(ua, "Windows Phone"):
		if v := numberAfter(ua, "Windows Phone OS "); v != "" {
			return "Windows Phone", v
		}
		return "Windows Phone", numberAfter(ua, "Windows Phone ")
	case strings.Contains(ua, "PlayStation"):
		// "PlayStation 5/2.26", "PlayStation 4 3.11", "PlayStation Vita 3.74"
		i := strings.LastIndex(ua, "PlayStation ")
		if i < 0 {
			return "PlayStation", ""
		}
		rest := ua[i+len("PlayStation "):]
		model := rest[:wordEnd(rest)]
		if model == "" {
			return "PlayStation", ""
		}
		rest = rest[len(model):]
		if len(rest) > 0 && (rest[0] == '/' || rest[0] == ' ') {
			return "PlayStation " + model, versionPrefix(rest[1:])
		}
		return "PlayStation " + model, ""
	case strings.Contains(ua, "Xbox"):
		return "Xbox", ""
	case strings.Contains(ua, "Nintendo"):
		i := strings.Index(ua, "Nintendo ")
		if i < 0 {
			return "Nintendo", ""
		}
		rest := ua[i+len("Nintendo "):]
		if model := rest[:wordEnd(rest)]; model != "" {
			return "Nintendo " + model, ""
		}
		return "Nintendo", ""
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad") || strings.Contains(ua, "iPod"):
		return "iOS", iosVersion(ua)
	case strings.Contains(ua, "HarmonyOS") || strings.Contains(ua, "OpenHarmony"):
		if v := numberAfter(ua, "OpenHarmony "); v != "" {
			return "HarmonyOS", v
		}
		return "HarmonyOS", numberAfter(ua, "HarmonyOS ")
	case strings.Contains(ua, "Tizen"):
		return "Tizen", numberAfter(ua, "Tizen ")
	case strings.Contains(ua, "Android"):
		return "Android", numberAfter(ua, "Android ")
	case strings.Contains(ua, "CrOS "):
		// "CrOS x86_64 14541.0.0"
		rest := ua[strings.Index(ua, "CrOS ")+len("CrOS "):]
		if sp := strings.IndexByte(rest, ' '); sp >= 0 {
			return "ChromeOS", versionPrefix(rest[sp+1:])
		}
		return "ChromeOS", ""
	case strings.Contains(lower, "web0s") || strings.Contains(lower, "webos"):
		return "webOS", ""
	case strings.Contains(ua, "Windows NT "):
		v := numberAfter(ua, "Windows NT ")
		switch v {
		case "10.0":
			v = "10"
		case "6.3":
			v = "8.1"
		case "6.2":
			v = "8"
		case "6.1":
			v = "7"
		case "6.0":
			v = "Vista"
		case "5.1", "5.2":
			v = "XP"
		}
		return "Windows", v
	case strings.Contains(ua, "Windows"):
		return "Windows", ""
	case strings.Contains(ua, "Mac OS X"):
		rest := ua[strings.Index(ua, "Mac OS X")+len("Mac OS X"):]
		rest = strings.TrimLeft(rest, " ")
		return "macOS", strings.ReplaceAll(dottedPrefix(rest), "_", ".")
	case strings.Contains(ua, "Macintosh"):
		return "macOS", ""
	case strings.Contains(ua, "FreeBSD"):
		return "FreeBSD", ""
	case strings.Contains(ua, "OpenBSD"):
		return "OpenBSD", ""
	case strings.Contains(ua, "Linux") || strings.Contains(ua, "X11"):
		return "Linux", ""
	}
	return "", ""
}

// iosVersion reads "OS 17_5" in "CPU iPhone OS 17_5 like Mac OS X".
func iosVersion(ua string) string {
	for i := 0; ; {
		j := strings.Index(ua[i:], " OS ")
		if j < 0 {
			return ""
		}
		i += j + len(" OS ")
		if i < len(ua) && isDigit(ua[i]) {
			return strings.ReplaceAll(dottedPrefix(ua[i:]), "_", ".")
		}
	}
}

// numberAfter returns the version number ([0-9.]+) right after marker.
func numberAfter(s, marker string) string {
	i := strings.Index(s, marker)
	if i < 0 {
		return ""
	}
	return versionPrefix(s[i+len(marker):])
}

// versionPrefix returns the leading [0-9.]+ of s, without a trailing dot.
func versionPrefix(s string) string {
	n := 0
	for n < len(s) && (isDigit(s[n]) || s[n] == '.') {
		n++
	}
	return strings.TrimRight(s[:n], ".")
}

// dottedPrefix is versionPrefix that also accepts '_' separators.
func dottedPrefix(s string) string {
	n := 0
	for n < len(s) && (isDigit(s[n]) || s[n] == '.' || s[n] == '_') {
		n++
	}
	return strings.TrimRight(s[:n], "._")
}

// wordEnd returns the length of the leading run of letters and digits.
func wordEnd(s string) int {
	n := 0
	for n < len(s) && (isDigit(s[n]) || isLetter(s[n])) {
		n++
	}
	return n
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func osName(o agents.OS) string {
	switch o {
	case agents.OSMacOS:
		return "macOS"
	case "":
		return ""
	}
	return string(o)
}

func browserName(b agents.Browser) string {
	switch b {
	case agents.BrowserSamsung:
		return "Samsung Internet"
	case agents.BrowserSilk:
		return "Silk"
	case agents.BrowserIE:
		return "Internet Explorer"
	}
	return string(b)
}

// inApp lists in-app browsers: the marker that identifies the app and the
// marker whose following number is the app version.
var inApp = []struct{ marker, name, version string }{
	{"FBAV/", "Facebook", "FBAV/"},
	{"FBAN/", "Facebook", "FBAV/"},
	{"FB_IAB/", "Facebook", "FBAV/"},
	{"Instagram ", "Instagram", "Instagram "},
	{"BytedanceWebview", "TikTok", "app_version/"},
	{"musical_ly", "TikTok", "app_version/"},
	{"MicroMessenger/", "WeChat", "MicroMessenger/"},
	{" Line/", "LINE", " Line/"},
	{"Snapchat/", "Snapchat", "Snapchat/"},
	{"LinkedInApp", "LinkedIn", "LinkedInApp/"},
	{"LinkedIn/", "LinkedIn", "LinkedIn/"},
	{"GSA/", "Google App", "GSA/"},
}

func inAppBrowser(ua string) (name, version string, ok bool) {
	for _, a := range inApp {
		if strings.Contains(ua, a.marker) {
			return a.name, numberAfter(ua, a.version), true
		}
	}
	return "", "", false
}

// fixBrowser corrects the parser where it is known to be wrong.
func fixBrowser(ua, name, version string) (string, string) {
	switch {
	case strings.HasPrefix(ua, "Dalvik/"):
		return "", "" // an Android app's HTTP client, not a browser
	case strings.Contains(ua, "Opera Mini/"):
		return "Opera Mini", numberAfter(ua, "Opera Mini/")
	case name == "Opera" && strings.HasPrefix(ua, "Opera/9.80") && strings.Contains(ua, "Version/"):
		return name, numberAfter(ua, "Version/") // Presto Opera freezes the product token at 9.80
	case name == "Internet Explorer":
		if v := numberAfter(ua, "MSIE "); v != "" {
			return name, v
		}
		if strings.Contains(ua, "Trident/") {
			if v := numberAfter(ua, "rv:"); v != "" {
				return name, v // IE 11 dropped "MSIE"
			}
		}
	}
	return name, version
}

// asciiLower lower-cases ASCII letters only, so that byte offsets found in the
// result are valid in s (strings.ToLower changes lengths, e.g. for invalid
// UTF-8). Every marker matched against it is ASCII.
func asciiLower(s string) string {
	i := 0
	for i < len(s) && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
