package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
)

// Scenarios of issue 7 about Open product keys (KD-1, KD-2, ID-2, SU-4): a partner in the Open
// program mints key cards, reveals their keys, reviews and redeems them through orders'
// RedemptionService. Each test has its own partner and customers; dates are taken relative to
// the stack's shared fake clock.

// TestE2E_NewTenantByOpenKeys_KD2_ID2: three Open keys (5 + 5 + 10 seats of Microsoft 365
// Business Standard, from two mint batches) are reviewed and then redeemed in one go into a new
// customer tenant (KD-2): the review says what will happen (NEW_TENANT, one subscription of 20
// seats for one year from today) without doing it; the redemption COMPLETES, creates the tenant
// with its country, organisation, default domain and first admin (ID-2), and one Open
// subscription with the summed seats, of which the admin holds a license (ID-2). The key cards are
// REDEEMED for that subscription (KD-1): a second redemption of the same keys is refused
// KEY_ALREADY_REDEEMED, into a new tenant as into the created one, while a retry with the first
// request_id returns the same redemption (OR-7) and creates nothing more. Another tenant on the
// same default domain is refused DOMAIN_TAKEN (ID-2), and no service logs a whole key (KD-8).
func TestE2E_NewTenantByOpenKeys_KD2_ID2(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tn := newOpenPartner(t, ctx)
	agent := withToken(ctx, tn.agentToken)
	batchA, fives := mintOpenCards(t, ctx, tn, 5, 2)
	batchB, tens := mintOpenCards(t, ctx, tn, 10, 1)
	cards := append(slices.Clone(fives), tens...)
	keys := keysOf(cards)

	prefix := "open" + uuid.NewString()[:8]
	target := newTenantTarget(prefix, "Contoso Handels GmbH")
	today := stack.Now(ctx, t).Truncate(day)
	end := addYear(today)

	// The review step (KD-2): what redeeming would do, nothing done.
	review, err := redemptionAPI().ValidateProductKeys(agent, &ordersv1.ValidateProductKeysRequest{
		ProductKeys: keys, Target: &ordersv1.ValidateProductKeysRequest_NewTenant{NewTenant: target}})
	if err != nil {
		t.Fatalf("ValidateProductKeys: %v", err)
	}
	if !review.GetValid() || review.GetKind() != ordersv1.RedemptionKind_REDEMPTION_KIND_NEW_TENANT || len(review.GetKeys()) != 3 ||
		review.GetReviewEtag() == "" || len(reviewProblems(review)) != 0 {
		t.Fatalf("review of 3 new keys for a new tenant: valid %v, %v, %d keys, etag %q, problems %v; want a valid NEW_TENANT review of 3 keys",
			review.GetValid(), review.GetKind(), len(review.GetKeys()), review.GetReviewEtag(), reviewProblems(review))
	}
	for i, k := range review.GetKeys() {
		c := cards[i]
		if int(k.GetIndex()) != i || !k.GetValid() || k.GetSkuId() != skuOpenM365 || k.GetSeats() != c.card.GetSeats() ||
			k.GetMaskedKey() == c.key || k.GetMaskedKey()[len(k.GetMaskedKey())-5:] != c.key[len(c.key)-5:] {
			t.Errorf("review of key %d: index %d, valid %v, SKU %s, %d seats, masked %q; want valid, %s, %d seats, masked to its last five characters (KD-8)",
				i, k.GetIndex(), k.GetValid(), k.GetSkuId(), k.GetSeats(), k.GetMaskedKey(), skuOpenM365, c.card.GetSeats())
		}
	}
	if outs := review.GetOutcomes(); len(outs) != 1 || outs[0].GetKind() != ordersv1.RedemptionKind_REDEMPTION_KIND_NEW_TENANT &&
		outs[0].GetKind() != ordersv1.RedemptionKind_REDEMPTION_KIND_NEW_SUBSCRIPTION || outs[0].GetSkuId() != skuOpenM365 ||
		outs[0].GetSeats() != 20 || outs[0].GetTotalQuantity() != 20 || outs[0].GetSubscriptionId() != "" ||
		!outs[0].GetTermStartTime().AsTime().Equal(today) || !outs[0].GetTermEndTime().AsTime().Equal(end) {
		t.Fatalf("review outcomes %v; want one new subscription of %s with 5+5+10 = 20 seats from %s to %s", outs, skuOpenM365, day0(today), day0(end))
	}
	for id, c := range listKeyCards(t, ctx, tn, batchA) {
		if c.GetState() != keysv1.KeyCardState_KEY_CARD_STATE_AVAILABLE {
			t.Errorf("card %s after the review: %v; want AVAILABLE (the review reserves nothing)", id, c.GetState())
		}
	}

	// Redeem, confirming the review.
	requestID := uuid.NewString()
	req := &ordersv1.RedeemProductKeysRequest{RequestId: requestID, ProductKeys: keys,
		Target: &ordersv1.RedeemProductKeysRequest_NewTenant{NewTenant: target}, ReviewEtag: review.GetReviewEtag()}
	r, out := redeemCompleted(t, ctx, tn.agentToken, req)
	if r.GetKind() != ordersv1.RedemptionKind_REDEMPTION_KIND_NEW_TENANT || !r.GetTenantCreated() || r.GetCustomerId() == "" ||
		r.GetCustomerId() == tn.customerID || r.GetPartnerId() != tn.partnerID || len(r.GetKeys()) != 3 || r.GetFailure() != nil ||
		r.GetCompleteTime() == nil {
		t.Fatalf("redemption %s; want a COMPLETED NEW_TENANT redemption of partner %s that created a tenant", describeRedemption(r), tn.partnerID)
	}
	for i, k := range r.GetKeys() {
		if k.GetMaskedKey() == cards[i].key || k.GetSeats() != cards[i].card.GetSeats() {
			t.Errorf("redemption's key %d: masked %q, %d seats; want it masked (KD-8), %d seats", i, k.GetMaskedKey(), k.GetSeats(), cards[i].card.GetSeats())
		}
	}
	customerID, subID := r.GetCustomerId(), out.GetSubscriptionId()
	if subID == "" || out.GetSeats() != 20 || out.GetTotalQuantity() != 20 || out.GetSkuId() != skuOpenM365 ||
		!out.GetTermStartTime().AsTime().Equal(today) || !out.GetTermEndTime().AsTime().Equal(end) || out.GetDaysForfeited() != 0 {
		t.Fatalf("redemption outcome %s; want one subscription of 20 seats from %s to %s", describeRedemption(r), day0(today), day0(end))
	}

	// The tenant (ID-2): country, organisation, default domain, first admin.
	cust, err := identityv1.NewCustomerServiceClient(stack.Conn("identity")).GetCustomer(agent, &identityv1.GetCustomerRequest{CustomerId: customerID})
	if err != nil {
		t.Fatalf("GetCustomer %s (created by the redemption): %v", customerID, err)
	}
	c := cust.GetCustomer()
	if c.GetOrganisationName() != target.GetOrganisationName() || c.GetCountryCode() != "DE" || c.GetDefaultDomain() != target.GetDefaultDomain() ||
		c.GetAdminUserId() == "" || c.GetCreatedByPartnerId() != tn.partnerID {
		t.Fatalf("the new tenant: %q in %s, domain %q, admin %q, created by %q; want %q in DE, %q, an admin, created by %s (ID-2)",
			c.GetOrganisationName(), c.GetCountryCode(), c.GetDefaultDomain(), c.GetAdminUserId(), c.GetCreatedByPartnerId(),
			target.GetOrganisationName(), target.GetDefaultDomain(), tn.partnerID)
	}
	adminID := c.GetAdminUserId()
	users, err := identityv1.NewUserServiceClient(stack.Conn("identity")).ListUsers(withToken(ctx, operatorToken(ctx, t)),
		&identityv1.ListUsersRequest{OrgId: customerID, PageSize: 50})
	if err != nil {
		t.Fatalf("ListUsers of the new tenant (operator): %v", err)
	}
	if us := users.GetUsers(); len(us) != 1 || us[0].GetUserId() != adminID || us[0].GetUserName() != target.GetAdmin().GetUserName() ||
		us[0].GetOrgId() != customerID || !slices.Contains(us[0].GetRoles(), commonv1.Role_ROLE_CUSTOMER_GLOBAL_ADMIN) {
		t.Errorf("users of the new tenant: %v; want its one admin %s, %q, a Global admin (ID-2)", us, adminID, target.GetAdmin().GetUserName())
	}

	// One Open subscription with the summed seats; the admin holds a license of it (ID-2).
	subs := subscriptionsv1.NewSubscriptionServiceClient(stack.Conn("subscriptions"))
	s := getSub(t, subs, agent, subID)
	if s.GetCustomerId() != customerID || s.GetPartnerId() != tn.partnerID || s.GetSkuId() != skuOpenM365 ||
		s.GetChannel() != subscriptionsv1.Channel_CHANNEL_OPEN || s.GetState() != stActive || s.GetQuantity() != 20 ||
		!s.GetTermStartTime().AsTime().Equal(today) || !s.GetTermEndTime().AsTime().Equal(end) || s.GetAutoRenew() {
		t.Errorf("the redeemed subscription: customer %s, partner %s, %s, %v, %v, %d seats, %s..%s, autorenew %v; "+
			"want customer %s, partner %s, %s, OPEN, ACTIVE, 20 seats, %s..%s, no autorenew (SU-4)",
			s.GetCustomerId(), s.GetPartnerId(), s.GetSkuId(), s.GetChannel(), s.GetState(), s.GetQuantity(),
			day0(s.GetTermStartTime().AsTime()), day0(s.GetTermEndTime().AsTime()), s.GetAutoRenew(),
			customerID, tn.partnerID, skuOpenM365, day0(today), day0(end))
	}
	if got := s.GetLicensedUserIds(); !slices.Equal(got, []string{adminID}) {
		t.Errorf("licensed users of the redeemed subscription: %v; want the new tenant's admin %s (ID-2)", got, adminID)
	}
	newTenant := lifecycleTenant{partnerID: tn.partnerID, agentToken: tn.agentToken, customerID: customerID}
	if list := listSubscriptions(t, ctx, newTenant); len(list) != 1 || list[0].GetSubscriptionId() != subID {
		t.Errorf("subscriptions of the new tenant: %d; want the one redeemed (%s)", len(list), subID)
	}

	// The key cards are REDEEMED, for that redemption, subscription and tenant (KD-1).
	checkRedeemed := func(when string) {
		t.Helper()
		for _, batch := range []string{batchA, batchB} {
			for id, kc := range listKeyCards(t, ctx, tn, batch) {
				if kc.GetState() != keysv1.KeyCardState_KEY_CARD_STATE_REDEEMED || kc.GetRedemptionId() != r.GetRedemptionId() ||
					kc.GetSubscriptionId() != subID || kc.GetCustomerId() != customerID || kc.GetRedeemTime() == nil {
					t.Errorf("%s: card %s %v, redemption %q, subscription %q, customer %q; want REDEEMED by %s for %s in %s (KD-1)",
						when, id, kc.GetState(), kc.GetRedemptionId(), kc.GetSubscriptionId(), kc.GetCustomerId(), r.GetRedemptionId(), subID, customerID)
				}
			}
		}
	}
	checkRedeemed("after the redemption")

	// A key is redeemed once (KD-1): the review says so per key, and a redemption is refused,
	// into another new tenant as into the one just created.
	again, err := redemptionAPI().ValidateProductKeys(agent, &ordersv1.ValidateProductKeysRequest{ProductKeys: keys,
		Target: &ordersv1.ValidateProductKeysRequest_CustomerId{CustomerId: customerID}})
	if err != nil {
		t.Fatalf("ValidateProductKeys of redeemed keys: %v", err)
	}
	for i, k := range again.GetKeys() {
		if k.GetValid() || !slices.ContainsFunc(k.GetProblems(), func(p *ordersv1.Problem) bool {
			return p.GetReason() == commonv1.ErrorReason_ERROR_REASON_KEY_ALREADY_REDEEMED
		}) {
			t.Errorf("review of redeemed key %d: valid %v, problems %v; want KEY_ALREADY_REDEEMED (KD-1)", i, k.GetValid(), k.GetProblems())
		}
	}
	if again.GetValid() || len(again.GetKeys()) != 3 {
		t.Errorf("review of 3 redeemed keys: valid %v, %d keys; want invalid", again.GetValid(), len(again.GetKeys()))
	}
	_, err = redemptionAPI().RedeemProductKeys(agent, &ordersv1.RedeemProductKeysRequest{RequestId: uuid.NewString(), ProductKeys: keys,
		Target: &ordersv1.RedeemProductKeysRequest_NewTenant{NewTenant: newTenantTarget("open"+uuid.NewString()[:8], "Northwind Traders GmbH")}})
	wantRefusal(t, "second redemption of the same keys into another new tenant", err, codes.FailedPrecondition, "KEY_ALREADY_REDEEMED")
	_, err = redemptionAPI().RedeemProductKeys(agent, &ordersv1.RedeemProductKeysRequest{RequestId: uuid.NewString(), ProductKeys: keys[:1],
		Target: &ordersv1.RedeemProductKeysRequest_CustomerId{CustomerId: customerID}})
	wantRefusal(t, "second redemption of a key into the tenant it created", err, codes.FailedPrecondition, "KEY_ALREADY_REDEEMED")

	// A retry of the first request returns the same redemption and does nothing more (OR-7).
	retried, err := redeemSettled(t, ctx, tn.agentToken, req)
	if err != nil {
		t.Fatalf("RedeemProductKeys retried with the same request_id: %v", err)
	}
	if retried.GetRedemptionId() != r.GetRedemptionId() || retried.GetState() != ordersv1.RedemptionState_REDEMPTION_STATE_COMPLETED ||
		retried.GetCustomerId() != customerID || len(retried.GetOutcomes()) != 1 || retried.GetOutcomes()[0].GetSubscriptionId() != subID {
		t.Errorf("retry with the same request_id: %s; want the first redemption %s", describeRedemption(retried), describeRedemption(r))
	}
	if list := listSubscriptions(t, ctx, newTenant); len(list) != 1 || getSub(t, subs, agent, subID).GetQuantity() != 20 {
		t.Errorf("after the refused and the retried redemptions: %d subscriptions; want the one of 20 seats", len(list))
	}
	checkRedeemed("after the refusals and the retry")

	// The default domain is unique (ID-2): fresh keys for another tenant on the same domain are
	// refused DOMAIN_TAKEN before anything is reserved.
	_, fresh := mintOpenCards(t, ctx, tn, 1, 1)
	taken := newTenantTarget(prefix, "Contoso Zweite GmbH")
	_, err = redemptionAPI().RedeemProductKeys(agent, &ordersv1.RedeemProductKeysRequest{RequestId: uuid.NewString(),
		ProductKeys: keysOf(fresh), Target: &ordersv1.RedeemProductKeysRequest_NewTenant{NewTenant: taken}})
	wantRefusal(t, "redemption into a new tenant on a taken default domain", err, codes.AlreadyExists, "DOMAIN_TAKEN")
	if kc := listKeyCards(t, ctx, tn, fresh[0].card.GetBatchId())[fresh[0].card.GetKeyCardId()]; kc.GetState() != keysv1.KeyCardState_KEY_CARD_STATE_AVAILABLE {
		t.Errorf("key card after the DOMAIN_TAKEN refusal: %v; want AVAILABLE", kc.GetState())
	}

	// Keys are secrets: no service logged a whole key while minting, revealing, reviewing and
	// redeeming them (KD-8; keys runs at debug level in this stack).
	for _, svc := range []string{"orders", "keys", "subscriptions", "identity"} {
		logs, err := stack.Logs(ctx, svc)
		if err != nil {
			t.Fatalf("logs of %s: %v", svc, err)
		}
		for i, k := range keys {
			if strings.Contains(logs, k) || strings.Contains(logs, strings.ReplaceAll(k, "-", "")) {
				t.Errorf("%s's log holds the whole key %d (KD-8)", svc, i) // never the key itself
			}
		}
	}
}

