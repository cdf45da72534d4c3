package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/shoal-kv/shoal/configs"
	"github.com/shoal-kv/shoal/internal/shardnode"
	"github.com/shoal-kv/shoal/shardd"
)

func sharddCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "shardd",
		Short: "run a shard daemon (Redis protocol, write-ahead log)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := configs.DefaultShardd()
			if err := configs.Load("shardd", &c, cmd.Flags(), file); err != nil {
				return err
			}
			return runShardd(cmd.Context(), c)
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "YAML config file (keys under `shardd:`)")
	configs.ShardFlags(cmd.Flags(), configs.DefaultShardd())
	return cmd
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

func runShardd(ctx context.Context, c configs.Shardd) error {
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
	if cfg.Diskless && cfg.MaxMemory > 0 {
		debug.SetMemoryLimit(shardd.MemoryLimit(cfg.MaxMemory))
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv, err := shardnode.New(c, cfg, nil)
	if err != nil {
		ln.Close()
		return err
	}
	defer startProfile()()
	log.Info("shardd serving", "addr", ln.Addr().String(), "shard", cfg.Shard, "data_dir", cfg.DataDir, "appendfsync", cfg.AppendFsync,
		"diskless", cfg.Diskless, "maxmemory", cfg.MaxMemory, "replicaof", cfg.ReplicaOf)
	if c.Raft != "" {
		log.Info("control plane", "raft", c.Raft, "raft_advertise", c.RaftAdvertiseAddr(), "raft_voter", c.RaftVoter,
			"raft_bootstrap_expect", c.RaftBootstrapExpect, "failover_after", c.FailoverAfter, "raft_reap_after", c.RaftReapAfter)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-errc:
		srv.Close()
		return err
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
