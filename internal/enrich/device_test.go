package enrich

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// deviceCases are real User-Agents with what Device must say. Browser
// versions are compared by major version.
var deviceCases = []struct {
	name, ua                              string
	typ, os, osVer, browser, browserMajor string
}{
	{"iPhone Safari",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		TypeMobile, "iOS", "17.5", "Safari", "17"},
	{"iPhone Chrome",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
		TypeMobile, "iOS", "17.5", "Chrome", "126"},
	{"iPhone Firefox",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15",
		TypeMobile, "iOS", "17.5", "Firefox", "127"},
	{"Android Chrome",
		"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
		TypeMobile, "Android", "10", "Chrome", "126"},
	{"Android Edge",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36 EdgA/126.0.2592.80",
		TypeMobile, "Android", "14", "Edge", "126"},
	{"Android Firefox",
		"Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
		TypeMobile, "Android", "14", "Firefox", "127"},
	{"Samsung Internet",
		"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
		TypeMobile, "Android", "14", "Samsung Internet", "25"},
	{"iPad Safari",
		"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
		TypeTablet, "iOS", "16.6", "Safari", "16"},
	{"Android tablet Chrome",
		"Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.230 Safari/537.36",
		TypeTablet, "Android", "13", "Chrome", "120"},
	{"Samsung tablet",
		"Mozilla/5.0 (Linux; Android 12; SAMSUNG SM-T505) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Safari/537.36",
		TypeTablet, "Android", "12", "Samsung Internet", "24"},
	{"Kindle Fire Silk",
		"Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/126.2.1 like Chrome/126.0.6478.126 Safari/537.36",
		TypeTablet, "Android", "9", "Silk", "126"},
	{"Windows Chrome",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		TypeDesktop, "Windows", "10", "Chrome", "126"},
	{"Windows Edge",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
		TypeDesktop, "Windows", "10", "Edge", "126"},
	{"Windows Firefox",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
		TypeDesktop, "Windows", "10", "Firefox", "127"},
	{"Windows 7 Opera",
		"Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36 OPR/95.0.0.0",
		TypeDesktop, "Windows", "7", "Opera", "95"},
	{"Windows IE11 with Tablet PC token",
		"Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; SLCC2; .NET CLR 2.0.50727; Media Center PC 6.0; Tablet PC 2.0; rv:11.0) like Gecko",
		TypeDesktop, "Windows", "7", "Internet Explorer", "11"},
	{"Android app HTTP client",
		"Dalvik/2.1.0 (Linux; U; Android 13; SM-A536B Build/TP1A.220624.014)",
		TypeMobile, "Android", "13", "", ""},
	{"Opera Mini on Android",
		"Opera/9.80 (Android; Opera Mini/14.0.2065/37.8069; U; en) Presto/2.12.423 Version/12.16",
		TypeMobile, "Android", "", "Opera Mini", "14"},
	{"macOS Safari",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		TypeDesktop, "macOS", "10.15.7", "Safari", "17"},
	{"macOS Firefox",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:127.0) Gecko/20100101 Firefox/127.0",
		TypeDesktop, "macOS", "10.15", "Firefox", "127"},
	{"Linux Firefox",
		"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
		TypeDesktop, "Linux", "", "Firefox", "127"},
	{"ChromeOS",
		"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		TypeDesktop, "ChromeOS", "14541.0.0", "Chrome", "126"},
	{"Samsung Smart TV",
		"Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36",
		TypeTV, "Tizen", "6.0", "", ""},
	{"LG webOS TV",
		"Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.79 Safari/537.36 WebAppManager",
		TypeTV, "webOS", "", "", ""},
	{"Chromecast Google TV",
		"Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.225 Safari/537.36 CrKey/1.56.500000 DeviceType/AndroidTV",
		TypeTV, "Android", "", "", ""}, // Chromecast with Google TV runs Android TV
	{"Fire TV",
		"Mozilla/5.0 (Linux; Android 9; AFTKA Build/PS7633.3445N; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36",
		TypeTV, "Android", "9", "", ""},
	{"PlayStation 5",
		"Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15",
		TypeConsole, "PlayStation 5", "2.26", "", ""},
	{"PlayStation 4",
		"Mozilla/5.0 (PlayStation 4 3.11) AppleWebKit/537.73 (KHTML, like Gecko)",
		TypeConsole, "PlayStation 4", "3.11", "", ""},
	{"Xbox One Edge",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19041",
		TypeConsole, "Xbox", "", "Edge", "18"},
	{"Nintendo Switch",
		"Mozilla/5.0 (Nintendo Switch; WifiWebAuthApplet) AppleWebKit/606.4 (KHTML, like Gecko) NF/6.0.1.15.4 NintendoBrowser/5.1.0.20393",
		TypeConsole, "Nintendo Switch", "", "Nintendo Browser", "5"},
	{"Facebook in-app iOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/469.0.0.48.104;FBBV/611403383;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.5.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/612717735]",
		TypeMobile, "iOS", "17.5.1", "Facebook", "469"},
	{"Facebook in-app Android",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240605.024; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.71 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/470.0.0.40.91;]",
		TypeMobile, "Android", "14", "Facebook", "470"},
	{"Instagram in-app iOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 337.0.3.23.54 (iPhone14,5; iOS 17_5; en_US; en; scale=3.00; 1170x2532; 614470476; IABMV/1)",
		TypeMobile, "iOS", "17.5", "Instagram", "337"},
	{"TikTok in-app Android",
		"Mozilla/5.0 (Linux; Android 14; 2201116SG Build/UKQ1.231003.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.122 Mobile Safari/537.36 musical_ly_2023505030 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly app_version/35.5.3 ByteLocale/en ByteFullLocale/en Region/US AppId/1233 Spark/1.5.8.3-bugfix AppVersion/35.5.3 BytedanceWebview/d8a21c6",
		TypeMobile, "Android", "14", "TikTok", "35"},
	{"Googlebot",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		TypeBot, "", "", "Googlebot", "2"},
	{"Googlebot smartphone",
		"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.126 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		TypeBot, "Android", "6.0.1", "Googlebot", "2"},
	{"bingbot",
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
		TypeBot, "", "", "bingbot", "2"},
	{"facebookexternalhit",
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		TypeBot, "", "", "facebookexternalhit", "1"},
	{"curl", "curl/8.5.0", TypeBot, "", "", "curl", "8"},
	{"HeadlessChrome",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36",
		TypeBot, "Linux", "", "Chrome", "126"},
}

