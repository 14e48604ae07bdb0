// Package support holds the support-request use cases of the orders service (OR-6, DA-4):
// opening a refund support request where self-service cancellation is not possible, and listing
// the requests a caller may see (ID-8). It declares the small ports it needs (Store, Customers,
// Subscriptions, DelegatedAdmin, Clock); adapters/sql, adapters/delegatedadmin and the identity and
// subscriptions adapters implement them, ports/grpcapi maps the contract onto it.
//
// Who may open a request (DA-4, DA-6): the customer's Global admin for its own tenant, or a
// partner's Admin or Helpdesk agent for a customer with which the partner holds an active
// delegated-admin relationship granting SERVICE_SUPPORT_ADMINISTRATOR (or GLOBAL_ADMINISTRATOR).
// Support requests are administrative, not commerce, so the reseller relationship (ID-4) is not
// what decides (DA-6).
package support

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// ReasonDelegatedAdminRequired is the refusal of a partner without an active delegated-admin
// relationship granting the support role (DA-4; partnerhub.common.v1.ErrorReason, PERMISSION_DENIED;
// metadata required_role, denial_reason).
const ReasonDelegatedAdminRequired errs.Reason = "DELEGATED_ADMIN_REQUIRED"

// RequiredRole is the delegated-admin role a partner needs to open support requests for a
// customer (DA-4; delegatedadmin.v1.AdminRole without its prefix). GLOBAL_ADMINISTRATOR also
// satisfies it; delegatedadmin's CheckAccess decides that.
const RequiredRole = "SERVICE_SUPPORT_ADMINISTRATOR"

// State is where a support request is (partnerhub.orders.v1.SupportRequestState without prefix).
type State string

// The states. Only OPEN is set here; billing support moves a request on outside this API.
const (
	StateOpen       State = "OPEN"
	StateInProgress State = "IN_PROGRESS"
	StateGranted    State = "GRANTED"
	StateRefused    State = "REFUSED"
)

// States lists every valid state.
func States() []State { return []State{StateOpen, StateInProgress, StateGranted, StateRefused} }

// RefundReason classifies why a refund is requested (OR-6; partnerhub.orders.v1.RefundReason
// without prefix).
type RefundReason string

// The refund reasons.
const (
	ReasonAccidentalPurchase       RefundReason = "ACCIDENTAL_PURCHASE"
	ReasonWrongProduct             RefundReason = "WRONG_PRODUCT"
	ReasonCancellationWindowMissed RefundReason = "CANCELLATION_WINDOW_MISSED"
	ReasonServiceIssue             RefundReason = "SERVICE_ISSUE"
	ReasonOther                    RefundReason = "OTHER"
)

// RefundReasons lists every valid refund reason.
func RefundReasons() []RefundReason {
	return []RefundReason{ReasonAccidentalPurchase, ReasonWrongProduct, ReasonCancellationWindowMissed,
		ReasonServiceIssue, ReasonOther}
}

// Contact is the person support gets back to (OR-6).
type Contact struct {
	Name  string
	Email string
	Phone string // E.164 or empty
}

// Request is a support request (OR-6).
type Request struct {
	ID string
	// RequestID is the CreateSupportRequest request_id that opened it; with the opener's
	// idempotency scope it is unique, so a retry finds this request (OR-7).
	RequestID      string
	CustomerID     string
	CustomerDomain string
	// PartnerID is the partner that opened it on the customer's behalf; empty when the customer
	// opened it.
	PartnerID string
	// OpenedByKind is auth.OrgPartner or auth.OrgCustomer.
	OpenedByKind auth.OrgKind
	OpenedBy     string // user ID
	// Exactly one of OrderID and SubscriptionID is set.
	OrderID        string
	SubscriptionID string
	RefundReason   RefundReason
	ReasonDetails  string
	Amount         domain.Money // positive
	Contact        Contact
	Title          string
	State          State
	Resolution     string
	Version        int64 // 1 when opened; the etag is derived from it
	CreateTime     time.Time
	UpdateTime     time.Time
}

