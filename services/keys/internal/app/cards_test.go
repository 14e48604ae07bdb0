package app_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// asService is a partnerhub service acting on its own account (the orders service's redemption
// saga, or selling key cards).
func asService() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Subject: "svc_orders", OrgID: "partnerhub",
		OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}})
}

func (h *harness) mintInput(mod ...func(*app.MintInput)) app.MintInput {
	in := app.MintInput{RequestID: h.rid(), PartnerID: partnerA, SkuID: "CFQ7TTC0LH18:0001", Seats: 5, Term: "P1Y", Count: 3}
	for _, m := range mod {
		m(&in)
	}
	return in
}

// mintCards mints n cards of partner A as its Admin agent.
func (h *harness) mintCards(n int32) domain.Batch {
	h.t.Helper()
	b, err := h.app.MintKeyCards(partnerUser(partnerA, auth.AdminAgent), h.mintInput(func(in *app.MintInput) { in.Count = n }))
	if err != nil {
		h.t.Fatalf("MintKeyCards: %v", err)
	}
	return b
}

// keyOf reveals a card's key as partner A's Admin agent.
func (h *harness) keyOf(cardID string) string {
	h.t.Helper()
	r, err := h.app.RevealKey(partnerUser(partnerA, auth.AdminAgent), app.RevealInput{RequestID: h.rid(), KeyID: cardID})
	if err != nil {
		h.t.Fatalf("RevealKey(%s): %v", cardID, err)
	}
	return r.Key.Reveal()
}

func (h *harness) reserve(keys ...string) (domain.Reservation, error) {
	return h.app.ReserveProductKeys(asService(), app.ReserveInput{RequestID: h.rid(), RedemptionID: h.uuid(), Keys: keys})
}

func (h *harness) confirm(r domain.Reservation, subscription string) (domain.Reservation, error) {
	return h.app.ConfirmRedemption(asService(), app.ConfirmInput{RequestID: h.rid(), ReservationID: r.ID,
		CustomerID: customerC, SubscriptionID: subscription})
}

func (h *harness) release(r domain.Reservation) (domain.Reservation, error) {
	return h.app.ReleaseReservation(asService(), app.ReleaseInput{RequestID: h.rid(), ReservationID: r.ID})
}

// statuses validates keys and returns the verdicts.
func (h *harness) statuses(keys ...string) []domain.KeyStatus {
	h.t.Helper()
	vs, err := h.app.ValidateProductKeys(customerUser(customerC, auth.CustomerGlobalAdmin), keys)
	if err != nil {
		h.t.Fatalf("ValidateProductKeys: %v", err)
	}
	out := make([]domain.KeyStatus, len(vs))
	for i, v := range vs {
		out[i] = v.Status
	}
	return out
}

func wantStatuses(t *testing.T, got []domain.KeyStatus, want ...domain.KeyStatus) {
	t.Helper()
	if strings.Join(statusNames(got), ",") != strings.Join(statusNames(want), ",") {
		t.Fatalf("verdicts %v, want %v", got, want)
	}
}

func statusNames(ss []domain.KeyStatus) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// mistype replaces the first character of a key by another key character: a substitution the
// check character always catches (KD-1).
func mistype(key string) string {
	c := domain.Alphabet[0]
	if key[0] == c {
		c = domain.Alphabet[1]
	}
	return string(c) + key[1:]
}

