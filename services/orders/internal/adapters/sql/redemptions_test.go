package sql_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	ordersql "github.com/partnerhub/partnerhub/services/orders/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/redeem"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// redemption returns a NEW_TENANT redemption with every field set (KD-2, ID-2).
func redemption(id, requestID string, created time.Time) domain.Redemption {
	g := domain.KeyGroup{ID: "SKU:0001/P1Y", SkuID: "SKU:0001", Term: domain.TermP1Y, Seats: 10, Indexes: []int{0, 1}}
	return domain.Redemption{ID: id, RequestID: requestID, PartnerID: "p1", CustomerID: "c1", Kind: domain.RedeemNewTenant,
		State: domain.RedemptionFailed,
		Target: domain.RedemptionTarget{Kind: domain.RedeemNewTenant, NewTenant: &domain.NewTenant{OrganisationName: "Contoso",
			CountryCode: "DE", DefaultDomain: "contoso.onmicrosoft.com", Admin: domain.TenantAdmin{GivenName: "Anna",
				FamilyName: "Admin", UserName: "anna@contoso.onmicrosoft.com", ContactEmail: "anna@contoso.example"}}},
		TenantCreated: true, AdminUserID: "u-admin",
		Keys: []domain.KeyReview{
			{KeyVerdict: domain.KeyVerdict{Index: 0, Masked: "*****-*****-*****-*****-AAAA1", Status: domain.KeyValid,
				SkuID: "SKU:0001", Seats: 5, Term: domain.TermP1Y}, DisplayName: "Office 365 E3"},
			{KeyVerdict: domain.KeyVerdict{Index: 1, Masked: "*****-*****-*****-*****-AAAA2", Status: domain.KeyValid,
				SkuID: "SKU:0001", Seats: 5, Term: domain.TermP1Y}, DisplayName: "Office 365 E3",
				Problems: []domain.Problem{{Reason: domain.ReasonKeyReserved, Field: "product_keys[1]", Message: "held",
					Metadata: map[string]string{"index": "1"}}}},
		},
		Groups: []domain.KeyGroup{g},
		Outcomes: []domain.Outcome{{GroupID: g.ID, SubscriptionID: "sub-1", SkuID: "SKU:0001", DisplayName: "Office 365 E3",
			Kind: domain.RedeemNewTenant, Seats: 10, TotalQuantity: 10, TermStart: at(0), TermEnd: at(365 * 24 * time.Hour),
			DaysForfeited: 3, AdminLicensed: true}},
		SKUs: map[string]domain.SKUFacts{"SKU:0001": {SkuID: "SKU:0001", ProductID: "SKU", DisplayName: "Office 365 E3",
			Kind: domain.KindOnlineService, MaxQuantity: 300, Policy: domain.PolicyProratedRefundWindow, WindowDays: 7, AutoRenew: true, Currency: "EUR"}},
		Failure: &domain.Failure{Reason: domain.ReasonReservationExpired, Message: "lapsed",
			Metadata: map[string]string{"reservation_id": "r1"}, Step: domain.StepConfirmKeys},
		Actor:       domain.Actor{Subject: "u1", OrgID: "p1", OrgKind: "PARTNER", Roles: []string{"ADMIN_AGENT"}},
		Fingerprint: "fp-" + requestID, Version: 1, CreateTime: created, UpdateTime: created.Add(time.Second),
		CompleteTime: created.Add(time.Minute),
	}
}

// bareRedemption has only the required fields: an ADD_SEATS redemption just stored.
func bareRedemption(id, requestID string, created time.Time) domain.Redemption {
	return domain.Redemption{ID: id, RequestID: requestID, Kind: domain.RedeemAddSeats, State: domain.RedemptionProcessing,
		Target: domain.RedemptionTarget{Kind: domain.RedeemAddSeats, SubscriptionID: "sub-9"}, Fingerprint: "fp",
		Version: 1, CreateTime: created, UpdateTime: created}
}

func sagaOf(r domain.Redemption) redeem.SagaRecord {
	return redeem.SagaRecord{Saga: domain.NewRedemptionSaga(r.ID, r.Kind, r.Groups), ProductKeys: []string{"K1", "K2"},
		Version: 1}
}

