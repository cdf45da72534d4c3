package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
)

// addrFile, in a given (kept) data directory, records the addresses every
// shard node bound, so a cluster started again on that directory binds
// the same ones: a node's data refers to its peers by address (a
// replica's role file names the master it follows, raft's configuration
// the voters' raft addresses), and with new ports the restarted cluster
// would not find itself. Frontends are not recorded: nothing refers to
// them.
const addrFile = "nodes.json"

// nodeAddrs is one shard node's entry in addrFile.
type nodeAddrs struct {
	RESP   string `json:"resp"`
	Gossip string `json:"gossip"`
	Raft   string `json:"raft,omitempty"`
}

// loadAddrs gives the shard nodes the addresses addrFile recorded for
// them, when the cluster runs on a given data directory that has one and
// on the same host. Called by Start before anything listens.
func (c *Cluster) loadAddrs() error {
	if c.tempDir {
		return nil
	}
	path := filepath.Join(c.dataDir, addrFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	var recorded map[string]nodeAddrs
	if err := json.Unmarshal(b, &recorded); err != nil {
		return fmt.Errorf("cluster: %s: %w", path, err)
	}
	sameHost := func(addr string) string {
		if host, _, err := net.SplitHostPort(addr); err == nil && host == c.cfg.Host {
			return addr
		}
		return ""
	}
	for _, n := range c.shards {
		if a, ok := recorded[n.Name]; ok {
			n.RESPAddr, n.GossipAddr = sameHost(a.RESP), sameHost(a.Gossip)
			if c.voters > 0 {
				n.RaftAddr = sameHost(a.Raft)
			}
			n.recorded = true
		}
	}
	return nil
}

// saveAddrs records the shard nodes' addresses in addrFile (a given data
// directory only; replaced atomically). Called once Start succeeded;
// addresses never change afterwards.
func (c *Cluster) saveAddrs() error {
	if c.tempDir {
		return nil
	}
	c.mu.Lock()
	all := map[string]nodeAddrs{}
	for _, n := range c.shards {
		all[n.Name] = nodeAddrs{RESP: n.RESPAddr, Gossip: n.GossipAddr, Raft: n.RaftAddr}
	}
	c.mu.Unlock()
	if err := os.MkdirAll(c.dataDir, 0o755); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	tmp := filepath.Join(c.dataDir, addrFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("cluster: recording addresses: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dataDir, addrFile)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cluster: recording addresses: %w", err)
	}
	return nil
}

// bindHint explains err when it is a failed bind of an address addrFile
// recorded.
func (c *Cluster) bindHint(n *shardNode, err error) string {
	if !n.recorded || !errors.Is(err, syscall.EADDRINUSE) {
		return ""
	}
	return fmt.Sprintf(" (an earlier run on %s recorded this address in %s: a node keeps its addresses, which its peers' data refers to; free the port or use another data dir)",
		c.dataDir, addrFile)
}
