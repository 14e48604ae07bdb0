package app

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// Transfers (TransferService, ID-4, ID-5, SU-9, SU-12..SU-14, CA-9). The target partner creates a
// transfer of one customer's subscriptions; the source side (the source partner, or the customer's
// Global admin for directly bought subscriptions) accepts or rejects it; either side cancels it
// while pending. Each source subscription carries the transfer's ID (PendingTransferID) from
// creation until its item settles, which keeps it out of other transfers. A direct move happens
// at acceptance; an expire-and-repurchase transfer then follows the lifecycle engine (sources
// expire: transferProgress) and the target's ProvisionSubscription with transfer_id (repurchase).

// maxTransferItems bounds one transfer; a tenant holds at most a few hundred subscriptions
// (SU-13), so this only stops absurd requests.
const maxTransferItems = 1000

// TransferItemSpec names one subscription to move and the offer the target will hold ("" for the
// same SKU).
type TransferItemSpec struct {
	SubscriptionID string
	TargetSkuID    string
}

// CreateTransferInput is one CreateTransfer call.
type CreateTransferInput struct {
	RequestID       string
	CustomerID      string
	SourcePartnerID string // "" for the customer's directly bought subscriptions
	Items           []TransferItemSpec
	Method          domain.TransferMethod
	Note            string
}

// validate refuses malformed input, every problem as a field violation.
func (in CreateTransferInput) validate(caller string) error {
	var v errs.Violations
	if checkID("customer_id", in.CustomerID) != nil {
		v.Add("customer_id", "must be a UUID")
	}
	switch {
	case in.SourcePartnerID == "":
	case checkID("source_partner_id", in.SourcePartnerID) != nil:
		v.Add("source_partner_id", "must be a UUID, or empty for directly bought subscriptions")
	case in.SourcePartnerID == caller:
		v.Add("source_partner_id", "is the caller's own partner: a transfer moves subscriptions from another source")
	}
	switch in.Method {
	case domain.MethodUnspecified, domain.MethodDirectMove, domain.MethodExpireAndRepurchase:
	default:
		v.Add("method", "unknown transfer method %q", in.Method)
	}
	if utf8.RuneCountInString(in.Note) > 500 {
		v.Add("note", "at most 500 characters")
	}
	switch {
	case len(in.Items) == 0:
		v.Add("items", "at least one subscription is required")
	case len(in.Items) > maxTransferItems:
		v.Add("items", "at most %d subscriptions per transfer", maxTransferItems)
	}
	seen := map[string]bool{}
	for i, it := range in.Items {
		field := fmt.Sprintf("items[%d]", i)
		switch {
		case checkID("subscription_id", it.SubscriptionID) != nil:
			v.Add(field+".subscription_id", "must be a UUID")
		case seen[it.SubscriptionID]:
			v.Add(field+".subscription_id", "subscription %s is listed twice", it.SubscriptionID)
		}
		seen[it.SubscriptionID] = true
		if len(it.TargetSkuID) > 100 {
			v.Add(field+".target_sku_id", "at most 100 characters")
		}
	}
	return v.Err()
}

