package errs_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

func TestKind_CodeAndString(t *testing.T) {
	tests := []struct {
		kind errs.Kind
		code codes.Code
		name string
	}{
		{errs.Unknown, codes.Internal, "UNKNOWN"},
		{errs.InvalidArgument, codes.InvalidArgument, "INVALID_ARGUMENT"},
		{errs.NotFound, codes.NotFound, "NOT_FOUND"},
		{errs.AlreadyExists, codes.AlreadyExists, "ALREADY_EXISTS"},
		{errs.FailedPrecondition, codes.FailedPrecondition, "FAILED_PRECONDITION"},
		{errs.PermissionDenied, codes.PermissionDenied, "PERMISSION_DENIED"},
		{errs.Unauthenticated, codes.Unauthenticated, "UNAUTHENTICATED"},
		{errs.Aborted, codes.Aborted, "ABORTED"},
		{errs.Unavailable, codes.Unavailable, "UNAVAILABLE"},
		{errs.DeadlineExceeded, codes.DeadlineExceeded, "DEADLINE_EXCEEDED"},
		{errs.Unimplemented, codes.Unimplemented, "UNIMPLEMENTED"},
		{errs.Internal, codes.Internal, "INTERNAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.kind.Code(); got != tt.code {
				t.Errorf("%v.Code() = %v, want %v", tt.kind, got, tt.code)
			}
			if got := tt.kind.String(); got != tt.name {
				t.Errorf("String() = %q, want %q", got, tt.name)
			}
		})
	}
	if got := errs.Kind(99).String(); got != "Kind(99)" {
		t.Errorf("Kind(99).String() = %q", got)
	}
}

