package pbtime

import (
	"testing"
	"time"
)

func TestFrom(t *testing.T) {
	if From(time.Time{}) != nil {
		t.Error("the zero time is not unset")
	}
	now := time.Date(2026, 11, 21, 12, 0, 0, 5, time.UTC)
	if got := From(now).AsTime(); !got.Equal(now) {
		t.Errorf("From(%v) = %v", now, got)
	}
}
