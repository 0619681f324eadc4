package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trackd/trackd/internal/track"
)

// --- webhooks ---

const webhookColumns = "id, name, url, events, enabled, secret, notes, created_at, updated_at"

func scanWebhook(r scanner) (track.Webhook, error) {
	var (
		w                track.Webhook
		events           string
		created, updated int64
	)
	if err := r.Scan(&w.ID, &w.Name, &w.URL, &events, &w.Enabled, &w.Secret, &w.Notes, &created, &updated); err != nil {
		return w, err
	}
	w.CreatedAt, w.UpdatedAt = fromDB(created), fromDB(updated)
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return w, fmt.Errorf("webhook %d events: %w", w.ID, err)
	}
	return w, nil
}

// Webhooks lists all webhooks by id.
func (db *DB) Webhooks(ctx context.Context) ([]track.Webhook, error) {
	out, err := list(ctx, db, scanWebhook, "SELECT "+webhookColumns+" FROM webhooks ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: list webhooks: %w", err)
	}
	return out, nil
}

// Webhook returns one webhook.
func (db *DB) Webhook(ctx context.Context, id int64) (track.Webhook, error) {
	w, err := scanWebhook(db.queryRow(ctx, "SELECT "+webhookColumns+" FROM webhooks WHERE id = ?", id))
	return w, notFoundIfNoRows(err, "webhook", id)
}

// CreateWebhook inserts w and sets its id and times.
func (db *DB) CreateWebhook(ctx context.Context, w *track.Webhook) error {
	w.CreatedAt, w.UpdatedAt = now(), now()
	return db.tx(ctx, func(tx *Tx) error {
		id, err := tx.insert(ctx, `INSERT INTO webhooks (name, url, events, enabled, secret, notes, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, w.Name, w.URL, jsonText(w.Events), w.Enabled, w.Secret, w.Notes,
			toDB(w.CreatedAt), toDB(w.UpdatedAt))
		if err != nil {
			return fmt.Errorf("store: insert webhook: %w", err)
		}
		w.ID = id
		return tx.bumpConfig(ctx)
	})
}

// UpdateWebhook saves w over the webhook with its id.
func (db *DB) UpdateWebhook(ctx context.Context, w *track.Webhook) error {
	w.UpdatedAt = now()
	return db.tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE webhooks SET name = ?, url = ?, events = ?, enabled = ?, secret = ?, notes = ?,
			updated_at = ? WHERE id = ?`, w.Name, w.URL, jsonText(w.Events), w.Enabled, w.Secret, w.Notes, toDB(w.UpdatedAt), w.ID)
		if err := updated(res, err, "webhook", w.ID); err != nil {
			return err
		}
		return tx.bumpConfig(ctx)
	})
}

// DeleteWebhook deletes a webhook; its queued jobs stay (and are sent).
func (db *DB) DeleteWebhook(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.deleteRow(ctx, "webhooks", "webhook", id); err != nil {
			return err
		}
		return tx.bumpConfig(ctx)
	})
}

// --- delivery jobs ---

const insertJobSQL = `INSERT INTO outbound_jobs (conversion_id, click_id, status, target, host, method, url, headers, body,
	secret, state, attempts, next_attempt_at, lease_until, deadline, last_reason, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 0, ?, '', ?)
	ON CONFLICT (conversion_id, status, target) DO NOTHING`