func TestError_Error(t *testing.T) {
	tests := []struct {
		name string
		err  *errs.Error
		want string
	}{
		{"kind only", &errs.Error{Kind: errs.NotFound}, "NOT_FOUND"},
		{"reason and message", errs.New(errs.Aborted, errs.ReasonEtagMismatch, "etag %s is stale", "W/1"),
			"ABORTED ETAG_MISMATCH: etag W/1 is stale"},
		{"metadata sorted", errs.New(errs.NotFound, "R", "m").With("z", 1).With("a", "x"),
			"NOT_FOUND R: m a=x z=1"},
		{"violations", (&errs.Error{Kind: errs.InvalidArgument, Violations: []errs.FieldViolation{{Field: "f", Description: "bad"}}}),
			"INVALID_ARGUMENT [f: bad]"},
		{"cause", errs.New(errs.Unavailable, "R", "m").Wrap(errors.New("boom")), "UNAVAILABLE R: m: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestError_WithAndWrapCopy(t *testing.T) {
	base := errs.New(errs.NotFound, errs.ReasonResourceNotFound, "x").With("a", 1)
	derived := base.With("b", 2)
	if _, ok := base.Metadata["b"]; ok {
		t.Errorf("With mutated the original: %v", base.Metadata)
	}
	if derived.Metadata["a"] != "1" || derived.Metadata["b"] != "2" {
		t.Errorf("derived metadata = %v", derived.Metadata)
	}
	cause := errors.New("db down")
	wrapped := base.Wrap(cause)
	if base.Unwrap() != nil {
		t.Error("Wrap mutated the original")
	}
	if !errors.Is(wrapped, cause) {
		t.Error("errors.Is(wrapped, cause) = false")
	}
}

func TestError_IsMatchesKindAndReason(t *testing.T) {
	sentinel := errs.New(errs.NotFound, errs.ReasonResourceNotFound, "")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"same kind and reason", errs.NotFoundf("sku", "X"), true},
		{"wrapped with fmt", fmt.Errorf("load: %w", errs.NotFoundf("sku", "X")), true},
		{"wrapping a cause", errs.NotFoundf("sku", "X").Wrap(errors.New("sql: no rows")), true},
		{"other reason", errs.New(errs.NotFound, errs.ReasonTenantMismatch, ""), false},
		{"other kind", errs.New(errs.FailedPrecondition, errs.ReasonResourceNotFound, ""), false},
		{"plain error", errors.New("RESOURCE_NOT_FOUND"), false},
		{"from the wire", errs.FromError(mustToStatus(t, errs.NotFoundf("sku", "X")).Err()), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, sentinel); got != tt.want {
				t.Errorf("errors.Is(%v, sentinel) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	e := fmt.Errorf("outer: %w", errs.New(errs.Aborted, errs.ReasonEtagMismatch, "stale"))
	tests := []struct {
		name       string
		err        error
		kind       errs.Kind
		reason     errs.Reason
		wantAsOK   bool
		hasReason  errs.Reason
		wantHasRes bool
	}{
		{"wrapped *Error", e, errs.Aborted, errs.ReasonEtagMismatch, true, errs.ReasonEtagMismatch, true},
		{"plain error", errors.New("x"), errs.Unknown, "", false, errs.ReasonEtagMismatch, false},
		{"nil", nil, errs.Unknown, "", false, errs.ReasonInternal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errs.KindOf(tt.err); got != tt.kind {
				t.Errorf("KindOf = %v, want %v", got, tt.kind)
			}
			if got := errs.ReasonOf(tt.err); got != tt.reason {
				t.Errorf("ReasonOf = %q, want %q", got, tt.reason)
			}
			if _, ok := errs.As(tt.err); ok != tt.wantAsOK {
				t.Errorf("As ok = %v, want %v", ok, tt.wantAsOK)
			}
			if got := errs.HasReason(tt.err, tt.hasReason); got != tt.wantHasRes {
				t.Errorf("HasReason = %v, want %v", got, tt.wantHasRes)
			}
		})
	}
}

func TestViolations(t *testing.T) {
	var none errs.Violations
	if err := none.Err(); err != nil {
		t.Fatalf("empty Violations.Err() = %v, want nil", err)
	}
	// A typed nil *Error would make `err != nil` true: Err must return an untyped nil.
	if err := (errs.Violations{}).Err(); err != nil {
		t.Fatalf("Violations{}.Err() = %#v, want untyped nil", err)
	}

	var v errs.Violations
	v.Add("country_code", "required")
	v.Add("lines[2].quantity", "must be at least %d", 1)
	err := v.Err()
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("Err() = %T, want *errs.Error", err)
	}
	if e.Kind != errs.InvalidArgument || e.Reason != errs.ReasonInvalidRequest {
		t.Errorf("kind/reason = %v/%v", e.Kind, e.Reason)
	}
	want := []errs.FieldViolation{{Field: "country_code", Description: "required"}, {Field: "lines[2].quantity", Description: "must be at least 1"}}
	if !slices.Equal(e.Violations, want) {
		t.Errorf("violations = %v, want %v", e.Violations, want)
	}
	v[0].Description = "changed"
	if e.Violations[0].Description != "required" {
		t.Error("Err() shares its slice with the Violations")
	}

	single := errs.Invalid("email", "not an address: %q", "x")
	se, _ := errs.As(single)
	if se == nil || len(se.Violations) != 1 || se.Violations[0] != (errs.FieldViolation{Field: "email", Description: `not an address: "x"`}) {
		t.Errorf("Invalid() = %#v", single)
	}
}

func TestHelpers(t *testing.T) {
	tests := []struct {
		name   string
		err    *errs.Error
		kind   errs.Kind
		reason errs.Reason
		md     map[string]string
	}{
		{"NotFoundf", errs.NotFoundf("customer", "c-1"), errs.NotFound, errs.ReasonResourceNotFound,
			map[string]string{"resource": "customer", "id": "c-1"}},
		{"Unavailablef", errs.Unavailablef("identity at %s", "x:1"), errs.Unavailable, errs.ReasonDependencyUnavailable, nil},
		{"Unexpected", errs.Unexpected(errors.New("boom")), errs.Internal, errs.ReasonInternal, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err.Kind != tt.kind || tt.err.Reason != tt.reason {
				t.Errorf("kind/reason = %v/%v, want %v/%v", tt.err.Kind, tt.err.Reason, tt.kind, tt.reason)
			}
			for k, v := range tt.md {
				if tt.err.Metadata[k] != v {
					t.Errorf("metadata[%s] = %q, want %q", k, tt.err.Metadata[k], v)
				}
			}
		})
	}
}

func mustToStatus(t *testing.T, err error) *status.Status {
	t.Helper()
	st, _ := errs.ToStatus(err)
	return st
}

