package support

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/idempotency"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// Limits of the contract (partnerhub.orders.v1.CreateSupportRequestRequest).
const (
	MaxDetails     = 2000
	MaxTitle       = 200
	MaxContactName = 256
	MaxEmail       = 254 // RFC 5321's path limit
	MaxDomain      = 253 // DNS
)

// CreateInput is what CreateSupportRequest gets. Exactly one of CustomerID and CustomerDomain,
// and exactly one of OrderID and SubscriptionID, must be set.
type CreateInput struct {
	RequestID      string
	CustomerID     string
	CustomerDomain string
	OrderID        string
	SubscriptionID string
	RefundReason   RefundReason
	ReasonDetails  string
	Amount         domain.Money
	Contact        Contact
	Title          string
}

// CreateSupportRequest opens a support request about an order or a subscription of a customer
// (OR-6). The customer's Global admin opens it for its own tenant; a partner's Admin or Helpdesk
// agent only with an active delegated-admin relationship granting SERVICE_SUPPORT_ADMINISTRATOR
// (DA-4, DA-6), else PERMISSION_DENIED / DELEGATED_ADMIN_REQUIRED. A retry with the same
// request_id returns the request the first call opened (OR-7).
//
// Visibility (ID-8): an order is visible to the partner that placed it and to its customer; a
// subscription to its customer and to a partner administering that customer (SU-8). A subject
// the caller cannot see is RESOURCE_NOT_FOUND, whether or not it exists; one it can see but that
// belongs to another customer than the one named is TENANT_MISMATCH.
func (a *App) CreateSupportRequest(ctx context.Context, in CreateInput) (Request, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return Request{}, err
	}
	caller := p.Effective()
	if err := canCreate(caller); err != nil {
		return Request{}, err
	}
	in.CustomerDomain = strings.ToLower(strings.TrimSpace(in.CustomerDomain))
	if err := validateCreate(in); err != nil {
		return Request{}, err
	}

	scope := idempotency.ScopeOf(p)
	// A retry finds the request its first call opened before anything is checked again, so it
	// gets the first answer even if, say, the delegated admin ended in between (OR-7).
	if prev, ok, err := a.store.SupportRequestOfRequest(ctx, scope, in.RequestID); err != nil {
		return Request{}, fmt.Errorf("read support request of request %s: %w", in.RequestID, err)
	} else if ok {
		return replay(prev, in)
	}

	cust, err := a.customer(ctx, caller, in)
	if err != nil {
		return Request{}, err
	}
	if err := a.checkSubject(ctx, caller, cust.ID, in); err != nil {
		return Request{}, err
	}

	now := a.clock.Now().UTC()
	r := Request{
		ID: a.newID(), RequestID: in.RequestID,
		CustomerID: cust.ID, CustomerDomain: cust.DefaultDomain,
		OpenedByKind: caller.OrgKind, OpenedBy: caller.Subject,
		OrderID: in.OrderID, SubscriptionID: in.SubscriptionID,
		RefundReason: in.RefundReason, ReasonDetails: in.ReasonDetails, Amount: in.Amount,
		Contact: in.Contact, Title: in.Title,
		State: StateOpen, Version: 1, CreateTime: now, UpdateTime: now,
	}
	if caller.OrgKind == auth.OrgPartner {
		r.PartnerID = caller.OrgID
	}
	// The scope is the idempotency interceptor's, so the store's (scope, request_id) uniqueness
	// backs the interceptor's replay: a retry that races past it, or arrives after its record
	// expired, still finds the first request instead of opening a second one.
	got, inserted, err := a.store.InsertSupportRequest(ctx, scope, r)
	if err != nil {
		return Request{}, fmt.Errorf("open support request: %w", err)
	}
	if !inserted {
		return replay(got, in)
	}
	return got, nil
}

// replay answers a retry with the request its first call opened, or REQUEST_ID_REUSED when the
// request_id comes with another request (DESIGN.md: the same ID with a different request is
// refused). The interceptor compares whole requests; this is the store's fallback, so it compares
// what the request is about, as stored.
func replay(prev Request, in CreateInput) (Request, error) {
	same := prev.OrderID == in.OrderID && prev.SubscriptionID == in.SubscriptionID &&
		(in.CustomerID == "" || prev.CustomerID == in.CustomerID) &&
		(in.CustomerDomain == "" || prev.CustomerDomain == in.CustomerDomain) &&
		prev.RefundReason == in.RefundReason && prev.ReasonDetails == in.ReasonDetails &&
		prev.Amount == in.Amount && prev.Contact == in.Contact && prev.Title == in.Title
	if !same {
		return Request{}, errs.New(errs.AlreadyExists, errs.ReasonRequestIDReused,
			"request_id %q was used before with a different request", in.RequestID).
			With("request_id", in.RequestID)
	}
	return prev, nil
}

