package domain

import "strconv"

// Etag is the subscription's opaque version: its Version, which every saved change increments.
// A stale etag on a changing RPC gets ABORTED / ETAG_MISMATCH.
func Etag(s Subscription) string { return "v" + strconv.FormatInt(s.Version, 10) }
