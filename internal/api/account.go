package api

import (
	"net/http"
	"strings"

	"github.com/trackd/trackd/internal/macro"
	"github.com/trackd/trackd/internal/preset"
	"github.com/trackd/trackd/internal/track"
)

func (a *API) listRates(w http.ResponseWriter, r *http.Request) error {
	rs, err := a.db.CurrencyRates(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, items[track.CurrencyRate]{rs})
	return nil
}

func pathCurrency(r *http.Request) (string, error) {
	c := strings.ToUpper(r.PathValue("currency"))
	if err := track.ValidCurrency(c); err != nil {
		return "", &Error{Status: http.StatusBadRequest, Code: "bad_request", Field: "currency", Message: err.Error()}
	}
	return c, nil
}

func (a *API) getRate(w http.ResponseWriter, r *http.Request) error {
	c, err := pathCurrency(r)
	if err != nil {
		return err
	}
	cr, err := a.db.CurrencyRate(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cr)
	return nil
}

func (a *API) createRate(w http.ResponseWriter, r *http.Request) error {
	var cr track.CurrencyRate
	if err := decode(w, r, &cr); err != nil {
		return err
	}
	if err := a.checkRate(r, &cr); err != nil {
		return err
	}
	if _, err := a.db.CurrencyRate(r.Context(), cr.Currency); err == nil {
		return track.Conflict("currency", "a rate for %s exists; PUT %s/currency-rates/%s replaces it", cr.Currency, Prefix, cr.Currency)
	}
	if _, err := a.db.PutCurrencyRate(r.Context(), &cr); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, cr)
	return nil
}

// putRate creates or replaces the rate of the currency in the path.
func (a *API) putRate(w http.ResponseWriter, r *http.Request) error {
	c, err := pathCurrency(r)
	if err != nil {
		return err
	}
	var cr track.CurrencyRate
	if err := decode(w, r, &cr); err != nil {
		return err
	}
	if cr.Currency != "" && strings.ToUpper(cr.Currency) != c {
		return track.Invalid("currency", "body says %s but the path says %s", cr.Currency, c)
	}
	cr.Currency = c
	if err := a.checkRate(r, &cr); err != nil {
		return err
	}
	created, err := a.db.PutCurrencyRate(r.Context(), &cr)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, cr)
	return nil
}

func (a *API) checkRate(r *http.Request, cr *track.CurrencyRate) error {
	if err := cr.Validate(); err != nil {
		return err
	}
	cur, err := a.accountCurrency(r.Context())
	if err != nil {
		return err
	}
	if cr.Currency == cur {
		return track.Invalid("currency", "%s is the account currency: its rate is always 1", cur)
	}
	return nil
}

func (a *API) deleteRate(w http.ResponseWriter, r *http.Request) error {
	c, err := pathCurrency(r)
	if err != nil {
		return err
	}
	if err := a.db.DeleteCurrencyRate(r.Context(), c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// settings returns the settings as the caller may see them: only an admin
// sees the postback key.
func (a *API) settings(r *http.Request) (track.Settings, error) {
	s, err := a.db.Settings(r.Context())
	if k, _ := keyFrom(r.Context()); k.Role != track.RoleAdmin {
		s.PostbackKey = ""
	}
	return s, err
}

func (a *API) getSettings(w http.ResponseWriter, r *http.Request) error {
	s, err := a.settings(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (a *API) putSettings(w http.ResponseWriter, r *http.Request) error {
	s := track.DefaultSettings()
	if err := decode(w, r, &s); err != nil {
		return err
	}
	return a.saveSettings(w, r, s)
}

func (a *API) patchSettings(w http.ResponseWriter, r *http.Request) error {
	cur, err := a.db.Settings(r.Context())
	if err != nil {
		return err
	}
	s, err := mergePatch(w, r, cur)
	if err != nil {
		return err
	}
	return a.saveSettings(w, r, s)
}

func (a *API) saveSettings(w http.ResponseWriter, r *http.Request, s track.Settings) error {
	cur, err := a.db.Settings(r.Context())
	if err != nil {
		return err
	}
	if s.PostbackKey != "" && s.PostbackKey != cur.PostbackKey {
		return track.Invalid("postback_key", "is read-only; POST %s/settings/postback-key makes a new one", Prefix)
	}
	if err := s.Validate(); err != nil {
		return err
	}
	if err := a.db.SaveSettings(r.Context(), s); err != nil {
		return err
	}
	return a.getSettings(w, r)
}

func (a *API) rotatePostbackKey(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.db.RotatePostbackKey(r.Context()); err != nil {
		return err
	}
	return a.getSettings(w, r)
}

func (a *API) sourcePresets(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, items[preset.Source]{preset.Sources()})
	return nil
}

func (a *API) networkPresets(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, items[preset.Network]{preset.Networks()})
	return nil
}

// macroList is the body of GET /macros.
type macroList struct {
	// Click macros work in offer, landing and postback URLs.
	Click []string `json:"click"`
	// Conversion macros work only in outgoing postback URLs.
	Conversion    []string `json:"conversion"`
	Parameterized []string `json:"parameterized"`
	RawPrefix     string   `json:"raw_prefix"`
}

// macros lists the macros that URL templates may use, for the UI and for
// people writing templates by hand.
func (a *API) macros(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, macroList{
		Click:         macro.Known(macro.Click),
		Conversion:    macro.Known(macro.Conversion),
		Parameterized: []string{"{date:FORMAT,TZ}", "{param:NAME}", "{status:lead=0 sale=1 rejected=2}"},
		RawPrefix:     "_",
	})
	return nil
}
