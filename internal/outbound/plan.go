package outbound

import (
	"encoding/json"
	"time"

	"github.com/trackd/trackd/internal/click"
	"github.com/trackd/trackd/internal/track"
)

// Jobs returns the deliveries a conversion change makes: the click's
// campaign and traffic source postbacks that fire for the conversion's
// status, and the webhooks that want the event. created says the
// conversion is new (an upsell or rebill too); otherwise it changed. The
// caller queues them in the transaction of the change.
func Jobs(snap *click.Snapshot, c *track.Click, conv *track.Conversion, created bool, now time.Time) []track.OutboundJob {
	var out []track.OutboundJob
	hours := snap.Settings.OutboundRetryHours
	if hours <= 0 {
		hours = 24
	}
	job := func(target, method, url, body string, header map[string]string) track.OutboundJob {
		return track.OutboundJob{ConversionID: conv.ID, ClickID: c.ClickID, Status: conv.Status, Target: target,
			Method: method, URL: url, Header: header, Body: body, State: track.JobPending, NextAttempt: now,
			Deadline: now.Add(time.Duration(hours) * time.Hour), CreatedAt: now}
	}
	for _, p := range snap.Postbacks(c) {
		if !p.Fires(conv.Status) || (p.FirstConversionOnly && conv.Upsell) {
			continue
		}
		e := snap.Expand(p, c, conv, now)
		out = append(out, job(p.Target, e.Method, e.URL, e.Body, e.Header))
	}
	event := track.EventConversionUpdated
	if created {
		event = track.EventConversionCreated
	}
	for _, w := range snap.Webhooks() {
		if !w.Wants(event) {
			continue
		}
		j := job(track.Target(track.TargetWebhook, w.ID), "POST", w.URL, string(WebhookBody(event, c, conv)), nil)
		j.Secret = w.Secret
		out = append(out, j)
	}
	return out
}

// WebhookBody is the JSON a webhook receives for event.
func WebhookBody(event string, c *track.Click, conv *track.Conversion) []byte {
	b, err := json.Marshal(struct {
		Event      string             `json:"event"`
		Conversion *track.Conversion  `json:"conversion"`
		Click      track.ClickSummary `json:"click"`
	}{event, conv, c.Summary()})
	if err != nil {
		// Every field above marshals; this would be a programming error.
		panic("outbound: webhook body: " + err.Error())
	}
	return b
}
