// Package track holds trackd's domain: the objects a user configures
// (traffic sources, affiliate networks, offers, landings, campaigns and their
// streams), the records the tracker keeps, and the rules that make them valid.
// It knows nothing of HTTP or SQL.
package track

import (
	"errors"
	"fmt"
)

// ErrNotFound is wrapped by every error that reports a missing object.
var ErrNotFound = errors.New("not found")

// InvalidError reports input that breaks a rule. Field names the offending
// field as a JSON path, e.g. "streams[1].offers[0].offer_id".
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Invalid returns an *InvalidError for field with a formatted message.
func Invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ConflictError reports a change that collides with existing data: a
// duplicate alias, or deleting an object that others still use.
type ConflictError struct {
	Field   string
	Message string
}

func (e *ConflictError) Error() string { return e.Message }

// Conflict returns a *ConflictError for field with a formatted message.
func Conflict(field, format string, args ...any) error {
	return &ConflictError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound returns an error wrapping ErrNotFound that names the object.
func NotFound(kind string, id any) error {
	return fmt.Errorf("%s %v %w", kind, id, ErrNotFound)
}

// prefixed returns err with its field put under prefix, so that a stream's
// validation error reads "streams[2].weight".
func prefixed(prefix string, err error) error {
	var ie *InvalidError
	if errors.As(err, &ie) {
		f := prefix
		if ie.Field != "" {
			f += "." + ie.Field
		}
		return &InvalidError{Field: f, Message: ie.Message}
	}
	return err
}
