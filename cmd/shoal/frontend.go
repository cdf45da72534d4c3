package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/shoal-kv/shoal/configs"
	"github.com/shoal-kv/shoal/frontend"
)

func frontendCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "frontend",
		Short: "run a frontend: the stateless proxy that routes every key to its shard",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := configs.DefaultFrontend()
			if err := configs.Load("frontend", &c, cmd.Flags(), file); err != nil {
				return err
			}
			return runFrontend(c)
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "YAML config file (keys under the frontend section)")
	configs.FrontendFlags(cmd.Flags(), configs.DefaultFrontend())
	return cmd
}

func runFrontend(c configs.Frontend) error {
	log, err := newLogger(c.LogLevel)
	if err != nil {
		return err
	}
	cfg, err := c.ServerConfig()
	if err != nil {
		return err
	}
	cfg.Logger = log
	cfg.Version = version
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv, err := frontend.New(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	var admin *http.Server
	if c.Admin != "" {
		aln, err := net.Listen("tcp", c.Admin)
		if err != nil {
			srv.Close()
			ln.Close()
			return fmt.Errorf("admin: %w", err)
		}
		admin = &http.Server{Handler: srv.AdminHandler(), ReadHeaderTimeout: 5 * time.Second}
		go admin.Serve(aln)
	}
	log.Info("frontend serving", "addr", ln.Addr().String(), "gossip", c.Gossip, "join", c.Join,
		"admin", c.Admin, "read_policy", c.ReadPolicy, "expect_shards", c.ExpectShards,
		"failover_buffer", c.FailoverBuffer)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-errc:
		srv.Close()
		return err
	case s := <-sig:
		log.Info("draining", "signal", s.String(), "grace", c.ShutdownGrace)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.ShutdownGrace)
	defer cancel()
	err = srv.Shutdown(ctx)
	if admin != nil {
		actx, acancel := context.WithTimeout(context.Background(), time.Second)
		admin.Shutdown(actx)
		acancel()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("grace period over; remaining clients were closed")
		return nil
	}
	return err
}
