package billing

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
)

// CursorName is the default name of the feed's cursor in the store's cursors table.
const CursorName = "subscriptions-events"

// Defaults of FeedOptions.
const (
	DefaultInterval = time.Second
	DefaultPageSize = 500 // EventService.ListEvents' maximum
)

// Events reads the subscriptions events feed (DESIGN "Cross-service flow"; adapters/subscriptions
// implements it over EventService.ListEvents with the service's own token, which sees every
// partner's events).
type Events interface {
	// EventsAfter returns up to limit events with a sequence greater than after, oldest first.
	EventsAfter(ctx context.Context, after int64, limit int) (EventPage, error)
}

// EventPage is one page of the feed.
type EventPage struct {
	// Events in ascending sequence. Events that cannot bill have Type ledger.EventUnspecified;
	// the feed steps over them.
	Events []ledger.SubscriptionEvent
	// Last is the cursor to store after this page: the last sequence returned, or the request's
	// when none was.
	Last int64
	// More is true when the feed holds more events after Last right now.
	More bool
}

// Purchase is what the orders database knows about how a subscription was bought: the event
// payloads carry no SKU, term or tax treatment (CA-4), so the feed takes them from the order line
// that provisioned the subscription.
type Purchase struct {
	// SKUID, Term and Plan are the order line's; empty/zero when only the customer's tax
	// treatment is known (no order line provisioned this subscription, e.g. a transfer in).
	SKUID string
	Term  ledger.Term
	Plan  ledger.BillingPlan
	// TaxInclusive is the customer's market's tax treatment (AU, BR: CA-4) as its orders
	// recorded it.
	TaxInclusive bool
}

// FeedStore is what the feed needs of the orders store (adapters/sql.Store).
type FeedStore interface {
	// Cursor reads a named cursor; 0 when unset.
	Cursor(ctx context.Context, name string) (int64, error)
	// Tx runs fn in one transaction (app.Store.Tx).
	Tx(ctx context.Context, fn func(ctx context.Context, tx app.Tx) error) error
	// PurchaseOf returns the purchase of subscriptionID (the newest order line with that
	// subscription) or, when there is none, the tax treatment of customerID's newest order;
	// false when neither exists.
	PurchaseOf(ctx context.Context, subscriptionID, customerID string) (Purchase, bool, error)
}

// FeedOptions configures a Feed; the zero value is the default.
type FeedOptions struct {
	// Interval between polls once the feed has caught up; default 1 s.
	Interval time.Duration
	// PageSize is the number of events asked for per call; default and maximum 500.
	PageSize int
	// CursorName names the stored cursor; default CursorName.
	CursorName string
	// Logger receives skipped events and failed polls; default none.
	Logger *zap.Logger
}

// Feed consumes the subscriptions events feed into the ledger (BI-1..BI-3): renewals and
// reactivations charge, added seats charge and removed seats refund, cancellations with a refund
// credit (SU-10), penalties charge (SU-15). Each page is applied in ONE transaction that inserts
// its entries and advances the cursor, so a crash replays at most the page in flight. Replays are
// harmless: an entry's key is the event ID (ledger.DeriveKey) and InsertEntry ignores a stored key,
// so an event never bills twice (OR-7; scenario n: an autorenewal is charged once). Several
// replicas may run a Feed at once for the same reason; at worst one replays a page another applied.
type Feed struct {
	store  FeedStore
	events Events
	clock  clock.Clock
	opts   FeedOptions
}