// TestE2E_OpenRenewalByKey_SU4: an Open subscription is renewed by a key (SU-4). Three
// subscriptions of one customer are created by redeeming one key each today; they end on the
// same day E, one year on. A renewal key (8 seats) is refused more than 30 days before E
// (RENEWAL_WINDOW_NOT_OPEN, metadata opens_at = E − 30 days; one second before it) and stays
// redeemable; at opens_at the review accepts it (30 days would be forfeited). 20 days before
// E it renews the first subscription for a new year from the redemption day (the 20 days left are
// forfeited) with the key's 8 seats. Five days after E, in the 30-day EXPIRED grace, another key
// renews the second, expired, subscription from the old end date: end = E + 1 year. Once the grace
// is over (the third subscription DISABLED) a renewal is refused INVALID_STATE_TRANSITION.
func TestE2E_OpenRenewalByKey_SU4(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tn := newOpenPartner(t, ctx)
	agent := withToken(ctx, tn.agentToken)
	subs := subscriptionsv1.NewSubscriptionServiceClient(stack.Conn("subscriptions"))
	_, initial := mintOpenCards(t, ctx, tn, 5, 3)
	renewBatch, renewal := mintOpenCards(t, ctx, tn, 8, 3)

	today := stack.Now(ctx, t).Truncate(day)
	end := addYear(today)
	var ids []string
	for i, c := range initial {
		r, out := redeemCompleted(t, ctx, tn.agentToken, &ordersv1.RedeemProductKeysRequest{RequestId: uuid.NewString(),
			ProductKeys: []string{c.key}, Target: &ordersv1.RedeemProductKeysRequest_CustomerId{CustomerId: tn.customerID}})
		if r.GetKind() != ordersv1.RedemptionKind_REDEMPTION_KIND_NEW_SUBSCRIPTION || r.GetTenantCreated() || r.GetCustomerId() != tn.customerID ||
			out.GetSubscriptionId() == "" || out.GetSeats() != 5 || !out.GetTermStartTime().AsTime().Equal(today) || !out.GetTermEndTime().AsTime().Equal(end) {
			t.Fatalf("redemption %d into the existing tenant: %s; want a NEW_SUBSCRIPTION of 5 seats from %s to %s", i, describeRedemption(r), day0(today), day0(end))
		}
		s := getSub(t, subs, agent, out.GetSubscriptionId())
		if s.GetChannel() != subscriptionsv1.Channel_CHANNEL_OPEN || s.GetAutoRenew() || !s.GetTermEndTime().AsTime().Equal(end) ||
			len(s.GetLicensedUserIds()) != 0 {
			t.Fatalf("subscription %d: channel %v, autorenew %v, end %s, licensed %v; want OPEN, no autorenew (renewed by key only), end %s, no license assigned",
				i, s.GetChannel(), s.GetAutoRenew(), day0(s.GetTermEndTime().AsTime()), s.GetLicensedUserIds(), day0(end))
		}
		ids = append(ids, out.GetSubscriptionId())
	}
	early, inGrace, tooLate := ids[0], ids[1], ids[2]
	renewReq := func(subID string, c openCard) *ordersv1.RedeemProductKeysRequest {
		return &ordersv1.RedeemProductKeysRequest{RequestId: uuid.NewString(), ProductKeys: []string{c.key},
			Target: &ordersv1.RedeemProductKeysRequest_RenewSubscriptionId{RenewSubscriptionId: subID}}
	}
	review := func(subID string, c openCard) *ordersv1.ValidateProductKeysResponse {
		t.Helper()
		rv, err := redemptionAPI().ValidateProductKeys(agent, &ordersv1.ValidateProductKeysRequest{ProductKeys: []string{c.key},
			Target: &ordersv1.ValidateProductKeysRequest_RenewSubscriptionId{RenewSubscriptionId: subID}})
		if err != nil {
			t.Fatalf("ValidateProductKeys (renewal of %s): %v", subID, err)
		}
		return rv
	}
	opens := end.Add(-30 * day)
	if w := getSub(t, subs, agent, early).GetLifecycle().GetRenewalWindowOpenTime().AsTime(); !w.Equal(opens) {
		t.Errorf("renewal_window_open_time %v; want the end date − 30 days, %v (SU-4)", w, opens)
	}

	// More than 30 days before the end (the last second of the 31st day): not open yet.
	stack.AdvanceTo(ctx, t, opens.Add(-time.Second))
	if rv := review(early, renewal[0]); rv.GetValid() || !slices.Contains(reviewProblems(rv), "RENEWAL_WINDOW_NOT_OPEN") {
		t.Errorf("review of a renewal 31 days before the end: valid %v, problems %v; want RENEWAL_WINDOW_NOT_OPEN (SU-4)", rv.GetValid(), reviewProblems(rv))
	}
	_, err := redemptionAPI().RedeemProductKeys(agent, renewReq(early, renewal[0]))
	wantRefusal(t, "renewal by key 31 days before the end date", err, codes.FailedPrecondition, "RENEWAL_WINDOW_NOT_OPEN")
	if got := metadataOf(err)["opens_at"]; got != opens.Format(time.RFC3339) {
		t.Errorf("RENEWAL_WINDOW_NOT_OPEN metadata opens_at %q; want %q (end date − 30 days)", got, opens.Format(time.RFC3339))
	}
	if s := getSub(t, subs, agent, early); s.GetQuantity() != 5 || !s.GetTermEndTime().AsTime().Equal(end) || s.GetState() != stActive {
		t.Fatalf("after the refused renewal: %d seats until %s, %v; want unchanged", s.GetQuantity(), day0(s.GetTermEndTime().AsTime()), s.GetState())
	}
	if kc := listKeyCards(t, ctx, tn, renewBatch)[renewal[0].card.GetKeyCardId()]; kc.GetState() != keysv1.KeyCardState_KEY_CARD_STATE_AVAILABLE {
		t.Fatalf("renewal card after the refusal: %v; want AVAILABLE (nothing reserved)", kc.GetState())
	}

	// At opens_at, 30 days before the end, the window is open: the review offers a new year from
	// today, the 30 days left forfeited (only reviewed: redeeming late loses less, SU-4).
	stack.AdvanceTo(ctx, t, opens)
	if rv := review(early, renewal[0]); !rv.GetValid() || len(rv.GetOutcomes()) != 1 || !rv.GetOutcomes()[0].GetTermStartTime().AsTime().Equal(opens) ||
		!rv.GetOutcomes()[0].GetTermEndTime().AsTime().Equal(addYear(opens)) || rv.GetOutcomes()[0].GetDaysForfeited() != 30 {
		t.Errorf("review of a renewal exactly 30 days before the end: valid %v, problems %v, outcomes %v; want %s..%s, 30 days forfeited (SU-4)",
			rv.GetValid(), reviewProblems(rv), rv.GetOutcomes(), day0(opens), day0(addYear(opens)))
	}

	// 20 days before the end: the new term starts on the redemption day; 20 days are forfeited.
	redeemDay := end.Add(-20 * day)
	stack.AdvanceTo(ctx, t, redeemDay.Add(9*time.Hour))
	newEnd := addYear(redeemDay)
	rv := review(early, renewal[0])
	if !rv.GetValid() || rv.GetKind() != ordersv1.RedemptionKind_REDEMPTION_KIND_RENEWAL || len(rv.GetOutcomes()) != 1 {
		t.Fatalf("review of a renewal 20 days before the end: valid %v, %v, problems %v, outcomes %v; want a valid RENEWAL",
			rv.GetValid(), rv.GetKind(), reviewProblems(rv), rv.GetOutcomes())
	}
	if o := rv.GetOutcomes()[0]; o.GetSubscriptionId() != early || !o.GetTermStartTime().AsTime().Equal(redeemDay) ||
		!o.GetTermEndTime().AsTime().Equal(newEnd) || o.GetDaysForfeited() != 20 || o.GetSeats() != 8 || o.GetTotalQuantity() != 8 {
		t.Errorf("review outcome %v; want %s renewed %s..%s, 20 days forfeited, 8 seats (SU-4)", o, early, day0(redeemDay), day0(newEnd))
	}
	req := renewReq(early, renewal[0])
	req.ReviewEtag = rv.GetReviewEtag()
	r, o := redeemCompleted(t, ctx, tn.agentToken, req)
	if r.GetKind() != ordersv1.RedemptionKind_REDEMPTION_KIND_RENEWAL || o.GetKind() != ordersv1.RedemptionKind_REDEMPTION_KIND_RENEWAL ||
		o.GetSubscriptionId() != early || !o.GetTermStartTime().AsTime().Equal(redeemDay) || !o.GetTermEndTime().AsTime().Equal(newEnd) ||
		o.GetDaysForfeited() != 20 || o.GetTotalQuantity() != 8 {
		t.Errorf("renewal 20 days before the end: %s; want %s renewed %s..%s with 20 days forfeited, 8 seats (SU-4)",
			describeRedemption(r), early, day0(redeemDay), day0(newEnd))
	}
	if s := getSub(t, subs, agent, early); s.GetState() != stActive || s.GetQuantity() != 8 ||
		!s.GetTermStartTime().AsTime().Equal(redeemDay) || !s.GetTermEndTime().AsTime().Equal(newEnd) {
		t.Errorf("renewed before its end date: %v, %d seats, %s..%s; want ACTIVE, 8 seats, %s..%s (days left lost, SU-4)", s.GetState(), s.GetQuantity(),
			day0(s.GetTermStartTime().AsTime()), day0(s.GetTermEndTime().AsTime()), day0(redeemDay), day0(newEnd))
	}

	// Five days after the end date, in the EXPIRED grace: the new term starts at the old end date.
	stack.AdvanceTo(ctx, t, end.Add(5*day+9*time.Hour))
	waitState(t, subs, agent, inGrace, stExpired)
	graceEnd := addYear(end)
	rv = review(inGrace, renewal[1])
	if !rv.GetValid() || len(rv.GetOutcomes()) != 1 || !rv.GetOutcomes()[0].GetTermStartTime().AsTime().Equal(end) ||
		!rv.GetOutcomes()[0].GetTermEndTime().AsTime().Equal(graceEnd) || rv.GetOutcomes()[0].GetDaysForfeited() != 0 {
		t.Errorf("review of a renewal 5 days after the end: valid %v, problems %v, outcomes %v; want %s..%s, nothing forfeited (SU-4)",
			rv.GetValid(), reviewProblems(rv), rv.GetOutcomes(), day0(end), day0(graceEnd))
	}
	r, o = redeemCompleted(t, ctx, tn.agentToken, renewReq(inGrace, renewal[1]))
	if o.GetSubscriptionId() != inGrace || !o.GetTermStartTime().AsTime().Equal(end) || !o.GetTermEndTime().AsTime().Equal(graceEnd) ||
		o.GetDaysForfeited() != 0 || o.GetTotalQuantity() != 8 {
		t.Errorf("renewal in the grace: %s; want %s renewed %s..%s (end = old end + 1 year), 8 seats (SU-4)", describeRedemption(r), inGrace, day0(end), day0(graceEnd))
	}
	if s := getSub(t, subs, agent, inGrace); s.GetState() != stActive || s.GetQuantity() != 8 ||
		!s.GetTermStartTime().AsTime().Equal(end) || !s.GetTermEndTime().AsTime().Equal(graceEnd) {
		t.Errorf("renewed in the grace: %v, %d seats, %s..%s; want ACTIVE again, 8 seats, %s..%s (SU-4)", s.GetState(), s.GetQuantity(),
			day0(s.GetTermStartTime().AsTime()), day0(s.GetTermEndTime().AsTime()), day0(end), day0(graceEnd))
	}
	if s := getSub(t, subs, agent, early); s.GetState() != stActive || !s.GetTermEndTime().AsTime().Equal(newEnd) {
		t.Errorf("the subscription renewed early, past the old end date: %v until %s; want ACTIVE until %s", s.GetState(), day0(s.GetTermEndTime().AsTime()), day0(newEnd))
	}

	// The grace is over: the third subscription is DISABLED and can no longer be renewed.
	stack.AdvanceTo(ctx, t, end.Add(30*day+9*time.Hour))
	waitState(t, subs, agent, tooLate, stDisabled)
	_, err = redemptionAPI().RedeemProductKeys(agent, renewReq(tooLate, renewal[2]))
	wantRefusal(t, "renewal by key after the 30-day grace", err, codes.FailedPrecondition, "INVALID_STATE_TRANSITION")

	cards := listKeyCards(t, ctx, tn, renewBatch)
	for i, want := range []struct {
		state keysv1.KeyCardState
		sub   string
	}{{keysv1.KeyCardState_KEY_CARD_STATE_REDEEMED, early}, {keysv1.KeyCardState_KEY_CARD_STATE_REDEEMED, inGrace},
		{keysv1.KeyCardState_KEY_CARD_STATE_AVAILABLE, ""}} {
		if kc := cards[renewal[i].card.GetKeyCardId()]; kc.GetState() != want.state || kc.GetSubscriptionId() != want.sub {
			t.Errorf("renewal card %d: %v for %q; want %v for %q", i, kc.GetState(), kc.GetSubscriptionId(), want.state, want.sub)
		}
	}
}

