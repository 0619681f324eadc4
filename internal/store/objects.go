package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/trackd/trackd/internal/track"
)

// jsonText encodes v for a JSON text column.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own plain structs go here; they always encode.
		panic(fmt.Sprintf("store: encode %T: %v", v, err))
	}
	return string(b)
}

// bumpConfig records that the configuration changed.
func (tx *Tx) bumpConfig(ctx context.Context) error {
	_, err := tx.exec(ctx, "UPDATE config_version SET version = version + 1 WHERE id = 1")
	return err
}

// ConfigVersion returns a number that grows with every configuration change.
func (db *DB) ConfigVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.queryRow(ctx, "SELECT version FROM config_version WHERE id = 1").Scan(&v)
	return v, err
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

// list runs query and scans every row with scan.
func list[T any](ctx context.Context, db *DB, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// deleteRow deletes one row by id and reports not found.
func (tx *Tx) deleteRow(ctx context.Context, table, kind string, id int64) error {
	res, err := tx.exec(ctx, "DELETE FROM "+table+" WHERE id = ?", id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return track.NotFound(kind, id)
	}
	return tx.bumpConfig(ctx)
}

// updated checks that an UPDATE touched a row.
func updated(res sql.Result, err error, kind string, id int64) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return track.NotFound(kind, id)
	}
	return nil
}

// --- traffic sources ---

const sourceColumns = "id, name, preset, params, postback, notes, created_at, updated_at"

func scanSource(r scanner) (track.TrafficSource, error) {
	var (
		s                track.TrafficSource
		params, postback string
		created, updated int64
	)
	err := r.Scan(&s.ID, &s.Name, &s.Preset, &params, &postback, &s.Notes, &created, &updated)
	if err != nil {
		return s, err
	}
	s.CreatedAt, s.UpdatedAt = fromDB(created), fromDB(updated)
	if err := json.Unmarshal([]byte(params), &s.Params); err != nil {
		return s, fmt.Errorf("traffic source %d params: %w", s.ID, err)
	}
	if err := json.Unmarshal([]byte(postback), &s.Postback); err != nil {
		return s, fmt.Errorf("traffic source %d postback: %w", s.ID, err)
	}
	return s, nil
}

// TrafficSources lists all traffic sources by id.
func (db *DB) TrafficSources(ctx context.Context) ([]track.TrafficSource, error) {
	out, err := list(ctx, db, scanSource, "SELECT "+sourceColumns+" FROM traffic_sources ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: list traffic sources: %w", err)
	}
	return out, nil
}

// TrafficSource returns one traffic source.
func (db *DB) TrafficSource(ctx context.Context, id int64) (track.TrafficSource, error) {
	s, err := scanSource(db.queryRow(ctx, "SELECT "+sourceColumns+" FROM traffic_sources WHERE id = ?", id))
	return s, notFoundIfNoRows(err, "traffic source", id)
}

// CreateTrafficSource inserts s and sets its id and times.
func (db *DB) CreateTrafficSource(ctx context.Context, s *track.TrafficSource) error {
	s.CreatedAt, s.UpdatedAt = now(), now()
	return db.tx(ctx, func(tx *Tx) error {
		id, err := tx.insert(ctx, `INSERT INTO traffic_sources (name, preset, params, postback, notes, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, s.Name, s.Preset, jsonText(s.Params), jsonText(s.Postback), s.Notes,
			toDB(s.CreatedAt), toDB(s.UpdatedAt))
		if err != nil {
			return fmt.Errorf("store: insert traffic source: %w", err)
		}
		s.ID = id
		return tx.bumpConfig(ctx)
	})
}

// UpdateTrafficSource saves s over the source with its id.
func (db *DB) UpdateTrafficSource(ctx context.Context, s *track.TrafficSource) error {
	s.UpdatedAt = now()
	return db.tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE traffic_sources SET name = ?, preset = ?, params = ?, postback = ?, notes = ?, updated_at = ?
			WHERE id = ?`, s.Name, s.Preset, jsonText(s.Params), jsonText(s.Postback), s.Notes, toDB(s.UpdatedAt), s.ID)
		if err := updated(res, err, "traffic source", s.ID); err != nil {
			return err
		}
		return tx.bumpConfig(ctx)
	})
}

