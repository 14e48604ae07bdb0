package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/idempotency"
	"github.com/partnerhub/partnerhub/pkg/paging"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// Sagas runs order sagas and cancellations in the background (app/saga implements it).
type Sagas interface {
	// NewRecord is the stored state of a new order's saga, leased to this replica so the
	// recovery loops of other replicas leave it alone while Start runs it.
	NewRecord(s domain.Saga, p auth.Principal) SagaRecord
	// Start runs the saga of a just stored order o with its record rec (as NewRecord made it,
	// stored at version 1); offers are the catalog answers of the review, by line ID, so the saga
	// need not ask again. It may wait for a free worker, no longer than ctx (the caller's).
	Start(ctx context.Context, o domain.Order, rec SagaRecord, offers map[string]Offer)
	// ApplyCancellation applies a just confirmed cancellation in the background (OR-4).
	ApplyCancellation(orderID string)
}

// Options tune App; zero values take the defaults.
type Options struct {
	NewID func() string // order and line IDs; UUIDv7 by default
	// WatchPoll is how often WatchOrder re-reads an order when no change was signalled in this
	// process (another replica may run its saga); 1 s by default.
	WatchPoll time.Duration
	// Capacity answers the review's tenant maximum check (SU-13); nil leaves the check to the
	// saga's create_subscription step, which the subscriptions service refuses.
	Capacity TenantCapacity
}

// App is the orders use cases.
type App struct {
	store    Store
	identity Identity
	catalog  Catalog
	subs     Subscriptions
	sagas    Sagas
	clock    clock.Clock
	changes  *Changes
	opts     Options
}

// New returns the use cases. changes is the same hub the saga runner signals.
func New(store Store, identity Identity, catalog Catalog, subs Subscriptions, sagas Sagas, clk clock.Clock, changes *Changes, opts Options) *App {
	if opts.NewID == nil {
		opts.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if opts.WatchPoll <= 0 {
		opts.WatchPoll = time.Second
	}
	return &App{store: store, identity: identity, catalog: catalog, subs: subs, sagas: sagas, clock: clk, changes: changes, opts: opts}
}

// now is the business clock's now at storage precision (microseconds, UTC).
func (a *App) now() time.Time { return a.clock.Now().UTC().Truncate(time.Microsecond) }

// partnerCaller is the partner the effective principal of ctx acts for; ordering is a partner's
// business (ADMIN_AGENT, SALES_AGENT), so any other principal is refused.
func partnerCaller(ctx context.Context) (auth.Principal, string, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return auth.Principal{}, "", err
	}
	e := p.Effective()
	if e.OrgKind != auth.OrgPartner || e.OrgID == "" {
		return auth.Principal{}, "", errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch,
			"only a partner's agents place and cancel orders")
	}
	return p, e.OrgID, nil
}

// ValidateOrder is the review step (OR-1): every check PlaceOrder's saga would run, no side
// effect. It fails only for a malformed request or an unknown customer.
func (a *App) ValidateOrder(ctx context.Context, customerID string, lines []domain.LineInput) (Review, error) {
	_, partnerID, err := partnerCaller(ctx)
	if err != nil {
		return Review{}, err
	}
	in := domain.PlaceOrderInput{RequestID: "-", CustomerID: customerID, Lines: lines}
	if err := domain.ValidatePlaceOrder(in); err != nil {
		return Review{}, err
	}
	if err := errs.CheckUUID("customer_id", customerID); err != nil {
		return Review{}, err
	}
	return a.review(ctx, partnerID, customerID, lines)
}

// PlaceInput is a PlaceOrder request.
type PlaceInput struct {
	domain.PlaceOrderInput
	ReviewEtag string // optional: ValidateOrder's review_etag
}