// NewFeed returns a feed reading events into store.
func NewFeed(store FeedStore, events Events, clk clock.Clock, opts FeedOptions) *Feed {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.PageSize <= 0 || opts.PageSize > DefaultPageSize {
		opts.PageSize = DefaultPageSize
	}
	if opts.CursorName == "" {
		opts.CursorName = CursorName
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if clk == nil {
		clk = clock.Real{}
	}
	return &Feed{store: store, events: events, clock: clk, opts: opts}
}

// Run polls the feed until ctx ends: it applies every page available, then waits Interval (also
// after a failure, which it logs). It returns when ctx ends; it is a svc background job.
func (f *Feed) Run(ctx context.Context) {
	for {
		if _, err := f.Sync(ctx); err != nil && ctx.Err() == nil {
			f.opts.Logger.Warn("ledger feed: poll failed; retrying", zap.Error(err))
		}
		t := time.NewTimer(f.opts.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Sync applies the pages available now, until the feed reports no more, and returns the number
// of entries inserted (replayed events insert none).
func (f *Feed) Sync(ctx context.Context) (int, error) {
	total := 0
	for {
		n, more, err := f.step(ctx)
		total += n
		if err != nil || !more {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// step applies one page: reads it after the stored cursor, turns its billing events into entries
// (outside the transaction: the store retries it), then inserts them and stores the page's cursor
// in one transaction.
func (f *Feed) step(ctx context.Context) (inserted int, more bool, err error) {
	after, err := f.store.Cursor(ctx, f.opts.CursorName)
	if err != nil {
		return 0, false, fmt.Errorf("ledger feed: read cursor %s: %w", f.opts.CursorName, err)
	}
	page, err := f.events.EventsAfter(ctx, after, f.opts.PageSize)
	if err != nil {
		return 0, false, fmt.Errorf("ledger feed: events after %d: %w", after, err)
	}
	entries, err := f.entries(ctx, page.Events)
	if err != nil {
		return 0, false, err
	}
	if page.Last <= after && len(entries) == 0 {
		return 0, false, nil // nothing new
	}
	err = f.store.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
		inserted = 0
		for _, e := range entries {
			ok, err := tx.InsertEntry(ctx, e)
			if err != nil {
				return err
			}
			if ok {
				inserted++
			}
		}
		if page.Last > after {
			return tx.SetCursor(ctx, f.opts.CursorName, page.Last)
		}
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("ledger feed: apply events after %d: %w", after, err)
	}
	return inserted, page.More && page.Last > after, nil
}

// entries maps a page's billing events to ledger entries, with the purchase's SKU, term, plan
// and tax treatment. An event the ledger refuses (an amount whose sign contradicts its type, a
// missing time or ID) is logged and stepped over: the feed is immutable, so retrying it would
// block every partner's billing behind it for nothing.
func (f *Feed) entries(ctx context.Context, evs []ledger.SubscriptionEvent) ([]ledger.Entry, error) {
	now := f.clock.Now()
	type subscriptionOf struct{ subscription, customer string }
	purchases := map[subscriptionOf]*Purchase{}
	var out []ledger.Entry
	for _, ev := range evs {
		if ev.Type == ledger.EventUnspecified || ev.PartnerID == "" || ev.Amount.IsZero() {
			continue // bills nothing: not a billing type, a direct purchase, or zero (BI-1)
		}
		key := subscriptionOf{ev.SubscriptionID, ev.CustomerID}
		p, ok := purchases[key]
		if !ok {
			got, found, err := f.store.PurchaseOf(ctx, ev.SubscriptionID, ev.CustomerID)
			if err != nil {
				return nil, fmt.Errorf("ledger feed: purchase of subscription %s: %w", ev.SubscriptionID, err)
			}
			if found {
				p = &got
			} else {
				f.opts.Logger.Warn("ledger feed: no order of the customer; the entry is recorded tax-exclusive",
					zap.String("event_id", ev.EventID), zap.String("subscription_id", ev.SubscriptionID),
					zap.String("customer_id", ev.CustomerID))
			}
			purchases[key] = p
		}
		ev = enrich(ev, p)
		es, err := ledger.EntriesFromEvent(ev, now)
		if err != nil {
			f.opts.Logger.Error("ledger feed: event refused; skipped", zap.String("event_id", ev.EventID),
				zap.String("subscription_id", ev.SubscriptionID), zap.Error(err))
			continue
		}
		out = append(out, es...)
	}
	return out, nil
}

// enrich fills what the event lacks from the purchase: SKU, and term and plan when the payload
// had none, and the tax treatment (CA-4), which no payload carries.
func enrich(ev ledger.SubscriptionEvent, p *Purchase) ledger.SubscriptionEvent {
	if p == nil {
		return ev
	}
	if ev.SKUID == "" {
		ev.SKUID = p.SKUID
	}
	if ev.Term == ledger.TermUnspecified {
		ev.Term = p.Term
	}
	if ev.Plan == ledger.PlanUnspecified {
		ev.Plan = p.Plan
	}
	ev.TaxInclusive = p.TaxInclusive
	return ev
}
