package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/paging"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// IssueInput is one order line to fulfil (IssueEntitlements, a step of the order saga).
type IssueInput struct {
	RequestID      string
	OrderID        string
	OrderLineID    string
	CustomerID     string
	PartnerID      string
	SubscriptionID string
	SkuID          string
	ProductID      string
	ProductName    string
	Quantity       int32
	KeyType        domain.KeyType
	KeyCount       int32 // MAK keys to issue; 0 with KeyType MAK means one
	Variants       []domain.Variant
	Instructions   string
}

// validate checks the input field by field (INVALID_ARGUMENT naming the field).
func (in IssueInput) validate() error {
	if err := checkRequestID(in.RequestID); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"order_id", in.OrderID}, {"order_line_id", in.OrderLineID},
		{"customer_id", in.CustomerID}} {
		if err := checkID(f.name, f.v); err != nil {
			return err
		}
	}
	if in.PartnerID != "" {
		if err := checkID("partner_id", in.PartnerID); err != nil {
			return err
		}
	}
	switch {
	case in.SkuID == "":
		return errs.Invalid("sku_id", "is required")
	case in.ProductName == "":
		return errs.Invalid("product_name", "is required")
	case in.Quantity <= 0:
		return errs.Invalid("quantity", "must be at least 1")
	case in.KeyCount < 0 || in.KeyCount > domain.MaxKeysPerLine:
		return errs.Invalid("key_count", "must be between 0 and %d", domain.MaxKeysPerLine)
	}
	if err := domain.CheckIssuable(in.KeyType); err != nil { // CA-8: KMS_NOT_ALLOWED
		return err
	}
	if in.KeyType != domain.KeyTypeMAK && in.KeyCount > 0 {
		return errs.Invalid("key_count", "keys are issued only for key type MAK")
	}
	seen := map[string]bool{}
	for i, v := range in.Variants {
		field := fmt.Sprintf("download_variants[%d]", i)
		switch {
		case v.ID == "" || len(v.ID) > 255:
			return errs.Invalid(field+".variant_id", "must be 1 to 255 characters")
		case seen[v.ID]:
			return errs.Invalid(field+".variant_id", "variant %q is listed twice", v.ID)
		case v.SizeBytes < 0:
			return errs.Invalid(field+".size_bytes", "must not be negative")
		}
		seen[v.ID] = true
	}
	return nil
}

// keyCount is how many MAK keys the line gets: KeyCount, at least one for a MAK SKU.
func (in IssueInput) keyCount() int {
	if in.KeyType == domain.KeyTypeMAK {
		return max(int(in.KeyCount), 1)
	}
	return 0
}

// IssueEntitlements creates the entitlement of an order line: its MAK keys, sealed at rest
// (KD-8), its download variants (KD-4), its installation instructions, or only the licence
// (CA-7). A KMS key is never issued (CA-8). An order line has one entitlement: issuing it again
// returns the one it has, so a retried saga step changes nothing.
func (a *App) IssueEntitlements(ctx context.Context, in IssueInput) (domain.Entitlement, error) {
	p, err := caller(ctx)
	if err != nil {
		return domain.Entitlement{}, err
	}
	for i, v := range in.Variants {
		if v.FileName == "" { // the catalog names no files: the contract says the service derives one
			in.Variants[i].FileName = v.DerivedFileName(in.ProductName)
		}
	}
	if err := in.validate(); err != nil {
		return domain.Entitlement{}, err
	}
	// The saga acts for the partner that placed the order: the line must be that partner's.
	if v := p.Effective(); v.OrgKind == auth.OrgPartner && in.PartnerID != v.OrgID {
		return domain.Entitlement{}, errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch,
			"partner_id %s is not the partner the call acts for", in.PartnerID)
	}
	now := a.now()
	e := domain.Entitlement{ID: a.opts.NewID(), RequestID: in.RequestID, CustomerID: in.CustomerID,
		PartnerID: in.PartnerID, OrderID: in.OrderID, OrderLineID: in.OrderLineID, SubscriptionID: in.SubscriptionID,
		SkuID: in.SkuID, ProductID: in.ProductID, ProductName: in.ProductName, Quantity: in.Quantity,
		State: domain.EntitlementActive, Variants: slices.Clone(in.Variants), Instructions: in.Instructions,
		Version: 1, CreateTime: now, UpdateTime: now}
	// Keys are made before the transaction, so that a retried transaction stores the same ones.
	for range in.keyCount() {
		k, err := domain.GenerateKey(a.opts.Rand)
		if err != nil {
			return domain.Entitlement{}, fmt.Errorf("issue entitlements: %w", err)
		}
		id := a.opts.NewID()
		e.Keys = append(e.Keys, domain.IssuedKey{ID: id, Type: domain.KeyTypeMAK, Masked: k.Masked(),
			Sealed: a.keyring.Seal([]byte(k.Reveal()), keyAAD(id)), ActivationLimit: in.Quantity})
	}
	e.Kind = domain.FulfilmentOf(len(e.Keys), len(e.Variants), e.Instructions)
	err = a.store.Tx(ctx, func(ctx context.Context, tx Tx) error {
		had, ok, err := tx.EntitlementOfLine(ctx, in.OrderID, in.OrderLineID)
		if err != nil {
			return err
		}
		if ok {
			if had.SkuID != in.SkuID || had.CustomerID != in.CustomerID {
				return errs.New(errs.AlreadyExists, "", "order line %s already has entitlement %s for another SKU or customer",
					in.OrderLineID, had.ID)
			}
			e = had
			return nil
		}
		return tx.InsertEntitlement(ctx, e)
	})
	if err != nil {
		return domain.Entitlement{}, err
	}
	return e, nil
}