// PlaceOrder reviews the order, stores it with its saga and starts the saga (OR-1); it returns
// the order PROVISIONING. A review with problems refuses the call and stores nothing. The same
// request ID within the caller's organisation returns the same order, also for concurrent calls
// (OR-7): the idempotency interceptor replays a finished call, and the unique (scope,
// request_id) of the orders table keeps two calls that both got past it from storing two orders.
func (a *App) PlaceOrder(ctx context.Context, in PlaceInput) (domain.Order, error) {
	p, partnerID, err := partnerCaller(ctx)
	if err != nil {
		return domain.Order{}, err
	}
	if err := domain.ValidatePlaceOrder(in.PlaceOrderInput); err != nil {
		return domain.Order{}, err
	}
	if err := errors.Join(errs.CheckUUID("request_id", in.RequestID), errs.CheckUUID("customer_id", in.CustomerID)); err != nil {
		return domain.Order{}, err
	}
	scope := idempotency.ScopeOf(p)
	if o, ok, err := a.store.OrderOfRequest(ctx, scope, in.RequestID); err != nil || ok {
		return a.replay(o, in, err)
	}
	r, err := a.review(ctx, partnerID, in.CustomerID, in.Lines)
	if err != nil {
		return domain.Order{}, err
	}
	if err := r.Err(); err != nil {
		return domain.Order{}, err
	}
	if in.ReviewEtag != "" && in.ReviewEtag != ReviewEtag(r) {
		return domain.Order{}, errs.New(errs.Aborted, errs.ReasonEtagMismatch,
			"prices or policies changed since the review; review the order again")
	}
	o, offers := a.newOrder(p, partnerID, in, r)
	sg := domain.NewSaga(o)
	// The review just ran the saga's two checks: they are done, and the saga starts with the
	// first step that acts (create_subscription).
	if sg, err = sg.Done(domain.StepCheckRelationship, "", ""); err == nil {
		sg, err = sg.Done(domain.StepCheckCatalog, "", "")
	}
	if err != nil {
		return domain.Order{}, errs.Unexpected(err)
	}
	rec := a.sagas.NewRecord(sg, p)
	err = a.store.Tx(ctx, func(ctx context.Context, tx Tx) error {
		return tx.InsertOrder(ctx, o, scope, rec)
	})
	if errs.KindOf(err) == errs.AlreadyExists {
		// A concurrent call with the same request ID stored its order first (OR-7).
		if prev, ok, err := a.store.OrderOfRequest(ctx, scope, in.RequestID); err != nil || ok {
			return a.replay(prev, in, err)
		}
	}
	if err != nil {
		return domain.Order{}, fmt.Errorf("place order: %w", err)
	}
	rec.Version = 1
	a.sagas.Start(ctx, o, rec, offers)
	return o, nil
}

// replay answers a PlaceOrder whose request ID already placed order o: o as it is now (OR-7),
// unless the request differs from the one that placed it (REQUEST_ID_REUSED). PlaceOrder
// deduplicates itself rather than through the idempotency interceptor: a retry then shows how
// the order went on, and the placement costs no extra writes.
func (a *App) replay(o domain.Order, in PlaceInput, err error) (domain.Order, error) {
	if err != nil {
		return domain.Order{}, err
	}
	if !samePlacement(o, in) {
		return domain.Order{}, errs.New(errs.AlreadyExists, errs.ReasonRequestIDReused,
			"request_id %s was already used for a different order", in.RequestID).With("request_id", in.RequestID)
	}
	return o, nil
}

// samePlacement reports whether in asks for the order o: the same customer, reference and lines
// (SKU, quantity, term, plan, and autorenew where the request set it).
func samePlacement(o domain.Order, in PlaceInput) bool {
	if o.CustomerID != in.CustomerID || o.PartnerReference != in.PartnerReference || len(o.Lines) != len(in.Lines) {
		return false
	}
	for i, l := range o.Lines {
		x := in.Lines[i]
		if l.SkuID != x.SkuID || l.Quantity != x.Quantity || l.Term != x.Term || l.Plan != x.Plan ||
			(x.AutoRenew != nil && *x.AutoRenew != l.AutoRenew) {
			return false
		}
	}
	return true
}

