package domain

import (
	"fmt"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// KeyType is the kind of key a SKU is activated with. The values mirror partnerhub.keys.v1.KeyType
// (same numbers), so the port converts with a plain conversion.
type KeyType int

// The key types.
const (
	KeyTypeUnspecified    KeyType = iota // not set
	KeyTypeNone                          // no key: license-only, or activated otherwise (CA-7)
	KeyTypeMAK                           // multiple activation key: the only key partnerhub issues (CA-8)
	KeyTypeKMS                           // Key Management Service key: never issued (CA-8, KD-5)
	KeyTypeProductKeyCard                // Open key card (KD-1), minted, not issued per order line
)

var keyTypeNames = [...]string{"UNSPECIFIED", "NONE", "MAK", "KMS", "PRODUCT_KEY_CARD"}

func (t KeyType) String() string {
	if t >= 0 && int(t) < len(keyTypeNames) {
		return keyTypeNames[t]
	}
	return fmt.Sprintf("KeyType(%d)", int(t))
}

// CheckIssuable says whether an order line of a SKU with key type t may be fulfilled
// (IssueEntitlements): NONE (no key) and MAK are; KMS is refused with FAILED_PRECONDITION /
// KMS_NOT_ALLOWED whoever asks (CA-8, KD-5: "not even on request"); PRODUCT_KEY_CARD, unspecified
// and unknown values are INVALID_ARGUMENT on field key_type (key cards are minted with
// MintKeyCards, not issued per order line).
func CheckIssuable(t KeyType) error {
	switch t {
	case KeyTypeNone, KeyTypeMAK:
		return nil
	case KeyTypeKMS:
		return errs.New(errs.FailedPrecondition, ReasonKMSNotAllowed,
			"KMS keys are never issued; CSP software is activated with a MAK").With("key_type", t)
	case KeyTypeProductKeyCard:
		return errs.Invalid("key_type", "product key cards are minted with MintKeyCards, not issued per order line")
	default:
		return errs.Invalid("key_type", "must be NONE or MAK, got %s", t)
	}
}