// ID-1, KD-1: an Open partner's Admin agent mints cards of its own (AVAILABLE, keys masked and
// sealed, each key's check character right); a retry returns the same batch; the bounds are
// INVALID_ARGUMENT naming the field; another partner's ID is TENANT_MISMATCH; a partner not in
// Open is PROGRAM_NOT_ENROLLED.
func TestMintKeyCards_ID1_KD1(t *testing.T) {
	h := sqliteHarness(t)
	agent := partnerUser(partnerA, auth.AdminAgent)
	in := h.mintInput()
	b, err := h.app.MintKeyCards(agent, in)
	if err != nil {
		t.Fatal(err)
	}
	if b.ID == "" || b.PartnerID != partnerA || b.Count != 3 || len(b.Cards) != 3 || b.Term != domain.TermP1Y || !b.CreateTime.Equal(t0) {
		t.Fatalf("batch %+v", b)
	}
	seen := map[string]bool{}
	for _, c := range b.Cards {
		if c.State != domain.CardAvailable || c.BatchID != b.ID || c.PartnerID != partnerA || c.Seats != 5 || c.Term != domain.TermP1Y ||
			c.SkuID != in.SkuID || !strings.HasPrefix(c.Masked, "*****-*****-*****-*****-") || c.Version != 1 {
			t.Errorf("card %+v", c)
		}
		key := h.keyOf(c.ID)
		if k, err := domain.ParseKey(key); err != nil || k.Masked() != c.Masked {
			t.Errorf("card %s: key %s (%v) does not match %s", c.ID, k, err, c.Masked)
		}
		if strings.Contains(c.Sealed, strings.ReplaceAll(key, "-", "")[:10]) || strings.Contains(c.Lookup, key[:5]) || seen[key] {
			t.Errorf("card %s: sealed or lookup value shows the key, or the key repeats", c.ID)
		}
		seen[key] = true
	}

	// A retry, also by the saga acting for the same partner, returns the first batch.
	again, err := h.app.MintKeyCards(asSaga(), in)
	if err != nil || again.ID != b.ID || len(again.Cards) != 3 || again.Cards[2].ID != b.Cards[2].ID {
		t.Fatalf("retried mint %+v, %v", again, err)
	}
	other := in
	other.Count = 4
	_, err = h.app.MintKeyCards(agent, other)
	wantErr(t, err, errs.AlreadyExists, errs.ReasonRequestIDReused)

	for name, tc := range map[string]struct {
		mod   func(*app.MintInput)
		field string
	}{
		"no request":   {func(in *app.MintInput) { in.RequestID = "" }, "request_id"},
		"partner":      {func(in *app.MintInput) { in.PartnerID = "p-1" }, "partner_id"},
		"no sku":       {func(in *app.MintInput) { in.SkuID = "" }, "sku_id"},
		"zero seats":   {func(in *app.MintInput) { in.Seats = 0 }, "seats"},
		"zero count":   {func(in *app.MintInput) { in.Count = 0 }, "count"},
		"1001 cards":   {func(in *app.MintInput) { in.Count = 1001 }, "count"},
		"no term":      {func(in *app.MintInput) { in.Term = "" }, "term_duration"},
		"two years":    {func(in *app.MintInput) { in.Term = "P2Y" }, "term_duration"},
		"not ISO 8601": {func(in *app.MintInput) { in.Term = "1 year" }, "term_duration"},
	} {
		_, err := h.app.MintKeyCards(agent, h.mintInput(tc.mod))
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.InvalidArgument || len(e.Violations) != 1 || e.Violations[0].Field != tc.field {
			t.Errorf("%s: %v, want INVALID_ARGUMENT on %s", name, err, tc.field)
		}
	}
	for _, term := range []string{"P1M", "P3Y"} {
		if _, err := h.app.MintKeyCards(agent, h.mintInput(func(in *app.MintInput) { in.Term, in.Count = term, 1 })); err != nil {
			t.Errorf("term %s: %v", term, err)
		}
	}
	big, err := h.app.MintKeyCards(asService(), h.mintInput(func(in *app.MintInput) { in.Count = domain.MaxCardsPerMint }))
	if err != nil || len(big.Cards) != domain.MaxCardsPerMint {
		t.Fatalf("minting %d cards: %d, %v", domain.MaxCardsPerMint, len(big.Cards), err)
	}

	_, err = h.app.MintKeyCards(agent, h.mintInput(func(in *app.MintInput) { in.PartnerID = partnerB }))
	wantErr(t, err, errs.PermissionDenied, errs.ReasonTenantMismatch)
	_, err = h.app.MintKeyCards(partnerUser(partnerB, auth.AdminAgent), h.mintInput(func(in *app.MintInput) { in.PartnerID = partnerB }))
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonProgramNotEnrolled)
	_, err = h.app.MintKeyCards(asService(), h.mintInput(func(in *app.MintInput) { in.PartnerID = partnerB }))
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonProgramNotEnrolled)
	_, err = h.app.MintKeyCards(customerUser(customerC, auth.CustomerGlobalAdmin), h.mintInput())
	wantErr(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
}