// newOrder is the order of a valid review: every line with the price and policy the catalog
// answered, PROVISIONING.
func (a *App) newOrder(p auth.Principal, partnerID string, in PlaceInput, r Review) (domain.Order, map[string]Offer) {
	now := r.Time
	o := domain.Order{ID: a.opts.NewID(), PartnerID: partnerID, CustomerID: in.CustomerID,
		CountryCode: r.CountryCode, PlacedBy: p.Effective().Subject, State: domain.OrderProvisioning,
		PartnerReference: in.PartnerReference, RequestID: in.RequestID, Version: 1,
		CreateTime: now, UpdateTime: now}
	offers := make(map[string]Offer, len(r.Lines))
	for _, lr := range r.Lines {
		of := lr.Offer
		l := domain.OrderLine{ID: a.opts.NewID(), SkuID: lr.Input.SkuID, DisplayName: of.DisplayName,
			Kind: of.Kind, Quantity: lr.Input.Quantity, Term: lr.Input.Term, Plan: lr.Input.Plan,
			AutoRenew: lr.AutoRenew, KeyType: of.KeyType, HasDownloads: of.HasDownloads(),
			UnitPeriodPrice: of.Price.PerPeriod, UnitTermPrice: of.Price.PerTerm,
			TaxInclusive: of.Price.TaxInclusive, Policy: of.Policy, WindowDays: of.WindowDays,
			State: domain.LineProvisioning}
		o.TaxInclusive = o.TaxInclusive || l.TaxInclusive
		o.Lines = append(o.Lines, l)
		offers[l.ID] = of
	}
	return o, offers
}

// ReviewEtag is the fingerprint of a review's prices and policies (review_etag): PlaceOrder with
// it refuses to place the order if any of them changed since (ETAG_MISMATCH).
func ReviewEtag(r Review) string {
	parts := []any{r.CustomerID, r.CountryCode}
	for _, l := range r.Lines {
		of := l.Offer
		parts = append(parts, l.Input.SkuID, l.Input.Quantity, string(l.Input.Term), string(l.Input.Plan),
			of.Price.PerPeriod.Minor, of.Price.PerTerm.Minor, of.Price.PerPeriod.Currency,
			of.Price.TaxInclusive, string(of.Policy), of.WindowDays, l.AutoRenew)
	}
	return paging.Fingerprint(parts...)
}

// GetOrder reads an order the caller may see (ID-8): a partner its own, a customer's users their
// tenant's, a service acting for nobody any. Any other is NOT_FOUND.
func (a *App) GetOrder(ctx context.Context, id string) (domain.Order, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return domain.Order{}, err
	}
	if err := errs.CheckUUID("order_id", id); err != nil {
		return domain.Order{}, err
	}
	o, err := a.store.Order(ctx, id)
	if err != nil {
		return domain.Order{}, err
	}
	if !canSee(p, o) {
		return domain.Order{}, errs.NotFoundf("order", id)
	}
	return o, nil
}

// canSee reports whether p may see o (ID-8).
func canSee(p auth.Principal, o domain.Order) bool {
	e := p.Effective()
	switch e.OrgKind {
	case auth.OrgPartner:
		return o.PartnerID == e.OrgID
	case auth.OrgCustomer:
		return o.CustomerID == e.OrgID
	case auth.OrgService:
		return p.IsService()
	}
	return false
}

// WatchOrder sends snapshots of an order: the current one at once, then one after each change,
// until the first settled one (COMPLETED, FAILED, CANCELLED, PARTIALLY_CANCELLED) or until ctx
// ends. Changes made in this process wake it at once; it also re-reads every WatchPoll, since
// another replica may run the order's saga.
func (a *App) WatchOrder(ctx context.Context, id string, send func(domain.Order) error) error {
	// Subscribe first: a change signalled while the first snapshot is read is not lost.
	changed, stop := a.changes.Subscribe(id)
	defer stop()
	o, err := a.GetOrder(ctx, id)
	if err != nil {
		return err
	}
	var last int64 = -1
	t := time.NewTicker(a.opts.WatchPoll)
	defer t.Stop()
	for {
		if o.Version != last {
			if err := send(o); err != nil {
				return err
			}
			last = o.Version
		}
		if o.State.Settled() && !o.CancellationPending {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case c := <-changed:
			if c.Version > 0 { // published with the change: no read needed
				if c.Version > o.Version {
					o = c
				}
				continue
			}
		case <-t.C:
		}
		if o, err = a.store.Order(ctx, id); err != nil {
			return err
		}
	}
}

// ListInput filters and pages ListOrders.
type ListInput struct {
	PageSize   int32
	PageToken  string
	CustomerID string
	States     []domain.OrderState
	SkuID      string
	StartTime  time.Time
	EndTime    time.Time
}

