package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
)

// Helpers of the key redemption scenarios (scenarios_redemption_test.go): Open key cards are
// minted by the partner's Admin agent (keys ProductKeyService), their keys revealed one by one
// (keys EntitlementService.RevealKey, the card ID as key_id) and redeemed through orders'
// RedemptionService, as a partner in the Open program would (ID-1, KD-1, KD-2).

// Open key cards for Microsoft 365 Business Standard, one-year term (the seed SKU the Open
// scenarios redeem; sold in DE).
const (
	skuOpenM365  = "CFQ7TTC0LDPB:0001"
	openCardTerm = "P1Y"
	redeemWait   = 60 * time.Second // a redemption saga without faults settles in seconds
)

func redemptionAPI() ordersv1.RedemptionServiceClient {
	return ordersv1.NewRedemptionServiceClient(stack.Conn("orders"))
}

func productKeysAPI() keysv1.ProductKeyServiceClient {
	return keysv1.NewProductKeyServiceClient(stack.Conn("keys"))
}

// newOpenPartner is a new partner enrolled in the Open program (and CSP direct), with an Admin
// agent and a German customer the agent created (newPartnerTenant). It waits, once per run, until
// the catalog answers for the seed SKUs (waitOrdersReady): a redemption asks it about the keys' SKU.
func newOpenPartner(t *testing.T, ctx context.Context) lifecycleTenant {
	t.Helper()
	tn := newPartnerTenant(t, ctx, identityv1.PartnerProgram_PARTNER_PROGRAM_OPEN, identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT)
	waitOrdersReady(t, ctx, tn)
	return tn
}

// openCard is one minted key card with its key, revealed.
type openCard struct {
	card *keysv1.KeyCard
	key  string // the whole key, "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX"; never logged (KD-8)
}

// mintOpenCards mints count key cards of seats seats each for the tenant's partner, as its Admin
// agent, and reveals every card's key. The cards come back AVAILABLE, masked.
func mintOpenCards(t *testing.T, ctx context.Context, tn lifecycleTenant, seats, count int32) (batchID string, cards []openCard) {
	t.Helper()
	agent := withToken(ctx, tn.agentToken)
	resp, err := retryUnavailable(ctx, func(ctx context.Context) (*keysv1.MintKeyCardsResponse, error) {
		return productKeysAPI().MintKeyCards(withToken(ctx, tn.agentToken), &keysv1.MintKeyCardsRequest{
			RequestId: uuid.NewString(), PartnerId: tn.partnerID, SkuId: skuOpenM365, Seats: seats,
			TermDuration: openCardTerm, Count: count})
	})
	if err != nil {
		t.Fatalf("MintKeyCards %d × %d seats of %s: %v", count, seats, skuOpenM365, err)
	}
	if len(resp.GetKeyCards()) != int(count) || resp.GetBatchId() == "" {
		t.Fatalf("MintKeyCards returned %d cards (batch %q); want %d", len(resp.GetKeyCards()), resp.GetBatchId(), count)
	}
	ents := keysv1.NewEntitlementServiceClient(stack.Conn("keys"))
	for _, c := range resp.GetKeyCards() {
		if c.GetState() != keysv1.KeyCardState_KEY_CARD_STATE_AVAILABLE || c.GetPartnerId() != tn.partnerID ||
			c.GetSkuId() != skuOpenM365 || c.GetSeats() != seats || c.GetTermDuration() != openCardTerm || c.GetBatchId() != resp.GetBatchId() {
			t.Fatalf("minted card %s: %v, partner %s, SKU %s, %d seats, term %s, batch %s; want an AVAILABLE card of partner %s, %s, %d seats, %s, batch %s",
				c.GetKeyCardId(), c.GetState(), c.GetPartnerId(), c.GetSkuId(), c.GetSeats(), c.GetTermDuration(), c.GetBatchId(),
				tn.partnerID, skuOpenM365, seats, openCardTerm, resp.GetBatchId())
		}
		rv, err := ents.RevealKey(agent, &keysv1.RevealKeyRequest{RequestId: uuid.NewString(), KeyId: c.GetKeyCardId()})
		if err != nil {
			t.Fatalf("RevealKey of key card %s: %v", c.GetKeyCardId(), err)
		}
		key := rv.GetKey()
		if rv.GetKeyType() != keysv1.KeyType_KEY_TYPE_PRODUCT_KEY_CARD || rv.GetEntitlementId() != "" || !wellFormedKey(key) ||
			!strings.HasSuffix(c.GetMaskedKey(), key[len(key)-5:]) || strings.Contains(c.GetMaskedKey(), key[:5]) {
			t.Fatalf("RevealKey of key card %s: type %v, entitlement %q, a key of %d characters (masked %q); want a whole "+
				"PRODUCT_KEY_CARD key in five groups of five ending like the masked one (KD-1)",
				c.GetKeyCardId(), rv.GetKeyType(), rv.GetEntitlementId(), len(key), c.GetMaskedKey())
		}
		cards = append(cards, openCard{card: c, key: key})
	}
	return resp.GetBatchId(), cards
}

