package sql_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	keysql "github.com/partnerhub/partnerhub/services/keys/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

const cardScope = "PARTNER:p1"

// batch returns a batch of n AVAILABLE cards of partner, minted at created. Lookup and sealed
// values are stand-ins: the store never looks inside them.
func batch(id, partner string, n int, created time.Time) domain.Batch {
	b := domain.Batch{ID: id, PartnerID: partner, SkuID: "CFQ7TTC0LH18:0001", Seats: 5, Term: domain.TermP1Y,
		Count: int32(n), CreateTime: created}
	for i := range n {
		cid := fmt.Sprintf("%s-c%02d", id, i)
		b.Cards = append(b.Cards, domain.KeyCard{Card: domain.NewCard(cid), PartnerID: partner, SkuID: b.SkuID,
			Seats: b.Seats, Term: b.Term, BatchID: id, Masked: fmt.Sprintf("*****-*****-*****-*****-%05d", i),
			Sealed: "t1:sealed-" + cid, Lookup: "lookup-" + cid, Version: 1, CreateTime: created, UpdateTime: created})
	}
	return b
}

func mint(tb testing.TB, s *keysql.Store, b domain.Batch, requestID string) {
	tb.Helper()
	run(tb, s, func(ctx context.Context, tx app.Tx) error { return tx.InsertBatch(ctx, b, cardScope, requestID) })
}

// reservation returns a new HELD reservation of cards (as they are now, reserved by it), made at
// made and lapsing after ttl.
func reservation(id string, made time.Time, ttl time.Duration, cards ...domain.KeyCard) domain.Reservation {
	r := domain.Reservation{ID: id, RedemptionID: "redemption-" + id, State: domain.ReservationHeld,
		ExpireTime: made.Add(ttl), Version: 1, CreateTime: made, UpdateTime: made}
	for _, c := range cards {
		c.Card = domain.Card{ID: c.ID, State: domain.CardReserved, ReservationID: id, ReserveExpiry: r.ExpireTime}
		r.Cards = append(r.Cards, c)
	}
	return r
}

func reserve(s *keysql.Store, r domain.Reservation, requestID string) error {
	return s.TxLocking(context.Background(), func(ctx context.Context, tx app.Tx) error {
		return tx.InsertReservation(ctx, r, cardScope, requestID)
	})
}

func readReservation(tb testing.TB, s *keysql.Store, id string) domain.Reservation {
	tb.Helper()
	var r domain.Reservation
	run(tb, s, func(ctx context.Context, tx app.Tx) error {
		var err error
		r, err = tx.Reservation(ctx, id)
		return err
	})
	return r
}