func major(v string) string {
	m, _, _ := strings.Cut(v, ".")
	return m
}

func TestDevice(t *testing.T) {
	e := mustNew(t, Config{})
	for _, tc := range deviceCases {
		t.Run(tc.name, func(t *testing.T) {
			for round := range 2 { // miss, then hit
				d := e.Device(tc.ua)
				if d.Type != tc.typ || d.OS != tc.os || d.OSVersion != tc.osVer {
					t.Errorf("round %d: type/os = %q %q %q, want %q %q %q", round, d.Type, d.OS, d.OSVersion, tc.typ, tc.os, tc.osVer)
				}
				// TVs and consoles: browser naming varies and is not checked
				// unless the case says so.
				if tc.browser != "" || (tc.typ != TypeTV && tc.typ != TypeConsole) {
					if d.Browser != tc.browser || major(d.BrowserVersion) != tc.browserMajor {
						t.Errorf("round %d: browser = %q %q, want %q %s.x", round, d.Browser, d.BrowserVersion, tc.browser, tc.browserMajor)
					}
				}
			}
		})
	}
}

func TestDeviceEdgeCases(t *testing.T) {
	e := mustNew(t, Config{})
	if d := e.Device(""); d.Type != TypeBot {
		t.Errorf("empty UA: %+v", d)
	}
	if d := e.Device("   "); d.Type != TypeBot {
		t.Errorf("blank UA: %+v", d)
	}
	if d := e.Device("SomethingUnknown"); d.Type != TypeOther {
		t.Errorf("unknown UA: %+v", d)
	}
	// Over-long UAs are analysed on their first 512 bytes.
	long := deviceCases[0].ua + strings.Repeat(" x", 10000)
	if d := e.Device(long); d.Type != TypeMobile || d.OS != "iOS" {
		t.Errorf("long UA: %+v", d)
	}
	for key := range e.ua.shards[0].m {
		if len(key) > maxUALen {
			t.Errorf("cache key of %d bytes", len(key))
		}
	}
}

func TestDeviceCachedNoAlloc(t *testing.T) {
	e := mustNew(t, Config{})
	ua := deviceCases[0].ua
	e.Device(ua)
	if n := testing.AllocsPerRun(1000, func() { e.Device(ua) }); n != 0 {
		t.Errorf("cached Device allocates %v times", n)
	}
	long := ua + strings.Repeat("y", 2000)
	e.Device(long)
	if n := testing.AllocsPerRun(100, func() { e.Device(long) }); n != 0 {
		t.Errorf("cached Device of a long UA allocates %v times", n)
	}
}

