package domain

import (
	"testing"

	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

// CA-8, KD-5: MAK (and no key) may be issued; KMS never, not even on request; key cards are not
// issued per order line; anything else is invalid.
func TestCheckIssuable_CA8_KD5(t *testing.T) {
	for _, tt := range []struct {
		t      KeyType
		kind   errs.Kind
		reason errs.Reason
	}{
		{KeyTypeNone, errs.Unknown, ""},
		{KeyTypeMAK, errs.Unknown, ""},
		{KeyTypeKMS, errs.FailedPrecondition, ReasonKMSNotAllowed},
		{KeyTypeProductKeyCard, errs.InvalidArgument, errs.ReasonInvalidRequest},
		{KeyTypeUnspecified, errs.InvalidArgument, errs.ReasonInvalidRequest},
		{KeyType(99), errs.InvalidArgument, errs.ReasonInvalidRequest},
		{KeyType(-1), errs.InvalidArgument, errs.ReasonInvalidRequest},
	} {
		err := CheckIssuable(tt.t)
		if tt.reason == "" {
			if err != nil {
				t.Errorf("CheckIssuable(%s) = %v, want nil", tt.t, err)
			}
			continue
		}
		if tt.kind == errs.InvalidArgument {
			wantViolation(t, err, "key_type")
			continue
		}
		wantErr(t, err, tt.kind, tt.reason, map[string]string{"key_type": tt.t.String()})
	}
}

// KeyType mirrors partnerhub.keys.v1.KeyType, name and number, so the port converts with a cast.
func TestKeyType_MirrorsContract(t *testing.T) {
	for _, kt := range []KeyType{KeyTypeUnspecified, KeyTypeNone, KeyTypeMAK, KeyTypeKMS, KeyTypeProductKeyCard} {
		if got := keysv1.KeyType(kt).String(); got != "KEY_TYPE_"+kt.String() {
			t.Errorf("KeyType %d is %s here and %s in the contract", int(kt), kt, got)
		}
	}
	if len(keysv1.KeyType_name) != 5 {
		t.Errorf("the contract has %d key types, this package 5", len(keysv1.KeyType_name))
	}
	if KeyType(42).String() != "KeyType(42)" {
		t.Errorf("unknown KeyType String = %s", KeyType(42))
	}
}