func rtx(tb testing.TB, s *ordersql.Store, fn func(ctx context.Context, tx redeem.Tx) error) error {
	tb.Helper()
	return s.RedemptionTx(context.Background(), fn)
}

func insertRedemption(tb testing.TB, s *ordersql.Store, r domain.Redemption, rec redeem.SagaRecord) {
	tb.Helper()
	if err := rtx(tb, s, func(ctx context.Context, tx redeem.Tx) error { return tx.InsertRedemption(ctx, r, scope, rec) }); err != nil {
		tb.Fatal(err)
	}
}

func redemptionSaga(tb testing.TB, s *ordersql.Store, id string) redeem.SagaRecord {
	tb.Helper()
	var r redeem.SagaRecord
	if err := rtx(tb, s, func(ctx context.Context, tx redeem.Tx) (err error) {
		r, err = tx.RedemptionSaga(ctx, id)
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	return r
}

// KD-2, ID-2, SU-4: a redemption and its saga read back as written, on both engines.
func TestRedemption_RoundTrip_KD2(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		full := redemption("r1", "req-1", at(0))
		b := bareRedemption("r2", "req-2", at(time.Second))
		insertRedemption(t, s, full, sagaOf(full))
		insertRedemption(t, s, b, sagaOf(b))
		for _, want := range []domain.Redemption{full, b} {
			got, err := s.Redemption(ctx, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("read back\n%+v\nwant\n%+v", got, want)
			}
			if err := rtx(t, s, func(ctx context.Context, tx redeem.Tx) error {
				got, err := tx.Redemption(ctx, want.ID)
				if err == nil && !reflect.DeepEqual(got, want) {
					t.Errorf("tx read back\n%+v\nwant\n%+v", got, want)
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		if got := redemptionSaga(t, s, "r1"); !reflect.DeepEqual(got, sagaOf(full)) {
			t.Errorf("saga\n%+v\nwant\n%+v", got, sagaOf(full))
		}
		if _, err := s.Redemption(ctx, "r9"); !isKind(err, errs.NotFound, errs.ReasonResourceNotFound) {
			t.Errorf("Redemption(r9) = %v; want NOT_FOUND", err)
		}
	})
}

// OR-7: one redemption per (scope, request_id); the request finds it.
func TestRedemptionOfRequest_OR7(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		s := open(t, dsn)
		r := bareRedemption("r1", "req-1", at(0))
		insertRedemption(t, s, r, sagaOf(r))
		for _, dup := range []domain.Redemption{bareRedemption("r2", "req-1", at(0)), bareRedemption("r1", "req-3", at(0))} {
			err := rtx(t, s, func(ctx context.Context, tx redeem.Tx) error {
				return tx.InsertRedemption(ctx, dup, scope, sagaOf(dup))
			})
			if !isKind(err, errs.AlreadyExists, "") {
				t.Errorf("insert %s/%s: %v; want ALREADY_EXISTS", dup.ID, dup.RequestID, err)
			}
		}
		_ = rtx(t, s, func(ctx context.Context, tx redeem.Tx) error {
			got, ok, err := tx.RedemptionOfRequest(ctx, scope, "req-1")
			if err != nil || !ok || got.ID != "r1" {
				t.Errorf("RedemptionOfRequest = %s, %v, %v", got.ID, ok, err)
			}
			if _, ok, err := tx.RedemptionOfRequest(ctx, "PARTNER:other", "req-1"); ok || err != nil {
				t.Errorf("another scope: %v, %v", ok, err)
			}
			return nil
		})
	})
}

// Updates and saga writes are version-guarded: a replica working on an old version is refused.
func TestRedemption_Versions(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		r := bareRedemption("r1", "req-1", at(0))
		insertRedemption(t, s, r, sagaOf(r))
		next := redemption("r1", "req-1", at(0))
		next.Version = 2
		if err := rtx(t, s, func(ctx context.Context, tx redeem.Tx) error { return tx.UpdateRedemption(ctx, next) }); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Redemption(ctx, "r1"); !reflect.DeepEqual(got, next) {
			t.Fatalf("after update\n%+v\nwant\n%+v", got, next)
		}
		if err := rtx(t, s, func(ctx context.Context, tx redeem.Tx) error { return tx.UpdateRedemption(ctx, next) }); !isKind(err, errs.Aborted, errs.ReasonEtagMismatch) {
			t.Errorf("stale update: %v", err)
		}

		rec := redemptionSaga(t, s, "r1")
		rec.Version, rec.LeaseOwner, rec.LeaseUntil, rec.NextRun = 2, "a", at(time.Minute), at(time.Second)
		rec.Saga.Status = domain.SagaCompensating
		rec.Saga.Failure = &domain.Failure{Reason: domain.ReasonKeyReserved, Step: domain.StepReserveKeys}
		rec.Saga.Tasks[0].Status, rec.Saga.Tasks[0].Uncertain, rec.Saga.Tasks[0].RetryAt = domain.TaskFailed, true, at(time.Second)
		if err := rtx(t, s, func(ctx context.Context, tx redeem.Tx) error { return tx.PutRedemptionSaga(ctx, rec) }); err != nil {
			t.Fatal(err)
		}
		if got := redemptionSaga(t, s, "r1"); !reflect.DeepEqual(got, rec) {
			t.Fatalf("saga after put\n%+v\nwant\n%+v", got, rec)
		}
		stale := rec
		stale.LeaseOwner = "b"
		if err := rtx(t, s, func(ctx context.Context, tx redeem.Tx) error { return tx.PutRedemptionSaga(ctx, stale) }); !isKind(err, errs.Aborted, errs.ReasonEtagMismatch) {
			t.Errorf("stale put: %v", err)
		}
		// KD-8: a terminal saga keeps no keys.
		done := rec
		done.Version, done.ProductKeys, done.LeaseOwner, done.LeaseUntil, done.NextRun = 3, nil, "", time.Time{}, time.Time{}
		done.Saga.Status = domain.SagaFailed
		if err := rtx(t, s, func(ctx context.Context, tx redeem.Tx) error { return tx.PutRedemptionSaga(ctx, done) }); err != nil {
			t.Fatal(err)
		}
		if got := redemptionSaga(t, s, "r1"); got.ProductKeys != nil || !reflect.DeepEqual(got, done) {
			t.Errorf("terminal saga %+v", got)
		}
		missing := redeem.SagaRecord{Saga: domain.RedemptionSaga{RedemptionID: "r9", Flow: domain.Flow{Status: domain.SagaRunning}}, Version: 2}
		if err := rtx(t, s, func(ctx context.Context, tx redeem.Tx) error { return tx.PutRedemptionSaga(ctx, missing) }); !isKind(err, errs.NotFound, "") {
			t.Errorf("missing saga: %v", err)
		}
	})
}

