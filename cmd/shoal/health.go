package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func healthCommand() *cobra.Command {
	var addr, password string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health",
		Short: "exit 0 when the node at --addr answers PING",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return checkHealth(addr, password, timeout)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:6380", "node's RESP address")
	cmd.Flags().StringVar(&password, "password", "", "AUTH password, if the node requires one")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Second, "give up after this long")
	return cmd
}

// checkHealth sends PING (after AUTH when a password is given) and expects
// +PONG.
func checkHealth(addr, password string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	r := bufio.NewReader(c)
	if password != "" {
		fmt.Fprintf(c, "*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n", len(password), password)
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "+OK") {
			return fmt.Errorf("health: AUTH failed: %q %v", strings.TrimSpace(line), err)
		}
	}
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return fmt.Errorf("health: %w", err)
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("health: unexpected reply %q", strings.TrimSpace(line))
	}
	return nil
}