func errorInfo(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei
		}
	}
	return nil
}

func TestToStatus_FromError_RoundTrip(t *testing.T) {
	tests := []struct {
		name string
		err  *errs.Error
		code codes.Code
	}{
		{"not found with metadata", errs.NotFoundf("sku", "CFQ7TTC0LH18:0001"), codes.NotFound},
		{"violations", mustAs(t, func() error {
			var v errs.Violations
			v.Add("country_code", "required")
			v.Add("lines[2].quantity", "must be positive")
			return v.Err()
		}()), codes.InvalidArgument},
		{"failed precondition", errs.New(errs.FailedPrecondition, "CANCELLATION_WINDOW_CLOSED", "closed on %s", "2024-01-08").
			With("window_end", "2024-01-08T00:00:00Z"), codes.FailedPrecondition},
		{"already exists", errs.New(errs.AlreadyExists, "DOMAIN_TAKEN", "taken"), codes.AlreadyExists},
		{"permission denied", errs.New(errs.PermissionDenied, errs.ReasonRoleRequired, "no").With("required_roles", "ADMIN_AGENT"), codes.PermissionDenied},
		{"unauthenticated", errs.New(errs.Unauthenticated, errs.ReasonTokenExpired, "expired"), codes.Unauthenticated},
		{"aborted", errs.New(errs.Aborted, errs.ReasonEtagMismatch, "stale"), codes.Aborted},
		{"unavailable", errs.Unavailablef("down"), codes.Unavailable},
		{"deadline", errs.New(errs.DeadlineExceeded, "", "slow"), codes.DeadlineExceeded},
		{"unimplemented", errs.New(errs.Unimplemented, "", "later"), codes.Unimplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The handler may wrap the *Error: the status must still carry it.
			st, unexpected := errs.ToStatus(fmt.Errorf("use case: %w", tt.err))
			if unexpected {
				t.Error("unexpected = true for a *errs.Error")
			}
			if st.Code() != tt.code {
				t.Errorf("code = %v, want %v", st.Code(), tt.code)
			}
			if st.Message() != tt.err.Message {
				t.Errorf("message = %q, want %q", st.Message(), tt.err.Message)
			}
			if tt.err.Reason != "" {
				ei := errorInfo(st)
				if ei == nil {
					t.Fatal("no ErrorInfo detail")
				}
				if ei.GetDomain() != errs.Domain || ei.GetReason() != string(tt.err.Reason) {
					t.Errorf("ErrorInfo = %v/%v", ei.GetDomain(), ei.GetReason())
				}
			}

			back := errs.FromError(st.Err())
			got, ok := errs.As(back)
			if !ok {
				t.Fatalf("FromError = %T, want *errs.Error", back)
			}
			if got.Kind != tt.err.Kind || got.Reason != tt.err.Reason || got.Message != tt.err.Message {
				t.Errorf("round trip = %v/%v/%q, want %v/%v/%q", got.Kind, got.Reason, got.Message,
					tt.err.Kind, tt.err.Reason, tt.err.Message)
			}
			if len(got.Metadata) != len(tt.err.Metadata) {
				t.Errorf("metadata = %v, want %v", got.Metadata, tt.err.Metadata)
			}
			for k, v := range tt.err.Metadata {
				if got.Metadata[k] != v {
					t.Errorf("metadata[%s] = %q, want %q", k, got.Metadata[k], v)
				}
			}
			if !slices.Equal(got.Violations, tt.err.Violations) {
				t.Errorf("violations = %v, want %v", got.Violations, tt.err.Violations)
			}
			if !errors.Is(back, tt.err) {
				t.Error("errors.Is(round trip, original) = false")
			}
			// The original status stays reachable for callers that need it.
			if s, ok := status.FromError(errors.Unwrap(back)); !ok || s.Code() != tt.code {
				t.Errorf("cause is not the peer's status: %v", errors.Unwrap(back))
			}
		})
	}
}

func mustAs(t *testing.T, err error) *errs.Error {
	t.Helper()
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("%v is not *errs.Error", err)
	}
	return e
}