// ListOrders lists the caller's orders newest first (OR-2: software purchases whatever their
// date). A partner lists its own orders; a customer's users their tenant's; a service acting for
// nobody must name the customer.
func (a *App) ListOrders(ctx context.Context, in ListInput) ([]domain.Order, string, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return nil, "", err
	}
	size, err := paging.Size(in.PageSize)
	if err != nil {
		return nil, "", err
	}
	if in.CustomerID != "" {
		if err := errs.CheckUUID("customer_id", in.CustomerID); err != nil {
			return nil, "", err
		}
	}
	if !in.StartTime.IsZero() && !in.EndTime.IsZero() && !in.StartTime.Before(in.EndTime) {
		return nil, "", errs.Invalid("end_time", "must be after start_time")
	}
	q := OrderQuery{CustomerID: in.CustomerID, States: in.States, SkuID: in.SkuID,
		StartTime: in.StartTime, EndTime: in.EndTime, Limit: size + 1}
	e := p.Effective()
	switch {
	case e.OrgKind == auth.OrgPartner:
		q.PartnerID = e.OrgID
		if in.CustomerID != "" {
			if err := (CustomerGuard{a.identity}).RequireOwnCustomer(ctx, e.OrgID, in.CustomerID); err != nil {
				return nil, "", err
			}
		}
	case e.OrgKind == auth.OrgCustomer:
		if in.CustomerID != "" && in.CustomerID != e.OrgID {
			return nil, "", errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch,
				"a customer's users list their own tenant's orders")
		}
		q.CustomerID = e.OrgID
	case p.IsService():
		if in.CustomerID == "" {
			return nil, "", errs.Invalid("customer_id", "required for a service acting for nobody")
		}
	default:
		return nil, "", errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch, "no orders to list")
	}
	states := make([]any, 0, len(in.States))
	for _, s := range in.States {
		states = append(states, string(s))
	}
	query := paging.Fingerprint(append([]any{"orders", string(e.OrgKind), e.OrgID, q.CustomerID, q.SkuID,
		paging.Time(q.StartTime), paging.Time(q.EndTime)}, states...)...)
	if q.BeforeCreateTime, q.BeforeID, err = paging.DecodeTimeKey(in.PageToken, query); err != nil {
		return nil, "", err
	}
	rows, err := a.store.Orders(ctx, q)
	if err != nil {
		return nil, "", err
	}
	page, next := paging.Trim(rows, size, query, func(o domain.Order) []string { return paging.TimeKey(o.CreateTime, o.ID) })
	return page, next, nil
}

// CustomerGuard answers whether a customer is a partner's to look at (ID-8): ListOrders and the
// ledger use it for their customer filters.
type CustomerGuard struct{ Identity Identity }

// RequireOwnCustomer refuses a customer the partner never served with TENANT_MISMATCH, the same
// answer for one that does not exist (ID-8); a customer it served before (relationship removed,
// or moved to another partner) is still its own for what it sold it.
func (g CustomerGuard) RequireOwnCustomer(ctx context.Context, partnerID, customerID string) error {
	cc, err := g.Identity.CheckCustomer(ctx, partnerID, customerID)
	if err != nil {
		return err
	}
	if !cc.Exists || (!cc.RelationshipActive && (cc.DenialReason == "NO_RELATIONSHIP" || cc.DenialReason == "")) {
		return errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch,
			"customer %s is not a customer of the partner", customerID)
	}
	return nil
}

// CancelInput is a CancelOrder request.
type CancelInput struct {
	RequestID string
	OrderID   string
	LineIDs   []string
	Reason    string
	Etag      string // optional: the order's etag
}

// MaxCancelReasonLen is the longest reason CancelOrder keeps (characters).
const MaxCancelReasonLen = 500