func card(tb testing.TB, s *keysql.Store, id string) domain.KeyCard {
	tb.Helper()
	c, err := s.KeyCard(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Minting stores every field of a batch and its cards; the batch of a request, a card by ID and
// cards by lookup value read them back; a second batch of the request is ALREADY_EXISTS with the
// transaction still usable; a lookup value in use is ABORTED and leaves nothing.
func TestKeyCards_MintRoundTrip(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		b := batch("b1", "p1", 3, at(0))
		mint(t, s, b, "req-1")

		run(t, s, func(ctx context.Context, tx app.Tx) error {
			got, ok, err := tx.BatchOfRequest(ctx, cardScope, "req-1")
			if err != nil || !ok || !reflect.DeepEqual(got, b) {
				t.Errorf("BatchOfRequest =\n%+v, %v, %v\nwant\n%+v", got, ok, err, b)
			}
			if _, ok, err := tx.BatchOfRequest(ctx, "PARTNER:other", "req-1"); ok || err != nil {
				t.Errorf("another scope's request: %v, %v", ok, err)
			}
			err = tx.InsertBatch(ctx, batch("b2", "p1", 1, at(0)), cardScope, "req-1")
			if errs.KindOf(err) != errs.AlreadyExists {
				t.Errorf("second batch of the request: %v", err)
			}
			// The transaction goes on: the first batch is still readable.
			_, ok, err = tx.BatchOfRequest(ctx, cardScope, "req-1")
			if !ok || err != nil {
				t.Errorf("after the conflict: %v, %v", ok, err)
			}
			return nil
		})
		if got := card(t, s, "b1-c01"); !reflect.DeepEqual(got, b.Cards[1]) {
			t.Errorf("KeyCard = %+v, want %+v", got, b.Cards[1])
		}
		if _, err := s.KeyCard(ctx, "nope"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("KeyCard(nope) = %v", err)
		}
		found, err := s.KeyCardsByLookup(ctx, []string{"lookup-b1-c02", "lookup-none", "lookup-b1-c00"})
		if err != nil || len(found) != 2 || found["lookup-b1-c02"].ID != "b1-c02" || found["lookup-b1-c00"].ID != "b1-c00" {
			t.Errorf("KeyCardsByLookup = %+v, %v", found, err)
		}

		dup := batch("b3", "p1", 2, at(time.Second))
		dup.Cards[1].Lookup = "lookup-b1-c00" // the same key as a stored card
		err = s.TxLocking(ctx, func(ctx context.Context, tx app.Tx) error { return tx.InsertBatch(ctx, dup, cardScope, "req-3") })
		if errs.KindOf(err) != errs.Aborted {
			t.Errorf("a lookup value in use: %v, want ABORTED", err)
		}
		if _, err := s.KeyCard(ctx, "b3-c00"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("the refused batch left card b3-c00: %v", err)
		}
	})
}

// A partner's cards list newest first, filtered by batch, SKU and the state at now (a card held by
// a lapsed reservation is AVAILABLE), in keyset pages.
func TestKeyCards_List(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		old, recent := batch("b1", "p1", 2, at(0)), batch("b2", "p1", 2, at(time.Hour))
		mint(t, s, old, "req-1")
		mint(t, s, recent, "req-2")
		mint(t, s, batch("b9", "p9", 1, at(2*time.Hour)), "req-9")
		if err := reserve(s, reservation("r1", at(time.Hour), 10*time.Minute, old.Cards[0]), "req-r1"); err != nil {
			t.Fatal(err)
		}
		ids := func(q app.KeyCardQuery) []string {
			t.Helper()
			cs, err := s.KeyCards(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, c := range cs {
				out = append(out, c.ID)
			}
			return out
		}
		live, lapsed := at(time.Hour+time.Minute), at(time.Hour+10*time.Minute)
		for name, tc := range map[string]struct {
			q    app.KeyCardQuery
			want []string
		}{
			"all":                   {app.KeyCardQuery{PartnerID: "p1", Now: live}, []string{"b2-c01", "b2-c00", "b1-c01", "b1-c00"}},
			"batch":                 {app.KeyCardQuery{PartnerID: "p1", BatchID: "b1", Now: live}, []string{"b1-c01", "b1-c00"}},
			"sku":                   {app.KeyCardQuery{PartnerID: "p1", SkuID: "other", Now: live}, nil},
			"reserved while held":   {app.KeyCardQuery{PartnerID: "p1", State: domain.CardReserved, Now: live}, []string{"b1-c00"}},
			"available while held":  {app.KeyCardQuery{PartnerID: "p1", State: domain.CardAvailable, Now: live}, []string{"b2-c01", "b2-c00", "b1-c01"}},
			"reserved after lapse":  {app.KeyCardQuery{PartnerID: "p1", State: domain.CardReserved, Now: lapsed}, nil},
			"available after lapse": {app.KeyCardQuery{PartnerID: "p1", State: domain.CardAvailable, Now: lapsed}, []string{"b2-c01", "b2-c00", "b1-c01", "b1-c00"}},
			"redeemed":              {app.KeyCardQuery{PartnerID: "p1", State: domain.CardRedeemed, Now: live}, nil},
			"page":                  {app.KeyCardQuery{PartnerID: "p1", Now: live, Limit: 2}, []string{"b2-c01", "b2-c00"}},
			"after":                 {app.KeyCardQuery{PartnerID: "p1", Now: live, AfterCreateTime: at(time.Hour), AfterID: "b2-c00"}, []string{"b1-c01", "b1-c00"}},
		} {
			if got := ids(tc.q); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s: %v, want %v", name, got, tc.want)
			}
		}
	})
}

