package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/paging"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/domain"
)

// GetRelationship returns a relationship the caller sees (ID-8), with its state as of the
// service clock: exact whether or not the sweeper has persisted the latest transition.
func (a *App) GetRelationship(ctx context.Context, id string) (domain.Relationship, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return domain.Relationship{}, err
	}
	if id, err = relationshipID(id); err != nil {
		return domain.Relationship{}, err
	}
	r, err := a.load(ctx, c, id)
	if err != nil {
		return domain.Relationship{}, err
	}
	return r.At(a.now()), nil
}

// ListQuery is the input of ListRelationships.
type ListQuery struct {
	PageSize   int32
	PageToken  string
	PartnerID  string
	CustomerID string
	States     []domain.State
	Role       domain.Role // "" for every role
}

// Page is one page of relationships.
type Page struct {
	Relationships []domain.Relationship
	NextPageToken string
}

// ListRelationships lists the relationships the caller sees, newest first (ID-8): a partner's
// own offers, a customer's tenant's offers, or, for a service acting for nobody, those of the
// partner or customer it names.
func (a *App) ListRelationships(ctx context.Context, q ListQuery) (Page, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return Page{}, err
	}
	f, scope, visible, err := listFilter(c, q)
	if err != nil {
		return Page{}, err
	}
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return Page{}, err
	}
	if !visible {
		// A caller of neither side (not a partner, customer or service) sees nothing (ID-8).
		return Page{}, nil
	}
	states := make([]string, len(f.States))
	for i, s := range f.States {
		states[i] = string(s)
	}
	slices.Sort(states)
	fp := paging.Fingerprint(scope, f.PartnerID, f.CustomerID, strings.Join(states, ","), f.Role)
	after, err := paging.Decode(q.PageToken, fp, 2)
	if err != nil {
		return Page{}, err
	}
	if after != nil {
		t, perr := time.Parse(time.RFC3339Nano, after[0])
		if perr != nil || !domain.ValidID(after[1]) {
			return Page{}, errs.New(errs.InvalidArgument, errs.ReasonInvalidPageToken, "the page_token is malformed")
		}
		f.AfterCreate, f.AfterID = t, after[1]
	}
	now := a.now()
	if len(f.States) > 0 {
		// The state filter runs in SQL on the stored state: persist every transition due by
		// now first, so the filter is exact at the same now the rows are shown at.
		if _, err := a.sweep(ctx, now); err != nil {
			return Page{}, fmt.Errorf("sweep before a state-filtered list: %w", err)
		}
	}
	f.Limit = size + 1
	rows, err := a.repo.List(ctx, f)
	if err != nil {
		return Page{}, fmt.Errorf("list relationships: %w", err)
	}
	rows, next := paging.Trim(rows, size, fp, func(r domain.Relationship) []string {
		return []string{r.CreateTime.UTC().Format(time.RFC3339Nano), r.ID}
	})
	for i := range rows {
		rows[i] = rows[i].At(now)
	}
	return Page{Relationships: rows, NextPageToken: next}, nil
}

// listFilter turns a query into the repository filter the caller may run, with the caller's
// scope for the page token fingerprint; visible is false for a caller who sees nothing.
func listFilter(c caller, q ListQuery) (f ListFilter, scope string, visible bool, err error) {
	var v errs.Violations
	f = ListFilter{PartnerID: domain.NormalizeID(q.PartnerID), CustomerID: domain.NormalizeID(q.CustomerID), Role: q.Role}
	if f.PartnerID != "" && !domain.ValidID(f.PartnerID) {
		v.Add("partner_id", "must be a partner ID (a UUID)")
	}
	if f.CustomerID != "" && !domain.ValidID(f.CustomerID) {
		v.Add("customer_id", "must be a tenant ID (a UUID)")
	}
	for i, s := range q.States {
		if !s.Valid() {
			v.Add(fmt.Sprintf("states[%d]", i), "must be a relationship state, not %s", string(s))
		} else if !slices.Contains(f.States, s) {
			f.States = append(f.States, s)
		}
	}
	if f.Role != "" && !f.Role.Valid() {
		v.Add("role", "unknown role %s", string(f.Role))
	}
	visible = true
	switch {
	case c.all():
		scope = "service"
		if f.PartnerID == "" && f.CustomerID == "" {
			v.Add("partner_id", "a service acting for nobody must set partner_id or customer_id")
		}
	case c.eff.OrgKind == auth.OrgPartner:
		scope = "partner:" + c.eff.OrgID
		if f.PartnerID != "" && f.PartnerID != c.eff.OrgID {
			v.Add("partner_id", "a partner lists only its own relationships: empty or its own partner ID (ID-8)")
		}
		f.PartnerID = c.eff.OrgID
	case c.eff.OrgKind == auth.OrgCustomer:
		scope = "customer:" + c.eff.OrgID
		if f.CustomerID != "" && f.CustomerID != c.eff.OrgID {
			v.Add("customer_id", "a customer lists only its own tenant's relationships: empty or its own tenant ID (ID-8)")
		}
		f.CustomerID = c.eff.OrgID
	default:
		visible = false
	}
	return f, scope, visible, v.Err()
}

// CheckAccess answers whether a partner may act in a customer tenant with an admin role now
// (DA-6). A denial is an answer, not an error. Services ask for anyone; a user only about a pair
// its own organisation belongs to.
func (a *App) CheckAccess(ctx context.Context, partnerID, customerID string, role domain.Role) (domain.Access, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return domain.Access{}, err
	}
	partnerID, customerID = domain.NormalizeID(partnerID), domain.NormalizeID(customerID)
	var v errs.Violations
	if !domain.ValidID(partnerID) {
		v.Add("partner_id", "required: the partner ID (a UUID)")
	}
	if !domain.ValidID(customerID) {
		v.Add("customer_id", "required: the customer's tenant ID (a UUID)")
	}
	if !role.Valid() {
		v.Add("role", "required: an admin role, not UNSPECIFIED")
	}
	if err := v.Err(); err != nil {
		return domain.Access{}, err
	}
	if !c.all() && !c.isPartner(partnerID) && !c.isCustomer(customerID) {
		return domain.Access{}, errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch,
			"a user may only check access for a pair its own organisation belongs to (ID-8)")
	}
	rels, err := a.repo.ForPair(ctx, partnerID, customerID)
	if err != nil {
		return domain.Access{}, fmt.Errorf("relationships of %s/%s: %w", partnerID, customerID, err)
	}
	return domain.DecideAccess(rels, role, a.now()), nil
}
