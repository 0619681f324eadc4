package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/trackd/trackd/internal/track"
)

// crud serves list, get, create, replace, patch and delete for one kind of
// object with an integer id.
type crud[T any] struct {
	kind   string // "offer", for messages
	list   func(context.Context) ([]T, error)
	get    func(context.Context, int64) (T, error)
	create func(context.Context, *T) error
	update func(context.Context, *T) error
	delete func(context.Context, int64) error
	// prepare makes v ready to save: it sets the id (0 for a new object),
	// applies defaults and validates.
	prepare func(r *http.Request, v *T, id int64) error
	// present, when set, fills derived read-only fields before output.
	present func(r *http.Request, v []T) error
}

// items is the body of every list response.
type items[T any] struct {
	Items []T `json:"items"`
}

func (c crud[T]) routes(path string, readRole string) []Route {
	var v T
	admin := track.RoleAdmin
	return []Route{
		{Method: "GET", Path: path, Role: readRole, Handler: c.handleList, Summary: "List " + c.kind + "s", Out: items[T]{}},
		{Method: "POST", Path: path, Role: admin, Handler: c.handleCreate, Summary: "Create a " + c.kind,
			In: v, Out: v, Status: http.StatusCreated},
		{Method: "GET", Path: path + "/{id}", Role: readRole, Handler: c.handleGet, Summary: "Get a " + c.kind, Out: v},
		{Method: "PUT", Path: path + "/{id}", Role: admin, Handler: c.handleReplace, Summary: "Replace a " + c.kind,
			In: v, Out: v},
		{Method: "PATCH", Path: path + "/{id}", Role: admin, Handler: c.handlePatch,
			Summary: "Change the fields of a " + c.kind + " named in the body", In: v, Out: v},
		{Method: "DELETE", Path: path + "/{id}", Role: admin, Handler: c.handleDelete, Summary: "Delete a " + c.kind,
			Status: http.StatusNoContent},
	}
}

func (c crud[T]) write(w http.ResponseWriter, r *http.Request, status int, v T) error {
	if c.present != nil {
		vs := []T{v}
		if err := c.present(r, vs); err != nil {
			return err
		}
		v = vs[0]
	}
	writeJSON(w, status, v)
	return nil
}

func (c crud[T]) handleList(w http.ResponseWriter, r *http.Request) error {
	vs, err := c.list(r.Context())
	if err != nil {
		return err
	}
	if c.present != nil {
		if err := c.present(r, vs); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, items[T]{vs})
	return nil
}

func (c crud[T]) handleGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, c.kind)
	if err != nil {
		return err
	}
	v, err := c.get(r.Context(), id)
	if err != nil {
		return err
	}
	return c.write(w, r, http.StatusOK, v)
}

func (c crud[T]) handleCreate(w http.ResponseWriter, r *http.Request) error {
	var v T
	if err := decode(w, r, &v); err != nil {
		return err
	}
	if err := c.prepare(r, &v, 0); err != nil {
		return err
	}
	if err := c.create(r.Context(), &v); err != nil {
		return err
	}
	return c.write(w, r, http.StatusCreated, v)
}

func (c crud[T]) handleReplace(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, c.kind)
	if err != nil {
		return err
	}
	if _, err := c.get(r.Context(), id); err != nil {
		return err
	}
	var v T
	if err := decode(w, r, &v); err != nil {
		return err
	}
	return c.save(w, r, &v, id)
}

// handlePatch replaces the top-level fields that the body names and keeps
// the others: a shallow JSON merge patch.
func (c crud[T]) handlePatch(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, c.kind)
	if err != nil {
		return err
	}
	cur, err := c.get(r.Context(), id)
	if err != nil {
		return err
	}
	v, err := mergePatch(w, r, cur)
	if err != nil {
		return err
	}
	return c.save(w, r, &v, id)
}

func (c crud[T]) save(w http.ResponseWriter, r *http.Request, v *T, id int64) error {
	if err := c.prepare(r, v, id); err != nil {
		return err
	}
	if err := c.update(r.Context(), v); err != nil {
		return err
	}
	return c.write(w, r, http.StatusOK, *v)
}

func (c crud[T]) handleDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, c.kind)
	if err != nil {
		return err
	}
	if err := c.delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// mergePatch applies the JSON object in the body over cur: each top-level
// field in the body replaces the one in cur. The result is decoded as
// strictly as a full body.
func mergePatch[T any](w http.ResponseWriter, r *http.Request, cur T) (T, error) {
	var patch map[string]json.RawMessage
	if err := decode(w, r, &patch); err != nil {
		return cur, err
	}
	if patch == nil {
		return cur, badRequest("", "a patch must be a JSON object")
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return cur, err
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(b, &merged); err != nil {
		return cur, err
	}
	for k, v := range patch {
		merged[k] = v
	}
	if b, err = json.Marshal(merged); err != nil {
		return cur, err
	}
	var out T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return cur, decodeError(err)
	}
	return out, nil
}

// pathID reads the {id} path value.
func pathID(r *http.Request, kind string) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, &Error{Status: http.StatusBadRequest, Code: "bad_request", Field: "id",
			Message: kind + " id " + strconv.Quote(s) + " is not a positive integer"}
	}
	return id, nil
}
