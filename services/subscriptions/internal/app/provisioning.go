package app

import (
	"context"
	"slices"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// ProvisionInput is one ProvisionSubscription step of the order or redemption saga.
type ProvisionInput struct {
	RequestID           string
	OrderID             string
	OrderLineID         string
	CustomerID          string
	PartnerID           string
	SkuID               string
	ProductID           string
	DisplayName         string
	Kind                domain.ProductKind
	Channel             domain.Channel
	Quantity            int32
	MaxQuantity         int32
	Plan                domain.BillingPlan
	Term                domain.Term
	UnitPrice           domain.Money
	Policy              domain.CancellationPolicy
	WindowDays          int32
	AutoRenew           bool
	AddToSubscriptionID string
	TransferID          string
	// LicensedUserIDs get one license each of the created subscription (ID-2); only on creation.
	LicensedUserIDs []string
}

// currencyOK reports whether c looks like an ISO 4217 code (three upper-case letters).
func currencyOK(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// validate refuses a malformed step with every problem as a field violation.
func (in ProvisionInput) validate() error {
	var v errs.Violations
	for field, id := range map[string]string{"customer_id": in.CustomerID, "partner_id": in.PartnerID} {
		if checkID(field, id) != nil {
			v.Add(field, "must be a UUID")
		}
	}
	if in.AddToSubscriptionID != "" && checkID("add_to_subscription_id", in.AddToSubscriptionID) != nil {
		v.Add("add_to_subscription_id", "must be a UUID")
	}
	switch {
	case in.TransferID == "":
	case checkID("transfer_id", in.TransferID) != nil:
		v.Add("transfer_id", "must be a UUID")
	case in.AddToSubscriptionID != "":
		v.Add("transfer_id", "a repurchase creates a subscription: not with add_to_subscription_id")
	}
	if in.OrderID == "" {
		v.Add("order_id", "required")
	}
	if in.SkuID == "" {
		v.Add("sku_id", "required")
	}
	if in.MaxQuantity < 1 {
		v.Add("max_quantity", "must be at least 1")
	}
	if in.Quantity < 1 {
		v.Add("quantity", "must be at least 1")
	}
	if len(in.LicensedUserIDs) > 0 && in.AddToSubscriptionID != "" {
		v.Add("licensed_user_ids", "licenses are assigned when a subscription is created: not with add_to_subscription_id")
	} else {
		domain.CheckLicensedUsers(&v, in.LicensedUserIDs, in.Quantity)
	}
	switch in.Kind {
	case domain.KindOnlineService, domain.KindSoftwareSubscription, domain.KindAzureReservation,
		domain.KindSoftwarePlan, domain.KindServerSubscription:
	case domain.KindPerpetualSoftware:
		v.Add("product_kind", "perpetual software is bought once, not a subscription (orders and keys handle it)")
	default:
		v.Add("product_kind", "unknown product kind %q", in.Kind)
	}
	if in.Channel != domain.ChannelCSP && in.Channel != domain.ChannelOpen {
		v.Add("channel", "must be CHANNEL_CSP (orders) or CHANNEL_OPEN (key redemptions)")
	}
	if !domain.ValidTerm(in.Term) {
		v.Add("term_duration", "must be P1M, P1Y or P3Y")
	} else if !domain.ValidPlan(in.Term, in.Plan) {
		v.Add("billing_plan", "billing plan %q is not allowed with term %s (CA-5)", in.Plan, in.Term)
	}
	if !currencyOK(in.UnitPrice.Currency) {
		v.Add("unit_price.currency_code", "must be an ISO 4217 code, e.g. EUR")
	}
	if in.UnitPrice.Minor < 0 {
		v.Add("unit_price.amount_minor", "must not be negative")
	}
	switch in.Policy {
	case domain.PolicyNever:
		if in.WindowDays != 0 {
			v.Add("cancellation_window_days", "must be 0 when the policy is NEVER")
		}
	case domain.PolicyProratedRefundWindow:
		if in.WindowDays < 1 || in.WindowDays > 366 {
			v.Add("cancellation_window_days", "must be between 1 and 366")
		}
	default:
		v.Add("cancellation_policy", "must be PRORATED_REFUND_WINDOW or NEVER")
	}
	return v.Err()
}

// requireSaga returns the partner a saga step acts for: the caller must be a partnerhub service
// acting on behalf of that partner's user (the access rule already demands SERVICE).
func requireSaga(ctx context.Context, partnerID string) error {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return err
	}
	if !p.IsService() || p.OnBehalfOf == nil || p.OnBehalfOf.OrgKind != auth.OrgPartner {
		return errs.New(errs.PermissionDenied, errs.ReasonServiceTokenRequired,
			"provisioning steps are made by partnerhub services acting for a partner user")
	}
	if partnerID != "" && p.OnBehalfOf.OrgID != partnerID {
		return errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch,
			"partner_id must be the partner the service acts for").With("partner_id", partnerID)
	}
	return nil
}

