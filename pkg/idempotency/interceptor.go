package idempotency

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

// requestIDField is the request field that makes an RPC idempotent (DESIGN.md: every mutating RPC
// takes request_id).
const requestIDField protoreflect.Name = "request_id"

// UnaryServerInterceptor applies the Store to every RPC whose request message has a string field
// request_id; other RPCs pass through untouched.
//
// request_id must be a UUID (INVALID_ARGUMENT with a field violation otherwise). The request's
// fingerprint is the SHA-256 of the method name and the deterministic encoding of the request, so
// a retry must resend the same request. A successful response is stored (as an encoded
// google.protobuf.Any, which names its type) and replayed to retries; errors are not stored (see
// the package doc).
//
// scope partitions request IDs, typically by the caller's organization, so one tenant's IDs never
// meet another's; it is supplied by the service because only it knows its principal. Install the
// interceptor after authentication (scope needs the principal) and inside error mapping (it
// returns *errs.Error values).
func UnaryServerInterceptor(s *Store, scope func(ctx context.Context) string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		msg, ok := req.(proto.Message)
		if !ok {
			return handler(ctx, req)
		}
		m := msg.ProtoReflect()
		fd := m.Descriptor().Fields().ByName(requestIDField)
		if fd == nil || fd.Kind() != protoreflect.StringKind || fd.Cardinality() == protoreflect.Repeated {
			return handler(ctx, req)
		}
		id := m.Get(fd).String()
		if err := validateRequestID(id); err != nil {
			return nil, err
		}
		fp, err := fingerprint(info.FullMethod, msg)
		if err != nil {
			return nil, errs.Unexpected(err)
		}
		sc := scope(ctx)

		stored, claimed, err := s.Begin(ctx, sc, id, fp)
		if err != nil {
			return nil, err
		}
		if !claimed {
			resp, err := decodeResponse(stored)
			if err != nil {
				return nil, errs.Unexpected(fmt.Errorf("idempotency: replay %s %s: %w", info.FullMethod, id, err))
			}
			return resp, nil
		}

		// The claim must not outlive a failed request, whether the handler returns an error or
		// panics (the panic goes on to the recovery interceptor). The bookkeeping uses a context
		// that survives the client going away, or the claim would block retries until its lease
		// runs out.
		bg := context.WithoutCancel(ctx)
		done := false
		defer func() {
			if !done {
				if err := s.Abandon(bg, sc, id); err != nil {
					s.opts.OnError(ctx, err)
				}
			}
		}()
		resp, err := handler(ctx, req)
		if err != nil {
			return resp, err
		}
		encoded, encErr := encodeResponse(resp)
		if encErr == nil {
			encErr = s.Complete(bg, sc, id, encoded)
		}
		done = true
		if encErr != nil {
			// The work is done and the caller gets its answer; only a later retry would miss the
			// stored copy (and, once the lease ran out, run again). Failing this call instead would
			// make the client retry at once into that very situation.
			s.opts.OnError(ctx, fmt.Errorf("idempotency: store response of %s %s: %w", info.FullMethod, id, encErr))
		}
		return resp, nil
	}
}

// Scope partitions request IDs by the caller's organisation, so that one tenant's IDs never meet
// another's: the effective principal's organisation kind and ID, or "anonymous" for a public
// call. Handlers that deduplicate by request ID themselves (ServeConfig.NotReplayed) use the same.
func Scope(ctx context.Context) string {
	if p, ok := auth.FromContext(ctx); ok {
		return ScopeOf(p)
	}
	return "anonymous"
}

// ScopeOf is Scope of a principal.
func ScopeOf(p auth.Principal) string {
	e := p.Effective()
	return string(e.OrgKind) + ":" + e.OrgID
}

func validateRequestID(id string) error {
	if id == "" {
		return errs.Invalid(string(requestIDField), "required: a UUID chosen by the client, the same for every retry of this request")
	}
	// Only the canonical 36-character form: uuid.Parse also takes braces, URNs and bare hex,
	// which would let one ID be spelled several ways.
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return errs.Invalid(string(requestIDField), "must be a UUID such as 123e4567-e89b-12d3-a456-426614174000, got %q", id)
	}
	return nil
}

func fingerprint(method string, msg proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("idempotency: fingerprint: %w", err)
	}
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write(b)
	return h.Sum(nil), nil
}

func encodeResponse(resp any) ([]byte, error) {
	msg, ok := resp.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("response %T is not a proto message", resp)
	}
	a, err := anypb.New(msg)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(a)
}

func decodeResponse(b []byte) (proto.Message, error) {
	var a anypb.Any
	if err := proto.Unmarshal(b, &a); err != nil {
		return nil, err
	}
	return a.UnmarshalNew()
}