// canCreate is the role and organisation rule of CreateSupportRequest: a partner's Admin or
// Helpdesk agent, or a customer's Global admin. The interceptor already checks the roles of the
// contract; this also checks that each role belongs to its kind of organisation, so a service
// acting for no one, or a token with a customer role on a partner, cannot open requests.
func canCreate(p auth.Principal) error {
	switch p.OrgKind {
	case auth.OrgPartner:
		return p.RequireRole(auth.AdminAgent, auth.HelpdeskAgent)
	case auth.OrgCustomer:
		return p.RequireRole(auth.CustomerGlobalAdmin)
	}
	return errs.New(errs.PermissionDenied, errs.ReasonRoleRequired,
		"support requests are opened by a partner or customer user").
		With("required_roles", "ADMIN_AGENT,HELPDESK_AGENT,CUSTOMER_GLOBAL_ADMIN")
}

// validateCreate checks the fields of the contract and lists every bad one at once.
func validateCreate(in CreateInput) error {
	var v errs.Violations
	if errs.CheckUUID("request_id", in.RequestID) != nil {
		v.Add("request_id", "must be a UUID chosen by the client, the same for every retry")
	}
	switch {
	case in.CustomerID == "" && in.CustomerDomain == "":
		v.Add("customer", "customer_id or customer_domain is required")
	case in.CustomerID != "" && in.CustomerDomain != "":
		v.Add("customer", "give customer_id or customer_domain, not both")
	case in.CustomerID != "":
		if errs.CheckUUID("customer_id", in.CustomerID) != nil {
			v.Add("customer_id", "must be a tenant ID (UUID)")
		}
	case len(in.CustomerDomain) > MaxDomain || !strings.Contains(in.CustomerDomain, "."):
		v.Add("customer_domain", "must be a default domain such as contoso.onmicrosoft.com")
	}
	switch {
	case in.OrderID == "" && in.SubscriptionID == "":
		v.Add("subject", "order_id or subscription_id is required")
	case in.OrderID != "" && in.SubscriptionID != "":
		v.Add("subject", "give order_id or subscription_id, not both")
	case in.OrderID != "":
		if errs.CheckUUID("order_id", in.OrderID) != nil {
			v.Add("order_id", "must be an order ID (UUID)")
		}
	default:
		if errs.CheckUUID("subscription_id", in.SubscriptionID) != nil {
			v.Add("subscription_id", "must be a subscription ID (UUID)")
		}
	}
	if !validReason(in.RefundReason) {
		v.Add("refund_reason", "is required: one of ACCIDENTAL_PURCHASE, WRONG_PRODUCT, "+
			"CANCELLATION_WINDOW_MISSED, SERVICE_ISSUE, OTHER")
	}
	switch n := utf8.RuneCountInString(in.ReasonDetails); {
	case n > MaxDetails:
		v.Add("refund_reason_details", "must be at most %d characters, got %d", MaxDetails, n)
	case in.RefundReason == ReasonOther && strings.TrimSpace(in.ReasonDetails) == "":
		// OTHER says nothing by itself; support needs the requester's words to act on it.
		v.Add("refund_reason_details", "is required for refund reason OTHER")
	}
	if in.Amount.Minor <= 0 {
		v.Add("amount_requested.amount_minor", "must be positive")
	}
	if !validCurrency(in.Amount.Currency) {
		v.Add("amount_requested.currency_code", "must be an ISO 4217 code such as EUR")
	}
	switch n := utf8.RuneCountInString(in.Contact.Name); {
	case strings.TrimSpace(in.Contact.Name) == "":
		v.Add("contact.name", "is required")
	case n > MaxContactName:
		v.Add("contact.name", "must be at most %d characters", MaxContactName)
	}
	if !validEmail(in.Contact.Email) {
		v.Add("contact.email", "must be an e-mail address such as jane@contoso.com")
	}
	if in.Contact.Phone != "" && !validE164(in.Contact.Phone) {
		v.Add("contact.phone", "must be in E.164 form such as +4930123456")
	}
	if n := utf8.RuneCountInString(in.Title); n > MaxTitle {
		v.Add("title", "must be at most %d characters, got %d", MaxTitle, n)
	}
	return v.Err()
}

func validReason(r RefundReason) bool {
	for _, ok := range RefundReasons() {
		if r == ok {
			return true
		}
	}
	return false
}