func TestUACacheBounded(t *testing.T) {
	e := mustNew(t, Config{UACacheSize: 100})
	limit := e.ua.capacity()
	if limit < 100 || limit > 100+maxShards {
		t.Fatalf("capacity %d for size 100", limit)
	}
	for i := range 3000 {
		e.Device(fmt.Sprintf("curl/%d.0", i)) // cheap to analyse
	}
	if n := e.ua.len(); n > limit || n < limit/2 {
		t.Errorf("cache holds %d entries, limit %d", n, limit)
	}
	// A popular UA survives eviction pressure most of the time; at least it
	// is still answered correctly after being evicted.
	if d := e.Device(deviceCases[0].ua); d.OS != "iOS" {
		t.Errorf("after churn: %+v", d)
	}
}

func TestCacheShardsAndEviction(t *testing.T) {
	for _, size := range []int{1, 2, 15, 16, 100, 10000, 1 << 16} {
		c := newCache[string, int](size, stringHasher())
		if c.capacity() < size || c.capacity() > size+len(c.shards) {
			t.Errorf("size %d: capacity %d with %d shards", size, c.capacity(), len(c.shards))
		}
		for i := range size*2 + 10 {
			c.put(fmt.Sprint(i), i)
		}
		if c.len() > c.capacity() {
			t.Errorf("size %d: len %d > capacity %d", size, c.len(), c.capacity())
		}
	}
	c := newCache[uintptr, int](4, uintptrHasher)
	c.put(1, 10)
	c.put(1, 11) // update must not evict
	if v, ok := c.get(1); !ok || v != 11 {
		t.Errorf("get(1) = %v, %v", v, ok)
	}
}

func TestConcurrentUse(t *testing.T) {
	e := mustNew(t, Config{MMDB: testDBs(t), UACacheSize: 20})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				tc := deviceCases[(g+i)%len(deviceCases)]
				if d := e.Device(tc.ua); d.Type != tc.typ {
					t.Errorf("%s: type %q", tc.name, d.Type)
					return
				}
				e.Bot(mustAddr("81.2.69.142"), tc.ua, nil)
				e.Geo(mustAddr("81.2.69.142"))
				e.Geo(mustAddr("2a02:ec80::1"))
			}
		}()
	}
	wg.Wait()
}

func FuzzDevice(f *testing.F) {
	for _, tc := range deviceCases {
		f.Add(tc.ua)
	}
	f.Add("")
	f.Add("Mozilla/5.0 (PlayStation ")
	f.Add("Mozilla/5.0 (X11; CrOS ")
	f.Add("Nintendo ")
	f.Add("\xff\xfe(iPhone OS 1_")
	e, err := New(Config{UACacheSize: 64})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		d := e.Device(ua)
		switch d.Type {
		case TypeDesktop, TypeMobile, TypeTablet, TypeTV, TypeConsole, TypeBot, TypeOther:
		default:
			t.Fatalf("Device(%q).Type = %q", ua, d.Type)
		}
		v := e.Bot(mustAddr("8.8.8.8"), ua, nil)
		if v.Bot != (v.Reason != "") {
			t.Fatalf("Bot(%q) = %+v", ua, v)
		}
		if (d.Type == TypeBot) != (v.Bot && !strings.HasPrefix(v.Reason, "ip range")) {
			t.Fatalf("Device(%q).Type = %q but Bot = %+v", ua, d.Type, v)
		}
	})
}

// FuzzUAHelpers drives the index arithmetic of the UA rules directly, at a
// much higher rate than FuzzDevice (whose misses pay for crawlerdetect).
func FuzzUAHelpers(f *testing.F) {
	for _, tc := range deviceCases {
		f.Add(tc.ua)
	}
	for _, s := range []string{"PlayStation ", "PlayStation 5/", "Nintendo ", "CrOS ", "Mac OS X", " OS 1_", "curl", "rv:", "Opera Mini/", "MSIE ", "(+http://x)", "\xff\xff\xff\xffcurl/1", "\xffİ\xffPython-Requests/2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		lower := asciiLower(ua)
		if len(lower) != len(ua) {
			t.Fatalf("asciiLower(%q) = %q: length changed", ua, lower)
		}
		for i := 0; i < len(ua); i++ {
			want := ua[i]
			if want >= 'A' && want <= 'Z' {
				want += 'a' - 'A'
			}
			if lower[i] != want {
				t.Fatalf("asciiLower(%q) = %q: byte %d", ua, lower, i)
			}
		}
		parseOS(ua, lower)
		crawlerName(ua)
		inAppBrowser(ua)
		fixBrowser(ua, "Internet Explorer", "")
		fixBrowser(ua, "Opera", "")
		if name, at, ok := automationSign(ua, lower); ok {
			if name == "" || at < 0 || at > len(ua) {
				t.Fatalf("automationSign(%q) = %q, %d", ua, name, at)
			}
			tokenVersion(ua, at)
		}
		headlessSign(lower)
	})
}