// The recovery loop's work: in flight, due, lease run out; earliest first.
func TestDueRedemptions(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		now := at(time.Hour)
		cases := []struct {
			id     string
			status domain.SagaStatus
			next   time.Time
			lease  time.Time
			due    bool
		}{
			{"r-now", domain.SagaRunning, time.Time{}, time.Time{}, true},
			{"r-past", domain.SagaCompensating, at(time.Minute), time.Time{}, true},
			{"r-lapsed", domain.SagaRunning, at(2 * time.Minute), now, true},
			{"r-future", domain.SagaRunning, now.Add(time.Second), time.Time{}, false},
			{"r-leased", domain.SagaRunning, time.Time{}, now.Add(time.Second), false},
			{"r-done", domain.SagaCompleted, time.Time{}, time.Time{}, false},
			{"r-failed", domain.SagaFailed, time.Time{}, time.Time{}, false},
		}
		for i, c := range cases {
			r := bareRedemption(c.id, c.id, at(time.Duration(i)*time.Second))
			rec := sagaOf(r)
			rec.Saga.Status, rec.NextRun, rec.LeaseUntil = c.status, c.next, c.lease
			if !c.lease.IsZero() {
				rec.LeaseOwner = "x"
			}
			insertRedemption(t, s, r, rec)
		}
		got, err := s.DueRedemptions(ctx, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"r-now", "r-past", "r-lapsed"}; !slices.Equal(got, want) {
			t.Errorf("due %v; want %v", got, want)
		}
		if got, _ := s.DueRedemptions(ctx, now, 1); !slices.Equal(got, []string{"r-now"}) {
			t.Errorf("limit 1: %v", got)
		}
	})
}

// The saga engine over the real store on both engines: a redemption runs to its end (KD-2).
var _ redeem.Store = (*ordersql.Store)(nil)
