// Package shardnode assembles one shard daemon: a shardd.Server and, when
// its configuration names a raft address, the control plane (control.Node)
// beside it in the same process. `shoal shardd` and integration/cluster
// (so `shoal dev`) both build their shard nodes here, so a dev cluster runs
// exactly what the CLI runs. shardd and control never import each other;
// this package is where they meet.
package shardnode

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/shoal-kv/shoal/configs"
	"github.com/shoal-kv/shoal/control"
	"github.com/shoal-kv/shoal/shardd"
)

// Node is a shard daemon's parts. Both fields are set by New and not
// changed after; their own methods are safe for concurrent use.
type Node struct {
	Server  *shardd.Server
	Control *control.Node // nil when sc.Raft is empty
}

// New creates the server from cfg (built from sc by sc.ServerConfig and
// adjusted by the caller) and, when sc.Raft is set, a control node using
// the server's gossip agent, announced in its tags (sc.RaftAdvertiseAddr).
// raftLn, when not nil, is the listener raft uses instead of binding
// sc.Raft (callers that let the system pick the port bind it first and set
// sc.Raft to its address). The control node is started; the server is not
// serving until Serve. On error everything created is closed, raftLn too.
func New(sc configs.Shardd, cfg shardd.Config, raftLn net.Listener) (*Node, error) {
	srv, err := shardd.New(cfg)
	if err != nil {
		if raftLn != nil {
			raftLn.Close()
		}
		return nil, err
	}
	n := &Node{Server: srv}
	if sc.Raft == "" {
		return n, nil
	}
	agent := srv.Gossip()
	if agent == nil {
		srv.Close()
		if raftLn != nil {
			raftLn.Close()
		}
		return nil, errors.New("shardnode: raft needs gossip (--gossip)")
	}
	cc := control.DefaultConfig()
	cc.Membership = agent
	cc.Events = agent.Events() // shardd polls its view; control is the events' one reader
	cc.RaftAddr = sc.Raft
	cc.RaftAdvertise = sc.RaftAdvertiseAddr()
	cc.RaftListener = raftLn
	if !sc.Diskless {
		cc.DataDir = sc.DataDir
	}
	cc.Voter = sc.RaftVoter
	cc.BootstrapExpect = sc.RaftBootstrapExpect
	cc.FailoverAfter = sc.FailoverAfter
	cc.ReapAfter = sc.RaftReapAfter
	cc.BootstrapGrace = sc.RaftBootstrapGrace
	cc.Password = sc.RequirePass
	if cfg.Logger != nil {
		cc.Logger = cfg.Logger.With("component", "control")
	}
	ctl, err := control.New(cc)
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("shardnode: control plane: %w", err)
	}
	if err := ctl.Start(); err != nil {
		ctl.Close()
		srv.Close()
		return nil, fmt.Errorf("shardnode: control plane: %w", err)
	}
	n.Control = ctl
	srv.SetMapSource(ctl)
	return n, nil
}

// Serve serves RESP on ln until Shutdown or Close (shardd.Server.Serve).
func (n *Node) Serve(ln net.Listener) error { return n.Server.Serve(ln) }

// Shutdown stops the control plane first (a leader hands leadership over)
// and then the server, which leaves gossip.
func (n *Node) Shutdown(ctx context.Context) error {
	var errs []error
	if n.Control != nil {
		n.Server.SetMapSource(nil)
		errs = append(errs, n.Control.Shutdown(ctx))
	}
	errs = append(errs, n.Server.Shutdown(ctx))
	return errors.Join(errs...)
}

// Close stops both at once, without a handover.
func (n *Node) Close() error {
	var errs []error
	if n.Control != nil {
		n.Server.SetMapSource(nil)
		errs = append(errs, n.Control.Close())
	}
	errs = append(errs, n.Server.Close())
	return errors.Join(errs...)
}