// CreateTransfer requests the move of subscriptions of one customer to the caller's partner. The
// checks, in this order: an active reseller relationship (ID-4, RELATIONSHIP_REQUIRED) — first,
// so a partner without one learns nothing about the customer (ID-8) —, the same country/region
// as the customer (ID-5, NOT_SAME_COUNTRY), every subscription the customer's and the source's
// (others are RESOURCE_NOT_FOUND or INVALID_ARGUMENT), movable and in no open transfer, the target
// offers (CA-9, SU-14, EQUIVALENT_OFFER_REQUIRED), then the tenant maximum that decides the method
// (SU-13). The transfer is PENDING and each source carries its ID, in one transaction.
func (a *App) CreateTransfer(ctx context.Context, in CreateTransferInput) (domain.Transfer, error) {
	p, err := viewer(ctx)
	if err != nil {
		return domain.Transfer{}, err
	}
	if p.OrgKind != auth.OrgPartner {
		return domain.Transfer{}, errs.New(errs.PermissionDenied, errs.ReasonRoleRequired,
			"a transfer is created by the partner that takes the subscriptions over")
	}
	if err := in.validate(p.OrgID); err != nil {
		return domain.Transfer{}, err
	}
	if err := a.checkTakeover(ctx, p.OrgID, in.CustomerID); err != nil {
		return domain.Transfer{}, err
	}
	var subs []domain.Subscription
	for i, it := range in.Items {
		s, err := a.store.Subscription(ctx, it.SubscriptionID)
		if err != nil {
			return domain.Transfer{}, err
		}
		if err := checkSource(in, i, s); err != nil {
			return domain.Transfer{}, err
		}
		subs = append(subs, s)
	}
	// The catalog is asked before the transaction: no remote call holds the database's locks.
	items, err := a.planItems(ctx, in.Items, subs)
	if err != nil {
		return domain.Transfer{}, err
	}
	var out domain.Transfer
	err = a.store.Tx(ctx, func(ctx context.Context, tx Tx) error {
		now := a.now()
		allActive := true
		locked := make([]domain.Subscription, len(subs))
		for i, before := range subs {
			s, err := tx.Subscription(ctx, before.ID)
			if err != nil {
				return err
			}
			if s.SkuID != before.SkuID { // the catalog's answer was about another SKU
				return errs.New(errs.Aborted, errs.ReasonEtagMismatch, "subscription %s changed meanwhile; try again", s.ID).
					With("subscription_id", s.ID)
			}
			if err := checkSource(in, i, s); err != nil {
				return err
			}
			items[i].Quantity, items[i].SourceTermEnd = s.Quantity, s.TermEnd
			allActive = allActive && s.State == domain.StateActive
			locked[i] = s
		}
		active, err := tx.CountActive(ctx, in.CustomerID)
		if err != nil {
			return err
		}
		method, lim, err := domain.ChooseMethod(in.Method, a.limit, active, len(items), allActive)
		if err != nil {
			return err
		}
		t := domain.Transfer{ID: a.newID(), CustomerID: in.CustomerID, SourcePartnerID: in.SourcePartnerID,
			TargetPartnerID: p.OrgID, Method: method, State: domain.TransferPending, Items: items, Limit: lim,
			CreatedBy: p.Subject, Note: in.Note, Version: 1, CreateTime: now, UpdateTime: now}
		if method == domain.MethodExpireAndRepurchase {
			t.RepurchaseDeadline = domain.RepurchaseDeadline(items)
		}
		if err := tx.InsertTransfer(ctx, t); err != nil {
			return err
		}
		for _, s := range locked {
			s.PendingTransferID = t.ID
			if err := update(ctx, tx, s, now); err != nil {
				return err
			}
		}
		out = t
		return nil
	})
	return out, err
}

// checkTakeover refuses a target partner without an active reseller relationship to the customer
// (ID-4) or outside its country/region (ID-5).
func (a *App) checkTakeover(ctx context.Context, partnerID, customerID string) error {
	rel, err := a.rels.Relationship(ctx, partnerID, customerID)
	if err != nil {
		return err
	}
	if !rel.Active {
		return errs.New(errs.FailedPrecondition, domain.ReasonRelationshipRequired,
			"an active reseller relationship with customer %s is needed to take its subscriptions over (ID-4)", customerID).
			With("customer_id", customerID)
	}
	if rel.CustomerCountry != rel.PartnerCountry {
		return errs.New(errs.FailedPrecondition, domain.ReasonNotSameCountry,
			"the partner (%s) is not in the customer's country/region (%s) (ID-5)", rel.PartnerCountry, rel.CustomerCountry).
			With("customer_country", rel.CustomerCountry).With("partner_country", rel.PartnerCountry)
	}
	return nil
}

