package sealing

import (
	"testing"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
)

// Every reason Verify answers with exists in the contract's ErrorReason enum.
func TestReasons_InContract(t *testing.T) {
	for _, r := range Reasons() {
		if _, ok := commonv1.ErrorReason_value["ERROR_REASON_"+string(r)]; !ok {
			t.Errorf("%s is not in partnerhub.common.v1.ErrorReason", r)
		}
	}
}
