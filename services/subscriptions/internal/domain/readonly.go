package domain

// ReadOnlyReason says why a caller may read but not change a subscription (SU-8, ID-6); "" when
// the caller may change it.
type ReadOnlyReason string

// The reasons of partnerhub.subscriptions.v1 ReadOnlyReason.
const (
	ReadOnlyBoughtDirectly   ReadOnlyReason = "BOUGHT_DIRECTLY"    // Web-Direct or direct billing (SU-8)
	ReadOnlyOtherPartner     ReadOnlyReason = "OTHER_PARTNER"      // another partner of record (SU-8)
	ReadOnlyManagedByPartner ReadOnlyReason = "MANAGED_BY_PARTNER" // a customer caller (ID-6)
	ReadOnlyFinalState       ReadOnlyReason = "FINAL_STATE"        // DELETED or CANCELLED (SU-1)
)

// ReadOnlyForPartner is why partnerID may not change s, or "" when it may: only the partner of
// record changes a subscription, and nobody changes one in a final state.
func ReadOnlyForPartner(s Subscription, partnerID string) ReadOnlyReason {
	switch {
	case s.PartnerID == "":
		return ReadOnlyBoughtDirectly
	case s.PartnerID != partnerID:
		return ReadOnlyOtherPartner
	case s.State.Final():
		return ReadOnlyFinalState
	}
	return ""
}

// ReadOnlyForCustomer is why a customer user may not change its own subscription s: a partner
// manages it (ID-6), or it was bought directly and is changed where it was bought.
func ReadOnlyForCustomer(s Subscription) ReadOnlyReason {
	if s.PartnerID == "" {
		return ReadOnlyBoughtDirectly
	}
	return ReadOnlyManagedByPartner
}