// ID-8: a partner lists its own cards only, newest first, by state, batch and page; a service
// acting for nobody has no partner to list for.
func TestListKeyCards(t *testing.T) {
	h := sqliteHarness(t)
	first := h.mintCards(2)
	h.clock.Advance(time.Second)
	second := h.mintCards(2)
	sales := partnerUser(partnerA, auth.SalesAgent)
	cards, next, err := h.app.ListKeyCards(sales, app.KeyCardsInput{PageSize: 3})
	if err != nil || len(cards) != 3 || next == "" || cards[0].BatchID != second.ID || cards[2].BatchID != first.ID {
		t.Fatalf("first page %+v, %q, %v", cards, next, err)
	}
	rest, next, err := h.app.ListKeyCards(sales, app.KeyCardsInput{PageSize: 3, PageToken: next})
	if err != nil || len(rest) != 1 || next != "" || rest[0].BatchID != first.ID {
		t.Fatalf("second page %+v, %q, %v", rest, next, err)
	}
	_, _, err = h.app.ListKeyCards(sales, app.KeyCardsInput{PageSize: 3, PageToken: "garbage"})
	wantErr(t, err, errs.InvalidArgument, errs.ReasonInvalidPageToken)

	if _, err := h.reserve(h.keyOf(first.Cards[0].ID)); err != nil {
		t.Fatal(err)
	}
	held, _, err := h.app.ListKeyCards(asSaga(), app.KeyCardsInput{State: domain.CardReserved})
	if err != nil || len(held) != 1 || held[0].ID != first.Cards[0].ID || held[0].ReservationID == "" {
		t.Errorf("reserved cards %+v, %v", held, err)
	}
	byBatch, _, err := h.app.ListKeyCards(sales, app.KeyCardsInput{BatchID: first.ID, State: domain.CardAvailable})
	if err != nil || len(byBatch) != 1 || byBatch[0].ID != first.Cards[1].ID {
		t.Errorf("available cards of the first batch %+v, %v", byBatch, err)
	}
	// The hold lapses: the card counts as AVAILABLE at once, held by nothing.
	h.clock.Advance(domain.DefaultReservationTTL)
	if held, _, _ := h.app.ListKeyCards(sales, app.KeyCardsInput{State: domain.CardReserved}); len(held) != 0 {
		t.Errorf("reserved after the lapse: %+v", held)
	}
	if all, _, _ := h.app.ListKeyCards(sales, app.KeyCardsInput{BatchID: first.ID}); len(all) != 2 ||
		all[1].State != domain.CardAvailable || all[1].ReservationID != "" {
		t.Errorf("after the lapse: %+v", all)
	}

	if other, _, err := h.app.ListKeyCards(partnerUser(partnerB, auth.AdminAgent), app.KeyCardsInput{}); err != nil || len(other) != 0 {
		t.Errorf("partner B lists %d cards, %v", len(other), err)
	}
	_, _, err = h.app.ListKeyCards(asService(), app.KeyCardsInput{})
	wantErr(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
	_, _, err = h.app.ListKeyCards(sales, app.KeyCardsInput{State: "LOST"})
	wantErr(t, err, errs.InvalidArgument, "")
	_, _, err = h.app.ListKeyCards(sales, app.KeyCardsInput{BatchID: "b-1"})
	wantErr(t, err, errs.InvalidArgument, "")
}

// KD-1, KD-2: one verdict per typed key, in order, never an error for a bad key — a lower-case
// key without dashes is read as the key, a mistyped one (check character) is MALFORMED, a repeat
// DUPLICATE, then RESERVED and REDEEMED as the redemption goes on.
func TestValidateProductKeys_KD1_KD2(t *testing.T) {
	h := sqliteHarness(t)
	b := h.mintCards(3)
	k0, k1, k2 := h.keyOf(b.Cards[0].ID), h.keyOf(b.Cards[1].ID), h.keyOf(b.Cards[2].ID)
	unknown, err := domain.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	loose := " " + strings.ToLower(strings.ReplaceAll(k1, "-", "")) + "\t"
	wantStatuses(t, h.statuses(k0, loose, mistype(k2), unknown.Reveal(), "", "not a key", k0, strings.ToLower(k0)),
		domain.KeyValid, domain.KeyValid, domain.KeyMalformed, domain.KeyUnknown, domain.KeyMalformed, domain.KeyMalformed,
		domain.KeyDuplicate, domain.KeyDuplicate)

	vs, err := h.app.ValidateProductKeys(asService(), []string{loose, mistype(k2), k1})
	if err != nil {
		t.Fatal(err)
	}
	if v := vs[0]; v.Index != 0 || !v.Known || v.Card.ID != b.Cards[1].ID || v.Masked != b.Cards[1].Masked {
		t.Errorf("verdict on the loose key %+v", v)
	}
	if v := vs[1]; v.Index != 1 || v.Known || v.Masked != "" {
		t.Errorf("verdict on the mistyped key %+v", v)
	}
	if v := vs[2]; v.Status != domain.KeyDuplicate || !v.Known || v.Card.ID != b.Cards[1].ID || v.Index != 2 {
		t.Errorf("verdict on the repeat %+v", v)
	}

	r, err := h.reserve(k0, k1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.confirm(r, "sub-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.reserve(k2); err != nil {
		t.Fatal(err)
	}
	wantStatuses(t, h.statuses(k0, k1, k2), domain.KeyRedeemed, domain.KeyRedeemed, domain.KeyReserved)
	h.clock.Advance(domain.DefaultReservationTTL) // k2's hold lapses
	wantStatuses(t, h.statuses(k2, k0), domain.KeyValid, domain.KeyRedeemed)

	_, err = h.app.ValidateProductKeys(asService(), nil)
	wantErr(t, err, errs.InvalidArgument, "")
	_, err = h.app.ValidateProductKeys(asService(), make([]string, domain.MaxKeysPerRequest+1))
	wantErr(t, err, errs.InvalidArgument, "")
	if vs, err := h.app.ValidateProductKeys(asService(), make([]string, domain.MaxKeysPerRequest)); err != nil || len(vs) != 100 {
		t.Errorf("100 empty keys: %d verdicts, %v", len(vs), err)
	}
}

// KD-2: a reservation holds all its keys or none; each refusal names the key's index; a retry
// returns the same reservation, and the same request ID for other keys is REQUEST_ID_REUSED.
func TestReserveProductKeys_AllOrNothing_KD2(t *testing.T) {
	h := sqliteHarness(t)
	b := h.mintCards(4)
	k := make([]string, 4)
	for i, c := range b.Cards {
		k[i] = h.keyOf(c.ID)
	}
	in := app.ReserveInput{RequestID: h.rid(), RedemptionID: h.uuid(), Keys: []string{k[0], strings.ToLower(k[1])}, TTL: 30 * time.Minute}
	r, err := h.app.ReserveProductKeys(asService(), in)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != domain.ReservationHeld || !r.ExpireTime.Equal(t0.Add(30*time.Minute)) || len(r.Cards) != 2 ||
		r.Cards[0].ID != b.Cards[0].ID || r.Cards[1].ID != b.Cards[1].ID || r.RedemptionID != in.RedemptionID {
		t.Fatalf("reservation %+v", r)
	}
	for _, c := range r.Cards {
		if c.State != domain.CardReserved || c.ReservationID != r.ID || !c.ReserveExpiry.Equal(r.ExpireTime) {
			t.Errorf("held card %+v", c)
		}
	}
	again, err := h.app.ReserveProductKeys(asService(), in)
	if err != nil || again.ID != r.ID {
		t.Errorf("retried reservation %+v, %v", again, err)
	}
	other := in
	other.Keys = []string{k[0]}
	_, err = h.app.ReserveProductKeys(asService(), other)
	wantErr(t, err, errs.AlreadyExists, errs.ReasonRequestIDReused)

	// k[2] is free, k[0] is held: nothing is held, and the refusal names index 1.
	_, err = h.reserve(k[2], k[0])
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonKeyReserved)
	if e, _ := errs.As(err); e.Metadata["index"] != "1" {
		t.Errorf("refusal metadata %v", e.Metadata)
	}
	wantStatuses(t, h.statuses(k[2]), domain.KeyValid)

	unknown, _ := domain.GenerateKey(rand.Reader)
	_, err = h.reserve(k[2], unknown.Reveal())
	wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound)
	if e, _ := errs.As(err); e.Metadata["index"] != "1" || strings.Contains(err.Error(), unknown.Reveal()) {
		t.Errorf("unknown key refusal %v", err)
	}
	_, err = h.reserve(k[2], mistype(k[3]))
	wantErr(t, err, errs.InvalidArgument, domain.ReasonKeyMalformed)
	if e, _ := errs.As(err); e.Metadata["index"] != "1" || len(e.Violations) != 1 || e.Violations[0].Field != "product_keys[1]" {
		t.Errorf("malformed key refusal %v", err)
	}
	_, err = h.reserve(k[2], k[3], strings.ReplaceAll(k[2], "-", ""))
	wantErr(t, err, errs.InvalidArgument, "")
	_, err = h.app.ReserveProductKeys(asService(), app.ReserveInput{RequestID: h.rid(), RedemptionID: h.uuid(), Keys: []string{k[2]},
		TTL: domain.MaxReservationTTL + time.Second})
	wantErr(t, err, errs.InvalidArgument, "")
	_, err = h.reserve()
	wantErr(t, err, errs.InvalidArgument, "")
	wantStatuses(t, h.statuses(k[2], k[3]), domain.KeyValid, domain.KeyValid)

	// Once redeemed, a key is refused as such.
	if _, err := h.confirm(r, "sub-1"); err != nil {
		t.Fatal(err)
	}
	_, err = h.reserve(k[3], k[1])
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonKeyAlreadyRedeemed)
}