// keyAAD binds a sealed key to its key ID: a sealed value copied to another key's row does not
// open.
func keyAAD(keyID string) []byte { return []byte("partnerhub.keys.issued-key:" + keyID) }

// RevokeInput names the order (and optionally its lines) whose entitlements to revoke.
type RevokeInput struct {
	RequestID    string
	OrderID      string
	OrderLineIDs []string // none: every line of the order
	Reason       domain.RevocationReason
}

// RevokeEntitlements revokes the entitlements of a cancelled purchase (OR-3, KD-7): they stay
// listed, without their keys, and their links stop working. It returns them and how many links
// it withdrew. Revoking again changes nothing; an order without entitlements revokes none (a
// compensating saga may revoke what it never issued).
func (a *App) RevokeEntitlements(ctx context.Context, in RevokeInput) ([]domain.Entitlement, int, error) {
	if err := checkRequestID(in.RequestID); err != nil {
		return nil, 0, err
	}
	if err := checkID("order_id", in.OrderID); err != nil {
		return nil, 0, err
	}
	for i, id := range in.OrderLineIDs {
		if err := checkID(fmt.Sprintf("order_line_ids[%d]", i), id); err != nil {
			return nil, 0, err
		}
	}
	switch in.Reason {
	case "":
		in.Reason = domain.RevokedOrderCancelled
	case domain.RevokedOrderCancelled, domain.RevokedOrderCompensated, domain.RevokedSubscriptionCancelled:
	default:
		return nil, 0, errs.Invalid("reason", "unknown revocation reason %q", in.Reason)
	}
	now := a.now()
	var out []domain.Entitlement
	var links int
	err := a.store.Tx(ctx, func(ctx context.Context, tx Tx) error {
		out, links = nil, 0
		all, err := tx.EntitlementsOfOrder(ctx, in.OrderID)
		if err != nil {
			return err
		}
		for _, e := range all {
			if len(in.OrderLineIDs) > 0 && !slices.Contains(in.OrderLineIDs, e.OrderLineID) {
				continue
			}
			if next, changed := e.Revoke(in.Reason, now); changed {
				next.Version, next.UpdateTime = e.Version+1, now
				if err := tx.UpdateEntitlement(ctx, next); err != nil {
					return err
				}
				e = next
			}
			n, err := tx.RevokeLinks(ctx, e.ID)
			if err != nil {
				return err
			}
			out, links = append(out, e), links+n
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, links, nil
}

// SoftwareInput filters ListSoftware.
type SoftwareInput struct {
	PageSize           int32
	PageToken          string
	CustomerID         string
	OrderID            string
	IncludeLicenseOnly bool
	State              domain.EntitlementState // '' for all
}

// ListSoftware pages through the entitlements of a customer, newest first, revoked
// ones included without their keys (KD-7): a partner names a customer it has a reseller
// relationship with (ID-4), a customer sees its own tenant's, a service any.
func (a *App) ListSoftware(ctx context.Context, in SoftwareInput) ([]domain.Entitlement, string, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, "", err
	}
	v := p.Effective()
	size, err := paging.Size(in.PageSize)
	if err != nil {
		return nil, "", err
	}
	for _, f := range []struct{ name, v string }{{"customer_id", in.CustomerID}, {"order_id", in.OrderID}} {
		if f.v != "" {
			if err := checkID(f.name, f.v); err != nil {
				return nil, "", err
			}
		}
	}
	switch in.State {
	case "", domain.EntitlementActive, domain.EntitlementRevoked:
	default:
		return nil, "", errs.Invalid("state", "unknown entitlement state %q", in.State)
	}
	q := EntitlementQuery{CustomerID: in.CustomerID, OrderID: in.OrderID, IncludeLicenseOnly: in.IncludeLicenseOnly,
		State: in.State}
	switch v.OrgKind {
	case auth.OrgPartner:
		if in.CustomerID == "" {
			return nil, "", errs.Invalid("customer_id", "is required for a partner")
		}
		if ok, err := a.rels.Related(ctx, v.OrgID, in.CustomerID); err != nil {
			return nil, "", err
		} else if !ok {
			return nil, "", errs.New(errs.FailedPrecondition, domain.ReasonRelationshipRequired,
				"partner %s has no reseller relationship with customer %s", v.OrgID, in.CustomerID).
				With("customer_id", in.CustomerID)
		}
	case auth.OrgCustomer:
		if in.CustomerID != "" && in.CustomerID != v.OrgID {
			return nil, "", errs.NotFoundf("customer", in.CustomerID)
		}
		q.CustomerID = v.OrgID
	case auth.OrgService:
	default:
		return nil, "", errs.New(errs.PermissionDenied, errs.ReasonRoleRequired, "software lists are not for this caller")
	}
	query := paging.Fingerprint("software", string(v.OrgKind), v.OrgID, in.CustomerID, in.OrderID, in.IncludeLicenseOnly,
		in.State)
	if q.AfterCreateTime, q.AfterID, err = paging.DecodeTimeKey(in.PageToken, query); err != nil {
		return nil, "", err
	}
	q.Limit = size + 1
	rows, err := a.store.Entitlements(ctx, q)
	if err != nil {
		return nil, "", err
	}
	page, next := paging.Trim(rows, size, query, func(e domain.Entitlement) []string { return paging.TimeKey(e.CreateTime, e.ID) })
	return page, next, nil
}

// OptionsInput is a GetDownloadOptions request: an entitlement and the choices made so far.
type OptionsInput struct {
	EntitlementID   string
	Version         string
	Language        string
	FileType        string
	OperatingSystem string
}

// DownloadOptions is what an entitlement offers given the choices made (KD-4): the values still
// open for each choice, the matching variants, the instructions and the masked keys.
type DownloadOptions struct {
	Entitlement      domain.Entitlement
	Versions         []string
	Languages        []string
	FileTypes        []string
	OperatingSystems []string
	Variants         []domain.Variant
}

// GetDownloadOptions narrows an entitlement's download variants by the choices made (KD-4): each
// facet lists the values that occur among the variants matching the other choices, so the caller
// can pick step by step. A revoked entitlement is ENTITLEMENT_REVOKED (KD-7).
func (a *App) GetDownloadOptions(ctx context.Context, in OptionsInput) (DownloadOptions, error) {
	e, err := a.visibleEntitlement(ctx, in.EntitlementID)
	if err != nil {
		return DownloadOptions{}, err
	}
	if err := e.CheckActive(); err != nil {
		return DownloadOptions{}, err
	}
	choice := [4]string{in.Version, in.Language, in.FileType, in.OperatingSystem}
	facets := func(v domain.Variant) [4]string {
		return [4]string{v.Version, v.Language, v.FileType, v.OperatingSystem}
	}
	matches := func(v domain.Variant, skip int) bool {
		f := facets(v)
		for i := range choice {
			if i != skip && choice[i] != "" && f[i] != choice[i] {
				return false
			}
		}
		return true
	}
	out := DownloadOptions{Entitlement: e}
	values := [4]*[]string{&out.Versions, &out.Languages, &out.FileTypes, &out.OperatingSystems}
	for _, v := range e.Variants {
		for i := range values {
			if f := facets(v)[i]; f != "" && matches(v, i) && !slices.Contains(*values[i], f) {
				*values[i] = append(*values[i], f)
			}
		}
		if matches(v, -1) {
			out.Variants = append(out.Variants, v)
		}
	}
	for _, vs := range values {
		slices.Sort(*vs)
	}
	return out, nil
}

// visibleEntitlement reads an entitlement the caller may see (NOT_FOUND otherwise, ID-8).
func (a *App) visibleEntitlement(ctx context.Context, id string) (domain.Entitlement, error) {
	p, err := caller(ctx)
	if err != nil {
		return domain.Entitlement{}, err
	}
	if err := checkID("entitlement_id", id); err != nil {
		return domain.Entitlement{}, err
	}
	e, err := a.store.Entitlement(ctx, id)
	if err != nil {
		return domain.Entitlement{}, err
	}
	if _, err := a.canSee(ctx, p, e); err != nil {
		return domain.Entitlement{}, err
	}
	return e, nil
}