// stepTaken refuses a step whose request ID was compensated before it ran (a late retry of a
// failed saga), and reports a step that already ran.
func stepTaken(ctx context.Context, tx Tx, requestID string) (domain.Step, bool, error) {
	st, ok, err := tx.Step(ctx, requestID)
	if err != nil || !ok {
		return st, false, err
	}
	if st.Compensated && st.Kind == "" {
		return st, true, errs.New(errs.FailedPrecondition, domain.ReasonStepAlreadyCompensated,
			"the saga step %s was compensated before it ran; start a new order", requestID).With("request_id", requestID)
	}
	return st, true, nil
}

// Provision creates a subscription for an order line or redeemed key card, or adds its seats to
// an existing subscription (SU-6). Emits CREATED or QUANTITY_CHANGED. With a transfer ID the new
// subscription is the target partner's repurchase of an expired source (SU-12, linkRepurchase),
// which also emits the source's TRANSFERRED; the expired source no longer counts against the
// tenant maximum, so the repurchase fits wherever the source did (SU-13).
func (a *App) Provision(ctx context.Context, in ProvisionInput) (View, bool, error) {
	if err := requireSaga(ctx, in.PartnerID); err != nil {
		return View{}, false, err
	}
	if err := in.validate(); err != nil {
		return View{}, false, err
	}
	var out domain.Subscription
	var created bool
	var now time.Time
	err := a.commit(ctx, func(ctx context.Context, tx Tx) ([]domain.Event, error) {
		st, ran, err := stepTaken(ctx, tx, in.RequestID)
		if err != nil {
			return nil, err
		}
		if ran { // the step ran before (its response was not kept): answer with the subscription now
			out, err = tx.Subscription(ctx, st.SubscriptionID)
			created = st.Kind == domain.StepProvision
			now = a.now()
			return nil, err
		}
		now = a.now()
		var evs []domain.Event
		if in.AddToSubscriptionID != "" {
			out, evs, err = a.addSeats(ctx, tx, in, now)
		} else {
			created = true
			out, evs, err = a.create(ctx, tx, in, now)
		}
		if err != nil {
			return nil, err
		}
		return evs, nil
	})
	if err != nil {
		return View{}, false, err
	}
	return View{Sub: out, ReadOnly: domain.ReadOnlyForPartner(out, in.PartnerID), Now: now}, created, nil
}

func (a *App) create(ctx context.Context, tx Tx, in ProvisionInput, now time.Time) (domain.Subscription, []domain.Event, error) {
	if in.Quantity > in.MaxQuantity {
		return domain.Subscription{}, nil, errs.New(errs.InvalidArgument, domain.ReasonQuantityAboveMaximum,
			"quantity %d is above the SKU's maximum %d", in.Quantity, in.MaxQuantity).With("maximum", in.MaxQuantity)
	}
	var link repurchase
	if in.TransferID != "" { // checked first: a refused repurchase creates nothing
		var err error
		if link, err = findRepurchase(ctx, tx, in, now); err != nil {
			return domain.Subscription{}, nil, err
		}
	}
	if err := a.checkLimit(ctx, tx, in.CustomerID, 1); err != nil {
		return domain.Subscription{}, nil, err
	}
	start := domain.Day(now)
	s := domain.Subscription{
		ID: a.newID(), CustomerID: in.CustomerID, PartnerID: in.PartnerID, SkuID: in.SkuID, ProductID: in.ProductID,
		DisplayName: in.DisplayName, Kind: in.Kind, State: domain.StateActive, Channel: in.Channel,
		Quantity: in.Quantity, MaxQuantity: in.MaxQuantity,
		Lots: []domain.SeatLot{{ID: a.newID(), Quantity: in.Quantity, AddTime: now, OrderID: in.OrderID, UnitPrice: in.UnitPrice}},
		Plan: in.Plan, Term: in.Term, TermStart: start, TermEnd: domain.AddTerm(start, in.Term),
		AutoRenew: in.AutoRenew, UnitPrice: in.UnitPrice, Policy: in.Policy, WindowDays: in.WindowDays,
		OrderID: in.OrderID, PurchaseTime: now, StateTime: now, Version: 1, CreateTime: now, UpdateTime: now,
		LicensedUserIDs: slices.Clone(in.LicensedUserIDs),
	}
	if err := tx.InsertSubscription(ctx, s); err != nil {
		return domain.Subscription{}, nil, err
	}
	if err := tx.PutStep(ctx, domain.Step{RequestID: in.RequestID, Kind: domain.StepProvision, SubscriptionID: s.ID,
		CreateTime: now}); err != nil {
		return domain.Subscription{}, nil, err
	}
	e := a.event(s, domain.EventCreated, in.RequestID, now)
	e.Created = &domain.CreatedPayload{OrderID: in.OrderID, OrderLineID: in.OrderLineID, SkuID: in.SkuID,
		Channel: in.Channel, Quantity: in.Quantity, Plan: in.Plan, Term: in.Term, TermStart: s.TermStart,
		TermEnd: s.TermEnd, UnitPrice: in.UnitPrice, AutoRenew: in.AutoRenew}
	if in.TransferID == "" {
		return s, []domain.Event{e}, nil
	}
	more, err := a.linkRepurchase(ctx, tx, link, s, in.RequestID, now)
	if err != nil {
		return domain.Subscription{}, nil, err
	}
	return s, append([]domain.Event{e}, more...), nil
}