// KD-1: confirming redeems the cards for good with the subscription; confirming again for the
// same subscription is a no-op success, for another RESERVATION_NOT_ACTIVE; a confirmed
// reservation cannot be released; an unknown one is NOT_FOUND.
func TestConfirmRedemption_Idempotent_KD1(t *testing.T) {
	h := sqliteHarness(t)
	b := h.mintCards(2)
	r, err := h.reserve(h.keyOf(b.Cards[0].ID), h.keyOf(b.Cards[1].ID))
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	c, err := h.confirm(r, "sub-1")
	if err != nil {
		t.Fatal(err)
	}
	if c.State != domain.ReservationConfirmed || c.SubscriptionID != "sub-1" || c.CustomerID != customerC || c.Version != 2 {
		t.Fatalf("confirmed %+v", c)
	}
	for _, card := range c.Cards {
		if card.State != domain.CardRedeemed || card.SubscriptionID != "sub-1" || card.CustomerID != customerC ||
			card.RedemptionID != r.RedemptionID || !card.RedeemTime.Equal(t0.Add(time.Minute)) {
			t.Errorf("redeemed card %+v", card)
		}
	}
	h.clock.Advance(time.Hour) // long past the expiry: a confirmed reservation stays confirmed
	again, err := h.confirm(r, "sub-1")
	if err != nil || again.State != domain.ReservationConfirmed || again.Version != 2 || again.Cards[0].Version != c.Cards[0].Version {
		t.Errorf("confirming again %+v, %v", again, err)
	}
	_, err = h.confirm(r, "sub-2")
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonReservationNotActive)
	_, err = h.release(r)
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonReservationNotActive)
	_, err = h.confirm(domain.Reservation{ID: h.uuid()}, "sub-1")
	wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound)
	_, err = h.app.ConfirmRedemption(asService(), app.ConfirmInput{RequestID: h.rid(), ReservationID: r.ID, CustomerID: "c", SubscriptionID: "s"})
	wantErr(t, err, errs.InvalidArgument, "")
	_, err = h.app.ConfirmRedemption(asService(), app.ConfirmInput{RequestID: h.rid(), ReservationID: r.ID, CustomerID: customerC})
	wantErr(t, err, errs.InvalidArgument, "")
}

