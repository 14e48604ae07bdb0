package domain

import (
	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Licenses. A subscription's seats can be assigned to users of its customer tenant, one license
// (seat) per user (ID-2: the admin entered when a tenant is created by key redemption gets one
// license of the redeemed subscription). The users are assigned when the subscription is
// provisioned; the seats never go below their number.

// licensedUsersField is the request field the licensed users come in.
const licensedUsersField = "licensed_user_ids"

// CheckLicensedUsers adds to v what is wrong with the users that are to get one license each of a
// subscription of quantity seats: each must be a UUID in canonical form, none may occur twice,
// and there may be at most quantity of them. All violations are on field licensed_user_ids.
func CheckLicensedUsers(v *errs.Violations, ids []string, quantity int32) {
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		switch {
		case errs.CheckUUID(licensedUsersField, id) != nil:
			v.Add(licensedUsersField, "entry %d (%q) must be a UUID", i, id)
		case seen[id]:
			v.Add(licensedUsersField, "user %s is listed twice: a user holds at most one license", id)
		}
		seen[id] = true
	}
	if quantity > 0 && len(ids) > int(quantity) {
		v.Add(licensedUsersField, "%d users cannot get one license each of %d seats", len(ids), quantity)
	}
}

// CheckLicensedSeats refuses setting s's seats to qty when fewer seats than licensed users would
// remain: FAILED_PRECONDITION / QUANTITY_DECREASE_NOT_ALLOWED with metadata licensed_users. No
// license is taken away implicitly: which user loses one is not the service's choice.
func CheckLicensedSeats(s Subscription, qty int32) error {
	if n := len(s.LicensedUserIDs); int(qty) < n {
		return errs.New(errs.FailedPrecondition, ReasonQuantityDecreaseNotAllowed,
			"%d users hold a license of subscription %s: it keeps at least %d seats, not %d", n, s.ID, n, qty).
			With("licensed_users", n)
	}
	return nil
}
