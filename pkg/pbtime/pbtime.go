// Package pbtime maps optional times between Go and the contracts: partnerhub's domain types
// use the zero time.Time for "not set", the contracts an unset google.protobuf.Timestamp.
package pbtime

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// From returns t as a Timestamp, or nil (unset) for the zero time.
func From(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// To returns t as a UTC time, or the zero time for an unset Timestamp: the inverse of From.
func To(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime().UTC()
}
