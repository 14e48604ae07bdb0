package server

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// RequestIDHeader carries a call's correlation ID in and out (echoed in the response header).
const RequestIDHeader = "x-request-id"

type requestIDKey struct{}

// RequestID returns the correlation ID of the call.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func withRequestID(ctx context.Context) context.Context {
	md, _ := metadata.FromIncomingContext(ctx)
	id := ""
	if v := md.Get(RequestIDHeader); len(v) > 0 && len(v[0]) <= 128 {
		id = v[0]
	}
	if id == "" {
		id = uuid.NewString()
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, id))
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestIDUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	return h(withRequestID(ctx), req)
}

func requestIDStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, &wrappedStream{ServerStream: ss, ctx: withRequestID(ss.Context())})
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }

// errorsUnary maps errs.Error values to gRPC statuses (ErrorInfo, BadRequest) and logs the cause
// of unexpected errors, which the client sees only as a bare INTERNAL.
func errorsUnary(log *zap.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		if err != nil {
			return nil, mapError(ctx, log, info.FullMethod, err)
		}
		return resp, nil
	}
}

func errorsStream(log *zap.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if err := h(srv, ss); err != nil {
			return mapError(ss.Context(), log, info.FullMethod, err)
		}
		return nil
	}
}

func mapError(ctx context.Context, log *zap.Logger, method string, err error) error {
	st, unexpected := errs.ToStatus(err)
	if unexpected {
		log.Error("unexpected error", zap.String("method", method),
			zap.String("request_id", RequestID(ctx)), zap.Error(err))
	}
	return st.Err()
}

// codeToLevel logs client errors at INFO and server errors at ERROR: a refused request is normal
// business, an INTERNAL is a bug.
func codeToLevel(c codes.Code) logging.Level {
	switch c {
	case codes.OK, codes.Canceled, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists,
		codes.PermissionDenied, codes.Unauthenticated, codes.FailedPrecondition, codes.Aborted,
		codes.OutOfRange:
		return logging.LevelInfo
	case codes.DeadlineExceeded, codes.ResourceExhausted, codes.Unavailable, codes.Unimplemented:
		return logging.LevelWarn
	}
	return logging.LevelError
}

// zapLogger adapts zap to go-grpc-middleware's logging interface. Only call metadata (method,
// code, duration, request ID) is logged, never payloads, so secrets such as keys never reach
// logs (KD-8).
func zapLogger(l *zap.Logger) logging.Logger {
	l = l.WithOptions(zap.AddCallerSkip(1))
	return logging.LoggerFunc(func(_ context.Context, lvl logging.Level, msg string, fields ...any) {
		level := zapLevel(lvl)
		// Successful calls log at debug: below the configured level, building the entry (fields,
		// a cloned encoder) would be most of a warm read's logging cost for nothing.
		ce := l.Check(level, msg)
		if ce == nil {
			return
		}
		f := make([]zap.Field, 0, len(fields)/2)
		for i := 0; i+1 < len(fields); i += 2 {
			f = append(f, zap.Any(fmt.Sprint(fields[i]), fields[i+1]))
		}
		ce.Write(f...)
	})
}

// zapLevel maps a go-grpc-middleware logging level to zap's.
func zapLevel(lvl logging.Level) zapcore.Level {
	switch lvl {
	case logging.LevelDebug:
		return zapcore.DebugLevel
	case logging.LevelInfo:
		return zapcore.InfoLevel
	case logging.LevelWarn:
		return zapcore.WarnLevel
	default:
		return zapcore.ErrorLevel
	}
}

// NewLogger returns a JSON zap logger at the given level ("debug", "info", "warn", "error").
func NewLogger(level, service string) (*zap.Logger, error) {
	lvl, err := zap.ParseAtomicLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	cfg := zap.NewProductionConfig()
	cfg.Level = lvl
	cfg.Sampling = nil
	l, err := cfg.Build()
	if err != nil {
		return nil, fmt.Errorf("build logger: %w", err)
	}
	if service == "" { // the devstack: each service adds its own name
		return l, nil
	}
	return l.With(zap.String("service", service)), nil
}
