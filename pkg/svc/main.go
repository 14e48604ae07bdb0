// Package svc is what the six services share between their cmd/main.go and their Run: the common
// settings (addresses, database, log level, fake clock, where identity is), the process main with
// its `healthcheck` subcommand, and the runtime every service starts with (logger, clock,
// database with migrations, token verification with identity's keys, idempotency, and
// connections to peer services whose calls carry service tokens from identity: DialPeer).
package svc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/partnerhub/partnerhub/pkg/config"
)

// Main is the whole body of a service's main: it binds settings (bind returns the function that
// runs the service with them), handles `healthcheck`, stops on SIGINT/SIGTERM, and returns the exit
// code. Errors are one line on stderr.
func Main(name string, args []string, bind func(*config.Loader) (run func(context.Context) error, grpcAddr *string)) int {
	l := config.New(name)
	run, grpcAddr := bind(l)
	if len(args) > 0 && args[0] == "healthcheck" {
		if err := l.Parse(args[1:]); err != nil {
			fmt.Fprintf(os.Stderr, "%s healthcheck: %v\n", name, err)
			return 2
		}
		if err := Probe(context.Background(), *grpcAddr, 3*time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "%s: unhealthy: %v\n", name, err)
			return 1
		}
		return 0
	}
	if err := l.Parse(args); err != nil {
		if errors.Is(err, config.ErrHelp) {
			fmt.Fprintf(os.Stdout, "usage: %s [healthcheck] [flags]\n", name)
			l.Usage(os.Stdout)
			return 0
		}
		fmt.Fprintf(os.Stderr, "%s: bad configuration: %v\n", name, oneLine(err))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, oneLine(err))
		return 1
	}
	return 0
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// Probe checks gRPC health of the server at addr (":50052" means this host).
func Probe(ctx context.Context, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := grpc.NewClient(DialAddr(addr), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("status %s", resp.GetStatus())
	}
	return nil
}

// DialAddr turns a listen address into one to dial: ":50052" and "0.0.0.0:50052" become
// "127.0.0.1:50052" (not "localhost", which may resolve to ::1 first where IPv6 is off).
func DialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
