package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func healthCommand() *cobra.Command {
	var c healthCheck
	cmd := &cobra.Command{
		Use:   "health",
		Short: "exit 0 when the node answers and is ready (for container health checks and probes)",
		Long: `health exits 0 when the node at --addr answers PING with PONG and, when
--admin is given (a frontend's admin address), its /readyz answers 200: the
frontend has seen its expected shards and is not draining. Otherwise it
prints why and exits 1. A shard daemon is ready once it answers: it loads
its snapshot and log before it listens.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.run()
		},
	}
	cmd.Flags().StringVar(&c.addr, "addr", "127.0.0.1:6380", "node's RESP address")
	cmd.Flags().StringVar(&c.admin, "admin", "", "frontend admin HTTP address (HOST:PORT): also require GET /readyz to answer 200")
	cmd.Flags().StringVar(&c.password, "password", "", "AUTH password, if the node requires one")
	cmd.Flags().DurationVar(&c.timeout, "timeout", 2*time.Second, "give up after this long")
	return cmd
}

// healthCheck is one run of `shoal health`.
type healthCheck struct {
	addr, admin, password string
	timeout               time.Duration
}

// run checks the RESP address, then readiness on the admin address when
// one is given; the whole check shares one deadline.
func (h healthCheck) run() error {
	deadline := time.Now().Add(h.timeout)
	if err := ping(h.addr, h.password, deadline); err != nil {
		return fmt.Errorf("health: %s: %w", h.addr, err)
	}
	if h.admin == "" {
		return nil
	}
	if err := readyz(h.admin, deadline); err != nil {
		return fmt.Errorf("health: %s: %w", h.admin, err)
	}
	return nil
}

// ping sends PING (after AUTH when a password is given) and expects +PONG.
func ping(addr, password string, deadline time.Time) error {
	c, err := net.DialTimeout("tcp", addr, time.Until(deadline))
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	r := bufio.NewReader(c)
	if password != "" {
		fmt.Fprintf(c, "*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n", len(password), password)
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "+OK") {
			return fmt.Errorf("AUTH failed: %q %v", strings.TrimSpace(line), err)
		}
	}
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING: unexpected reply %q", strings.TrimSpace(line))
	}
	return nil
}

// readyz expects GET http://admin/readyz to answer 200.
func readyz(admin string, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/readyz", nil)
	if err != nil {
		return err
	}
	// No proxy from the environment: the check is about this node.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
