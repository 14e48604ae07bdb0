package errs

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

var kindToCode = map[Kind]codes.Code{
	Unknown:            codes.Internal,
	InvalidArgument:    codes.InvalidArgument,
	NotFound:           codes.NotFound,
	AlreadyExists:      codes.AlreadyExists,
	FailedPrecondition: codes.FailedPrecondition,
	PermissionDenied:   codes.PermissionDenied,
	Unauthenticated:    codes.Unauthenticated,
	Aborted:            codes.Aborted,
	Unavailable:        codes.Unavailable,
	DeadlineExceeded:   codes.DeadlineExceeded,
	Unimplemented:      codes.Unimplemented,
	Internal:           codes.Internal,
}

// Code returns the gRPC code of a kind.
func (k Kind) Code() codes.Code { return kindToCode[k] }

func kindOfCode(c codes.Code) Kind {
	for k, kc := range kindToCode {
		if kc == c && k != Unknown {
			return k
		}
	}
	switch c {
	case codes.Canceled:
		return DeadlineExceeded
	case codes.ResourceExhausted:
		return Unavailable
	case codes.OutOfRange:
		return InvalidArgument
	}
	return Internal
}

// ToStatus maps an error to the gRPC status a client sees. A *Error keeps its kind, reason,
// metadata and field violations; a context error becomes DEADLINE_EXCEEDED or CANCELLED; an error
// that is or wraps a peer's status passes through as the peer sent it (but INTERNAL and UNKNOWN);
// anything else becomes a bare INTERNAL that leaks nothing (the caller logs the cause). The second
// result says whether err was unexpected.
func ToStatus(err error) (st *status.Status, unexpected bool) {
	if err == nil {
		return status.New(codes.OK, ""), false
	}
	if e, ok := As(err); ok {
		if e.Kind == Unknown || e.Kind == Internal {
			return withDetails(codes.Internal, "internal error", ReasonInternal, nil, nil), true
		}
		return withDetails(e.Kind.Code(), e.Message, e.Reason, e.Metadata, e.Violations), false
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded"), false
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "request cancelled"), false
	}
	// A peer's status passes through as the peer sent it. Not status.FromError: for a wrapped
	// status it replaces the message with err.Error(), which would send this service's wrapping
	// text (queries, addresses, DSNs) to the client. A peer's INTERNAL or UNKNOWN is this
	// service's unexpected error too, and becomes the same bare INTERNAL.
	var gs interface{ GRPCStatus() *status.Status }
	if errors.As(err, &gs) && gs.GRPCStatus() != nil {
		s := gs.GRPCStatus()
		if s.Code() != codes.Internal && s.Code() != codes.Unknown && s.Code() != codes.OK {
			return s, false
		}
	}
	return withDetails(codes.Internal, "internal error", ReasonInternal, nil, nil), true
}

func withDetails(c codes.Code, msg string, reason Reason, md map[string]string, vs []FieldViolation) *status.Status {
	st := status.New(c, msg)
	var details []protoadapt.MessageV1
	if reason != "" {
		details = append(details, &errdetails.ErrorInfo{Reason: string(reason), Domain: Domain, Metadata: md})
	}
	if len(vs) > 0 {
		br := &errdetails.BadRequest{}
		for _, v := range vs {
			br.FieldViolations = append(br.FieldViolations,
				&errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
		}
		details = append(details, br)
	}
	if len(details) == 0 {
		return st
	}
	if withD, err := st.WithDetails(details...); err == nil {
		return withD
	}
	return st
}

// FromError maps an error returned by a generated gRPC client back to an *Error, so the app layer
// of a calling service sees the peer's kind, reason and metadata (and never imports codes). Errors
// that carry no status are returned unchanged.
func FromError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := As(err); ok {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	e := &Error{Kind: kindOfCode(st.Code()), Message: st.Message(), cause: err}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if d.GetDomain() == Domain {
				e.Reason = Reason(d.GetReason())
				e.Metadata = d.GetMetadata()
			}
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				e.Violations = append(e.Violations, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
			}
		}
	}
	return e
}

// UnaryClientInterceptor maps every error a peer returns back to an *Error (FromError), so a
// service's adapters and app layer see kinds and reasons, never gRPC codes.
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return FromError(invoker(ctx, method, req, reply, cc, opts...))
	}
}
