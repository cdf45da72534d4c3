package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shoal-kv/shoal/configs"
	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/integration/cluster"
)

// devStartTimeout bounds `shoal dev`'s start; devStopTimeout its stop
// (the frontends' drain; the shard daemons have their own bound).
const (
	devStartTimeout = 30 * time.Second
	devStopTimeout  = 5 * time.Second
)

func devCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "run a whole cluster in one process: 3 shards × (master + replica), 1 frontend on 127.0.0.1:6380, automatic failover",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := configs.DefaultDev()
			if err := configs.Load("dev", &c, cmd.Flags(), file); err != nil {
				return err
			}
			return runDev(c, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "YAML config file (keys under the dev section)")
	configs.DevFlags(cmd.Flags(), configs.DefaultDev())
	return cmd
}

// devClusterConfig converts `shoal dev`'s settings to the cluster's.
func devClusterConfig(d configs.Dev) (cluster.Config, error) {
	cfg := cluster.DefaultConfig()
	cfg.Shards = d.Shards
	cfg.Replicas = d.Replicas
	cfg.Frontends = d.Frontends
	cfg.Host = d.Host
	cfg.Port = d.Port
	cfg.DisklessReplicas = d.DisklessReplicas
	mem, err := configs.ParseSize(d.MaxMemory)
	if err != nil {
		return cfg, fmt.Errorf("maxmemory: %w", err)
	}
	cfg.MaxMemory = mem
	cfg.DataDir = d.DataDir
	cfg.DisableControlPlane = d.NoFailover
	cfg.FailoverAfter = d.FailoverAfter
	cfg.GossipProfile = gossip.Profile(d.GossipProfile)
	cfg.Version = version
	return cfg, cfg.Validate()
}

// runDev starts the cluster, prints what runs where to out, and stops it
// cleanly on SIGINT or SIGTERM (a second signal ends the process at once).
func runDev(d configs.Dev, out io.Writer) error {
	log, err := newLogger(d.LogLevel)
	if err != nil {
		return err
	}
	cfg, err := devClusterConfig(d)
	if err != nil {
		return err
	}
	cfg.Logger = log
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	sctx, cancel := context.WithTimeout(ctx, devStartTimeout)
	cl, err := cluster.Start(sctx, cfg)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while starting; Start cleaned up
		}
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w (is another shoal dev or a redis-server running? choose another --port, or 0 for free ports)", err)
		}
		return err
	}
	printDev(out, cl)
	<-ctx.Done()
	stop() // from here a second Ctrl-C kills the process
	fmt.Fprintln(out, "stopping...")
	cctx, ccancel := context.WithTimeout(context.Background(), devStopTimeout)
	defer ccancel()
	err = cl.Close(cctx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("grace period over; remaining clients were closed", "err", err)
		err = nil
	}
	if err == nil {
		fmt.Fprintln(out, "stopped")
	}
	return err
}

// printDev writes the table of nodes and how to connect.
func printDev(out io.Writer, cl *cluster.Cluster) {
	cfg := cl.Config()
	replicas := "master + " + plural(cfg.Replicas, "replica")
	if cfg.DisklessReplicas && cfg.Replicas > 0 {
		replicas += " (diskless)"
	}
	fmt.Fprintf(out, "shoal dev: %s × (%s), %s; ready in %v\n\n", plural(cfg.Shards, "shard"), replicas,
		plural(cfg.Frontends, "frontend"), cl.TimeToReady().Round(time.Millisecond))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tSHARD\tNODE\tRESP\tGOSSIP\tRAFT\tDATA")
	for _, n := range cl.Nodes() {
		data := n.DataDir
		if n.Diskless {
			data = "(memory)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.Role, dash(n.Shard), n.Name, n.RESPAddr, dash(n.GossipAddr),
			dash(n.RaftAddr), dash(data))
	}
	tw.Flush()
	fmt.Fprintln(out)
	printControl(out, cl)
	if cl.TempDataDir() {
		fmt.Fprintf(out, "data:    %s (temporary, removed on exit)\n", cl.DataDir())
	} else {
		fmt.Fprintf(out, "data:    %s (kept)\n", filepath.Clean(cl.DataDir()))
	}
	if addrs := cl.FrontendAddrs(); len(addrs) > 0 {
		fmt.Fprintf(out, "connect: %s    (then e.g. SET k v, GET k, SHOAL SHARDS)\n", redisCLI(addrs[0]))
	}
	fmt.Fprintln(out, "Ctrl-C stops the cluster.")
}

// printControl writes the control plane's lines: the raft leader and
// voters, and where to read the cluster map.
func printControl(out io.Writer, cl *cluster.Cluster) {
	if cl.Voters() == 0 {
		fmt.Fprintln(out, "control: off (--no-failover): a dead master's keys answer CLUSTERDOWN until it is back")
		return
	}
	leader, _ := cl.Leader()
	var voters []string
	var mapAt string
	for _, n := range cl.Nodes() {
		if n.Voter {
			voters = append(voters, n.Name)
		}
		if n.Role != cluster.RoleFrontend && mapAt == "" {
			mapAt = n.RESPAddr
		}
	}
	fmt.Fprintf(out, "control: raft leader %s, voters %s; a dead master fails over after %v\n",
		dash(leader.Name), strings.Join(voters, " "), cl.Config().FailoverAfter)
	fmt.Fprintf(out, "map:     %s SHOAL MAP    (on any shard node; SHOAL LEADER names the leader)\n", redisCLI(mapAt))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// redisCLI is the redis-cli command line for addr (-h only off 127.0.0.1).
func redisCLI(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "redis-cli -u redis://" + addr
	}
	if host == "127.0.0.1" {
		return "redis-cli -p " + port
	}
	return "redis-cli -h " + host + " -p " + port
}
