package click

import (
	"net/http"
	"strconv"
	"time"

	"github.com/trackd/trackd/internal/track"
)

// ServeLandingClick handles GET /lp/click: a visitor on a landing page goes
// on to the stream's offer. The click id comes from the clickid (or subid)
// parameter, or from the click cookie; offer=N picks an offer of the stream.
func (h *Handler) ServeLandingClick(w http.ResponseWriter, r *http.Request) {
	snap := h.snap.Load()
	q := r.URL.RawQuery
	id, _ := queryValue(q, "clickid")
	if id == "" {
		id, _ = queryValue(q, "subid")
	}
	if id == "" {
		if ck, err := r.Cookie(CookieClick); err == nil {
			id = ck.Value
		}
	}
	parsed, err := h.ids.Parse(id)
	if err != nil {
		// A forged or mangled id is refused before any lookup.
		h.m.clicks.WithLabelValues("lp_bad_clickid").Inc()
		h.notFound(w, r, snap)
		return
	}
	id = parsed.String()
	ck, ok := h.recent.get(id)
	if !ok {
		c, err := h.db.Click(r.Context(), id)
		if err != nil {
			h.m.clicks.WithLabelValues("lp_unknown_click").Inc()
			h.notFound(w, r, snap)
			return
		}
		ck = &c
	}
	c := snap.byID[ck.CampaignID]
	var st *stream
	if c != nil {
		st = c.streams[ck.StreamID]
	}
	if st == nil {
		h.notFound(w, r, snap)
		return
	}
	var o *offer
	if n, _ := queryValue(q, "offer"); n != "" {
		want, _ := strconv.ParseInt(n, 10, 64)
		o = st.offerByID[want]
	}
	if o == nil {
		o, _ = st.offers.pick()
	}
	if o == nil {
		h.notFound(w, r, snap)
		return
	}
	now := time.Now().UTC()
	if err := h.lp.Add(r.Context(), track.LandingClick{ClickID: id, CreatedAt: now.Truncate(time.Millisecond), OfferID: o.ID, Click: ck}, false); err != nil {
		h.log.Warn("landing click not queued", "click_id", id, "err", err)
	}
	// The offer sees the click as it was, with the offer now chosen.
	view := *ck
	view.OfferID = o.ID
	vals := &values{c: &view, campaign: c, query: ck.Query}
	w.Header().Set("Cache-Control", "no-store, max-age=0")
	redirect(w, st.Redirect, string(o.url.Expand(make([]byte, 0, 256), vals, now)))
}
