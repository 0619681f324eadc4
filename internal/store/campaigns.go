package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/trackd/trackd/internal/track"
)

const campaignColumns = `id, alias, name, traffic_source_id, cost_model, cost_amount, cost_currency, cost_from_param,
	uniqueness_hours, uniqueness_method, rotation, visitor_binding, paused, notes, postback, created_at, updated_at`

func scanCampaign(r scanner) (track.Campaign, error) {
	var (
		c                track.Campaign
		source           sql.NullInt64
		created, updated int64
		postback         string
	)
	err := r.Scan(&c.ID, &c.Alias, &c.Name, &source, &c.Cost.Model, &c.Cost.Amount, &c.Cost.Currency, &c.Cost.FromParam,
		&c.UniquenessHours, &c.UniquenessMethod, &c.Rotation, &c.VisitorBinding, &c.Paused, &c.Notes, &postback, &created, &updated)
	if err == nil {
		if jerr := json.Unmarshal([]byte(postback), &c.Postback); jerr != nil {
			return c, fmt.Errorf("campaign %d postback: %w", c.ID, jerr)
		}
		c.Postback.SourcePostback.Normalize()
	}
	c.TrafficSourceID = nullID(source)
	c.CreatedAt, c.UpdatedAt = fromDB(created), fromDB(updated)
	c.Streams = []track.Stream{}
	return c, err
}

// Campaigns lists all campaigns by id, with their streams.
func (db *DB) Campaigns(ctx context.Context) ([]track.Campaign, error) {
	cs, err := list(ctx, db, scanCampaign, "SELECT "+campaignColumns+" FROM campaigns ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: list campaigns: %w", err)
	}
	byID := make(map[int64]*track.Campaign, len(cs))
	for i := range cs {
		byID[cs[i].ID] = &cs[i]
	}
	if err := db.loadStreams(ctx, byID, ""); err != nil {
		return nil, err
	}
	return cs, nil
}

// Campaign returns one campaign with its streams.
func (db *DB) Campaign(ctx context.Context, id int64) (track.Campaign, error) {
	c, err := scanCampaign(db.queryRow(ctx, "SELECT "+campaignColumns+" FROM campaigns WHERE id = ?", id))
	if err != nil {
		return c, notFoundIfNoRows(err, "campaign", id)
	}
	err = db.loadStreams(ctx, map[int64]*track.Campaign{id: &c}, " WHERE s.campaign_id = "+strconv.FormatInt(id, 10))
	return c, err
}

