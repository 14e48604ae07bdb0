package idempotency

import (
	"testing"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// FuzzValidateRequestID: the interceptor's request_id check accepts exactly the IDs errs.CheckUUID
// accepts (one rule for every ID of the suite), and refuses with one violation on request_id.
func FuzzValidateRequestID(f *testing.F) {
	for _, s := range []string{"0199a7a0-1111-7000-8000-000000000001", "", "not-a-uuid", "{0199a7a0-1111-7000-8000-000000000001}",
		"0199A7A0-1111-7000-8000-00000000000F", "0199a7a011117000800000000000000l"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := validateRequestID(id)
		if (err == nil) != (errs.CheckUUID("request_id", id) == nil) {
			t.Fatalf("validateRequestID(%q) = %v, but CheckUUID disagrees", id, err)
		}
		if err != nil {
			if e, ok := errs.As(err); !ok || e.Kind != errs.InvalidArgument || len(e.Violations) != 1 || e.Violations[0].Field != "request_id" {
				t.Fatalf("validateRequestID(%q) = %v", id, err)
			}
		}
	})
}
