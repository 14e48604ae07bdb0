package domain

import (
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// FulfilmentKind says what an entitlement hands out (CA-7, KD-4). The names mirror
// partnerhub.keys.v1.FulfilmentKind without its prefix.
type FulfilmentKind string

// The fulfilment kinds.
const (
	FulfilKeyAndDownload   FulfilmentKind = "KEY_AND_DOWNLOAD"
	FulfilKeyOnly          FulfilmentKind = "KEY_ONLY"
	FulfilDownloadOnly     FulfilmentKind = "DOWNLOAD_ONLY"
	FulfilInstructionsOnly FulfilmentKind = "INSTRUCTIONS_ONLY"
	FulfilLicenseOnly      FulfilmentKind = "LICENSE_ONLY" // no key, no download (CA-7)
)

// FulfilmentOf is what an order line with keys MAK keys, the download variants and installation
// instructions hands out (CA-7): keys and downloads as they exist, instructions alone when there
// is neither, and nothing but the licence otherwise.
func FulfilmentOf(keys int, variants int, instructions string) FulfilmentKind {
	switch {
	case keys > 0 && variants > 0:
		return FulfilKeyAndDownload
	case keys > 0:
		return FulfilKeyOnly
	case variants > 0:
		return FulfilDownloadOnly
	case instructions != "":
		return FulfilInstructionsOnly
	}
	return FulfilLicenseOnly
}

// EntitlementState is ACTIVE until the purchase is cancelled (KD-7, OR-3).
type EntitlementState string

// The entitlement states.
const (
	EntitlementActive  EntitlementState = "ACTIVE"
	EntitlementRevoked EntitlementState = "REVOKED"
)

// RevocationReason says why an entitlement was revoked. The names mirror
// partnerhub.keys.v1.RevocationReason without its prefix.
type RevocationReason string

// The revocation reasons.
const (
	RevokedOrderCancelled        RevocationReason = "ORDER_CANCELLED"
	RevokedOrderCompensated      RevocationReason = "ORDER_COMPENSATED"
	RevokedSubscriptionCancelled RevocationReason = "SUBSCRIPTION_CANCELLED"
)

// MaxKeysPerLine bounds the MAK keys one order line may ask for: a MAK activates many devices
// (ActivationLimit), so a line needs one or a few, never thousands.
const MaxKeysPerLine = 100

// Entitlement is what one software order line gives its customer: MAK keys, download variants and
// installation instructions (KD-4), or only the licence (CA-7).
type Entitlement struct {
	ID             string
	RequestID      string // the IssueEntitlements request that created it
	CustomerID     string
	PartnerID      string // the partner that sold it; '' when bought directly
	OrderID        string
	OrderLineID    string
	SubscriptionID string
	SkuID          string
	ProductID      string
	ProductName    string
	Kind           FulfilmentKind
	Quantity       int32
	State          EntitlementState
	Keys           []IssuedKey
	Variants       []Variant
	Instructions   string // installation instructions (URL or text); '' for none
	RevokeTime     time.Time
	Revocation     RevocationReason
	Version        int64
	CreateTime     time.Time
	UpdateTime     time.Time
}

// IssuedKey is one MAK key of an entitlement. The key itself is only ever stored sealed (KD-8);
// lists show Masked.
type IssuedKey struct {
	ID              string
	Type            KeyType
	Masked          string // Key.Masked()
	Sealed          string // the key sealed with the service's keyring; '' once revoked
	ActivationLimit int32
}

// Variant is one downloadable artifact of an entitlement (KD-4).
type Variant struct {
	ID              string
	Version         string
	Language        string
	FileType        string
	OperatingSystem string
	FileName        string
	SizeBytes       int64
	SHA256          string
}

// Key returns the issued key with ID id, and whether the entitlement has it.
func (e Entitlement) Key(id string) (IssuedKey, bool) {
	for _, k := range e.Keys {
		if k.ID == id {
			return k, true
		}
	}
	return IssuedKey{}, false
}

// ListedKeys are the keys a list shows: none on a revoked entitlement (OR-3, KD-7: "revoked items
// included without key"), though the entitlement keeps their masked forms for its records.
func (e Entitlement) ListedKeys() []IssuedKey {
	if e.State == EntitlementRevoked {
		return nil
	}
	return e.Keys
}

// Variant returns the variant with ID id, and whether the entitlement has it.
func (e Entitlement) Variant(id string) (Variant, bool) {
	for _, v := range e.Variants {
		if v.ID == id {
			return v, true
		}
	}
	return Variant{}, false
}

// CheckActive refuses a revoked entitlement's keys and downloads (KD-7): FAILED_PRECONDITION /
// ENTITLEMENT_REVOKED with the revocation time.
func (e Entitlement) CheckActive() error {
	if e.State == EntitlementRevoked {
		return errs.New(errs.FailedPrecondition, ReasonEntitlementRevoked,
			"entitlement %s was revoked (%s)", e.ID, e.Revocation).
			With("entitlement_id", e.ID).With("revoke_time", e.RevokeTime.UTC().Format(time.RFC3339))
	}
	return nil
}

// Revoke revokes the entitlement at now for reason (KD-7, OR-3): it stays listed, but its keys
// are dropped (the masked forms remain, so a reader can tell which keys were withdrawn) and its
// links stop working. Revoking a revoked entitlement changes nothing; the bool says whether this
// call revoked it.
func (e Entitlement) Revoke(reason RevocationReason, now time.Time) (Entitlement, bool) {
	if e.State == EntitlementRevoked {
		return e, false
	}
	keys := make([]IssuedKey, len(e.Keys))
	for i, k := range e.Keys {
		k.Sealed = ""
		keys[i] = k
	}
	e.Keys, e.State, e.Revocation, e.RevokeTime = keys, EntitlementRevoked, reason, now
	return e, true
}

// DerivedFileName is the file name offered for a variant the catalog gave none (the contract's
// "derived by the service"): the product name, version, language and operating system joined
// by "_", letters, digits and "-" only, and the file type as extension, e.g.
// "Windows_Server_2022_Standard_2022_de-DE_Windows_x64.ISO".
func (v Variant) DerivedFileName(productName string) string {
	var b strings.Builder
	for _, part := range []string{productName, v.Version, v.Language, v.OperatingSystem} {
		word := false
		for _, r := range part {
			ok := r == '-' || r == '.' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
			switch {
			case ok:
				if !word && b.Len() > 0 {
					b.WriteByte('_')
				}
				b.WriteRune(r)
				word = true
			default:
				word = false
			}
		}
	}
	if b.Len() == 0 {
		b.WriteString(v.ID)
	}
	if v.FileType != "" {
		b.WriteString("." + strings.ToUpper(v.FileType))
	}
	return b.String()
}