func (a *App) addSeats(ctx context.Context, tx Tx, in ProvisionInput, now time.Time) (domain.Subscription, []domain.Event, error) {
	s, err := tx.Subscription(ctx, in.AddToSubscriptionID)
	if err != nil {
		return s, nil, err
	}
	if s.CustomerID != in.CustomerID || s.SkuID != in.SkuID {
		return s, nil, errs.Invalid("add_to_subscription_id", "subscription %s is not the customer's subscription of SKU %s",
			s.ID, in.SkuID)
	}
	if s.PartnerID != in.PartnerID {
		return s, nil, notManaged(s, domain.ReadOnlyForPartner(s, in.PartnerID))
	}
	change, err := domain.PlanQuantityChange(s, s.Quantity+in.Quantity, now)
	if err != nil {
		return s, nil, err
	}
	lot := domain.SeatLot{ID: a.newID(), OrderID: in.OrderID, UnitPrice: in.UnitPrice}
	next := domain.ApplyQuantityChange(s, change, lot, now)
	next.Version, next.UpdateTime = s.Version+1, now
	if err := tx.UpdateSubscription(ctx, next); err != nil {
		return s, nil, err
	}
	before := s
	if err := tx.PutStep(ctx, domain.Step{RequestID: in.RequestID, Kind: domain.StepAddSeats, SubscriptionID: s.ID,
		LotID: lot.ID, Before: &before, CreateTime: now}); err != nil {
		return s, nil, err
	}
	e := a.event(next, domain.EventQuantityChanged, in.RequestID, now)
	e.QuantityChanged = &domain.QuantityChangedPayload{OldQuantity: change.OldQuantity, NewQuantity: change.NewQuantity,
		OldTermEnd: change.OldTermEnd, NewTermEnd: change.NewTermEnd, PriceDelta: change.PriceDelta, OrderID: in.OrderID}
	return next, []domain.Event{e}, nil
}

// RenewInput is one RenewSubscription step (SU-4).
type RenewInput struct {
	RequestID      string
	SubscriptionID string
	OrderID        string
	Term           domain.Term
	Quantity       int32 // 0 keeps the current quantity
	UnitPrice      domain.Money
}