// Reserve, confirm, release and lapse round trips: a reservation holds its cards until it
// expires; it is read back with its cards in request order; confirming redeems them for good;
// releasing gives them back; a lapsed reservation's card is taken by the next one.
func TestReservations_RoundTrips(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		b := batch("b1", "p1", 4, at(0))
		mint(t, s, b, "req-1")
		made := at(time.Minute)

		// Reserve: the cards in request order (c02 before c00), held until the expiry.
		r1 := reservation("r1", made, 15*time.Minute, b.Cards[2], b.Cards[0])
		if err := reserve(s, r1, "req-r1"); err != nil {
			t.Fatal(err)
		}
		got := readReservation(t, s, "r1")
		if got.State != domain.ReservationHeld || got.RedemptionID != "redemption-r1" || !got.ExpireTime.Equal(r1.ExpireTime) ||
			got.Version != 1 || len(got.Cards) != 2 || got.Cards[0].ID != "b1-c02" || got.Cards[1].ID != "b1-c00" {
			t.Fatalf("reservation %+v", got)
		}
		for _, c := range got.Cards {
			if c.State != domain.CardReserved || c.ReservationID != "r1" || !c.ReserveExpiry.Equal(r1.ExpireTime) ||
				c.Version != 2 || !c.UpdateTime.Equal(made) {
				t.Errorf("held card %+v", c)
			}
		}
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			byReq, ok, err := tx.ReservationOfRequest(ctx, cardScope, "req-r1")
			if err != nil || !ok || !reflect.DeepEqual(byReq, got) {
				t.Errorf("ReservationOfRequest = %+v, %v, %v", byReq, ok, err)
			}
			if _, err := tx.Reservation(ctx, "nope"); errs.KindOf(err) != errs.NotFound {
				t.Errorf("Reservation(nope) = %v", err)
			}
			return nil
		})

		// The guard: a card held by a live reservation is not taken, and nothing is held.
		err := reserve(s, reservation("r2", at(2*time.Minute), time.Hour, b.Cards[1], b.Cards[0]), "req-r2")
		if errs.KindOf(err) != errs.Aborted {
			t.Fatalf("reserving a held card: %v, want ABORTED", err)
		}
		if c := card(t, s, "b1-c01"); c.State != domain.CardAvailable {
			t.Errorf("the refused reservation held b1-c01: %+v", c)
		}
		// A second reservation of the same request is ALREADY_EXISTS.
		if err := reserve(s, reservation("r3", made, time.Hour, b.Cards[3]), "req-r1"); errs.KindOf(err) != errs.AlreadyExists {
			t.Errorf("a second reservation of the request: %v", err)
		}

		// Confirm: every card REDEEMED for the redemption, the reservation CONFIRMED.
		conf := got
		conf.State, conf.CustomerID, conf.SubscriptionID, conf.Version, conf.UpdateTime =
			domain.ReservationConfirmed, "cust-1", "sub-1", 2, at(5*time.Minute)
		run(t, s, func(ctx context.Context, tx app.Tx) error { return tx.ConfirmReservation(ctx, conf) })
		done := readReservation(t, s, "r1")
		if done.State != domain.ReservationConfirmed || done.CustomerID != "cust-1" || done.SubscriptionID != "sub-1" ||
			done.Version != 2 || !done.UpdateTime.Equal(at(5*time.Minute)) {
			t.Errorf("confirmed reservation %+v", done)
		}
		for _, c := range done.Cards {
			if c.State != domain.CardRedeemed || c.ReservationID != "r1" || c.RedemptionID != "redemption-r1" ||
				c.SubscriptionID != "sub-1" || c.CustomerID != "cust-1" || !c.RedeemTime.Equal(at(5*time.Minute)) ||
				!c.ReserveExpiry.IsZero() {
				t.Errorf("redeemed card %+v", c)
			}
		}
		// Confirming again, or ending it, finds it no longer HELD at that version: ABORTED.
		err = s.TxLocking(ctx, func(ctx context.Context, tx app.Tx) error { return tx.ConfirmReservation(ctx, conf) })
		if errs.KindOf(err) != errs.Aborted {
			t.Errorf("confirming twice: %v", err)
		}
		// A redeemed card is never taken again.
		if err := reserve(s, reservation("r4", at(time.Hour), time.Hour, b.Cards[0]), "req-r4"); errs.KindOf(err) != errs.Aborted {
			t.Errorf("reserving a redeemed card: %v", err)
		}

		// Release: the card AVAILABLE again, the reservation RELEASED.
		r5 := reservation("r5", made, 15*time.Minute, b.Cards[1])
		if err := reserve(s, r5, "req-r5"); err != nil {
			t.Fatal(err)
		}
		rel := readReservation(t, s, "r5")
		rel.State, rel.Version, rel.UpdateTime = domain.ReservationReleased, 2, at(3*time.Minute)
		run(t, s, func(ctx context.Context, tx app.Tx) error { return tx.EndReservation(ctx, rel) })
		if got := readReservation(t, s, "r5"); got.State != domain.ReservationReleased || got.Cards[0].State != domain.CardAvailable ||
			got.Cards[0].ReservationID != "" || !got.Cards[0].ReserveExpiry.IsZero() {
			t.Errorf("released %+v", got)
		}

		// Lapse: r6 holds c03 until 16m; at 16m r7 takes it, and r6 can no longer be confirmed
		// (its card is not RESERVED by it any more: the conditional UPDATE redeems nothing).
		r6 := reservation("r6", made, 15*time.Minute, b.Cards[3])
		if err := reserve(s, r6, "req-r6"); err != nil {
			t.Fatal(err)
		}
		if err := reserve(s, reservation("r7", at(16*time.Minute-time.Microsecond), time.Hour, b.Cards[3]), "req-r7"); errs.KindOf(err) != errs.Aborted {
			t.Errorf("taking a card before its hold lapsed: %v", err)
		}
		if err := reserve(s, reservation("r7", at(16*time.Minute), time.Hour, b.Cards[3]), "req-r7"); err != nil {
			t.Fatalf("taking a lapsed card: %v", err)
		}
		stale := readReservation(t, s, "r6")
		stale.State, stale.CustomerID, stale.SubscriptionID, stale.Version, stale.UpdateTime =
			domain.ReservationConfirmed, "cust-1", "sub-1", 2, at(10*time.Minute)
		err = s.TxLocking(ctx, func(ctx context.Context, tx app.Tx) error { return tx.ConfirmReservation(ctx, stale) })
		if errs.KindOf(err) != errs.Aborted {
			t.Fatalf("confirming a reservation that lost its card: %v, want ABORTED", err)
		}
		if got := readReservation(t, s, "r6"); got.State != domain.ReservationHeld || got.Cards[0].ReservationID != "r7" ||
			got.Cards[0].State != domain.CardReserved {
			t.Errorf("after the refused confirmation: %+v", got)
		}
		// Ending the lapsed r6 stores EXPIRED and leaves r7's hold alone.
		end := readReservation(t, s, "r6")
		end.State, end.Version, end.UpdateTime = domain.ReservationExpired, 2, at(20*time.Minute)
		run(t, s, func(ctx context.Context, tx app.Tx) error { return tx.EndReservation(ctx, end) })
		if got := readReservation(t, s, "r6"); got.State != domain.ReservationExpired || got.Cards[0].ReservationID != "r7" {
			t.Errorf("expired %+v", got)
		}
		// A stale version is ABORTED.
		err = s.TxLocking(ctx, func(ctx context.Context, tx app.Tx) error { return tx.EndReservation(ctx, end) })
		if errs.KindOf(err) != errs.Aborted {
			t.Errorf("ending twice: %v", err)
		}
	})
}
