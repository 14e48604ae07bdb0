package support

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/paging"
)

// ListInput filters and pages ListSupportRequests. Empty fields do not filter.
type ListInput struct {
	PageSize       int32
	PageToken      string
	CustomerID     string
	States         []State
	OrderID        string
	SubscriptionID string
	Start, End     time.Time // Start <= create time < End; zero for no bound
}

// ListSupportRequests lists the support requests the caller may see, newest first (ID-8): a
// partner those it opened, a customer every request about its tenant (by itself or by a
// partner), a service acting for no one every request. A customer filtering on another tenant
// gets TENANT_MISMATCH.
func (a *App) ListSupportRequests(ctx context.Context, in ListInput) ([]Request, string, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return nil, "", err
	}
	caller := p.Effective()
	q := Query{CustomerID: in.CustomerID, OrderID: in.OrderID, SubscriptionID: in.SubscriptionID,
		States: in.States, Start: in.Start, End: in.End}
	switch {
	case caller.OrgKind == auth.OrgPartner:
		if err := caller.RequireRole(auth.AdminAgent, auth.HelpdeskAgent, auth.AccountAdmin); err != nil {
			return nil, "", err
		}
		q.PartnerID = caller.OrgID
	case caller.OrgKind == auth.OrgCustomer:
		if err := caller.RequireRole(auth.CustomerGlobalAdmin); err != nil {
			return nil, "", err
		}
		if in.CustomerID != "" && in.CustomerID != caller.OrgID {
			return nil, "", tenantMismatch("a customer lists the support requests of its own tenant only")
		}
		q.CustomerID = caller.OrgID
	case caller.IsService():
		// A service acting for no one (Effective is itself): reporting and support tooling.
	default:
		return nil, "", errs.New(errs.PermissionDenied, errs.ReasonRoleRequired,
			"the caller may not list support requests").
			With("required_roles", "ADMIN_AGENT,HELPDESK_AGENT,ACCOUNT_ADMIN,CUSTOMER_GLOBAL_ADMIN,SERVICE")
	}

	size, err := paging.Size(in.PageSize)
	if err != nil {
		return nil, "", err
	}
	if err := validateList(in); err != nil {
		return nil, "", err
	}
	states := slices.Clone(in.States)
	slices.Sort(states)
	states = slices.Compact(states)
	q.States = states
	// The fingerprint binds a page token to the caller's organisation and every filter, so a
	// token replayed by another partner or with other filters is refused, not a wrong page.
	query := paging.Fingerprint("support-requests", string(caller.OrgKind), caller.OrgID, in.CustomerID,
		in.OrderID, in.SubscriptionID, states, timeKey(in.Start), timeKey(in.End))
	if q.BeforeTime, q.BeforeID, err = paging.DecodeTimeKey(in.PageToken, query); err != nil {
		return nil, "", err
	}
	q.Limit = size + 1
	rows, err := a.store.SupportRequests(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("list support requests: %w", err)
	}
	page, next := paging.Trim(rows, size, query, func(r Request) []string { return paging.TimeKey(r.CreateTime, r.ID) })
	return page, next, nil
}

func validateList(in ListInput) error {
	var v errs.Violations
	if in.CustomerID != "" && errs.CheckUUID("customer_id", in.CustomerID) != nil {
		v.Add("customer_id", "must be a tenant ID (UUID)")
	}
	if in.OrderID != "" && errs.CheckUUID("order_id", in.OrderID) != nil {
		v.Add("order_id", "must be an order ID (UUID)")
	}
	if in.SubscriptionID != "" && errs.CheckUUID("subscription_id", in.SubscriptionID) != nil {
		v.Add("subscription_id", "must be a subscription ID (UUID)")
	}
	for i, s := range in.States {
		if !slices.Contains(States(), s) {
			v.Add(fmt.Sprintf("states[%d]", i), "unknown state %q", s)
		}
	}
	if !in.Start.IsZero() && !in.End.IsZero() && !in.End.After(in.Start) {
		v.Add("end_time", "must be after start_time")
	}
	return v.Err()
}

func timeKey(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return paging.Time(t)
}