// DeleteTrafficSource deletes a source that no campaign uses.
func (db *DB) DeleteTrafficSource(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		var alias string
		err := tx.queryRow(ctx, "SELECT alias FROM campaigns WHERE traffic_source_id = ? ORDER BY id LIMIT 1", id).Scan(&alias)
		if err == nil {
			return track.Conflict("id", "traffic source %d is used by campaign %q", id, alias)
		}
		if err != sql.ErrNoRows {
			return err
		}
		return tx.deleteRow(ctx, "traffic_sources", "traffic source", id)
	})
}

// --- affiliate networks ---

const networkColumns = "id, name, preset, clickid_param, postback_params, postback_macros, statuses, duplicate_policy, postback_key, ip_allowlist, signing_secret, allow_pixel, notes, created_at, updated_at"

func scanNetwork(r scanner) (track.AffiliateNetwork, error) {
	var (
		n                                   track.AffiliateNetwork
		params, macros, statuses, allowlist string
		created, updated                    int64
	)
	err := r.Scan(&n.ID, &n.Name, &n.Preset, &n.ClickIDParam, &params, &macros, &statuses, &n.DuplicatePolicy,
		&n.PostbackKey, &allowlist, &n.SigningSecret, &n.AllowPixel, &n.Notes, &created, &updated)
	if err != nil {
		return n, err
	}
	n.CreatedAt, n.UpdatedAt = fromDB(created), fromDB(updated)
	for _, c := range []struct {
		src string
		dst any
	}{{params, &n.PostbackParams}, {macros, &n.PostbackMacros}, {statuses, &n.Statuses}, {allowlist, &n.IPAllowlist}} {
		if err := json.Unmarshal([]byte(c.src), c.dst); err != nil {
			return n, fmt.Errorf("affiliate network %d: %w", n.ID, err)
		}
	}
	return n, nil
}

// AffiliateNetworks lists all affiliate networks by id.
func (db *DB) AffiliateNetworks(ctx context.Context) ([]track.AffiliateNetwork, error) {
	out, err := list(ctx, db, scanNetwork, "SELECT "+networkColumns+" FROM affiliate_networks ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: list affiliate networks: %w", err)
	}
	return out, nil
}

// AffiliateNetwork returns one affiliate network.
func (db *DB) AffiliateNetwork(ctx context.Context, id int64) (track.AffiliateNetwork, error) {
	n, err := scanNetwork(db.queryRow(ctx, "SELECT "+networkColumns+" FROM affiliate_networks WHERE id = ?", id))
	return n, notFoundIfNoRows(err, "affiliate network", id)
}

func networkArgs(n *track.AffiliateNetwork) []any {
	return []any{n.Name, n.Preset, n.ClickIDParam, jsonText(n.PostbackParams), jsonText(n.PostbackMacros),
		jsonText(n.Statuses), n.DuplicatePolicy, n.PostbackKey, jsonText(n.IPAllowlist), n.SigningSecret, n.AllowPixel, n.Notes}
}

// CreateAffiliateNetwork inserts n and sets its id and times.
func (db *DB) CreateAffiliateNetwork(ctx context.Context, n *track.AffiliateNetwork) error {
	n.CreatedAt, n.UpdatedAt = now(), now()
	return db.tx(ctx, func(tx *Tx) error {
		id, err := tx.insert(ctx, `INSERT INTO affiliate_networks (name, preset, clickid_param, postback_params, postback_macros,
			statuses, duplicate_policy, postback_key, ip_allowlist, signing_secret, allow_pixel, notes, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(networkArgs(n), toDB(n.CreatedAt), toDB(n.UpdatedAt))...)
		if err != nil {
			return fmt.Errorf("store: insert affiliate network: %w", err)
		}
		n.ID = id
		return tx.bumpConfig(ctx)
	})
}

// UpdateAffiliateNetwork saves n over the network with its id.
func (db *DB) UpdateAffiliateNetwork(ctx context.Context, n *track.AffiliateNetwork) error {
	n.UpdatedAt = now()
	return db.tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE affiliate_networks SET name = ?, preset = ?, clickid_param = ?, postback_params = ?,
			postback_macros = ?, statuses = ?, duplicate_policy = ?, postback_key = ?, ip_allowlist = ?,
			signing_secret = ?, allow_pixel = ?, notes = ?, updated_at = ?
			WHERE id = ?`, append(networkArgs(n), toDB(n.UpdatedAt), n.ID)...)
		if err := updated(res, err, "affiliate network", n.ID); err != nil {
			return err
		}
		return tx.bumpConfig(ctx)
	})
}

