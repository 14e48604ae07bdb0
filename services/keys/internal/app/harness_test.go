package app_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	keysql "github.com/partnerhub/partnerhub/services/keys/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
	"github.com/partnerhub/partnerhub/services/keys/internal/sealing"
	"github.com/partnerhub/partnerhub/services/keys/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	partnerA  = "00000000-0000-4000-8000-0000000000a1"
	partnerB  = "00000000-0000-4000-8000-0000000000b1"
	customerC = "00000000-0000-4000-8000-0000000000c1" // partner A's customer
	customerD = "00000000-0000-4000-8000-0000000000d1" // partner B's customer
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fakeRels relates partner A to customer C and partner B to customer D.
type fakeRels struct{}

func (fakeRels) Related(_ context.Context, partner, customer string) (bool, error) {
	return partner == partnerA && customer == customerC || partner == partnerB && customer == customerD, nil
}

// fakePrograms enrolls partner A in the Open program (ID-1), partner B not.
type fakePrograms struct{}

func (fakePrograms) OpenEnrolled(_ context.Context, partner string) (bool, error) {
	return partner == partnerA, nil
}

// lookupKey is the tests' fixed key card lookup key (32 bytes).
var lookupKey = []byte("test-lookup-key-0123456789abcdef")

type harness struct {
	t     testing.TB
	clock *clock.Fake
	store *keysql.Store
	app   *app.App
	ids   atomic.Int64
}

func newHarness(t testing.TB, dsn string) *harness {
	db := testkit.OpenDB(t, dsn, migrations.FS, "keys_schema")
	keyring, err := sealing.NewKeyring("t1", map[string][]byte{"t1": []byte("test-sealing-key-0123456789abcde")})
	if err != nil {
		t.Fatal(err)
	}
	links, err := sealing.NewLinkSigner("l1", map[string][]byte{"l1": []byte("test-link-signing-key-0123456789")})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, clock: clock.NewFake(t0), store: keysql.New(db)}
	h.app = app.New(h.store, h.clock, fakeRels{}, keyring, links, app.Options{LinkBase: "https://dl.example/d/",
		LookupKey: lookupKey, Programs: fakePrograms{}})
	return h
}

func sqliteHarness(t testing.TB) *harness { return newHarness(t, testkit.SQLiteDSN(t)) }

func (h *harness) rid() string { return fmt.Sprintf("req-%d", h.ids.Add(1)) }

// uuid makes a distinct UUID-shaped ID.
func (h *harness) uuid() string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", h.ids.Add(1)) }

func partnerUser(partner string, roles ...auth.Role) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Subject: "user-of-" + partner[len(partner)-2:],
		OrgID: partner, OrgKind: auth.OrgPartner, Roles: roles})
}

func customerUser(customer string, roles ...auth.Role) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Subject: "user-of-" + customer[len(customer)-2:],
		OrgID: customer, OrgKind: auth.OrgCustomer, Roles: roles})
}

// asSaga is the order saga: a service acting for partner A's Admin agent.
func asSaga() context.Context {
	obo := auth.Principal{Subject: "agent", OrgID: partnerA, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
	return auth.WithPrincipal(context.Background(), auth.Principal{Subject: "svc_orders", OrgID: "partnerhub",
		OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}, OnBehalfOf: &obo})
}

// line is an order line of partner A for customer C: a MAK SKU with two download variants.
func (h *harness) line(mod ...func(*app.IssueInput)) app.IssueInput {
	in := app.IssueInput{RequestID: h.rid(), OrderID: h.uuid(), OrderLineID: h.uuid(), CustomerID: customerC,
		PartnerID: partnerA, SkuID: "DG7GMGF0D7FV:0002", ProductID: "DG7GMGF0D7FV", ProductName: "Windows Server 2022 Standard",
		Quantity: 16, KeyType: domain.KeyTypeMAK, KeyCount: 1,
		Variants: []domain.Variant{
			{ID: "ws2022-en-iso", Version: "2022", Language: "en-US", FileType: "ISO", OperatingSystem: "x64", FileName: "ws2022-en.iso", SizeBytes: 5 << 30},
			{ID: "ws2022-de-iso", Version: "2022", Language: "de-DE", FileType: "ISO", OperatingSystem: "x64", FileName: "ws2022-de.iso", SizeBytes: 5 << 30},
		},
		Instructions: "https://learn.example/ws2022/install"}
	for _, m := range mod {
		m(&in)
	}
	return in
}

func (h *harness) issue(in app.IssueInput) domain.Entitlement {
	h.t.Helper()
	e, err := h.app.IssueEntitlements(asSaga(), in)
	if err != nil {
		h.t.Fatalf("IssueEntitlements: %v", err)
	}
	return e
}

func wantErr(t testing.TB, err error, kind errs.Kind, reason errs.Reason) {
	t.Helper()
	if errs.KindOf(err) != kind || (reason != "" && errs.ReasonOf(err) != reason) {
		t.Fatalf("error %v, want %s / %s", err, kind, reason)
	}
}
