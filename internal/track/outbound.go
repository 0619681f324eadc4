package track

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Webhook events.
const (
	EventConversionCreated = "conversion.created" // a new conversion (also an upsell or rebill)
	EventConversionUpdated = "conversion.updated" // a status change or a payout update
)

// Webhook is a JSON notification of conversion events for the user's own
// systems, signed with Secret (see docs/outbound.md).
type Webhook struct {
	ID      int64    `json:"id" api:"readonly"`
	Name    string   `json:"name"`
	URL     string   `json:"url"`
	Events  []string `json:"events"`
	Enabled bool     `json:"enabled"`
	// Secret signs the body; generated when left empty.
	Secret    string    `json:"secret"`
	Notes     string    `json:"notes"`
	CreatedAt time.Time `json:"created_at" api:"readonly"`
	UpdatedAt time.Time `json:"updated_at" api:"readonly"`
}

// Normalize fills defaults that a client may leave out.
func (w *Webhook) Normalize() {
	w.Name = strings.TrimSpace(w.Name)
	if len(w.Events) == 0 {
		w.Events = []string{EventConversionCreated, EventConversionUpdated}
	}
}

// Validate checks w; call Normalize first.
func (w *Webhook) Validate() error {
	if err := validName("name", w.Name); err != nil {
		return err
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(w.URL) > 4096 {
		return Invalid("url", "must be an http:// or https:// URL of at most 4096 bytes")
	}
	for i, e := range w.Events {
		if e != EventConversionCreated && e != EventConversionUpdated {
			return Invalid("events["+strconv.Itoa(i)+"]", "unknown event %q (want %s or %s)", e,
				EventConversionCreated, EventConversionUpdated)
		}
	}
	if w.Secret != "" && (len(w.Secret) < 16 || len(w.Secret) > 200) {
		return Invalid("secret", "must be 16 to 200 bytes (or empty: one is generated)")
	}
	return validNotes(w.Notes)
}

// Wants reports whether w is sent for event.
func (w *Webhook) Wants(event string) bool { return w.Enabled && slices.Contains(w.Events, event) }

// Outbound targets: who a delivery job is for, "kind:id".
const (
	TargetSource   = "source"
	TargetCampaign = "campaign"
	TargetWebhook  = "webhook"
)

// Target names a target.
func Target(kind string, id int64) string { return kind + ":" + strconv.FormatInt(id, 10) }

// Job states.
const (
	JobPending   = "pending"
	JobDelivered = "delivered"
	JobFailed    = "failed" // given up: a permanent refusal, or out of retries
)

// OutboundJob is one delivery: a postback to a traffic source or a
// webhook call, for one conversion in one status. Its request is expanded
// when the job is made, in the transaction of the conversion change.
type OutboundJob struct {
	ID           int64             `json:"id"`
	ConversionID int64             `json:"conversion_id"`
	ClickID      string            `json:"click_id"`
	Status       Status            `json:"status"`
	Target       string            `json:"target"`
	Method       string            `json:"method"`
	URL          string            `json:"url"`
	Header       map[string]string `json:"headers"`
	Body         string            `json:"body"`
	State        string            `json:"state"`
	Attempts     int               `json:"attempts"`
	NextAttempt  time.Time         `json:"next_attempt_at"`
	Deadline     time.Time         `json:"deadline"`
	LastReason   string            `json:"last_reason"`
	CreatedAt    time.Time         `json:"created_at"`
	DeliveredAt  *time.Time        `json:"delivered_at"`
	// Secret signs a webhook's body at each attempt; never shown.
	Secret string `json:"-"`
	// History holds the attempts when one job is asked for.
	History []OutboundAttempt `json:"history,omitempty"`
}

// IdempotencyKey is the Idempotency-Key header of every attempt of j.
func (j *OutboundJob) IdempotencyKey() string { return "trackd-" + strconv.FormatInt(j.ID, 10) }

// OutboundAttempt is one try of a job.
type OutboundAttempt struct {
	ID         int64     `json:"id"`
	JobID      int64     `json:"job_id"`
	At         time.Time `json:"at"`
	URL        string    `json:"url"`
	StatusCode int       `json:"status_code"`
	LatencyMS  float64   `json:"latency_ms"`
	Outcome    string    `json:"outcome"` // delivered, retry, failed
	Reason     string    `json:"reason"`
	Response   string    `json:"response"`
}

// OutboundTarget is the delivery state of a target.
type OutboundTarget struct {
	Target string `json:"target"`
	// Paused targets get no deliveries; AutoPaused ones were paused for
	// failing and are probed with their oldest job now and then.
	Paused     bool      `json:"paused"`
	AutoPaused bool      `json:"auto_paused"`
	PausedAt   time.Time `json:"paused_at"`
	Reason     string    `json:"reason"`
	// Failures counts failed attempts since the last delivery.
	Failures    int       `json:"failures"`
	LastSuccess time.Time `json:"last_success_at"`
	NextProbe   time.Time `json:"next_probe_at"`
	// Pending and Failed count its jobs (filled by the API).
	Pending int `json:"pending"`
	Failed  int `json:"failed"`
}
