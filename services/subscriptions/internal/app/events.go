package app

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/paging"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// EventsInput filters the events feed.
type EventsInput struct {
	After          int64
	PageSize       int32
	PageToken      string
	CustomerID     string
	SubscriptionID string
	Types          []domain.EventType
}

// query checks the filters and scopes them to what the caller sees: a partner its own events (as
// partner of record at the time of the event), a customer its tenant's, a service all.
func (a *App) eventQuery(ctx context.Context, in EventsInput) (EventQuery, error) {
	v, err := viewer(ctx)
	if err != nil {
		return EventQuery{}, err
	}
	if in.After < 0 {
		return EventQuery{}, errs.Invalid("after_sequence", "must not be negative")
	}
	if err := validTypes(in.Types); err != nil {
		return EventQuery{}, err
	}
	if in.CustomerID != "" {
		if err := checkID("customer_id", in.CustomerID); err != nil {
			return EventQuery{}, err
		}
	}
	if in.SubscriptionID != "" {
		if err := checkID("subscription_id", in.SubscriptionID); err != nil {
			return EventQuery{}, err
		}
	}
	q := EventQuery{After: in.After, CustomerID: in.CustomerID, SubscriptionID: in.SubscriptionID, Types: in.Types}
	if in.SubscriptionID != "" && in.CustomerID == "" {
		// The feed finds a subscription's events through its customer's index (migration 005); a
		// subscription never changes customer.
		s, err := a.store.Subscription(ctx, in.SubscriptionID)
		if err != nil {
			return EventQuery{}, err
		}
		q.CustomerID = s.CustomerID
	}
	switch v.OrgKind {
	case auth.OrgPartner:
		q.PartnerID = v.OrgID
	case auth.OrgCustomer:
		if in.CustomerID != "" && in.CustomerID != v.OrgID {
			return EventQuery{}, errs.NotFoundf("customer", in.CustomerID)
		}
		q.CustomerID = v.OrgID
	case auth.OrgService:
	default:
		return EventQuery{}, errs.New(errs.PermissionDenied, errs.ReasonRoleRequired, "the events feed is not for this caller")
	}
	return q, nil
}

// ListEvents returns one page of the events after a cursor, oldest first, and the cursor to
// store: the last sequence returned, or the request's when none was. For a caller that sees the
// whole feed (a service, no customer or subscription filter), the last page's cursor is the end
// of the feed as it was when the read began, past the events a type filter left out: orders'
// ledger reads only the billing types, and a cursor held at the last billing event had every
// poll (one a second) scan again every event appended since, a growing read (a 10-minute soak
// of new subscriptions: 100,000 CREATED events). Sequences follow commit order, so every event
// up to that end was committed before the read and examined by it. A partner or customer is
// not told the feed's end: it would show how busy the others are.
func (a *App) ListEvents(ctx context.Context, in EventsInput) ([]domain.Event, string, int64, error) {
	q, err := a.eventQuery(ctx, in)
	if err != nil {
		return nil, "", 0, err
	}
	size, err := paging.Size(in.PageSize)
	if err != nil {
		return nil, "", 0, err
	}
	v, _ := viewer(ctx)
	query := paging.Fingerprint("events", string(v.OrgKind), v.OrgID, in.CustomerID, in.SubscriptionID, in.Types)
	after, err := paging.Decode(in.PageToken, query, 1)
	if err != nil {
		return nil, "", 0, err
	}
	if after != nil {
		n, err := strconv.ParseInt(after[0], 10, 64)
		if err != nil {
			return nil, "", 0, errs.New(errs.InvalidArgument, errs.ReasonInvalidPageToken, "page_token is not valid")
		}
		q.After = n
	}
	q.Limit = size + 1
	var end int64 // read before the page, so that every event up to it is in what the page read
	wholeFeed := q.PartnerID == "" && q.CustomerID == "" && q.SubscriptionID == ""
	if wholeFeed {
		if end, err = a.store.LastSequence(ctx); err != nil {
			return nil, "", 0, err
		}
	}
	rows, err := a.store.Events(ctx, q)
	if err != nil {
		return nil, "", 0, err
	}
	page, next := paging.Trim(rows, size, query, func(e domain.Event) []string {
		return []string{strconv.FormatInt(e.Sequence, 10)}
	})
	last := q.After
	if len(page) > 0 {
		last = page[len(page)-1].Sequence
	}
	if wholeFeed && next == "" {
		last = max(last, end)
	}
	return page, next, last, nil
}

// WatchEvents sends the events after in.After, then new ones as they are appended, until ctx
// ends: without gaps or repeats, since sequences follow commit order and each read starts after
// the last sequence sent. New events are noticed at once when this instance appended them and
// within poll otherwise (another replica, or the lifecycle engine of another instance).
func (a *App) WatchEvents(ctx context.Context, in EventsInput, poll time.Duration, send func(domain.Event) error) error {
	q, err := a.eventQuery(ctx, in)
	if err != nil {
		return err
	}
	q.Limit = 500
	for {
		wake := a.feed.wait() // taken before reading, so an append during the read is not missed
		evs, err := a.store.Events(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := send(e); err != nil {
				return err
			}
			q.After = e.Sequence
		}
		if len(evs) == q.Limit {
			continue // more stored: no need to wait
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// feed wakes this instance's watchers when it appends events.
type feed struct {
	mu   sync.Mutex
	wake chan struct{}
}

func newFeed() *feed { return &feed{wake: make(chan struct{})} }

// wait returns a channel closed at the next notify.
func (f *feed) wait() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wake
}

// notify wakes every watcher when evs holds anything.
func (f *feed) notify(evs []domain.Event) {
	if len(evs) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.wake)
	f.wake = make(chan struct{})
}

// validTypes refuses an event type the feed does not know.
func validTypes(ts []domain.EventType) error {
	known := []domain.EventType{domain.EventCreated, domain.EventRenewed, domain.EventQuantityChanged,
		domain.EventSuspended, domain.EventReactivated, domain.EventExpired, domain.EventDisabled,
		domain.EventDeleted, domain.EventCancelled, domain.EventTransferred, domain.EventRenewalReminder,
		domain.EventPenalty, domain.EventAutoRenewChanged, domain.EventChannelConverted}
	for _, t := range ts {
		if !slices.Contains(known, t) {
			return errs.Invalid("event_types", "unknown event type %q", t)
		}
	}
	return nil
}