// TestE2E_ConcurrentRedemptionOfOneKey_KD1: a key is redeemed at most once, whatever the
// concurrency (KD-1). Ten redemptions of the same key into the partner's customer run at once,
// each with its own request_id: exactly one COMPLETES; every other is refused (KEY_RESERVED or
// KEY_ALREADY_REDEEMED, as an error or as a FAILED redemption), the customer holds exactly one
// new subscription, and the card is REDEEMED by the one that completed. A request_id reused for
// other keys is refused REQUEST_ID_REUSED (OR-7).
func TestE2E_ConcurrentRedemptionOfOneKey_KD1(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tn := newOpenPartner(t, ctx)
	batch, cards := mintOpenCards(t, ctx, tn, 3, 2)
	const calls = 10
	type result struct {
		r   *ordersv1.Redemption
		err error
	}
	results := make(chan result, calls)
	reqIDs := make([]string, calls)
	for i := range calls {
		reqIDs[i] = uuid.NewString()
		go func(id string) {
			resp, err := redemptionAPI().RedeemProductKeys(withToken(ctx, tn.agentToken), &ordersv1.RedeemProductKeysRequest{RequestId: id,
				ProductKeys: []string{cards[0].key}, Target: &ordersv1.RedeemProductKeysRequest_CustomerId{CustomerId: tn.customerID}})
			results <- result{resp.GetRedemption(), err}
		}(reqIDs[i])
	}
	var completed []*ordersv1.Redemption
	for range calls {
		res := <-results
		if res.err != nil {
			if reason := reasonOf(res.err); reason != "KEY_RESERVED" && reason != "KEY_ALREADY_REDEEMED" {
				t.Errorf("a concurrent redemption of the same key: %v; want KEY_RESERVED or KEY_ALREADY_REDEEMED", res.err)
			}
			continue
		}
		r := waitRedemption(t, ctx, tn.agentToken, res.r)
		switch r.GetState() {
		case ordersv1.RedemptionState_REDEMPTION_STATE_COMPLETED:
			completed = append(completed, r)
		case ordersv1.RedemptionState_REDEMPTION_STATE_FAILED:
			if f := r.GetFailure().GetReason(); f != commonv1.ErrorReason_ERROR_REASON_KEY_RESERVED && f != commonv1.ErrorReason_ERROR_REASON_KEY_ALREADY_REDEEMED {
				t.Errorf("a concurrent redemption FAILED with %v; want KEY_RESERVED or KEY_ALREADY_REDEEMED", r.GetFailure())
			}
		}
	}
	if len(completed) != 1 {
		var ds []string
		for _, r := range completed {
			ds = append(ds, describeRedemption(r))
		}
		t.Fatalf("%d of %d concurrent redemptions of one key COMPLETED: %v; want exactly one (KD-1)", len(completed), calls, ds)
	}
	won := completed[0]
	if open := listSubscriptions(t, ctx, tn); len(open) != 1 || open[0].GetSubscriptionId() != won.GetOutcomes()[0].GetSubscriptionId() ||
		open[0].GetQuantity() != 3 || open[0].GetState() != stActive {
		t.Errorf("customer's subscriptions after the concurrent redemptions: %d; want the one ACTIVE subscription of 3 seats the winner created", len(open))
	}
	if kc := listKeyCards(t, ctx, tn, batch)[cards[0].card.GetKeyCardId()]; kc.GetState() != keysv1.KeyCardState_KEY_CARD_STATE_REDEEMED ||
		kc.GetRedemptionId() != won.GetRedemptionId() {
		t.Errorf("card after the concurrent redemptions: %v by %q; want REDEEMED by %s", kc.GetState(), kc.GetRedemptionId(), won.GetRedemptionId())
	}

	// The winner's request_id with another key: REQUEST_ID_REUSED, nothing redeemed.
	reused := won.GetRedemptionId()
	var winnerReq string
	for _, id := range reqIDs {
		resp, err := redemptionAPI().RedeemProductKeys(withToken(ctx, tn.agentToken), &ordersv1.RedeemProductKeysRequest{RequestId: id,
			ProductKeys: []string{cards[0].key}, Target: &ordersv1.RedeemProductKeysRequest_CustomerId{CustomerId: tn.customerID}})
		if err == nil && resp.GetRedemption().GetRedemptionId() == reused {
			winnerReq = id
			break
		}
	}
	if winnerReq == "" {
		t.Fatalf("no request_id of the ten replays the winning redemption %s (OR-7)", reused)
	}
	_, err := redemptionAPI().RedeemProductKeys(withToken(ctx, tn.agentToken), &ordersv1.RedeemProductKeysRequest{RequestId: winnerReq,
		ProductKeys: []string{cards[1].key}, Target: &ordersv1.RedeemProductKeysRequest_CustomerId{CustomerId: tn.customerID}})
	wantRefusal(t, "the winner's request_id with another key", err, codes.AlreadyExists, "REQUEST_ID_REUSED")
	if kc := listKeyCards(t, ctx, tn, batch)[cards[1].card.GetKeyCardId()]; kc.GetState() != keysv1.KeyCardState_KEY_CARD_STATE_AVAILABLE {
		t.Errorf("the other card after REQUEST_ID_REUSED: %v; want AVAILABLE", kc.GetState())
	}
}