// DeleteAffiliateNetwork deletes a network that no offer uses.
func (db *DB) DeleteAffiliateNetwork(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		var name string
		err := tx.queryRow(ctx, "SELECT name FROM offers WHERE affiliate_network_id = ? ORDER BY id LIMIT 1", id).Scan(&name)
		if err == nil {
			return track.Conflict("id", "affiliate network %d is used by offer %q", id, name)
		}
		if err != sql.ErrNoRows {
			return err
		}
		return tx.deleteRow(ctx, "affiliate_networks", "affiliate network", id)
	})
}

// --- offers ---

const offerColumns = `id, name, url, affiliate_network_id, payout_type, payout_amount, payout_currency, upsells_allowed,
	daily_cap, alternative_offer_id, paused, notes, created_at, updated_at`

func scanOffer(r scanner) (track.Offer, error) {
	var (
		o                track.Offer
		network, alt     sql.NullInt64
		created, updated int64
	)
	err := r.Scan(&o.ID, &o.Name, &o.URL, &network, &o.Payout.Type, &o.Payout.Amount, &o.Payout.Currency,
		&o.UpsellsAllowed, &o.DailyCap, &alt, &o.Paused, &o.Notes, &created, &updated)
	o.AffiliateNetworkID, o.AlternativeOfferID = nullID(network), nullID(alt)
	o.CreatedAt, o.UpdatedAt = fromDB(created), fromDB(updated)
	return o, err
}

func nullID(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	return &n.Int64
}

// Offers lists all offers by id.
func (db *DB) Offers(ctx context.Context) ([]track.Offer, error) {
	out, err := list(ctx, db, scanOffer, "SELECT "+offerColumns+" FROM offers ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: list offers: %w", err)
	}
	return out, nil
}

// Offer returns one offer.
func (db *DB) Offer(ctx context.Context, id int64) (track.Offer, error) {
	o, err := scanOffer(db.queryRow(ctx, "SELECT "+offerColumns+" FROM offers WHERE id = ?", id))
	return o, notFoundIfNoRows(err, "offer", id)
}

// checkOfferRefs checks that the objects o points to exist.
func (tx *Tx) checkOfferRefs(ctx context.Context, o *track.Offer) error {
	if o.AffiliateNetworkID != nil {
		if err := tx.mustExist(ctx, "affiliate_networks", *o.AffiliateNetworkID, "affiliate_network_id", "affiliate network"); err != nil {
			return err
		}
	}
	if o.AlternativeOfferID != nil {
		if err := tx.mustExist(ctx, "offers", *o.AlternativeOfferID, "alternative_offer_id", "offer"); err != nil {
			return err
		}
	}
	return nil
}

// mustExist returns an invalid-field error when table has no row with id.
func (tx *Tx) mustExist(ctx context.Context, table string, id int64, field, kind string) error {
	ok, err := tx.exists(ctx, "SELECT 1 FROM "+table+" WHERE id = ?", id)
	if err != nil {
		return err
	}
	if !ok {
		return track.Invalid(field, "%s %d does not exist", kind, id)
	}
	return nil
}

func offerArgs(o *track.Offer) []any {
	return []any{o.Name, o.URL, o.AffiliateNetworkID, o.Payout.Type, int64(o.Payout.Amount), o.Payout.Currency,
		o.UpsellsAllowed, o.DailyCap, o.AlternativeOfferID, o.Paused, o.Notes}
}

