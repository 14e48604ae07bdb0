package domain

import (
	"strconv"
	"testing"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// SU-13: the tenant maximum of active subscriptions; reaching it is fine, passing it is not.
func TestCheckTenantLimit_SU13(t *testing.T) {
	tests := []struct {
		limit, active, requested int
		ok                       bool
		wantLimit                string
	}{
		{300, 299, 1, true, ""},
		{300, 300, 0, true, ""},
		{300, 300, 1, false, "300"},
		{300, 150, 151, false, "300"},
		{10, 5, 6, false, "10"},
		{0, 300, 0, true, ""},     // unset: DefaultTenantLimit
		{0, 300, 1, false, "300"}, // unset: DefaultTenantLimit
	}
	for _, tt := range tests {
		err := CheckTenantLimit(tt.limit, tt.active, tt.requested)
		if tt.ok {
			if err != nil {
				t.Errorf("CheckTenantLimit(%d, %d, %d) = %v", tt.limit, tt.active, tt.requested, err)
			}
			continue
		}
		wantErr(t, err, errs.FailedPrecondition, ReasonTenantSubscriptionLimit, map[string]string{
			"limit": tt.wantLimit, "active": strconv.Itoa(tt.active), "requested": strconv.Itoa(tt.requested)})
	}
}