// InsertOutboundJob queues j, unless a job for the same conversion,
// status and target exists: a replayed postback never sends twice. It
// reports whether j was queued.
func (tx *Tx) InsertOutboundJob(ctx context.Context, j *track.OutboundJob) (bool, error) {
	res, err := tx.execPrepared(ctx, insertJobSQL, j.ConversionID, j.ClickID, string(j.Status), j.Target, JobHost(j.URL),
		j.Method, j.URL, jsonText(j.Header), j.Body, j.Secret, track.JobPending, toDB(j.NextAttempt), toDB(j.Deadline),
		toDB(j.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("store: queue delivery to %s: %w", j.Target, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// JobHost is the host part of u (lower case, without user info), for
// the per-host limits.
func JobHost(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	return strings.ToLower(rest)
}

const jobColumns = `id, conversion_id, click_id, status, target, method, url, headers, body, secret, state, attempts,
	next_attempt_at, deadline, last_reason, created_at, delivered_at`

func scanJob(r scanner) (track.OutboundJob, error) {
	var (
		j                 track.OutboundJob
		headers           string
		next, dl, created int64
		delivered         *int64
	)
	err := r.Scan(&j.ID, &j.ConversionID, &j.ClickID, &j.Status, &j.Target, &j.Method, &j.URL, &headers, &j.Body,
		&j.Secret, &j.State, &j.Attempts, &next, &dl, &j.LastReason, &created, &delivered)
	if err != nil {
		return j, err
	}
	j.NextAttempt, j.Deadline, j.CreatedAt = fromDB(next), fromDB(dl), fromDB(created)
	if delivered != nil {
		t := fromDB(*delivered)
		j.DeliveredAt = &t
	}
	if err := json.Unmarshal([]byte(headers), &j.Header); err != nil {
		return j, fmt.Errorf("job %d headers: %w", j.ID, err)
	}
	return j, nil
}

// ClaimJobs leases up to n due jobs until lease for this node and returns
// them, oldest due first. Jobs of paused targets and of the hosts in busy
// wait; an auto-paused target whose probe is due gives its oldest job, and
// its next probe is due after probe.
func (db *DB) ClaimJobs(ctx context.Context, n int, busy []string, now, lease time.Time, probe time.Duration) ([]track.OutboundJob, error) {
	var out []track.OutboundJob
	err := db.tx(ctx, func(tx *Tx) error {
		args := []any{track.JobPending, toDB(now), toDB(now)}
		// A job waits for the earlier jobs of its conversion and target
		// (lead, then sale): a receiver sees a conversion's changes in order.
		q := `SELECT id FROM (SELECT id FROM outbound_jobs WHERE state = ? AND next_attempt_at <= ? AND lease_until <= ?
			AND target NOT IN (SELECT target FROM outbound_targets WHERE paused)
			AND NOT EXISTS (SELECT 1 FROM outbound_jobs e WHERE e.conversion_id = outbound_jobs.conversion_id
				AND e.target = outbound_jobs.target AND e.id < outbound_jobs.id AND e.state = ?)`
		args = append(args, track.JobPending)
		if len(busy) > 0 {
			q += " AND host NOT IN (" + placeholders(len(busy)) + ")"
			for _, h := range busy {
				args = append(args, h)
			}
		}
		q += " ORDER BY next_attempt_at LIMIT " + strconv.Itoa(n) + ") due"
		// Probes: the oldest job of each auto-paused target whose probe is due.
		q += ` UNION SELECT (SELECT j.id FROM outbound_jobs j WHERE j.target = t.target AND j.state = ?
			AND j.lease_until <= ? ORDER BY j.id LIMIT 1) FROM outbound_targets t WHERE t.paused AND t.auto_paused
			AND t.next_probe_at <= ?`
		args = append(args, track.JobPending, toDB(now), toDB(now))
		if db.engine == Postgres {
			q = "SELECT id FROM outbound_jobs WHERE id IN (" + q + ") FOR UPDATE SKIP LOCKED"
		}
		rows, err := tx.query(ctx, "UPDATE outbound_jobs SET lease_until = ? WHERE id IN ("+q+") RETURNING "+jobColumns,
			append([]any{toDB(lease)}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			j, err := scanJob(rows)
			if err != nil {
				return err
			}
			out = append(out, j)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// A probe is due again later, whatever it gives.
		_, err = tx.exec(ctx, `UPDATE outbound_targets SET next_probe_at = ? WHERE paused AND auto_paused AND next_probe_at <= ?`,
			toDB(now.Add(probe)), toDB(now))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim delivery jobs: %w", err)
	}
	return out, nil
}

// JobResult is what became of one attempt of a job.
type JobResult struct {
	Job     track.OutboundJob // as claimed
	Attempt track.OutboundAttempt
	// State is the job's new state; NextAttempt when it stays pending.
	State       string
	NextAttempt time.Time
	// Failure counts towards pausing its target; PauseAfter failures in a
	// row since the last delivery pause it, with a first probe after
	// Probe.
	Failure    bool
	PauseAfter int
	Probe      time.Duration
}

// RecordJobResults writes the attempts of a batch, the jobs' new states
// and their targets' failure counts, in one transaction. It returns the
// targets that this batch paused.
func (db *DB) RecordJobResults(ctx context.Context, results []JobResult) (paused []string, err error) {
	err = db.tx(ctx, func(tx *Tx) error {
		paused = paused[:0]
		for i := range results {
			r := &results[i]
			a := &r.Attempt
			if _, err := tx.execPrepared(ctx, `INSERT INTO outbound_attempts (job_id, at, url, status_code, latency_us, outcome,
				reason, response) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.Job.ID, toDB(a.At), a.URL, a.StatusCode,
				int64(a.LatencyMS*1000), a.Outcome, a.Reason, a.Response); err != nil {
				return fmt.Errorf("store: log delivery attempt: %w", err)
			}
			var delivered *int64
			if r.State == track.JobDelivered {
				at := toDB(a.At)
				delivered = &at
			}
			if _, err := tx.execPrepared(ctx, `UPDATE outbound_jobs SET state = ?, attempts = attempts + 1, next_attempt_at = ?,
				lease_until = 0, last_reason = ?, delivered_at = ? WHERE id = ?`, r.State, toDB(r.NextAttempt), a.Reason,
				delivered, r.Job.ID); err != nil {
				return fmt.Errorf("store: update delivery job %d: %w", r.Job.ID, err)
			}
			now, err := tx.targetResult(ctx, r)
			if err != nil {
				return err
			}
			if now {
				paused = append(paused, r.Job.Target)
			}
		}
		return nil
	})
	return paused, err
}

// targetResult counts a failure of r's target, pausing it after
// r.PauseAfter in a row, or clears the count (and an automatic pause,
// with its backlog due at once) on a delivery.
// It reports whether this result paused the target.
func (tx *Tx) targetResult(ctx context.Context, r *JobResult) (bool, error) {
	at := toDB(r.Attempt.At)
	switch {
	case r.State == track.JobDelivered:
		res, err := tx.execPrepared(ctx, `UPDATE outbound_targets SET failures = 0, last_success_at = ?,
			paused = CASE WHEN auto_paused THEN FALSE ELSE paused END, auto_paused = FALSE WHERE target = ? AND
			(failures > 0 OR auto_paused)`, at, r.Job.Target)
		if err != nil {
			return false, fmt.Errorf("store: target %s: %w", r.Job.Target, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return false, tx.resumeJobs(ctx, r.Job.Target, r.Attempt.At)
		}
		return false, nil
	case r.Failure:
		if _, err := tx.execPrepared(ctx, `INSERT INTO outbound_targets (target, paused, auto_paused, paused_at, reason,
			failures, last_success_at, next_probe_at) VALUES (?, FALSE, FALSE, 0, '', 1, 0, 0)
			ON CONFLICT (target) DO UPDATE SET failures = outbound_targets.failures + 1`, r.Job.Target); err != nil {
			return false, fmt.Errorf("store: target %s: %w", r.Job.Target, err)
		}
		res, err := tx.execPrepared(ctx, `UPDATE outbound_targets SET paused = TRUE, auto_paused = TRUE, paused_at = ?,
			reason = ?, next_probe_at = ? WHERE target = ? AND NOT paused AND failures >= ?`, at,
			fmt.Sprintf("paused after %d failed deliveries in a row; last: %s", r.PauseAfter, r.Attempt.Reason),
			toDB(r.Attempt.At.Add(r.Probe)), r.Job.Target, r.PauseAfter)
		if err != nil {
			return false, fmt.Errorf("store: target %s: %w", r.Job.Target, err)
		}
		n, _ := res.RowsAffected()
		return n > 0, nil
	}
	return false, nil
}

// resumeJobs makes the pending jobs of target due at once, with at least
// an hour of retries left.
func (tx *Tx) resumeJobs(ctx context.Context, target string, now time.Time) error {
	_, err := tx.exec(ctx, `UPDATE outbound_jobs SET next_attempt_at = ?,
		deadline = CASE WHEN deadline < ? THEN ? ELSE deadline END WHERE target = ? AND state = ?`,
		toDB(now), toDB(now.Add(time.Hour)), toDB(now.Add(time.Hour)), target, track.JobPending)
	return err
}

// OutboundTargets returns the targets that ever failed or were paused,
// with the counts of their pending and failed jobs.
func (db *DB) OutboundTargets(ctx context.Context) ([]track.OutboundTarget, error) {
	out, err := list(ctx, db, func(r scanner) (track.OutboundTarget, error) {
		var (
			t                   track.OutboundTarget
			pausedAt, ok, probe int64
		)
		err := r.Scan(&t.Target, &t.Paused, &t.AutoPaused, &pausedAt, &t.Reason, &t.Failures, &ok, &probe, &t.Pending, &t.Failed)
		t.PausedAt, t.LastSuccess, t.NextProbe = fromDB(pausedAt), fromDB(ok), fromDB(probe)
		return t, err
	}, `SELECT t.target, t.paused, t.auto_paused, t.paused_at, t.reason, t.failures, t.last_success_at, t.next_probe_at,
		(SELECT COUNT(*) FROM outbound_jobs j WHERE j.target = t.target AND j.state = ?),
		(SELECT COUNT(*) FROM outbound_jobs j WHERE j.target = t.target AND j.state = ?)
		FROM outbound_targets t ORDER BY t.target`, track.JobPending, track.JobFailed)
	if err != nil {
		return nil, fmt.Errorf("store: list delivery targets: %w", err)
	}
	return out, nil
}

// TargetPaused reports whether target is paused.
func (db *DB) TargetPaused(ctx context.Context, target string) (bool, error) {
	var paused bool
	err := db.queryRow(ctx, "SELECT paused FROM outbound_targets WHERE target = ?", target).Scan(&paused)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return paused, err
}

// PauseTarget pauses (or with pause false resumes) deliveries to target
// by hand. Resuming makes its backlog due at once.
func (db *DB) PauseTarget(ctx context.Context, target string, pause bool, now time.Time) error {
	return db.tx(ctx, func(tx *Tx) error {
		reason := ""
		if pause {
			reason = "paused by a user"
		}
		if _, err := tx.exec(ctx, `INSERT INTO outbound_targets (target, paused, auto_paused, paused_at, reason, failures,
			last_success_at, next_probe_at) VALUES (?, ?, FALSE, ?, ?, 0, 0, 0)
			ON CONFLICT (target) DO UPDATE SET paused = ?, auto_paused = FALSE, paused_at = ?, reason = ?,
			failures = CASE WHEN ? THEN outbound_targets.failures ELSE 0 END`,
			target, pause, toDB(now), reason, pause, toDB(now), reason, pause); err != nil {
			return fmt.Errorf("store: pause %s: %w", target, err)
		}
		if pause {
			return nil
		}
		return tx.resumeJobs(ctx, target, now)
	})
}

// RetryJobs makes the jobs with these ids (or, with ids empty, all failed
// jobs of target) pending and due at once, with a fresh retry horizon.
// It returns how many it changed.
func (db *DB) RetryJobs(ctx context.Context, ids []int64, target string, now, deadline time.Time) (int, error) {
	var f filter
	f.cmp("state <> ?", track.JobPending, true)
	if len(ids) > 0 {
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		f.where = append(f.where, "id IN ("+placeholders(len(ids))+")")
		f.args = append(f.args, args...)
	} else {
		f.eq("target", target, true)
		f.eq("state", track.JobFailed, true)
	}
	var n int64
	err := db.tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, "UPDATE outbound_jobs SET state = ?, next_attempt_at = ?, deadline = ?, lease_until = 0"+
			f.sql(), append([]any{track.JobPending, toDB(now), toDB(deadline)}, f.args...)...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: retry deliveries: %w", err)
	}
	return int(n), nil
}

// JobQuery filters OutboundJobs; zero fields do not filter.
type JobQuery struct {
	ClickID      string
	ConversionID int64
	Target       string
	State        string
	Before       int64
	Limit        int
}

// OutboundJobs returns delivery jobs newest first.
func (db *DB) OutboundJobs(ctx context.Context, q JobQuery) ([]track.OutboundJob, error) {
	var f filter
	f.eq("click_id", q.ClickID, q.ClickID != "")
	f.eq("conversion_id", q.ConversionID, q.ConversionID != 0)
	f.eq("target", q.Target, q.Target != "")
	f.eq("state", q.State, q.State != "")
	f.cmp("id < ?", q.Before, q.Before != 0)
	out, err := list(ctx, db, scanJob, "SELECT "+jobColumns+" FROM outbound_jobs"+f.sql()+
		" ORDER BY id DESC LIMIT "+strconv.Itoa(limit(q.Limit)), f.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list delivery jobs: %w", err)
	}
	return out, nil
}

// OutboundJob returns one job with its attempts, oldest first.
func (db *DB) OutboundJob(ctx context.Context, id int64) (track.OutboundJob, error) {
	j, err := scanJob(db.queryRow(ctx, "SELECT "+jobColumns+" FROM outbound_jobs WHERE id = ?", id))
	if err != nil {
		return j, notFoundIfNoRows(err, "delivery job", id)
	}
	j.History, err = list(ctx, db, func(r scanner) (track.OutboundAttempt, error) {
		var (
			a       track.OutboundAttempt
			at, lat int64
		)
		err := r.Scan(&a.ID, &a.JobID, &at, &a.URL, &a.StatusCode, &lat, &a.Outcome, &a.Reason, &a.Response)
		a.At, a.LatencyMS = fromDB(at), float64(lat)/1000
		return a, err
	}, `SELECT id, job_id, at, url, status_code, latency_us, outcome, reason, response FROM outbound_attempts
		WHERE job_id = ? ORDER BY id`, id)
	return j, err
}

// ReleaseLeases frees the jobs claimed by a node that ended without
// recording them. Only for a store that a single node uses (SQLite): on
// PostgreSQL another node may hold them, and leases run out by themselves.
func (db *DB) ReleaseLeases(ctx context.Context) error {
	if db.engine != SQLite {
		return nil
	}
	return db.tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, "UPDATE outbound_jobs SET lease_until = 0 WHERE lease_until > 0 AND state = ?", track.JobPending)
		return err
	})
}

// PendingJobs counts the jobs waiting for delivery.
func (db *DB) PendingJobs(ctx context.Context) (int64, error) {
	var n int64
	err := db.queryRow(ctx, "SELECT COUNT(*) FROM outbound_jobs WHERE state = ?", track.JobPending).Scan(&n)
	return n, err
}