// loadStreams fills the streams of the campaigns in byID. where limits the
// streams read, for one campaign.
func (db *DB) loadStreams(ctx context.Context, byID map[int64]*track.Campaign, where string) error {
	rows, err := db.query(ctx, `SELECT s.id, s.campaign_id, s.name, s.type, s.weight, s.paused, s.filter_mode, s.filters,
		s.schema, s.redirect, s.action FROM streams s`+where+` ORDER BY s.campaign_id, s.position`)
	if err != nil {
		return fmt.Errorf("store: list streams: %w", err)
	}
	streams := map[int64]*track.Stream{}
	type ref struct{ campaign, stream int64 }
	var order []ref
	for rows.Next() {
		var (
			s          track.Stream
			campaignID int64
			filters    string
			action     sql.NullString
		)
		if err := rows.Scan(&s.ID, &campaignID, &s.Name, &s.Type, &s.Weight, &s.Paused, &s.FilterMode, &filters,
			&s.Schema, &s.Redirect, &action); err != nil {
			rows.Close()
			return fmt.Errorf("store: scan stream: %w", err)
		}
		if err := json.Unmarshal([]byte(filters), &s.Filters); err != nil {
			rows.Close()
			return fmt.Errorf("store: stream %d filters: %w", s.ID, err)
		}
		if action.Valid {
			s.Action = new(track.Action)
			if err := json.Unmarshal([]byte(action.String), s.Action); err != nil {
				rows.Close()
				return fmt.Errorf("store: stream %d action: %w", s.ID, err)
			}
		}
		s.Offers, s.Landings = []track.OfferShare{}, []track.LandingShare{}
		c := byID[campaignID]
		if c == nil {
			continue
		}
		c.Streams = append(c.Streams, s)
		order = append(order, ref{campaignID, s.ID})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// Pointers into the slices are taken only now that they stop growing.
	for _, r := range order {
		c := byID[r.campaign]
		for i := range c.Streams {
			if c.Streams[i].ID == r.stream {
				streams[r.stream] = &c.Streams[i]
			}
		}
	}
	join := ""
	if where != "" {
		join = " JOIN streams s ON s.id = x.stream_id" + where
	}
	rows, err = db.query(ctx, "SELECT x.stream_id, x.offer_id, x.share FROM stream_offers x"+join+" ORDER BY x.stream_id, x.position")
	if err != nil {
		return fmt.Errorf("store: list stream offers: %w", err)
	}
	for rows.Next() {
		var (
			streamID int64
			sh       track.OfferShare
		)
		if err := rows.Scan(&streamID, &sh.OfferID, &sh.Share); err != nil {
			rows.Close()
			return err
		}
		if s := streams[streamID]; s != nil {
			s.Offers = append(s.Offers, sh)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = db.query(ctx, "SELECT x.stream_id, x.landing_id, x.share FROM stream_landings x"+join+" ORDER BY x.stream_id, x.position")
	if err != nil {
		return fmt.Errorf("store: list stream landings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			streamID int64
			sh       track.LandingShare
		)
		if err := rows.Scan(&streamID, &sh.LandingID, &sh.Share); err != nil {
			return err
		}
		if s := streams[streamID]; s != nil {
			s.Landings = append(s.Landings, sh)
		}
	}
	return rows.Err()
}

func campaignArgs(c *track.Campaign) []any {
	return []any{c.Alias, c.Name, c.TrafficSourceID, c.Cost.Model, int64(c.Cost.Amount), c.Cost.Currency, c.Cost.FromParam,
		c.UniquenessHours, c.UniquenessMethod, c.Rotation, c.VisitorBinding, c.Paused, c.Notes, jsonText(c.Postback)}
}

// checkCampaign checks what the database knows and validation cannot: a
// free alias and the existence of everything c points to.
func (tx *Tx) checkCampaign(ctx context.Context, c *track.Campaign) error {
	taken, err := tx.exists(ctx, "SELECT 1 FROM campaigns WHERE alias = ? AND id <> ?", c.Alias, c.ID)
	if err != nil {
		return err
	}
	if taken {
		return track.Conflict("alias", "alias %q is used by another campaign", c.Alias)
	}
	if c.TrafficSourceID != nil {
		if err := tx.mustExist(ctx, "traffic_sources", *c.TrafficSourceID, "traffic_source_id", "traffic source"); err != nil {
			return err
		}
	}
	for i, s := range c.Streams {
		f := "streams[" + strconv.Itoa(i) + "]"
		if s.ID != 0 {
			ok, err := tx.exists(ctx, "SELECT 1 FROM streams WHERE id = ? AND campaign_id = ?", s.ID, c.ID)
			if err != nil {
				return err
			}
			if !ok {
				return track.Invalid(f+".id", "stream %d does not belong to this campaign", s.ID)
			}
		}
		for j, o := range s.Offers {
			if err := tx.mustExist(ctx, "offers", o.OfferID, f+".offers["+strconv.Itoa(j)+"].offer_id", "offer"); err != nil {
				return err
			}
		}
		for j, l := range s.Landings {
			if err := tx.mustExist(ctx, "landings", l.LandingID, f+".landings["+strconv.Itoa(j)+"].landing_id", "landing"); err != nil {
				return err
			}
		}
		if s.Action != nil && s.Action.Type == "campaign" {
			if err := tx.mustExist(ctx, "campaigns", s.Action.CampaignID, f+".action.campaign_id", "campaign"); err != nil {
				return err
			}
		}
	}
	return nil
}

// saveStreams makes the campaign's stored streams equal c.Streams: streams
// with an id are updated, the others inserted, the missing ones deleted.
func (tx *Tx) saveStreams(ctx context.Context, c *track.Campaign) error {
	keep := map[int64]bool{}
	for _, s := range c.Streams {
		keep[s.ID] = true
	}
	rows, err := tx.query(ctx, "SELECT id FROM streams WHERE campaign_id = ?", c.ID)
	if err != nil {
		return err
	}
	var drop []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		if !keep[id] {
			drop = append(drop, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range drop {
		if _, err := tx.exec(ctx, "DELETE FROM streams WHERE id = ?", id); err != nil {
			return fmt.Errorf("store: delete stream %d: %w", id, err)
		}
	}
	for i := range c.Streams {
		s := &c.Streams[i]
		var (
			action     any
			actionCamp any
		)
		if s.Action != nil {
			action = jsonText(s.Action)
			if s.Action.Type == "campaign" {
				actionCamp = s.Action.CampaignID
			}
		}
		args := []any{i, s.Name, s.Type, s.Weight, s.Paused, s.FilterMode, jsonText(s.Filters), s.Schema, s.Redirect, action, actionCamp}
		if s.ID == 0 {
			id, err := tx.insert(ctx, `INSERT INTO streams (position, name, type, weight, paused, filter_mode, filters, schema,
				redirect, action, action_campaign_id, campaign_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(args, c.ID)...)
			if err != nil {
				return fmt.Errorf("store: insert stream: %w", err)
			}
			s.ID = id
		} else {
			if _, err := tx.exec(ctx, `UPDATE streams SET position = ?, name = ?, type = ?, weight = ?, paused = ?, filter_mode = ?,
				filters = ?, schema = ?, redirect = ?, action = ?, action_campaign_id = ? WHERE id = ?`, append(args, s.ID)...); err != nil {
				return fmt.Errorf("store: update stream %d: %w", s.ID, err)
			}
			for _, table := range []string{"stream_offers", "stream_landings"} {
				if _, err := tx.exec(ctx, "DELETE FROM "+table+" WHERE stream_id = ?", s.ID); err != nil {
					return err
				}
			}
		}
		for j, o := range s.Offers {
			if _, err := tx.exec(ctx, "INSERT INTO stream_offers (stream_id, position, offer_id, share) VALUES (?, ?, ?, ?)",
				s.ID, j, o.OfferID, o.Share); err != nil {
				return fmt.Errorf("store: insert stream offer: %w", err)
			}
		}
		for j, l := range s.Landings {
			if _, err := tx.exec(ctx, "INSERT INTO stream_landings (stream_id, position, landing_id, share) VALUES (?, ?, ?, ?)",
				s.ID, j, l.LandingID, l.Share); err != nil {
				return fmt.Errorf("store: insert stream landing: %w", err)
			}
		}
	}
	return nil
}

// CreateCampaign inserts c with its streams and sets the ids and times.
func (db *DB) CreateCampaign(ctx context.Context, c *track.Campaign) error {
	c.CreatedAt, c.UpdatedAt = now(), now()
	err := db.tx(ctx, func(tx *Tx) error {
		if err := tx.checkCampaign(ctx, c); err != nil {
			return err
		}
		id, err := tx.insert(ctx, `INSERT INTO campaigns (alias, name, traffic_source_id, cost_model, cost_amount, cost_currency,
			cost_from_param, uniqueness_hours, uniqueness_method, rotation, visitor_binding, paused, notes, postback, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(campaignArgs(c), toDB(c.CreatedAt), toDB(c.UpdatedAt))...)
		if err != nil {
			return err
		}
		c.ID = id
		if err := tx.saveStreams(ctx, c); err != nil {
			return err
		}
		return tx.bumpConfig(ctx)
	})
	if err != nil {
		c.ID = 0
		for i := range c.Streams {
			c.Streams[i].ID = 0
		}
	}
	return campaignError(c, err)
}

// UpdateCampaign saves c and its streams over the campaign with its id.
func (db *DB) UpdateCampaign(ctx context.Context, c *track.Campaign) error {
	c.UpdatedAt = now()
	err := db.tx(ctx, func(tx *Tx) error {
		if err := tx.checkCampaign(ctx, c); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `UPDATE campaigns SET alias = ?, name = ?, traffic_source_id = ?, cost_model = ?, cost_amount = ?,
			cost_currency = ?, cost_from_param = ?, uniqueness_hours = ?, uniqueness_method = ?, rotation = ?,
			visitor_binding = ?, paused = ?, notes = ?, postback = ?, updated_at = ? WHERE id = ?`, append(campaignArgs(c), toDB(c.UpdatedAt), c.ID)...)
		if err := updated(res, err, "campaign", c.ID); err != nil {
			return err
		}
		if err := tx.saveStreams(ctx, c); err != nil {
			return err
		}
		return tx.bumpConfig(ctx)
	})
	return campaignError(c, err)
}

// campaignError turns a race on the alias (two requests checking at once)
// into the same conflict the check reports.
func campaignError(c *track.Campaign, err error) error {
	if err != nil && isUniqueViolation(err) {
		return track.Conflict("alias", "alias %q is used by another campaign", c.Alias)
	}
	if err != nil && isForeignKeyViolation(err) {
		return track.Conflict("", "an object this campaign refers to was deleted meanwhile; reload and try again")
	}
	return err
}

// DeleteCampaign deletes a campaign and its streams, unless another
// campaign sends visitors to it.
func (db *DB) DeleteCampaign(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		var alias string
		err := tx.queryRow(ctx, `SELECT c.alias FROM streams s JOIN campaigns c ON c.id = s.campaign_id
			WHERE s.action_campaign_id = ? AND s.campaign_id <> ? ORDER BY s.id LIMIT 1`, id, id).Scan(&alias)
		if err == nil {
			return track.Conflict("id", "campaign %d receives visitors from campaign %q", id, alias)
		}
		if err != sql.ErrNoRows {
			return err
		}
		return tx.deleteRow(ctx, "campaigns", "campaign", id)
	})
}
