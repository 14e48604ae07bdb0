// Package errs is partnerhub's error model: a Kind (what the caller can do about it), a stable
// Reason (from partnerhub.common.v1.ErrorReason), metadata with the numbers involved, and field
// violations for bad input. The app and domain layers build and inspect *Error values and never
// import gRPC codes; the server maps them to a gRPC status with google.rpc.ErrorInfo and
// google.rpc.BadRequest, and FromStatus maps a peer's status back, so a reason survives any
// number of hops.
package errs

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Domain is the google.rpc.ErrorInfo domain of every partnerhub error.
const Domain = "partnerhub.dev"

// Kind says what a caller can do about an error; each maps to one gRPC code.
type Kind int

// The kinds. Unknown is the zero value and becomes INTERNAL on the wire.
const (
	Unknown Kind = iota
	InvalidArgument
	NotFound
	AlreadyExists
	FailedPrecondition
	PermissionDenied
	Unauthenticated
	Aborted
	Unavailable
	DeadlineExceeded
	Unimplemented
	Internal
)

var kindNames = [...]string{"UNKNOWN", "INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS",
	"FAILED_PRECONDITION", "PERMISSION_DENIED", "UNAUTHENTICATED", "ABORTED", "UNAVAILABLE",
	"DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Reason is a stable error reason: the name of a partnerhub.common.v1.ErrorReason value without
// its ERROR_REASON_ prefix. Reasons are part of the API and never change once published.
type Reason string

// FieldViolation names one bad field of a request (google.rpc.BadRequest.FieldViolation).
type FieldViolation struct {
	Field       string // path of the field, e.g. "lines[2].quantity"
	Description string // what is wrong, for a person
}

// Error is a partnerhub error. Construct it with New or one of the kind helpers.
type Error struct {
	Kind       Kind
	Reason     Reason
	Message    string
	Metadata   map[string]string
	Violations []FieldViolation
	cause      error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	if e.Reason != "" {
		b.WriteString(" ")
		b.WriteString(string(e.Reason))
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, k := range slices.Sorted(maps.Keys(e.Metadata)) {
		fmt.Fprintf(&b, " %s=%s", k, e.Metadata[k])
	}
	for _, v := range e.Violations {
		fmt.Fprintf(&b, " [%s: %s]", v.Field, v.Description)
	}
	if e.cause != nil {
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	return b.String()
}

// Unwrap returns the wrapped cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is makes errors.Is match two *Error values of the same kind and reason, so a sentinel such as
// errs.New(errs.NotFound, "RESOURCE_NOT_FOUND", "") can be compared against.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Reason == e.Reason
}

// New returns an error of the given kind and reason.
func New(kind Kind, reason Reason, format string, args ...any) *Error {
	return &Error{Kind: kind, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// With returns a copy of e with metadata key=value added (values are formatted with %v).
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Metadata = maps.Clone(e.Metadata)
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	c.Metadata[key] = fmt.Sprint(value)
	return &c
}

// Wrap returns a copy of e that wraps cause (kept for logs, never sent to a client).
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// Violations collects field violations; Err returns nil when there are none, so validation reads
//
//	var v errs.Violations
//	if req.Country == "" { v.Add("country_code", "required") }
//	if err := v.Err(); err != nil { return err }
type Violations []FieldViolation

// Add records a bad field.
func (v *Violations) Add(field, format string, args ...any) {
	*v = append(*v, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Err returns an INVALID_ARGUMENT error listing the violations, or nil.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Kind: InvalidArgument, Reason: ReasonInvalidRequest,
		Message: "the request has invalid fields", Violations: slices.Clone(v)}
}

// Invalid returns an INVALID_ARGUMENT error for a single field.
func Invalid(field, format string, args ...any) error {
	var v Violations
	v.Add(field, format, args...)
	return v.Err()
}

// CheckUUID returns an INVALID_ARGUMENT error naming field unless id is a UUID in its canonical
// 36-character form (uuid.Parse also takes braces, URNs and bare hex, which would let one ID be
// spelled several ways).
func CheckUUID(field, id string) error {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return Invalid(field, "must be a UUID, e.g. 3f0c2a4e-8d1b-4c5a-9e7f-1a2b3c4d5e6f")
	}
	return nil
}

// NotFoundf returns a NOT_FOUND error for a resource that does not exist or is not visible to the
// caller; both look the same to the caller, so nothing leaks across tenants (ID-8).
func NotFoundf(resource, id string) *Error {
	return New(NotFound, ReasonResourceNotFound, "%s %q not found", resource, id).
		With("resource", resource).With("id", id)
}

// Unexpected wraps an unexpected error as INTERNAL; the cause is logged by the server, never sent.
func Unexpected(cause error) *Error {
	return (&Error{Kind: Internal, Reason: ReasonInternal, Message: "internal error"}).Wrap(cause)
}

// Unavailablef reports a dependency that does not answer.
func Unavailablef(format string, args ...any) *Error {
	return New(Unavailable, ReasonDependencyUnavailable, format, args...)
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// KindOf returns the kind of err: Unknown for nil-free errors that are not *Error.
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return Unknown
}

// ReasonOf returns the reason of err, or "" if it has none.
func ReasonOf(err error) Reason {
	if e, ok := As(err); ok {
		return e.Reason
	}
	return ""
}

// HasReason reports whether err carries the given reason.
func HasReason(err error, r Reason) bool { return ReasonOf(err) == r }