// Store is the support requests' persistence (adapters/sql on SQLite and PostgreSQL).
type Store interface {
	// InsertSupportRequest stores r (Version 1) unless the scope already opened a request with
	// r.RequestID: then it stores nothing and returns that request and false (OR-7). Both happen
	// atomically, so two concurrent retries open one request.
	InsertSupportRequest(ctx context.Context, scope string, r Request) (Request, bool, error)
	// SupportRequestOfRequest reads the request the scope opened with requestID, if any.
	SupportRequestOfRequest(ctx context.Context, scope, requestID string) (Request, bool, error)
	// SupportRequests lists requests newest first: (CreateTime, ID) descending.
	SupportRequests(ctx context.Context, q Query) ([]Request, error)
	// Order reads one order of this service; errs.NotFound when there is none.
	Order(ctx context.Context, id string) (domain.Order, error)
}

// Query filters Store.SupportRequests. Empty fields do not filter.
type Query struct {
	PartnerID      string
	CustomerID     string
	OrderID        string
	SubscriptionID string
	States         []State
	// Start <= CreateTime < End; zero for no bound.
	Start, End time.Time
	// The keyset position in the newest-first order: rows strictly older than (BeforeTime,
	// BeforeID). Zero for the first page.
	BeforeTime time.Time
	BeforeID   string
	Limit      int // 0: all
}

// Customer is a customer tenant as a support request names it.
type Customer struct {
	ID            string
	DefaultDomain string
}

// Customers resolves customers in identity. It must answer for any customer whoever calls (the
// service's own token, not the caller's): the use case decides what the caller may learn, and a
// partner's Helpdesk agent, or a partner holding delegated admin without a reseller relationship,
// could not read the customer itself.
type Customers interface {
	// CustomerByID reads a customer by tenant ID; errs.NotFound when there is none.
	CustomerByID(ctx context.Context, customerID string) (Customer, error)
	// CustomerByDomain reads a customer by its default domain (lower case); errs.NotFound when
	// no tenant has it.
	CustomerByDomain(ctx context.Context, domain string) (Customer, error)
}

// Subscription is what a support request needs to know about a subscription: whose it is.
type Subscription struct {
	ID         string
	CustomerID string
	PartnerID  string // the partner of record; empty for a direct purchase (SU-8, SU-16)
}

// Subscriptions reads subscriptions in the subscriptions service, like Customers for any caller
// (the service's own token): a Helpdesk agent may not read subscriptions itself.
type Subscriptions interface {
	// Subscription reads one subscription; errs.NotFound when there is none.
	Subscription(ctx context.Context, subscriptionID string) (Subscription, error)
}

// Access is delegatedadmin's answer for a partner and a customer (DA-6).
type Access struct {
	Allowed bool
	// DenialReason is delegatedadmin's AccessDenialReason without prefix (NO_RELATIONSHIP,
	// PENDING, EXPIRED, TERMINATED, REJECTED, ROLE_NOT_GRANTED); empty when allowed.
	DenialReason   string
	RelationshipID string
}

// DelegatedAdmin answers whether a partner may act in a customer's tenant with an admin role.
type DelegatedAdmin interface {
	// CheckAccess asks for role (AdminRole without prefix, e.g. RequiredRole). A denial is an
	// answer (Allowed false), not an error.
	CheckAccess(ctx context.Context, partnerID, customerID, role string) (Access, error)
}

// Clock tells the time (pkg/clock).
type Clock interface{ Now() time.Time }

// App is the support-request use cases.
type App struct {
	store Store
	custs Customers
	subs  Subscriptions
	da    DelegatedAdmin
	clock Clock
	newID func() string
}

// New returns the use cases. newID makes support request IDs; nil gives version 7 UUIDs, which
// sort by creation time like the list does.
func New(store Store, custs Customers, subs Subscriptions, da DelegatedAdmin, clk Clock, newID func() string) *App {
	if newID == nil {
		newID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	return &App{store: store, custs: custs, subs: subs, da: da, clock: clk, newID: newID}
}
