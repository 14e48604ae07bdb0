package domain

import "github.com/partnerhub/partnerhub/pkg/errs"

// DefaultTenantLimit is the per-tenant maximum of active subscriptions when none is configured
// (SU-13).
const DefaultTenantLimit = 300

// CheckTenantLimit refuses adding requested active subscriptions to a tenant that holds active
// ones when the total would exceed limit (SU-13): FAILED_PRECONDITION / TENANT_SUBSCRIPTION_LIMIT
// with metadata limit, active and requested. Reaching the limit exactly is allowed. A limit ≤ 0
// means "not configured" and is DefaultTenantLimit.
func CheckTenantLimit(limit, active, requested int) error {
	if limit <= 0 {
		limit = DefaultTenantLimit
	}
	if active+requested > limit {
		return errs.New(errs.FailedPrecondition, ReasonTenantSubscriptionLimit,
			"the tenant would hold %d active subscriptions, above its maximum of %d", active+requested, limit).
			With("limit", limit).With("active", active).With("requested", requested)
	}
	return nil
}
