package errs

// The general reasons that pkg itself uses. Context-specific reasons are declared next to the
// domain rules that raise them; every one must exist in partnerhub.common.v1.ErrorReason, which a
// test checks.
const (
	ReasonTokenMissing          Reason = "TOKEN_MISSING"
	ReasonTokenInvalid          Reason = "TOKEN_INVALID"
	ReasonTokenExpired          Reason = "TOKEN_EXPIRED"
	ReasonRoleRequired          Reason = "ROLE_REQUIRED"
	ReasonTenantMismatch        Reason = "TENANT_MISMATCH"
	ReasonServiceTokenRequired  Reason = "SERVICE_TOKEN_REQUIRED"
	ReasonRequestIDReused       Reason = "REQUEST_ID_REUSED"
	ReasonRequestInProgress     Reason = "REQUEST_IN_PROGRESS"
	ReasonEtagMismatch          Reason = "ETAG_MISMATCH"
	ReasonInvalidRequest        Reason = "INVALID_REQUEST"
	ReasonInvalidPageToken      Reason = "INVALID_PAGE_TOKEN"
	ReasonResourceNotFound      Reason = "RESOURCE_NOT_FOUND"
	ReasonDependencyUnavailable Reason = "DEPENDENCY_UNAVAILABLE"
	ReasonInternal              Reason = "INTERNAL"
	ReasonClockBackwards        Reason = "CLOCK_BACKWARDS"
)