// wellFormedKey reports whether k is five dash-separated groups of five letters or digits (KD-1).
func wellFormedKey(k string) bool {
	groups := strings.Split(k, "-")
	if len(groups) != 5 {
		return false
	}
	for _, g := range groups {
		if len(g) != 5 {
			return false
		}
		for _, r := range g {
			if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// keysOf returns the cards' whole keys, in order.
func keysOf(cards []openCard) []string {
	var out []string
	for _, c := range cards {
		out = append(out, c.key)
	}
	return out
}

// listKeyCards lists the partner's key cards of one mint batch (all pages) as its Admin agent.
func listKeyCards(t *testing.T, ctx context.Context, tn lifecycleTenant, batchID string) map[string]*keysv1.KeyCard {
	t.Helper()
	req := &keysv1.ListKeyCardsRequest{BatchId: batchID, PageSize: 500}
	out := map[string]*keysv1.KeyCard{}
	for range 20 {
		resp, err := retryUnavailable(ctx, func(ctx context.Context) (*keysv1.ListKeyCardsResponse, error) {
			return productKeysAPI().ListKeyCards(withToken(ctx, tn.agentToken), req)
		})
		if err != nil {
			t.Fatalf("ListKeyCards of batch %s: %v", batchID, err)
		}
		for _, c := range resp.GetKeyCards() {
			out[c.GetKeyCardId()] = c
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	return out
}

// redeemSettled calls RedeemProductKeys and, when the saga outlasts the call's wait
// (PROCESSING), follows the redemption with GetRedemption until it settles. Errors are returned
// as they are: a refusal is an answer for the caller to check.
func redeemSettled(t *testing.T, ctx context.Context, token string, req *ordersv1.RedeemProductKeysRequest) (*ordersv1.Redemption, error) {
	t.Helper()
	resp, err := redemptionAPI().RedeemProductKeys(withToken(ctx, token), req)
	if err != nil {
		return nil, err
	}
	return waitRedemption(t, ctx, token, resp.GetRedemption()), nil
}

// waitRedemption polls GetRedemption until the redemption leaves PROCESSING, for at most
// redeemWait.
func waitRedemption(t *testing.T, ctx context.Context, token string, r *ordersv1.Redemption) *ordersv1.Redemption {
	t.Helper()
	deadline := time.Now().Add(redeemWait)
	for r.GetState() == ordersv1.RedemptionState_REDEMPTION_STATE_PROCESSING {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("redemption %s still PROCESSING after %v: %s", r.GetRedemptionId(), redeemWait, describeRedemption(r))
		}
		time.Sleep(200 * time.Millisecond)
		resp, err := retryUnavailable(ctx, func(ctx context.Context) (*ordersv1.GetRedemptionResponse, error) {
			return redemptionAPI().GetRedemption(withToken(ctx, token), &ordersv1.GetRedemptionRequest{RedemptionId: r.GetRedemptionId()})
		})
		if err != nil {
			t.Fatalf("GetRedemption %s: %v", r.GetRedemptionId(), err)
		}
		r = resp.GetRedemption()
	}
	return r
}

// redeemCompleted redeems and requires the redemption COMPLETED with one outcome, which it
// returns with the redemption.
func redeemCompleted(t *testing.T, ctx context.Context, token string, req *ordersv1.RedeemProductKeysRequest) (*ordersv1.Redemption, *ordersv1.SubscriptionOutcome) {
	t.Helper()
	r, err := redeemSettled(t, ctx, token, req)
	if err != nil {
		t.Fatalf("RedeemProductKeys (%d keys): %v", len(req.GetProductKeys()), err)
	}
	if r.GetState() != ordersv1.RedemptionState_REDEMPTION_STATE_COMPLETED || len(r.GetOutcomes()) != 1 {
		t.Fatalf("redemption settled as %s; want COMPLETED with one outcome", describeRedemption(r))
	}
	return r, r.GetOutcomes()[0]
}

// describeRedemption is a one-line summary of a redemption for failure messages (keys masked).
func describeRedemption(r *ordersv1.Redemption) string {
	if r == nil {
		return "no redemption"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %v %v customer=%s created=%v failure=%v outcomes=[", r.GetRedemptionId(), r.GetKind(), r.GetState(),
		r.GetCustomerId(), r.GetTenantCreated(), r.GetFailure())
	for i, o := range r.GetOutcomes() {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%v sub=%s %s seats=%d total=%d %s..%s forfeited=%d", o.GetKind(), o.GetSubscriptionId(), o.GetSkuId(),
			o.GetSeats(), o.GetTotalQuantity(), day0(o.GetTermStartTime().AsTime()), day0(o.GetTermEndTime().AsTime()), o.GetDaysForfeited())
	}
	b.WriteString("]")
	return b.String()
}

func day0(x time.Time) string { return x.UTC().Format(time.DateOnly) }

// reviewProblems lists the reasons of a key review's problems, the target's and every key's,
// without the enum prefix.
func reviewProblems(r *ordersv1.ValidateProductKeysResponse) []string {
	var out []string
	for _, p := range r.GetProblems() {
		out = append(out, strings.TrimPrefix(p.GetReason().String(), "ERROR_REASON_"))
	}
	for _, k := range r.GetKeys() {
		for _, p := range k.GetProblems() {
			out = append(out, strings.TrimPrefix(p.GetReason().String(), "ERROR_REASON_"))
		}
	}
	return out
}

// newTenantTarget is the NEW_TENANT target of a redemption: a German organisation with the
// default domain "<prefix>.onmicrosoft.com" and its first admin in that domain.
func newTenantTarget(prefix, organisation string) *ordersv1.NewTenant {
	domain := prefix + ".onmicrosoft.com"
	return &ordersv1.NewTenant{OrganisationName: organisation, CountryCode: "DE", DefaultDomain: domain,
		Admin: &ordersv1.TenantAdmin{GivenName: "Erika", FamilyName: "Mustermann", UserName: "erika@" + domain,
			ContactEmail: "erika.mustermann@" + prefix + ".example"}}
}
