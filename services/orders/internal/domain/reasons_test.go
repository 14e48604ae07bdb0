package domain

import (
	"testing"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
)

// Every reason the orders domain raises exists in the contract's ErrorReason enum, once.
func TestReasons_InContract(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons() {
		if _, ok := commonv1.ErrorReason_value["ERROR_REASON_"+string(r)]; !ok {
			t.Errorf("%s is not in partnerhub.common.v1.ErrorReason", r)
		}
		if seen[string(r)] {
			t.Errorf("%s listed twice", r)
		}
		seen[string(r)] = true
	}
	if len(seen) != len(Reasons()) || len(seen) == 0 {
		t.Errorf("Reasons() has %d distinct reasons of %d", len(seen), len(Reasons()))
	}
}
