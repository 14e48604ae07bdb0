package app

import (
	"context"
	"slices"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/paging"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// ActivityInput filters ListActivity.
type ActivityInput struct {
	PageSize   int32
	PageToken  string
	Start, End time.Time // Start <= time < End; both required, at most MaxActivityRange apart
	CustomerID string
	UserID     string
	Actions    []domain.ActivityAction
}

// MaxActivityRange is the longest date range one ListActivity reads.
const MaxActivityRange = 366 * 24 * time.Hour

// ListActivity pages through the activity log by date range, customer and user (KD-6), oldest
// first, for the roles DOMAIN.md names (domain.CanReadActivity): a partner reads the records of
// the entitlements it sold.
func (a *App) ListActivity(ctx context.Context, in ActivityInput) ([]domain.Activity, string, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, "", err
	}
	if err := domain.CanReadActivity(p); err != nil {
		return nil, "", err
	}
	size, err := paging.Size(in.PageSize)
	if err != nil {
		return nil, "", err
	}
	switch {
	case in.Start.IsZero():
		return nil, "", errs.Invalid("start_time", "is required")
	case in.End.IsZero():
		return nil, "", errs.Invalid("end_time", "is required")
	case in.End.Before(in.Start):
		return nil, "", errs.Invalid("end_time", "must not be before start_time")
	case in.End.Sub(in.Start) > MaxActivityRange:
		return nil, "", errs.Invalid("end_time", "must be at most 366 days after start_time")
	}
	if in.CustomerID != "" {
		if err := checkID("customer_id", in.CustomerID); err != nil {
			return nil, "", err
		}
	}
	valid := []domain.ActivityAction{domain.ActionKeyRevealed, domain.ActionDownloadLinkCreated,
		domain.ActionDownloadStarted, domain.ActionDownloadRefused}
	for _, act := range in.Actions {
		if !slices.Contains(valid, act) {
			return nil, "", errs.Invalid("actions", "unknown action %q", act)
		}
	}
	v := p.Effective()
	q := ActivityQuery{CustomerID: in.CustomerID, UserID: in.UserID, Actions: in.Actions, Start: in.Start, End: in.End}
	if v.OrgKind == auth.OrgPartner {
		q.PartnerID = v.OrgID
	}
	query := paging.Fingerprint("activity", string(v.OrgKind), v.OrgID, paging.Time(in.Start), paging.Time(in.End),
		in.CustomerID, in.UserID, in.Actions)
	if q.AfterTime, q.AfterID, err = paging.DecodeTimeKey(in.PageToken, query); err != nil {
		return nil, "", err
	}
	q.Limit = size + 1
	rows, err := a.store.Activities(ctx, q)
	if err != nil {
		return nil, "", err
	}
	page, next := paging.Trim(rows, size, query, func(r domain.Activity) []string { return paging.TimeKey(r.Time, r.ID) })
	return page, next, nil
}