// KD-1, KD-2: a reservation lapses at its expiry: confirming it then is RESERVATION_EXPIRED,
// releasing it is a no-op (EXPIRED), and its keys are free for the next redemption. A released
// reservation gives its keys back at once and cannot be confirmed.
func TestReservation_LapseAndRelease(t *testing.T) {
	h := sqliteHarness(t)
	b := h.mintCards(2)
	k0, k1 := h.keyOf(b.Cards[0].ID), h.keyOf(b.Cards[1].ID)
	r, err := h.app.ReserveProductKeys(asService(), app.ReserveInput{RequestID: h.rid(), RedemptionID: h.uuid(), Keys: []string{k0},
		TTL: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(5 * time.Minute)
	_, err = h.confirm(r, "sub-1")
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonReservationExpired)
	for range 2 {
		rel, err := h.release(r)
		if err != nil || rel.State != domain.ReservationExpired || rel.Cards[0].State != domain.CardAvailable {
			t.Fatalf("releasing a lapsed reservation: %+v, %v", rel, err)
		}
	}
	_, err = h.confirm(r, "sub-1")
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonReservationExpired)
	wantStatuses(t, h.statuses(k0), domain.KeyValid)
	next, err := h.reserve(k0)
	if err != nil {
		t.Fatalf("reserving a lapsed key: %v", err)
	}

	r2, err := h.reserve(k1)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := h.release(r2)
	if err != nil || rel.State != domain.ReservationReleased || rel.Cards[0].State != domain.CardAvailable || rel.Version != 2 {
		t.Fatalf("released %+v, %v", rel, err)
	}
	if again, err := h.release(r2); err != nil || again.State != domain.ReservationReleased || again.Version != 2 {
		t.Errorf("releasing twice %+v, %v", again, err)
	}
	_, err = h.confirm(r2, "sub-1")
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonReservationNotActive)
	wantStatuses(t, h.statuses(k1, k0), domain.KeyValid, domain.KeyReserved)

	// A lapsed reservation whose key another redemption took still releases as a no-op, and
	// leaves the other hold alone.
	h.clock.Advance(domain.DefaultReservationTTL)
	taker, err := h.reserve(k0)
	if err != nil {
		t.Fatal(err)
	}
	if rel, err := h.release(next); err != nil || rel.State != domain.ReservationExpired || rel.Cards[0].ReservationID != taker.ID {
		t.Errorf("releasing the lapsed one: %+v, %v", rel, err)
	}
	if c, err := h.confirm(taker, "sub-9"); err != nil || c.Cards[0].State != domain.CardRedeemed {
		t.Errorf("confirming the taker: %+v, %v", c, err)
	}
}