// validCurrency accepts the form of an ISO 4217 alphabetic code (three upper-case letters); which
// currency the purchase was billed in is billing support's to check, as the amount is.
func validCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// validE164 accepts "+", a non-zero digit and at most 14 more digits (ITU-T E.164: at most 15).
func validE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for _, r := range s[2:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// validEmail accepts a bare address (no display name), which is what support writes to.
func validEmail(s string) bool {
	if s == "" || len(s) > MaxEmail {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

// customer resolves the customer the request names and checks the caller may open a request for
// it: its own tenant for a customer (TENANT_MISMATCH otherwise), delegated admin for a partner
// (DA-4).
//
// A partner naming a customer by ID is checked before the customer is read, so a partner without
// access learns nothing about a tenant ID (delegatedadmin answers NO_RELATIONSHIP for an unknown
// customer, too). A domain must be resolved first; that its tenant exists is no secret, since
// identity's CheckDomainAvailability tells anyone.
func (a *App) customer(ctx context.Context, caller auth.Principal, in CreateInput) (Customer, error) {
	if caller.OrgKind == auth.OrgCustomer {
		if in.CustomerID != "" && in.CustomerID != caller.OrgID {
			return Customer{}, tenantMismatch("a customer opens support requests for its own tenant only")
		}
		c, err := a.lookup(ctx, in)
		if err != nil {
			return Customer{}, err
		}
		if c.ID != caller.OrgID {
			return Customer{}, tenantMismatch("a customer opens support requests for its own tenant only")
		}
		return c, nil
	}
	if in.CustomerID != "" {
		if err := a.requireDelegatedAdmin(ctx, caller.OrgID, in.CustomerID); err != nil {
			return Customer{}, err
		}
		return a.lookup(ctx, in)
	}
	c, err := a.lookup(ctx, in)
	if err != nil {
		return Customer{}, err
	}
	if err := a.requireDelegatedAdmin(ctx, caller.OrgID, c.ID); err != nil {
		return Customer{}, err
	}
	return c, nil
}

// lookup reads the customer by ID or by domain.
func (a *App) lookup(ctx context.Context, in CreateInput) (Customer, error) {
	var (
		c   Customer
		err error
	)
	if in.CustomerID != "" {
		c, err = a.custs.CustomerByID(ctx, in.CustomerID)
	} else {
		c, err = a.custs.CustomerByDomain(ctx, in.CustomerDomain)
	}
	if errs.KindOf(err) == errs.NotFound {
		// identity's own not-found names its resource; the caller named a customer or a domain.
		if in.CustomerID != "" {
			return Customer{}, errs.NotFoundf("customer", in.CustomerID).Wrap(err)
		}
		return Customer{}, errs.NotFoundf("customer domain", in.CustomerDomain).Wrap(err)
	}
	if err != nil {
		return Customer{}, fmt.Errorf("resolve customer: %w", err)
	}
	return c, nil
}

// requireDelegatedAdmin is DA-4: a partner opens support requests for a customer only with an
// active delegated-admin relationship granting the support role.
func (a *App) requireDelegatedAdmin(ctx context.Context, partnerID, customerID string) error {
	acc, err := a.da.CheckAccess(ctx, partnerID, customerID, RequiredRole)
	if err != nil {
		return fmt.Errorf("check delegated admin: %w", err)
	}
	if !acc.Allowed {
		denial := acc.DenialReason
		if denial == "" {
			denial = "NO_RELATIONSHIP"
		}
		return errs.New(errs.PermissionDenied, ReasonDelegatedAdminRequired,
			"the partner needs an active delegated-admin relationship with the customer granting %s "+
				"to open support requests for it; without it only the customer may", RequiredRole).
			With("required_role", RequiredRole).With("denial_reason", denial)
	}
	return nil
}

// checkSubject checks that the order or subscription exists, is visible to the caller (ID-8)
// and is the customer's.
func (a *App) checkSubject(ctx context.Context, caller auth.Principal, customerID string, in CreateInput) error {
	if in.OrderID != "" {
		o, err := a.store.Order(ctx, in.OrderID)
		if errs.KindOf(err) == errs.NotFound {
			return errs.NotFoundf("order", in.OrderID)
		}
		if err != nil {
			return fmt.Errorf("read order %s: %w", in.OrderID, err)
		}
		// Orders are partner-scoped (ID-8): a partner sees those it placed, a customer those
		// placed for it. Another's order is not found, so its existence does not leak.
		visible := o.CustomerID == caller.OrgID
		if caller.OrgKind == auth.OrgPartner {
			visible = o.PartnerID == caller.OrgID
		}
		if !visible {
			return errs.NotFoundf("order", in.OrderID)
		}
		if o.CustomerID != customerID {
			return tenantMismatch("the order is not the customer's").With("order_id", in.OrderID)
		}
		return nil
	}
	s, err := a.subs.Subscription(ctx, in.SubscriptionID)
	if errs.KindOf(err) == errs.NotFound {
		return errs.NotFoundf("subscription", in.SubscriptionID)
	}
	if err != nil {
		return fmt.Errorf("read subscription %s: %w", in.SubscriptionID, err)
	}
	if s.CustomerID == customerID {
		// The customer's own subscription, or one the partner administers by delegated admin,
		// whoever sold it (SU-8, SU-16: direct purchases may earn a credit too).
		return nil
	}
	// A subscription of another customer is visible only to that customer's partner of record:
	// telling it the mismatch leaks nothing. Anyone else gets not-found (ID-8).
	if caller.OrgKind == auth.OrgPartner && s.PartnerID == caller.OrgID {
		return tenantMismatch("the subscription is not the customer's").With("subscription_id", in.SubscriptionID)
	}
	return errs.NotFoundf("subscription", in.SubscriptionID)
}

func tenantMismatch(msg string) *errs.Error {
	return errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch, "%s", msg)
}