func TestToStatus_UnexpectedIsBareInternal(t *testing.T) {
	secret := "password=hunter2 at db.internal:5432"
	tests := []struct {
		name string
		err  error
	}{
		{"plain error", errors.New(secret)},
		{"wrapped plain error", fmt.Errorf("load customer: %w", errors.New(secret))},
		{"Unexpected", errs.Unexpected(errors.New(secret))},
		{"kind Internal with message", errs.New(errs.Internal, "SOMETHING", "%s", secret)},
		{"kind Unknown", &errs.Error{Reason: "X", Message: secret, Metadata: map[string]string{"dsn": secret}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, unexpected := errs.ToStatus(tt.err)
			if !unexpected {
				t.Error("unexpected = false")
			}
			if st.Code() != codes.Internal {
				t.Errorf("code = %v, want INTERNAL", st.Code())
			}
			if st.Message() != "internal error" {
				t.Errorf("message = %q, want %q", st.Message(), "internal error")
			}
			if strings.Contains(fmt.Sprint(st.Proto()), "hunter2") {
				t.Errorf("status leaks the cause: %v", st.Proto())
			}
			ei := errorInfo(st)
			if ei == nil || ei.GetReason() != string(errs.ReasonInternal) || len(ei.GetMetadata()) != 0 {
				t.Errorf("ErrorInfo = %v, want reason INTERNAL without metadata", ei)
			}
			back := errs.FromError(st.Err())
			if errs.KindOf(back) != errs.Internal || errs.ReasonOf(back) != errs.ReasonInternal {
				t.Errorf("FromError = %v", back)
			}
		})
	}
}

func TestToStatus_NilAndContextAndStatus(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name       string
		err        error
		code       codes.Code
		unexpected bool
	}{
		{"nil", nil, codes.OK, false},
		{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded, false},
		{"wrapped deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), codes.DeadlineExceeded, false},
		{"cancelled", ctx.Err(), codes.Canceled, false},
		{"wrapped cancelled", fmt.Errorf("query: %w", context.Canceled), codes.Canceled, false},
		{"status passes through", status.Error(codes.ResourceExhausted, "slow down"), codes.ResourceExhausted, false},
		{"wrapped status passes through", fmt.Errorf("call catalog: %w", status.Error(codes.NotFound, "no such sku")), codes.NotFound, false},
		{"internal status is unexpected", status.Error(codes.Internal, "internal error"), codes.Internal, true},
		{"unknown status is unexpected", status.Error(codes.Unknown, "?"), codes.Internal, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, unexpected := errs.ToStatus(tt.err)
			if st.Code() != tt.code || unexpected != tt.unexpected {
				t.Errorf("ToStatus = %v, %v; want %v, %v", st.Code(), unexpected, tt.code, tt.unexpected)
			}
		})
	}
}

// TestToStatus_WrappedPeerStatusLeaksNothing: a handler that wraps a peer's status error with
// its own context must not send that context to the client (status.FromError would, as the
// message). The peer's message passes through unchanged; a peer's INTERNAL becomes a bare one.
func TestToStatus_WrappedPeerStatusLeaksNothing(t *testing.T) {
	const wrapper = "query with dsn=postgres://u:hunter2@db: %w"
	peer, err := status.New(codes.NotFound, "sku X not found").WithDetails(
		&errdetails.ErrorInfo{Reason: string(errs.ReasonResourceNotFound), Domain: errs.Domain})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		err        error
		code       codes.Code
		msg        string
		reason     errs.Reason
		unexpected bool
	}{
		{"not found", fmt.Errorf(wrapper, peer.Err()), codes.NotFound, "sku X not found", errs.ReasonResourceNotFound, false},
		{"internal", fmt.Errorf(wrapper, status.Error(codes.Internal, "peer detail")), codes.Internal, "internal error", errs.ReasonInternal, true},
		{"unknown", fmt.Errorf(wrapper, status.Error(codes.Unknown, "peer detail")), codes.Internal, "internal error", errs.ReasonInternal, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, unexpected := errs.ToStatus(tt.err)
			if st.Code() != tt.code || st.Message() != tt.msg || unexpected != tt.unexpected {
				t.Errorf("ToStatus = %v %q %v, want %v %q %v", st.Code(), st.Message(), unexpected, tt.code, tt.msg, tt.unexpected)
			}
			if strings.Contains(fmt.Sprint(st.Proto()), "hunter2") {
				t.Errorf("status leaks the wrapping text: %v", st.Proto())
			}
			if ei := errorInfo(st); ei == nil || ei.GetReason() != string(tt.reason) {
				t.Errorf("ErrorInfo = %v, want reason %s", ei, tt.reason)
			}
		})
	}
}

