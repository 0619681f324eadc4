package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/trackd/trackd/internal/server"
	"github.com/trackd/trackd/internal/server/servertest"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

// Values a traffic source or a network could send to make the UI run
// script, if it ever put them into markup.
const (
	xssZone    = `<img src=x onerror="alert('zone')">`
	xssUA      = `Mozilla/5.0 <script>alert('ua')</script>`
	xssClickID = `"><svg onload=alert('pb')>`
)

// chromium finds a Chromium to drive. Where TRACKD_TEST_BROWSER=required
// (CI), its absence fails the test; elsewhere it skips it.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("TRACKD_TEST_BROWSER") == "required" {
		t.Fatal("no Chromium found (apt-get install -y chromium), and TRACKD_TEST_BROWSER=required")
	}
	t.Skip("no Chromium found: apt-get install -y chromium (set TRACKD_TEST_BROWSER=required to fail instead)")
	return ""
}

// TestBrowser logs in to the web UI in a headless Chromium against a real
// server and SQLite store, with traffic whose values carry markup, and
// reads every page: the values must show as text and no script of theirs
// may run.
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	e := servertest.Start(t, storetest.Open(t, store.SQLite), server.Config{})
	first := seed(t, e)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	// Any dialog (alert) is an injected script that ran; any uncaught
	// exception is a bug of the page.
	var (
		mu       sync.Mutex
		problems []string
	)
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			mu.Lock()
			problems = append(problems, "a dialog opened: "+ev.Message)
			mu.Unlock()
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{})
		case *cdplog.EventEntryAdded:
			// The browser's own errors, such as a CSP violation; failed
			// requests are the API's answers the test asks for.
			if ev.Entry.Level == cdplog.EntryLevelError && ev.Entry.Source != cdplog.EntrySourceNetwork {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("browser %s error: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
				mu.Unlock()
			}
		case *runtime.EventExceptionThrown:
			mu.Lock()
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			problems = append(problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// run runs steps; when they fail (a wait runs out after 30 s), the
	// page's text says where the UI stood.
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("%s: %v; the page says:\n%s\nproblems: %q", what, err, page, problems)
		}
	}
	text := func(what, sel string) string {
		t.Helper()
		run(what, chromedp.WaitVisible(chromedp.CSS(sel)))
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		// A value the page forgot to leave out shows as a word.
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
		if m := regexp.MustCompile(`\b(null|undefined|NaN|\[object Object\])\b`).FindString(page); m != "" {
			t.Errorf("%s: the page shows %q:\n%s", what, m, page)
		}
		return s
	}
	count := func(what, js string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return n
	}
	// fill sets an input or select as a user would, with its event.
	fill := func(sel, v string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = %q;
			el.dispatchEvent(new Event(el.tagName === "SELECT" ? "change" : "input")); })()`, sel, v))
	}
	// visit opens a route of the UI and waits until the page shows it, not
	// the route before (a hash change renders asynchronously).
	visit := func(route string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			if _, err := chromedp.Navigate(e.URL+"/admin/"+route)(ctx, tg); err != nil {
				return chromedp.Void{}, err
			}
			return chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector("main").dataset.route === %q`, route))(ctx, tg)
		}
	}
	login := func(user, password string) {
		t.Helper()
		run("log in as "+user,
			chromedp.WaitVisible(chromedp.CSS("#login-form")),
			chromedp.SetValue(chromedp.CSS("#login"), user),
			chromedp.SetValue(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS("#login-form button")))
	}

	run("open the UI", chromedp.Navigate(e.URL+"/admin"))
	login("admin", "a wrong password")
	run("the error shows", chromedp.WaitVisible(chromedp.CSS("#login-error:not(:empty)")))
	if s := text("login error", "#login-error"); !strings.Contains(s, "wrong login or password") {
		t.Errorf("login error = %q", s)
	}
	login("admin", "0123456789")

	// The dashboard: today's clicks by campaign, with a total.
	report := text("dashboard", "#report")
	for _, want := range []string{"Browser test (#", "Total"} {
		if !strings.Contains(report, want) {
			t.Errorf("dashboard lacks %q:\n%s", want, report)
		}
	}
	if s := text("who", "#who"); s != "admin (admin)" {
		t.Errorf("#who = %q", s)
	}
	if clicksCell := text("clicks of the campaign", "#report tbody tr td:nth-child(2)"); clicksCell != "3" {
		t.Errorf("dashboard clicks = %q, want 3", clicksCell)
	}
	// By day over a week: yesterday's click and today's three, as a chart too.
	run("by day", visit("#/dashboard?range=last_7_days&group=day"), chromedp.WaitVisible(chromedp.CSS("#chart")))
	if n := count("bars", `document.querySelectorAll("#chart rect.bar").length`); n != 2 {
		t.Errorf("%d bars in the chart, want 2 (yesterday, today)", n)
	}
	if s := text("by day", "#report tfoot"); !strings.Contains(s, "Total\t4\t") {
		t.Errorf("total by day = %q, want 4 clicks", s)
	}

	// Drilling down: the campaign into its sub ids, the sub id (markup,
	// shown as text) into days.
	run("drill", visit("#/dashboard?range=today&group=campaign&drill=sub_id_1"),
		chromedp.WaitVisible(chromedp.CSS("#report")), chromedp.Click(chromedp.CSS("#report tbody a")),
		chromedp.Poll[chromedp.Void](`document.getElementById("group").value === "sub_id_1" && !!document.querySelector("#report")`))
	if s := text("by sub id", "#report tbody"); !strings.Contains(s, xssZone+"\t3\t") {
		t.Errorf("the campaign's sub ids:\n%s", s)
	}
	run("drill again", chromedp.Click(chromedp.CSS("#report tbody a")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#filters a.chip").length === 2 && !!document.querySelector("#report")`))
	if s := text("filters", "#filters"); !strings.Contains(s, "campaign: Browser test (#1)") || !strings.Contains(s, "sub id 1: "+xssZone) {
		t.Errorf("filter chips: %q", s)
	}
	if s := text("by day for the sub id", "#report tfoot"); !strings.Contains(s, "Total\t3\t") {
		t.Errorf("the sub id's total = %q, want 3 clicks", s)
	}

	run("campaigns", visit("#/campaigns"))
	if s := text("campaigns", "#campaigns"); !strings.Contains(s, e.URL+"/browser-test") {
		t.Errorf("campaigns page lacks the link %s/browser-test:\n%s", e.URL, s)
	}

	// A campaign's streams, and a simulated click.
	run("campaign page", chromedp.Click(chromedp.CSS(`#campaigns a[href^="#/campaign?"]`)))
	if s := text("streams", "#streams"); !strings.Contains(s, "numeric zones") || !strings.Contains(s, "param zone regex: ^[0-9]+$") {
		t.Errorf("streams table:\n%s", s)
	}
	simulate := func(query string) string {
		t.Helper()
		run("test a click with "+query,
			chromedp.SetValue(chromedp.CSS("#t-query"), query),
			chromedp.SetValue(chromedp.CSS("#t-ua"), "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"),
			chromedp.SetValue(chromedp.CSS("#t-lang"), "en-US"),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("test-result").replaceChildren()`),
			chromedp.Click(chromedp.CSS("#test-form button")))
		return text("test result", "#test-result table")
	}
	if s := simulate("zone=123"); !strings.Contains(s, "numeric zones (regular)\tyes") {
		t.Errorf("zone=123 should pass the numeric zones stream:\n%s", s)
	}
	if u := text("test url", "#test-url"); !strings.HasPrefix(u, "https://offer.example/?c=") {
		t.Errorf("test click goes to %q", u)
	}
	if s := simulate("zone=" + url.QueryEscape(xssZone)); !strings.Contains(s, "numeric zones (regular)\tno") || !strings.Contains(s, "all (default)\tyes") {
		t.Errorf("a zone with markup should fail the numeric zones stream:\n%s", s)
	}

	// The click log shows the traffic's markup as text.
	run("clicks", visit("#/clicks"), chromedp.WaitVisible(chromedp.CSS("#log tbody tr")))
	if s := text("click log", "#log"); !strings.Contains(s, xssZone) {
		t.Errorf("the click log does not show the zone %q as text:\n%s", xssZone, s)
	}
	run("click details", chromedp.Click(chromedp.CSS("#log tbody tr")), chromedp.WaitVisible(chromedp.CSS(".details table")))
	if s := text("details", ".details"); !strings.Contains(s, xssUA) {
		t.Errorf("the click's details do not show the user agent %q as text:\n%s", xssUA, s)
	}
	if n := count("injected elements", `document.querySelectorAll("main img, main script, main svg").length`); n != 0 {
		t.Errorf("%d img/script/svg elements in the page: traffic values became markup", n)
	}

	// Paging: two at a time, then the next two.
	run("clicks by two", visit("#/clicks?limit=2"), chromedp.WaitVisible(chromedp.CSS("#older")),
		chromedp.Click(chromedp.CSS("#older")), chromedp.Poll[chromedp.Void](`document.querySelectorAll("#log tbody tr").length === 4`))
	if n := count("distinct clicks", `new Set([...document.querySelectorAll("#log tbody tr td:nth-child(2)")].map((td) => td.textContent)).size`); n != 4 {
		t.Errorf("two pages of two show %d distinct clicks, want 4", n)
	}

	run("conversions", visit("#/conversions"), chromedp.WaitVisible(chromedp.CSS("#log tbody tr")))
	if s := text("conversion log", "#log"); !strings.Contains(s, "T-browser-1") || !strings.Contains(s, "sale") {
		t.Errorf("conversion log lacks the sale T-browser-1:\n%s", s)
	}
	run("postbacks", visit("#/postbacks"), chromedp.WaitVisible(chromedp.CSS("#log tbody tr")))
	if s := text("postback log", "#log"); !strings.Contains(s, "refused") || !strings.Contains(s, xssClickID) {
		t.Errorf("postback log lacks the refused postback with click id %q as text:\n%s", xssClickID, s)
	}
	if n := count("injected elements", `document.querySelectorAll("main img, main script, main svg").length`); n != 0 {
		t.Errorf("%d img/script/svg elements in the postback log", n)
	}

	// A logged postback processed again: the sale is a duplicate now; the
	// malformed one cannot be, and the page says why.
	replay := func(row int) string {
		t.Helper()
		sel := fmt.Sprintf("#log tbody tr:nth-child(%d)", row)
		run("replay", chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(`[data-act="replay"]`)),
			chromedp.Click(chromedp.CSS(`[data-act="replay"]`)), chromedp.WaitVisible(chromedp.CSS("#replay-result:not(:empty)")))
		return text("replay result", "#replay-result")
	}
	if s := replay(2); !strings.HasPrefix(s, "Processed again: duplicate") || !strings.HasSuffix(s, "HTTP 200") {
		t.Errorf("replaying the sale: %q", s)
	}
	if s := replay(1); !strings.Contains(s, "cannot be replayed") {
		t.Errorf("replaying the malformed postback: %q", s)
	}

	// The source's postback: its failed attempt, the receiver's answer as
	// text, and sending it again.
	run("deliveries", visit("#/deliveries"), chromedp.WaitVisible(chromedp.CSS("#log tbody tr")),
		chromedp.Click(chromedp.CSS("#log tbody tr")), chromedp.WaitVisible(chromedp.CSS("#attempts")))
	if s := text("attempts", "#attempts"); !strings.Contains(s, "400") || !strings.Contains(s, "bad <b>zone</b>") {
		t.Errorf("attempts:\n%s", s)
	}
	run("send again", chromedp.Click(chromedp.CSS(`[data-act="retry"]`)), chromedp.WaitVisible(chromedp.CSS("#retry-result:not(:empty)")))
	if s := text("retry", "#retry-result"); s != "Queued again: 1" {
		t.Errorf("send again: %q", s)
	}
	waitJob(t, e, "delivered")

	// The live page shows a click and a postback as they come.
	run("live", visit("#/live"), chromedp.WaitVisible(chromedp.CSS("#live")))
	run("live connects", chromedp.Poll[chromedp.Void](`document.getElementById("live-status").textContent.startsWith("Connected")`))
	id := click(t, e, "<b>live</b>")
	postback(t, e, url.Values{"subid": {id}, "status": {"lead"}, "payout": {"3"}, "tid": {"T-live"}}, 200)
	run("live events", chromedp.Poll[chromedp.Void](`document.querySelectorAll("#live tbody tr").length >= 2`))
	if s := text("live table", "#live"); !strings.Contains(s, "sub_id_1=<b>live</b>") || !strings.Contains(s, "created") {
		t.Errorf("live table lacks the click with its sub id as text and the conversion:\n%s", s)
	}
	if n := count("bold elements", `document.querySelectorAll("#live b").length`); n != 0 {
		t.Errorf("%d <b> elements in the live table: a sub id became markup", n)
	}

	// A conversion's status changed by hand.
	run("conversion edit", visit("#/conversions?click_id="+url.QueryEscape(first)), chromedp.WaitVisible(chromedp.CSS("#log tbody tr")),
		chromedp.Click(chromedp.CSS("#log tbody tr")), chromedp.WaitVisible(chromedp.CSS(`[data-act="edit-status"]`)),
		fill(`.details [data-path="status"]`, "rejected"), chromedp.Click(chromedp.CSS(`[data-act="edit-status"]`)),
		chromedp.WaitVisible(chromedp.CSS("#edit-result:not(:empty)")))
	if s := text("edit result", "#edit-result"); s != "updated (sale → rejected)" {
		t.Errorf("changing the status: %q", s)
	}
	if s := e.API("GET", "/conversions/1", "", 200); !strings.Contains(s, `"status":"rejected"`) || !strings.Contains(s, `"previous_status":"sale"`) {
		t.Errorf("after the change: %s", s)
	}

	// A test conversion for the newest click (the live one, a lead so far),
	// through the real postback path.
	run("test conversion", visit("#/clicks"), chromedp.WaitVisible(chromedp.CSS("#log tbody tr")),
		chromedp.Click(chromedp.CSS("#log tbody tr")), chromedp.WaitVisible(chromedp.CSS(`[data-act="test-postback"]`)),
		fill(`.details [data-path="status"]`, "sale"), fill(`.details [data-path="payout"]`, "4.5"),
		chromedp.Click(chromedp.CSS(`[data-act="test-postback"]`)), chromedp.WaitVisible(chromedp.CSS("#test-postback-result:not(:empty)")))
	if s := text("test conversion", "#test-postback-result"); !strings.HasPrefix(s, "updated (lead → sale) · conversion #") {
		t.Errorf("test conversion: %q", s)
	}

	// Sorting by a metric's header: largest first, then smallest first.
	run("sort", visit("#/dashboard?range=last_7_days&group=day"), chromedp.Click(chromedp.CSS(`a[data-sort="clicks"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector("main").dataset.route.includes("sort=-clicks") && !!document.querySelector("#report")`))
	if s := text("largest first", "#report tbody tr td:nth-child(2)"); s != "4" {
		t.Errorf("by clicks, largest first: first row %q, want 4 (today's 3 and the live one)", s)
	}
	run("sort up", chromedp.Click(chromedp.CSS(`a[data-sort="clicks"]`)),
		chromedp.Poll[chromedp.Void](`/sort=clicks/.test(document.querySelector("main").dataset.route) && !!document.querySelector("#report")`))
	if s := text("smallest first", "#report tbody tr td:nth-child(2)"); s != "1" {
		t.Errorf("by clicks, smallest first: first row %q, want 1", s)
	}

	// Configuration: a new offer (refused first, with the field named), a
	// renamed campaign, an API key shown once.
	run("offers", visit("#/objects?kind=offers"), chromedp.WaitVisible(chromedp.CSS("#objects")),
		chromedp.Click(chromedp.CSS("#new-object")), chromedp.WaitVisible(chromedp.CSS(`[data-path="url"]`)),
		fill(`[data-path="name"]`, "Second offer"), fill(`[data-path="url"]`, "no scheme {nomacro}"),
		fill(`[data-path="payout.type"]`, "fixed"), fill(`[data-path="payout.amount"]`, "2.35"),
		chromedp.Click(chromedp.CSS("#form-save")), chromedp.WaitVisible(chromedp.CSS("#form-message .error")))
	if s := text("offer error", "#form-message"); !strings.HasPrefix(s, "url: ") {
		t.Errorf("a bad offer URL: the message %q does not start with the field", s)
	}
	if n := count("marked url", `document.querySelectorAll('[data-path="url"].invalid').length`); n != 1 {
		t.Error("the offer's URL input is not marked")
	}
	run("save the offer", fill(`[data-path="url"]`, "https://second.example/?c={clickid}"),
		chromedp.Click(chromedp.CSS("#form-save")), chromedp.WaitVisible(chromedp.CSS("#objects")))
	if s := text("offers", "#objects"); !strings.Contains(s, "Second offer") {
		t.Errorf("the new offer is not listed:\n%s", s)
	}
	if s := e.API("GET", "/offers/2", "", 200); !strings.Contains(s, `"payout":{"type":"fixed","amount":2.35`) {
		t.Errorf("the offer form saved %s", s)
	}
	// A traffic source from a preset, with one more parameter.
	run("source", visit("#/objects?kind=traffic-sources"), chromedp.Click(chromedp.CSS("#new-object")),
		chromedp.WaitVisible(chromedp.CSS(`[data-path="preset"]`)),
		fill(`[data-path="name"]`, "Propeller"), fill(`[data-path="preset"]`, "propellerads"),
		chromedp.Click(chromedp.CSS(`[data-act="add-param"]`)),
		fill(`[data-path="params[0].param"]`, "zoneid"), fill(`[data-path="params[0].slot"]`, "sub_id_5"),
		chromedp.Click(chromedp.CSS("#form-save")), chromedp.WaitVisible(chromedp.CSS("#objects")))
	if s := e.API("GET", "/traffic-sources/2", "", 200); !strings.Contains(s, `{"slot":"sub_id_5","param":"zoneid"}`) || !strings.Contains(s, `"name":"Propeller"`) {
		t.Errorf("the source form saved %s", s)
	}
	// A network from a preset, with one more status and its own key: the
	// preset fills the form, and its postback URL is shown once saved.
	run("network", visit("#/objects?kind=affiliate-networks"), chromedp.Click(chromedp.CSS(`#new-object[href^="#/network-edit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-path="preset"]`)), fill(`[data-path="preset"]`, "affise"),
		chromedp.WaitVisible(chromedp.CSS(`[data-path="statuses.1"]`)),
		chromedp.SetValue(chromedp.CSS("#new-status"), "7"), chromedp.Click(chromedp.CSS(`[data-act="add-status"]`)),
		fill(`[data-path="statuses.7"]`, "lead"), fill(`[data-path="postback_key"]`, "network-key-0123456789"),
		chromedp.Click(chromedp.CSS("#form-save")), chromedp.WaitVisible(chromedp.CSS("#network-postback-url")))
	if s := text("network postback url", "#network-postback-url"); !strings.Contains(s, "{sub1}") {
		t.Errorf("network postback URL %q lacks the preset's macro", s)
	}
	var nets struct {
		Items []struct {
			Name         string
			ClickIDParam string `json:"clickid_param"`
			Statuses     map[string]string
			PostbackKey  string `json:"postback_key"`
		}
	}
	json.Unmarshal([]byte(e.API("GET", "/affiliate-networks", "", 200)), &nets)
	if n := nets.Items; len(n) != 1 || n[0].Name != "Affise" || n[0].ClickIDParam != "sub1" || n[0].Statuses["7"] != "lead" ||
		n[0].Statuses["1"] != "sale" || n[0].PostbackKey != "network-key-0123456789" {
		t.Errorf("the network form saved %+v", nets.Items)
	}

	run("landing", visit("#/objects?kind=landings"), chromedp.Click(chromedp.CSS(`#new-object[href^="#/landing-edit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-path="url"]`)), fill(`[data-path="name"]`, "Quiz <u>page</u>"),
		fill(`[data-path="url"]`, "https://lp.example/quiz?c={clickid}"),
		chromedp.Click(chromedp.CSS("#form-save")), chromedp.WaitVisible(chromedp.CSS("#objects")))
	if s := text("landings", "#objects"); !strings.Contains(s, "Quiz <u>page</u>") {
		t.Errorf("the new landing is not listed as text:\n%s", s)
	}

	run("rename the campaign as JSON", visit("#/edit?kind=campaigns&id=1"),
		chromedp.WaitVisible(chromedp.CSS("#object-json")),
		chromedp.Evaluate[chromedp.Void](`(() => { const t = document.getElementById("object-json");
			const c = JSON.parse(t.value); c.name = "Renamed <i>camp</i>"; t.value = JSON.stringify(c); })()`),
		chromedp.Click(chromedp.CSS("#save")), chromedp.WaitVisible(chromedp.CSS("#objects")))
	if s := text("campaigns", "#objects"); !strings.Contains(s, "Renamed <i>camp</i> (/browser-test)") {
		t.Errorf("the renamed campaign is not listed as text:\n%s", s)
	}
	if n := count("italic elements", `document.querySelectorAll("main i").length`); n != 0 {
		t.Errorf("%d <i> elements: a campaign name became markup", n)
	}
	var streams struct{ Streams []struct{ Name string } }
	json.Unmarshal([]byte(e.API("GET", "/campaigns/1", "", 200)), &streams)
	if len(streams.Streams) != 2 || streams.Streams[0].Name != "numeric zones" {
		t.Errorf("the rename changed the streams: %+v", streams)
	}
	// A campaign made with the form: a reserved alias first (the message
	// and the input marked), then two streams, one with a regex holding a
	// comma.
	run("campaign form", visit("#/campaigns"), chromedp.Click(chromedp.CSS("#new-campaign")),
		chromedp.WaitVisible(chromedp.CSS("#streams-form")),
		chromedp.SetValue(chromedp.CSS(`[data-path="name"]`), "Form campaign"),
		chromedp.SetValue(chromedp.CSS(`[data-path="alias"]`), "admin"),
		chromedp.Evaluate[chromedp.Void](`(() => { for (const el of document.querySelectorAll("[data-path=name],[data-path=alias]")) el.dispatchEvent(new Event("input")); })()`),
		chromedp.Click(chromedp.CSS("#form-save")), chromedp.WaitVisible(chromedp.CSS("#form-message .error")))
	if s := text("reserved alias", "#form-message"); !strings.Contains(s, "reserved") {
		t.Errorf("a reserved alias: message %q", s)
	}
	if n := count("marked input", `document.querySelectorAll('[data-path="alias"].invalid').length`); n != 1 {
		t.Error("the alias input is not marked invalid")
	}
	// The template's stream is the default one; add a regular stream with
	// a param filter before it.
	run("two streams",
		fill(`[data-path="alias"]`, "form-camp"),
		fill(`[data-path="traffic_source_id"]`, itoa(1)),
		chromedp.Click(chromedp.CSS(`[data-act="add-stream"]`)),
		fill(`[data-path="streams[1].name"]`, "Zones"),
		chromedp.Click(chromedp.CSS(`[data-stream="1"] [data-act="add-filter"]`)),
		fill(`[data-path="streams[1].filters[0].type"]`, "param"),
		fill(`[data-path="streams[1].filters[0].name"]`, "zone"),
		fill(`[data-path="streams[1].filters[0].op"]`, "regex"),
		fill(`[data-path="streams[1].filters[0].values"]`, "^[0-9]{1,3}$"),
		chromedp.Click(chromedp.CSS(`[data-stream="1"] [data-act="add-offer"]`)),
	)
	run("move it up and save", chromedp.Click(chromedp.CSS(`[data-stream="1"] [data-act="move-up"]`)),
		chromedp.Click(chromedp.CSS("#form-save")), chromedp.WaitVisible(chromedp.CSS("#streams")))
	var made struct {
		Items []struct {
			Alias   string
			Streams []struct {
				Name, Type string
				Filters    []struct {
					Type, Name, Op string
					Values         []string
				}
				Offers []struct {
					OfferID int64 `json:"offer_id"`
				}
			}
		}
	}
	json.Unmarshal([]byte(e.API("GET", "/campaigns", "", 200)), &made)
	got := made.Items[len(made.Items)-1]
	if got.Alias != "form-camp" || len(got.Streams) != 2 || got.Streams[0].Name != "Zones" || got.Streams[0].Type != "regular" ||
		len(got.Streams[0].Filters) != 1 || got.Streams[0].Filters[0].Op != "regex" || strings.Join(got.Streams[0].Filters[0].Values, "|") != "^[0-9]{1,3}$" ||
		len(got.Streams[0].Offers) != 1 || got.Streams[1].Type != "default" {
		t.Errorf("the form made %+v", got)
	}

	// Editing with the form keeps the streams' ids (their statistics).
	streamIDs := func() string {
		var c struct{ Streams []struct{ ID int64 } }
		json.Unmarshal([]byte(e.API("GET", "/campaigns/1", "", 200)), &c)
		return fmt.Sprint(c.Streams)
	}
	before := streamIDs()
	run("edit with the form", visit("#/campaign?id=1"), chromedp.Click(chromedp.CSS("#edit-campaign")),
		chromedp.WaitVisible(chromedp.CSS("#streams-form")), fill(`[data-path="name"]`, "Browser test"),
		fill(`[data-path="streams[0].weight"]`, "60"),
		chromedp.Click(chromedp.CSS("#form-save")), chromedp.WaitVisible(chromedp.CSS("#streams")))
	if after := streamIDs(); after != before || !strings.Contains(e.API("GET", "/campaigns/1", "", 200), `"weight":60`) {
		t.Errorf("stream ids %s → %s, or the weight was not saved", before, after)
	}

	run("new API key", visit("#/edit?kind=api-keys"), chromedp.WaitVisible(chromedp.CSS("#object-json")),
		chromedp.Click(chromedp.CSS("#save")), chromedp.WaitVisible(chromedp.CSS("#new-key")))
	if k := text("new key", "#new-key"); !strings.HasPrefix(k, "trk_") {
		t.Errorf("new key = %q", k)
	}

	// Settings: a bad zone refused with its input marked, a good one saved
	// without touching the postback key, then a new key in two clicks.
	run("settings", visit("#/settings"), chromedp.WaitVisible(chromedp.CSS("#postback-url")))
	if s := text("postback url", "#postback-url"); !strings.Contains(s, "/"+e.PostbackKey+"/postback?subid={clickid}") {
		t.Errorf("postback URL %q lacks the key", s)
	}
	run("bad zone", fill(`[data-path="timezone"]`, "Nowhere/Bad"), chromedp.Click(chromedp.CSS("#form-save")),
		chromedp.WaitVisible(chromedp.CSS(`[data-path="timezone"].invalid`)))
	run("good zone", fill(`[data-path="timezone"]`, "Europe/Berlin"), chromedp.Click(chromedp.CSS("#form-save")),
		chromedp.Poll[chromedp.Void](`document.getElementById("form-message").textContent === "Saved."`))
	var st struct {
		Timezone    string
		PostbackKey string `json:"postback_key"`
	}
	json.Unmarshal([]byte(e.API("GET", "/settings", "", 200)), &st)
	if st.Timezone != "Europe/Berlin" || st.PostbackKey != e.PostbackKey {
		t.Errorf("settings after the save: %+v (the key was %s)", st, e.PostbackKey)
	}
	run("new key", chromedp.Click(chromedp.CSS(`[data-act="rotate-key"]`)), chromedp.Click(chromedp.CSS(`[data-act="rotate-key"]`)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`!document.getElementById("postback-url").textContent.includes(%q)`, e.PostbackKey)))
	json.Unmarshal([]byte(e.API("GET", "/settings", "", 200)), &st)
	if s := text("new postback url", "#postback-url"); st.PostbackKey == e.PostbackKey || !strings.Contains(s, "/"+st.PostbackKey+"/postback") {
		t.Errorf("after a new key: page %q, API key %s (old %s)", s, st.PostbackKey, e.PostbackKey)
	}

	// Logging out ends the session: a reload shows the login form.
	run("log out", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#login-form")))

	// A viewer reads the same pages.
	login("viewer", "viewer password 1")
	if s := text("viewer", "#who"); s != "viewer (viewer)" {
		t.Errorf("#who = %q", s)
	}
	run("viewer's dashboard", visit("#/dashboard"))
	text("viewer's dashboard", "#report")
	run("viewer's offer", visit("#/edit?kind=offers&id=1"), chromedp.WaitVisible(chromedp.CSS("#object-json")))
	if n := count("viewer's save button", `document.getElementById("object-json").readOnly && document.getElementById("save").hidden ? 1 : 0`); n != 1 {
		t.Error("a viewer can edit an offer in the UI")
	}
	for _, route := range []string{"#/settings", "#/campaign-edit?id=1", "#/offer-edit?id=1", "#/source-edit?id=1"} {
		run("viewer at "+route, visit(route), chromedp.WaitVisible(chromedp.CSS(`[data-path="name"], [data-path="timezone"]`)))
		if n := count("enabled inputs", `main.querySelectorAll("input:not(:disabled), select:not(:disabled), #form-save:not(:disabled)").length`); n != 0 {
			t.Errorf("a viewer at %s has %d enabled inputs", route, n)
		}
	}

	// The viewer changes their own password (a wrong current one first),
	// and logs in with the new one.
	run("account", chromedp.Click(chromedp.CSS("#who a")), chromedp.WaitVisible(chromedp.CSS(`[data-path="current_password"]`)),
		fill(`[data-path="current_password"]`, "not it at all"), fill(`[data-path="new_password"]`, "viewer password 2"),
		fill(`[data-path="again"]`, "viewer password 2"), chromedp.Click(chromedp.CSS("#form-save")),
		chromedp.WaitVisible(chromedp.CSS(`[data-path="current_password"].invalid`)),
		fill(`[data-path="current_password"]`, "viewer password 1"), chromedp.Click(chromedp.CSS("#form-save")),
		chromedp.Poll[chromedp.Void](`document.getElementById("form-message").textContent.startsWith("Changed.")`))
	run("log out and in again", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	login("viewer", "viewer password 2")
	if s := text("viewer again", "#who"); s != "viewer (viewer)" {
		t.Errorf("#who after the new password = %q", s)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
}

// seed makes a campaign with three clicks whose parameters carry markup, a
// sale for one of them, a refused postback, and a viewer.
func seed(t *testing.T, e *servertest.Env) (first string) {
	t.Helper()
	// The source's postback goes to a receiver on loopback that refuses
	// the first call for good (400: the job fails) and takes the next.
	var calls atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "bad <b>zone</b>", http.StatusBadRequest)
		}
	}))
	t.Cleanup(receiver.Close)
	e.API("PATCH", "/settings", `{"click_durability":"sync","outbound_allow":["127.0.0.0/8"]}`, 200)
	src := e.Create("/traffic-sources", `{"name":"Push","params":[{"slot":"sub_id_1","param":"zone"}],
		"postback":{"url":"`+receiver.URL+`/pb?zone={sub_id_1}&payout={payout}"}}`)
	offer := e.Create("/offers", `{"name":"Offer","url":"https://offer.example/?c={clickid}"}`)
	e.Create("/campaigns", `{"alias":"browser-test","name":"Browser test","traffic_source_id":`+itoa(src)+`,
		"streams":[{"name":"numeric zones","filters":[{"type":"param","name":"zone","op":"regex","values":["^[0-9]+$"]}],
		"offers":[{"offer_id":`+itoa(offer)+`}]},{"name":"all","type":"default","offers":[{"offer_id":`+itoa(offer)+`}]}]}`)
	e.Create("/users", `{"login":"viewer","role":"viewer","password":"viewer password 1"}`)

	first = click(t, e, xssZone)
	click(t, e, xssZone)
	click(t, e, xssZone)
	postback(t, e, url.Values{"subid": {first}, "status": {"sale"}, "payout": {"12.5"}, "tid": {"T-browser-1"}}, 200)
	postback(t, e, url.Values{"subid": {xssClickID}, "status": {"sale"}, "payout": {"1"}}, 400)

	// A click of yesterday (noon UTC, the account's zone), written to the
	// store directly: the click path only makes clicks of now.
	y := time.Now().UTC().AddDate(0, 0, -1)
	old := track.Click{ClickID: "00000000000000000000yesterday1", CreatedAt: time.Date(y.Year(), y.Month(), y.Day(), 12, 0, 0, 0, time.UTC),
		CampaignID: 1, StreamID: 2, OfferID: offer, TrafficSourceID: src, Country: "DE"}
	if err := e.DB.InsertClicks(context.Background(), []track.Click{old}); err != nil {
		t.Fatal(err)
	}

	waitJob(t, e, "failed")

	var log struct{ Items []json.RawMessage }
	json.Unmarshal([]byte(e.API("GET", "/clicks?limit=10", "", 200)), &log)
	if len(log.Items) != 4 {
		t.Fatalf("%d clicks in the store, want 4", len(log.Items))
	}
	return first
}

// click visits the test campaign with zone and returns the click id.
func click(t *testing.T, e *servertest.Env, zone string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", e.URL+"/browser-test?zone="+url.QueryEscape(zone), nil)
	req.Header.Set("User-Agent", xssUA)
	req.Header.Set("Accept-Language", "en-US")
	res, err := e.NoRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("c") == "" {
		t.Fatalf("click: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Query().Get("c")
}

// postback sends a postback with the global key and wants status want.
func postback(t *testing.T, e *servertest.Env, q url.Values, want int) {
	t.Helper()
	res, err := http.Get(e.URL + "/" + e.PostbackKey + "/postback?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != want {
		t.Fatalf("postback %v: %d, want %d", q, res.StatusCode, want)
	}
}

// waitJob waits for the one delivery job to be in state.
func waitJob(t *testing.T, e *servertest.Env, state string) {
	t.Helper()
	for i := 0; ; i++ {
		var jobs struct{ Items []struct{ State string } }
		json.Unmarshal([]byte(e.API("GET", "/outbound", "", 200)), &jobs)
		if len(jobs.Items) == 1 && jobs.Items[0].State == state {
			return
		}
		if i == 300 {
			t.Fatalf("the delivery job is not %s after 30 s: %+v", state, jobs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
