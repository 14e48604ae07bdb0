// Package paging implements the list conventions of every partnerhub contract: page_size with a
// default of 50 and a maximum of 500 (larger values are clamped), and opaque page tokens.
//
// A page token is a keyset cursor: the sort key of the last row returned, so the next page is
// "rows after this key" — stable under concurrent inserts, and an index seek rather than an
// OFFSET scan. The token also carries a fingerprint of the query (filters and caller), so a token
// replayed with other filters or by another caller is refused with INVALID_PAGE_TOKEN instead of
// returning a silently wrong page.
package paging

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Page sizes of the contracts.
const (
	DefaultSize = 50
	MaxSize     = 500
)

// Size returns the page size to use for a requested one: the default for 0, clamped to MaxSize.
// A negative size is INVALID_ARGUMENT on page_size.
func Size(requested int32) (int, error) {
	switch {
	case requested < 0:
		return 0, errs.Invalid("page_size", "must not be negative")
	case requested == 0:
		return DefaultSize, nil
	case requested > MaxSize:
		return MaxSize, nil
	}
	return int(requested), nil
}

// token is the decoded form of a page token.
type token struct {
	Query string   `json:"q"` // fingerprint of the query
	After []string `json:"a"` // the sort key of the last row of the previous page
}

// Fingerprint identifies a query (its filters and its caller). Pass every value that changes
// which rows the query returns.
func Fingerprint(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%v\x00", p)
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

// Encode returns the page token continuing after the row with sort key after.
func Encode(query string, after ...string) string {
	b, _ := json.Marshal(token{Query: query, After: after}) // strings only: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode returns the sort key a page token continues after; nil for the empty token (first
// page). A malformed token, or one issued for another query or with another key length, is
// INVALID_ARGUMENT / INVALID_PAGE_TOKEN.
func Decode(pageToken, query string, keyLen int) ([]string, error) {
	if pageToken == "" {
		return nil, nil
	}
	invalid := errs.New(errs.InvalidArgument, errs.ReasonInvalidPageToken,
		"the page_token is malformed or belongs to another query")
	b, err := base64.RawURLEncoding.DecodeString(pageToken)
	if err != nil {
		return nil, invalid
	}
	var t token
	if err := json.Unmarshal(b, &t); err != nil || t.Query != query || len(t.After) != keyLen {
		return nil, invalid
	}
	return t.After, nil
}

// Trim cuts rows (fetched with limit size+1) to one page and returns the next page token, built
// from the last row's sort key, or "" when this is the last page.
func Trim[T any](rows []T, size int, query string, key func(T) []string) ([]T, string) {
	if len(rows) <= size {
		return rows, ""
	}
	rows = rows[:size]
	return rows, Encode(query, key(rows[size-1])...)
}

// Time is a time as a part of a sort key: RFC 3339 in UTC with nanoseconds, which orders as the
// times do.
func Time(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ParseTime reads a sort-key part that Time wrote; anything else is INVALID_ARGUMENT /
// INVALID_PAGE_TOKEN.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errs.New(errs.InvalidArgument, errs.ReasonInvalidPageToken, "the page_token is malformed")
	}
	return t.UTC(), nil
}

// DecodeTimeKey reads a page token whose position is a (time, ID) pair, as TimeKey wrote it: zero
// values for the first page (the empty token). A malformed token, or one of another query, is
// INVALID_ARGUMENT / INVALID_PAGE_TOKEN.
func DecodeTimeKey(pageToken, query string) (time.Time, string, error) {
	pos, err := Decode(pageToken, query, 2)
	if err != nil || pos == nil {
		return time.Time{}, "", err
	}
	t, err := ParseTime(pos[0])
	return t, pos[1], err
}

// TimeKey is the page position of a row ordered by (time, ID).
func TimeKey(t time.Time, id string) []string { return []string{Time(t), id} }