func TestFromError_KindsOfPeerCodes(t *testing.T) {
	tests := []struct {
		code codes.Code
		kind errs.Kind
	}{
		{codes.InvalidArgument, errs.InvalidArgument},
		{codes.NotFound, errs.NotFound},
		{codes.AlreadyExists, errs.AlreadyExists},
		{codes.FailedPrecondition, errs.FailedPrecondition},
		{codes.PermissionDenied, errs.PermissionDenied},
		{codes.Unauthenticated, errs.Unauthenticated},
		{codes.Aborted, errs.Aborted},
		{codes.Unavailable, errs.Unavailable},
		{codes.DeadlineExceeded, errs.DeadlineExceeded},
		{codes.Unimplemented, errs.Unimplemented},
		{codes.Internal, errs.Internal},
		{codes.Unknown, errs.Internal},
		{codes.DataLoss, errs.Internal},
		{codes.Canceled, errs.DeadlineExceeded},
		{codes.ResourceExhausted, errs.Unavailable},
		{codes.OutOfRange, errs.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			err := errs.FromError(status.Error(tt.code, "m"))
			if got := errs.KindOf(err); got != tt.kind {
				t.Errorf("KindOf(FromError(%v)) = %v, want %v", tt.code, got, tt.kind)
			}
			if errs.ReasonOf(err) != "" {
				t.Errorf("reason = %q, want none", errs.ReasonOf(err))
			}
		})
	}
}

func TestFromError_PassThroughAndForeignDomain(t *testing.T) {
	if errs.FromError(nil) != nil {
		t.Error("FromError(nil) != nil")
	}
	plain := errors.New("not a status")
	if got := errs.FromError(plain); got != plain { //nolint:errorlint // the very error must come back, not one wrapping it
		t.Errorf("FromError(plain) = %v, want it unchanged", got)
	}
	own := errs.NotFoundf("sku", "x")
	if got := errs.FromError(own); got != error(own) { //nolint:errorlint // the very error must come back, not one wrapping it
		t.Errorf("FromError(*Error) = %v, want it unchanged", got)
	}

	// An ErrorInfo of another domain is not a partnerhub reason.
	st, err := status.New(codes.PermissionDenied, "nope").WithDetails(
		&errdetails.ErrorInfo{Reason: "ROLE_REQUIRED", Domain: "googleapis.com", Metadata: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	got := mustAs(t, errs.FromError(st.Err()))
	if got.Kind != errs.PermissionDenied || got.Reason != "" || got.Metadata != nil {
		t.Errorf("foreign ErrorInfo: %#v", got)
	}
}

// TestReasons_ExistInContract checks that every Reason constant declared in this package is a
// value of partnerhub.common.v1.ErrorReason (wire string = value name without ERROR_REASON_), so
// no error can carry a reason the API does not document.
func TestReasons_ExistInContract(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	reasons := map[string]string{} // constant name → value
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range af.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Reason" {
					continue
				}
				for i, name := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Errorf("%s: Reason constant %s is not a string literal", fset.Position(name.Pos()), name.Name)
						continue
					}
					v, _ := strconv.Unquote(lit.Value)
					reasons[name.Name] = v
				}
			}
		}
	}
	// Guard against a parser change that finds nothing and passes vacuously.
	if reasons["ReasonInternal"] != string(errs.ReasonInternal) || reasons["ReasonTokenMissing"] != string(errs.ReasonTokenMissing) {
		t.Fatalf("parsed reasons %v lack known constants", reasons)
	}
	for name, v := range reasons {
		if _, ok := commonv1.ErrorReason_value["ERROR_REASON_"+v]; !ok {
			t.Errorf("%s = %q: ERROR_REASON_%s is not a value of partnerhub.common.v1.ErrorReason", name, v, v)
		}
		if v == "UNSPECIFIED" {
			t.Errorf("%s uses the UNSPECIFIED value", name)
		}
	}
	t.Logf("%d reasons checked", len(reasons))
}