// Renew renews a subscription by product key (SU-4): from 30 days before the end date; before it
// the new term starts today (the days left are lost), in the 30-day EXPIRED grace at the old end
// date. Emits RENEWED.
func (a *App) Renew(ctx context.Context, in RenewInput) (View, domain.Renewal, error) {
	if err := requireSaga(ctx, ""); err != nil {
		return View{}, domain.Renewal{}, err
	}
	var v errs.Violations
	if checkID("subscription_id", in.SubscriptionID) != nil {
		v.Add("subscription_id", "must be a UUID")
	}
	if in.OrderID == "" {
		v.Add("order_id", "required")
	}
	if !domain.ValidTerm(in.Term) {
		v.Add("term_duration", "must be P1M, P1Y or P3Y")
	}
	if in.Quantity < 0 {
		v.Add("quantity", "must not be negative (0 keeps the current quantity)")
	}
	if in.UnitPrice.Minor < 0 || (in.UnitPrice.Currency != "" && !currencyOK(in.UnitPrice.Currency)) {
		v.Add("unit_price", "must be a non-negative amount in an ISO 4217 currency")
	}
	if err := v.Err(); err != nil {
		return View{}, domain.Renewal{}, err
	}
	partner, _ := viewer(ctx)
	var out domain.Subscription
	var r domain.Renewal
	var now time.Time
	err := a.commit(ctx, func(ctx context.Context, tx Tx) ([]domain.Event, error) {
		st, ran, err := stepTaken(ctx, tx, in.RequestID)
		if err != nil {
			return nil, err
		}
		s, err := tx.Subscription(ctx, in.SubscriptionID)
		if err != nil {
			return nil, err
		}
		now = a.now()
		if ran {
			out = s
			if st.Before != nil {
				r = domain.Renewal{Start: s.TermStart, End: s.TermEnd}
			}
			return nil, nil
		}
		if s.PartnerID != partner.OrgID {
			return nil, notManaged(s, domain.ReadOnlyForPartner(s, partner.OrgID))
		}
		qty := in.Quantity
		if qty == 0 {
			qty = s.Quantity
		}
		if qty > s.MaxQuantity {
			return nil, errs.New(errs.InvalidArgument, domain.ReasonQuantityAboveMaximum,
				"quantity %d is above the SKU's maximum %d", qty, s.MaxQuantity).With("maximum", s.MaxQuantity)
		}
		if err := domain.CheckLicensedSeats(s, qty); err != nil { // ID-2: the licensed users keep their seats
			return nil, err
		}
		unit := in.UnitPrice
		if unit.Currency == "" {
			unit.Currency = s.UnitPrice.Currency
		}
		r, err = domain.PlanRenewal(s, now, in.Term)
		if err != nil {
			return nil, err
		}
		out = domain.ApplyRenewal(s, r, in.Term, qty, unit, now)
		for i := range out.Lots { // the renewed seats are paid by this redemption
			out.Lots[i].OrderID = in.OrderID
		}
		out.Version, out.UpdateTime = s.Version+1, now
		if err := tx.UpdateSubscription(ctx, out); err != nil {
			return nil, err
		}
		before := s
		if err := tx.PutStep(ctx, domain.Step{RequestID: in.RequestID, Kind: domain.StepRenew, SubscriptionID: s.ID,
			Before: &before, CreateTime: now}); err != nil {
			return nil, err
		}
		e := a.event(out, domain.EventRenewed, in.RequestID, now)
		e.Renewed = &domain.RenewedPayload{Kind: domain.RenewalProductKey, TermStart: out.TermStart, TermEnd: out.TermEnd,
			Quantity: out.Quantity, Plan: out.Plan, AmountDue: domain.FirstCharge(unit, qty, in.Term, out.Plan),
			TermAmount: domain.TermPrice(unit, qty), OrderID: in.OrderID}
		return []domain.Event{e}, nil
	})
	if err != nil {
		return View{}, domain.Renewal{}, err
	}
	return View{Sub: out, ReadOnly: domain.ReadOnlyForPartner(out, partner.OrgID), Now: now}, r, nil
}