// CreateOffer inserts o and sets its id and times.
func (db *DB) CreateOffer(ctx context.Context, o *track.Offer) error {
	o.CreatedAt, o.UpdatedAt = now(), now()
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.checkOfferRefs(ctx, o); err != nil {
			return err
		}
		id, err := tx.insert(ctx, `INSERT INTO offers (name, url, affiliate_network_id, payout_type, payout_amount,
			payout_currency, upsells_allowed, daily_cap, alternative_offer_id, paused, notes, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(offerArgs(o), toDB(o.CreatedAt), toDB(o.UpdatedAt))...)
		if err != nil {
			return fmt.Errorf("store: insert offer: %w", err)
		}
		o.ID = id
		return tx.bumpConfig(ctx)
	})
}

// UpdateOffer saves o over the offer with its id.
func (db *DB) UpdateOffer(ctx context.Context, o *track.Offer) error {
	o.UpdatedAt = now()
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.checkOfferRefs(ctx, o); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `UPDATE offers SET name = ?, url = ?, affiliate_network_id = ?, payout_type = ?,
			payout_amount = ?, payout_currency = ?, upsells_allowed = ?, daily_cap = ?, alternative_offer_id = ?,
			paused = ?, notes = ?, updated_at = ? WHERE id = ?`, append(offerArgs(o), toDB(o.UpdatedAt), o.ID)...)
		if err := updated(res, err, "offer", o.ID); err != nil {
			return err
		}
		return tx.bumpConfig(ctx)
	})
}

// DeleteOffer deletes an offer that no stream and no other offer uses.
func (db *DB) DeleteOffer(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		var (
			alias    string
			streamID int64
		)
		err := tx.queryRow(ctx, `SELECT c.alias, s.id FROM stream_offers so JOIN streams s ON s.id = so.stream_id
			JOIN campaigns c ON c.id = s.campaign_id WHERE so.offer_id = ? ORDER BY s.id LIMIT 1`, id).Scan(&alias, &streamID)
		if err == nil {
			return track.Conflict("id", "offer %d is used by stream %d of campaign %q", id, streamID, alias)
		}
		if err != sql.ErrNoRows {
			return err
		}
		var name string
		err = tx.queryRow(ctx, "SELECT name FROM offers WHERE alternative_offer_id = ? AND id <> ? ORDER BY id LIMIT 1", id, id).Scan(&name)
		if err == nil {
			return track.Conflict("id", "offer %d is the alternative of offer %q", id, name)
		}
		if err != sql.ErrNoRows {
			return err
		}
		return tx.deleteRow(ctx, "offers", "offer", id)
	})
}

// --- landings ---

const landingColumns = "id, name, url, paused, notes, created_at, updated_at"

func scanLanding(r scanner) (track.Landing, error) {
	var (
		l                track.Landing
		created, updated int64
	)
	err := r.Scan(&l.ID, &l.Name, &l.URL, &l.Paused, &l.Notes, &created, &updated)
	l.CreatedAt, l.UpdatedAt = fromDB(created), fromDB(updated)
	return l, err
}

// Landings lists all landings by id.
func (db *DB) Landings(ctx context.Context) ([]track.Landing, error) {
	out, err := list(ctx, db, scanLanding, "SELECT "+landingColumns+" FROM landings ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: list landings: %w", err)
	}
	return out, nil
}

// Landing returns one landing.
func (db *DB) Landing(ctx context.Context, id int64) (track.Landing, error) {
	l, err := scanLanding(db.queryRow(ctx, "SELECT "+landingColumns+" FROM landings WHERE id = ?", id))
	return l, notFoundIfNoRows(err, "landing", id)
}

// CreateLanding inserts l and sets its id and times.
func (db *DB) CreateLanding(ctx context.Context, l *track.Landing) error {
	l.CreatedAt, l.UpdatedAt = now(), now()
	return db.tx(ctx, func(tx *Tx) error {
		id, err := tx.insert(ctx, `INSERT INTO landings (name, url, paused, notes, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, l.Name, l.URL, l.Paused, l.Notes, toDB(l.CreatedAt), toDB(l.UpdatedAt))
		if err != nil {
			return fmt.Errorf("store: insert landing: %w", err)
		}
		l.ID = id
		return tx.bumpConfig(ctx)
	})
}

// UpdateLanding saves l over the landing with its id.
func (db *DB) UpdateLanding(ctx context.Context, l *track.Landing) error {
	l.UpdatedAt = now()
	return db.tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, "UPDATE landings SET name = ?, url = ?, paused = ?, notes = ?, updated_at = ? WHERE id = ?",
			l.Name, l.URL, l.Paused, l.Notes, toDB(l.UpdatedAt), l.ID)
		if err := updated(res, err, "landing", l.ID); err != nil {
			return err
		}
		return tx.bumpConfig(ctx)
	})
}

// DeleteLanding deletes a landing that no stream uses.
func (db *DB) DeleteLanding(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		var (
			alias    string
			streamID int64
		)
		err := tx.queryRow(ctx, `SELECT c.alias, s.id FROM stream_landings sl JOIN streams s ON s.id = sl.stream_id
			JOIN campaigns c ON c.id = s.campaign_id WHERE sl.landing_id = ? ORDER BY s.id LIMIT 1`, id).Scan(&alias, &streamID)
		if err == nil {
			return track.Conflict("id", "landing %d is used by stream %d of campaign %q", id, streamID, alias)
		}
		if err != sql.ErrNoRows {
			return err
		}
		return tx.deleteRow(ctx, "landings", "landing", id)
	})
}