// checkSource refuses subscription s as item i of in: another customer's is RESOURCE_NOT_FOUND
// (ID-8), another source's INVALID_ARGUMENT (the caller may see it, SU-8), and it must be movable
// by the requested method and in no open transfer.
func checkSource(in CreateTransferInput, i int, s domain.Subscription) error {
	if s.CustomerID != in.CustomerID {
		return errs.NotFoundf("subscription", s.ID)
	}
	if s.PartnerID != in.SourcePartnerID {
		source := "partner " + s.PartnerID
		if s.PartnerID == "" {
			source = "the customer's direct purchases"
		}
		return errs.Invalid(fmt.Sprintf("items[%d].subscription_id", i),
			"subscription %s belongs to %s, not to the transfer's source", s.ID, source)
	}
	return domain.CheckTransferable(s, in.Method)
}

// planItems asks the catalog about the source and target offers of each item (CA-9, SU-14), each
// SKU once.
func (a *App) planItems(ctx context.Context, specs []TransferItemSpec, subs []domain.Subscription) ([]domain.TransferItem, error) {
	if a.catalog == nil {
		return nil, errs.Unavailablef("the catalog is not configured: transfers cannot check offers").With("dependency", "catalog")
	}
	known := map[string]domain.SkuInfo{}
	sku := func(id string) (domain.SkuInfo, error) {
		if info, ok := known[id]; ok {
			return info, nil
		}
		info, err := a.catalog.Sku(ctx, id)
		if err != nil {
			return domain.SkuInfo{}, err
		}
		info.ID, known[id] = id, info
		return info, nil
	}
	items := make([]domain.TransferItem, len(specs))
	for i, s := range subs {
		source, err := sku(s.SkuID)
		if err != nil {
			return nil, fmt.Errorf("offer of subscription %s: %w", s.ID, err)
		}
		target := source
		if id := specs[i].TargetSkuID; id != "" && id != s.SkuID {
			if target, err = sku(id); errs.KindOf(err) == errs.NotFound {
				return nil, errs.Invalid(fmt.Sprintf("items[%d].target_sku_id", i), "unknown SKU %q", id)
			} else if err != nil {
				return nil, fmt.Errorf("target offer %s: %w", id, err)
			}
		}
		reassign, err := domain.PlanItemTarget(source, target)
		if e, ok := errs.As(err); ok {
			return nil, e.With("subscription_id", s.ID)
		}
		items[i] = domain.TransferItem{SubscriptionID: s.ID, SourceSkuID: s.SkuID, TargetSkuID: target.ID,
			TargetProductID: target.ProductID, TargetDisplayName: target.DisplayName, TargetMaxQuantity: target.MaxQuantity,
			Quantity: s.Quantity, LicenseReassignmentRequired: reassign, State: domain.ItemPending, SourceTermEnd: s.TermEnd}
	}
	return items, nil
}

// update stores a changed subscription (Version + 1) in tx.
func update(ctx context.Context, tx Tx, s domain.Subscription, now time.Time) error {
	s.Version, s.UpdateTime = s.Version+1, now
	return tx.UpdateSubscription(ctx, s)
}

// inTransfer refuses a change that would undo the open transfer s is part of: cancelling it
// (the move relies on it running to its end date, SU-12), switching autorenew back on (SU-9),
// reactivating it after expiry (the target repurchases it) or converting its channel (a new
// partner of record). The source side rejects or cancels a pending transfer first.
func inTransfer(s domain.Subscription) error {
	if s.PendingTransferID == "" {
		return nil
	}
	return errs.New(errs.FailedPrecondition, domain.ReasonTransferAlreadyPending,
		"subscription %s is part of transfer %s; reject or cancel the transfer first", s.ID, s.PendingTransferID).
		With("transfer_id", s.PendingTransferID).With("subscription_id", s.ID)
}