// Compensate undoes a ProvisionSubscription or RenewSubscription step of a failed saga, named by
// its request ID: a created subscription is cancelled without charge, added seats are removed and
// the previous end date restored, a renewal restores the previous term. A step that never ran gets
// a tombstone so that a late call of it is refused. Idempotent. Returns the subscription after
// compensation, or false when there was nothing to compensate.
func (a *App) Compensate(ctx context.Context, requestID, stepRequestID, reason string) (View, bool, error) {
	if err := requireSaga(ctx, ""); err != nil {
		return View{}, false, err
	}
	if stepRequestID == "" {
		return View{}, false, errs.Invalid("step_request_id", "required")
	}
	if err := checkReason(reason); err != nil {
		return View{}, false, err
	}
	partner, _ := viewer(ctx)
	var out domain.Subscription
	var found bool
	var now time.Time
	err := a.commit(ctx, func(ctx context.Context, tx Tx) ([]domain.Event, error) {
		found = false
		now = a.now()
		st, ok, err := tx.Step(ctx, stepRequestID)
		if err != nil {
			return nil, err
		}
		if !ok { // never ran: a tombstone refuses it if it arrives late
			return nil, tx.PutStep(ctx, domain.Step{RequestID: stepRequestID, Compensated: true, CreateTime: now})
		}
		if st.Kind == "" {
			return nil, nil // a tombstone already
		}
		s, err := tx.Subscription(ctx, st.SubscriptionID)
		if err != nil {
			return nil, err
		}
		found, out = true, s
		if st.Compensated {
			return nil, nil
		}
		if s.PartnerID != partner.OrgID {
			return nil, notManaged(s, domain.ReadOnlyForPartner(s, partner.OrgID))
		}
		var e domain.Event
		switch st.Kind {
		case domain.StepProvision:
			if s.State.Final() {
				break
			}
			out.State, out.StateTime = domain.StateCancelled, now
			e = a.event(out, domain.EventCancelled, requestID, now)
			e.Cancelled = &domain.CancelledPayload{Refund: domain.Money{Currency: s.UnitPrice.Currency}, Quantity: s.Quantity,
				Compensation: true, Reason: reason}
		case domain.StepAddSeats, domain.StepRenew:
			out = restore(s, st)
			e = a.event(out, domain.EventQuantityChanged, requestID, now)
			e.QuantityChanged = &domain.QuantityChangedPayload{OldQuantity: s.Quantity, NewQuantity: out.Quantity,
				OldTermEnd: s.TermEnd, NewTermEnd: out.TermEnd, PriceDelta: domain.Money{Currency: s.UnitPrice.Currency}}
		}
		st.Compensated = true
		if err := tx.PutStep(ctx, st); err != nil {
			return nil, err
		}
		if e.ID == "" {
			return nil, nil
		}
		out.Version, out.UpdateTime = s.Version+1, now
		if err := tx.UpdateSubscription(ctx, out); err != nil {
			return nil, err
		}
		return []domain.Event{e}, nil
	})
	if err != nil {
		return View{}, false, err
	}
	if !found {
		return View{}, false, nil
	}
	return View{Sub: out, ReadOnly: domain.ReadOnlyForPartner(out, partner.OrgID), Now: now}, true, nil
}

// restore undoes an ADD_SEATS or RENEW step on s: the added lot goes and the term end the step
// moved comes back; a renewal gets its whole previous term back. Changes made after the step
// (other lots, autorenew) are kept.
func restore(s domain.Subscription, st domain.Step) domain.Subscription {
	out := s
	if st.Before == nil {
		return out
	}
	if st.Kind == domain.StepRenew {
		b := *st.Before
		out.State, out.StateTime = b.State, b.StateTime
		out.TermStart, out.TermEnd, out.Term = b.TermStart, b.TermEnd, b.Term
		out.Quantity, out.Lots, out.UnitPrice = b.Quantity, b.Lots, b.UnitPrice
		out.RemindersSent = b.RemindersSent
		return out
	}
	out.Lots = nil
	out.Quantity = 0
	for _, l := range s.Lots {
		if l.ID == st.LotID {
			continue
		}
		out.Lots = append(out.Lots, l)
		out.Quantity += l.Quantity
	}
	out.TermEnd = st.Before.TermEnd
	return out
}

// Capacity is the answer of CheckTenantCapacity (SU-13).
type Capacity struct {
	Allowed                  bool
	Limit, Active, Requested int
}

// CheckTenantCapacity answers whether the customer may take requested more subscriptions under
// the tenant maximum (SU-13), with no side effect: the order review asks it before an order is
// stored. ProvisionSubscription decides again, in its transaction.
func (a *App) CheckTenantCapacity(ctx context.Context, customerID string, requested int32) (Capacity, error) {
	if err := requireSaga(ctx, ""); err != nil {
		return Capacity{}, err
	}
	var v errs.Violations
	if errs.CheckUUID("customer_id", customerID) != nil {
		v.Add("customer_id", "must be a UUID")
	}
	if requested < 1 {
		v.Add("requested", "must be at least 1")
	}
	if err := v.Err(); err != nil {
		return Capacity{}, err
	}
	active, err := a.store.CountActive(ctx, customerID)
	if err != nil {
		return Capacity{}, err
	}
	c := Capacity{Limit: a.limit, Active: active, Requested: int(requested)}
	c.Allowed = domain.CheckTenantLimit(a.limit, active, int(requested)) == nil
	return c, nil
}