// CancelOrder confirms the cancellation of an order or some of its lines (OR-3..OR-5): every
// named line is checked first and nothing changes if one cannot be cancelled. The order becomes
// CANCELLING and the services apply it in the background (OR-4). It returns the order and the
// plan (the expected completion time and the credits known now).
func (a *App) CancelOrder(ctx context.Context, in CancelInput) (domain.Order, domain.CancelPlan, error) {
	p, partnerID, err := partnerCaller(ctx)
	if err != nil {
		return domain.Order{}, domain.CancelPlan{}, err
	}
	var v errs.Violations
	if errs.CheckUUID("request_id", in.RequestID) != nil {
		v.Add("request_id", "must be a UUID")
	}
	if errs.CheckUUID("order_id", in.OrderID) != nil {
		v.Add("order_id", "must be a UUID")
	}
	if n := len([]rune(in.Reason)); n > MaxCancelReasonLen {
		v.Add("reason", "at most %d characters, got %d", MaxCancelReasonLen, n)
	}
	if err := v.Err(); err != nil {
		return domain.Order{}, domain.CancelPlan{}, err
	}
	now := a.now()
	refunds, err := a.checkSubscriptionWindows(ctx, partnerID, in, now)
	if err != nil {
		return domain.Order{}, domain.CancelPlan{}, err
	}
	var out domain.Order
	var plan domain.CancelPlan
	err = a.store.Tx(ctx, func(ctx context.Context, tx Tx) error {
		o, err := tx.Order(ctx, in.OrderID)
		if err != nil {
			return err
		}
		if o.PartnerID != partnerID {
			return errs.NotFoundf("order", in.OrderID)
		}
		if in.Etag != "" && in.Etag != Etag(o) {
			return errs.New(errs.Aborted, errs.ReasonEtagMismatch, "order %s changed since etag %s", o.ID, in.Etag)
		}
		if plan, err = domain.PlanCancel(o, in.LineIDs, now); err != nil {
			return err
		}
		for i, lc := range plan.Lines {
			if r, ok := refunds[lc.LineID]; ok && lc.Route == domain.RouteViaSubscriptions {
				plan.Lines[i].Credit = r // SU-10's refund as subscriptions previews it; applied, it is the one it gives
			}
		}
		out = domain.ApplyCancel(o, plan, in.Reason, now)
		if out.Version == o.Version {
			return nil // only lines already cancelling or cancelled: a no-op
		}
		if err := tx.UpdateOrder(ctx, out); err != nil {
			return err
		}
		rec, err := tx.Saga(ctx, o.ID)
		if err != nil {
			return err
		}
		rec.CancelPrincipal = p
		rec.Version++
		return tx.PutSaga(ctx, rec)
	})
	if err != nil {
		return domain.Order{}, domain.CancelPlan{}, err
	}
	a.changes.Publish(out)
	if out.CancellationPending {
		a.sagas.ApplyCancellation(out.ID)
	}
	return out, plan, nil
}

// checkSubscriptionWindows asks the subscriptions service, before anything changes, whether
// each subscription line to cancel is still in its window (SU-10, CA-10): the subscriptions
// service owns the window of the current term, and OR-5 wants the whole call refused when one
// line cannot be cancelled.
func (a *App) checkSubscriptionWindows(ctx context.Context, partnerID string, in CancelInput, now time.Time) (map[string]domain.Money, error) {
	o, err := a.store.Order(ctx, in.OrderID)
	if err != nil {
		return nil, err
	}
	if o.PartnerID != partnerID {
		return nil, errs.NotFoundf("order", in.OrderID)
	}
	plan, err := domain.PlanCancel(o, in.LineIDs, now)
	if err != nil {
		return nil, err
	}
	refunds := map[string]domain.Money{}
	for _, lc := range plan.Lines {
		l, _ := o.Line(lc.LineID)
		if lc.NoOp || lc.Route != domain.RouteViaSubscriptions || l.SubscriptionID == "" {
			continue
		}
		w, err := a.subs.CancelWindow(ctx, l.SubscriptionID)
		if err != nil {
			return nil, err
		}
		switch {
		case w.Never:
			return nil, errs.New(errs.FailedPrecondition, domain.ReasonNotCancellable,
				"line %s (%s) can never be cancelled", l.ID, l.Kind).With("line_id", l.ID)
		case w.Passed:
			return nil, errs.New(errs.FailedPrecondition, domain.ReasonCancellationWindowClosed,
				"the cancellation window of line %s ended at %s", l.ID, w.End.Format(time.RFC3339)).
				With("line_id", l.ID).With("window_end", w.End.Format(time.RFC3339))
		}
		refunds[l.ID] = w.Refund
	}
	return refunds, nil
}

// Etag is the order's etag: its version, opaque to clients.
func Etag(o domain.Order) string { return fmt.Sprintf("W/\"%d\"", o.Version) }

// Now is the business clock's now: what GetOrder's "window passed" flags are measured against.
func (a *App) Now() time.Time { return a.now() }