// KD-1, KD-3, KD-6: a key card's whole key goes to its partner's Admin agent, recorded in the
// partner's activity log once per request; another partner's Admin agent gets NOT_FOUND (ID-8), any
// other role ROLE_REQUIRED.
func TestRevealKey_KeyCard_KD3(t *testing.T) {
	h := sqliteHarness(t)
	b := h.mintCards(1)
	c := b.Cards[0]
	agent := partnerUser(partnerA, auth.AdminAgent)
	rid := h.rid()
	r, err := h.app.RevealKey(agent, app.RevealInput{RequestID: rid, KeyID: c.ID, PeerAddress: "192.0.2.9:4000"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Key.Masked() != c.Masked || r.KeyType != domain.KeyTypeProductKeyCard || r.Card.ID != c.ID || r.Entitlement.ID != "" ||
		r.ActivityID == "" {
		t.Fatalf("revealed %+v", r)
	}
	again, err := h.app.RevealKey(agent, app.RevealInput{RequestID: rid, KeyID: c.ID})
	if err != nil || again.ActivityID != r.ActivityID || again.Key != r.Key {
		t.Errorf("retried reveal %+v, %v", again, err)
	}
	_, err = h.app.RevealKey(agent, app.RevealInput{RequestID: rid, KeyID: h.mintCards(1).Cards[0].ID})
	wantErr(t, err, errs.AlreadyExists, errs.ReasonRequestIDReused)

	for name, tc := range map[string]struct {
		ctx    context.Context
		kind   errs.Kind
		reason errs.Reason
	}{
		"another partner's Admin agent": {partnerUser(partnerB, auth.AdminAgent), errs.NotFound, errs.ReasonResourceNotFound}, // ID-8
		"Sales agent":                   {partnerUser(partnerA, auth.SalesAgent), errs.PermissionDenied, errs.ReasonRoleRequired},
		"customer Global admin":         {customerUser(customerC, auth.CustomerGlobalAdmin), errs.PermissionDenied, errs.ReasonRoleRequired},
	} {
		_, err := h.app.RevealKey(tc.ctx, app.RevealInput{RequestID: h.rid(), KeyID: c.ID})
		if errs.KindOf(err) != tc.kind || errs.ReasonOf(err) != tc.reason {
			t.Errorf("%s: %v, want %s / %s", name, err, tc.kind, tc.reason)
		}
	}
	_, err = h.app.RevealKey(agent, app.RevealInput{RequestID: h.rid(), KeyID: h.uuid()})
	wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound)

	recs, _, err := h.app.ListActivity(partnerUser(partnerA, auth.GlobalAdmin), day(app.ActivityInput{}))
	if err != nil {
		t.Fatal(err)
	}
	var mine []domain.Activity
	for _, rec := range recs {
		if rec.KeyID == c.ID {
			mine = append(mine, rec)
		}
	}
	if len(mine) != 1 || mine[0].Action != domain.ActionKeyRevealed || mine[0].MaskedKey != c.Masked || mine[0].EntitlementID != "" ||
		mine[0].PartnerID != partnerA || mine[0].PeerAddress != "192.0.2.9:4000" || mine[0].ID != r.ActivityID {
		t.Errorf("reveal records of the card %+v", mine)
	}
	if strings.Contains(mine[0].MaskedKey, r.Key.Reveal()[:5]) {
		t.Error("the record holds more than the masked key")
	}
	if other, _, _ := h.app.ListActivity(partnerUser(partnerB, auth.GlobalAdmin), day(app.ActivityInput{})); len(other) != 0 {
		t.Errorf("partner B reads %d records", len(other))
	}
}
