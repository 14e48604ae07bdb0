package app_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// concurrency is how many redemptions race for one key.
const concurrency = 50

// refusal reports whether err is one of the clean refusals a redemption that lost a race gets:
// the key held or redeemed by the winner, the reservation no longer holding it, or the store's
// conflict answer. Anything else (INTERNAL, UNKNOWN, a panic) fails the test.
func refusal(err error) bool {
	switch errs.ReasonOf(err) {
	case domain.ReasonKeyReserved, domain.ReasonKeyAlreadyRedeemed, domain.ReasonReservationNotActive:
		return errs.KindOf(err) == errs.FailedPrecondition
	}
	return errs.KindOf(err) == errs.Aborted
}

// KD-1 "a key is redeemed once", whatever the concurrency, on PostgreSQL: 50 redemptions each
// reserve the same freshly minted key under their own redemption ID and confirm it with their own
// subscription, all at once. Exactly one succeeds; the card is REDEEMED once, with that
// redemption's subscription; the 49 others are refused cleanly.
func TestRedeem_50Concurrent_ExactlyOnce(t *testing.T) {
	h := newHarness(t, testkit.StartPostgres(t))
	b := h.mintCards(1)
	key := h.keyOf(b.Cards[0].ID)

	type outcome struct {
		redemption, subscription string
		confirmed                domain.Reservation
		err                      error
	}
	results := make([]outcome, concurrency)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					results[i].err = fmt.Errorf("panic: %v", p)
				}
			}()
			o := &results[i]
			o.redemption, o.subscription = h.uuid(), fmt.Sprintf("sub-%02d", i)
			<-start
			r, err := h.app.ReserveProductKeys(asService(), app.ReserveInput{RequestID: h.rid(), RedemptionID: o.redemption,
				Keys: []string{key}})
			if err != nil {
				o.err = err
				return
			}
			o.confirmed, o.err = h.app.ConfirmRedemption(asService(), app.ConfirmInput{RequestID: h.rid(), ReservationID: r.ID,
				CustomerID: customerC, SubscriptionID: o.subscription})
		}()
	}
	close(start)
	wg.Wait()

	var winners []outcome
	reasons := map[string]int{}
	for _, o := range results {
		switch {
		case o.err == nil:
			winners = append(winners, o)
		case refusal(o.err):
			reasons[string(errs.ReasonOf(o.err))+"/"+errs.KindOf(o.err).String()]++
		default:
			t.Errorf("redemption %s: %v; want a clean refusal", o.redemption, o.err)
		}
	}
	t.Logf("refusals: %v", reasons)
	if len(winners) != 1 {
		t.Fatalf("%d redemptions succeeded, want exactly 1", len(winners))
	}
	w := winners[0]
	if w.confirmed.State != domain.ReservationConfirmed || w.confirmed.SubscriptionID != w.subscription {
		t.Errorf("the winner's reservation %+v", w.confirmed)
	}
	c, err := h.store.KeyCard(t.Context(), b.Cards[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != domain.CardRedeemed || c.RedemptionID != w.redemption || c.SubscriptionID != w.subscription ||
		c.CustomerID != customerC || c.ReservationID != w.confirmed.ID {
		t.Errorf("the card after the race %+v; want REDEEMED by %s for %s", c, w.redemption, w.subscription)
	}
	// Reserve + confirm changed the card twice, once each: no other redemption wrote it.
	if c.Version != 3 {
		t.Errorf("the card has version %d, want 3 (minted, reserved, redeemed)", c.Version)
	}
	wantStatuses(t, h.statuses(key), domain.KeyRedeemed)
}

// KD-1 on PostgreSQL: 50 confirmations of one reservation, each for another subscription, at
// once: exactly one confirms it, the others are RESERVATION_NOT_ACTIVE (confirmed for another
// subscription) or ABORTED; the cards are redeemed once, for the winner's subscription.
func TestConfirm_50Concurrent_OneSubscription(t *testing.T) {
	h := newHarness(t, testkit.StartPostgres(t))
	b := h.mintCards(3)
	r, err := h.reserve(h.keyOf(b.Cards[0].ID), h.keyOf(b.Cards[1].ID), h.keyOf(b.Cards[2].ID))
	if err != nil {
		t.Fatal(err)
	}
	errsOf := make([]error, concurrency)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errsOf[i] = h.confirm(r, fmt.Sprintf("sub-%02d", i))
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errsOf {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("confirmations %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !refusal(err):
			t.Errorf("confirmation %d: %v; want a clean refusal", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no confirmation succeeded")
	}
	want := fmt.Sprintf("sub-%02d", winner)
	got, err := h.confirm(r, want) // the winner's retry: a no-op success
	if err != nil || got.SubscriptionID != want || got.Version != 2 {
		t.Fatalf("the winner's retry %+v, %v", got, err)
	}
	for _, c := range got.Cards {
		if c.State != domain.CardRedeemed || c.SubscriptionID != want || c.Version != 3 {
			t.Errorf("card %+v; want REDEEMED once for %s", c, want)
		}
	}
}
