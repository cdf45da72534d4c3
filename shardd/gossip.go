package shardd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/shoal-kv/shoal/gossip"
)

// startGossip creates the gossip agent with this node's tags and joins the
// cluster in the background (retrying with backoff until Shutdown).
func (s *Server) startGossip() error {
	cfg := *s.cfg.Gossip
	cfg.Tags = s.gossipTags()
	if cfg.Logger == nil {
		cfg.Logger = s.log
	}
	agent, err := gossip.New(cfg)
	if err != nil {
		return fmt.Errorf("shardd: gossip: %w", err)
	}
	s.gossip = agent
	// Read once, before anything updates the tags: Agent.Addr reads
	// memberlist's node record without its lock, racing with SetTags.
	s.gossipAddr = agent.Addr()
	s.lastTags = cfg.Tags
	s.bg.Add(2)
	go s.publishTags()
	go s.every(higherMasterInterval, s.stepDownForHigherMaster)
	if len(s.cfg.Join) > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			<-s.quit
			cancel()
		}()
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			if err := agent.Join(ctx, s.cfg.Join); err != nil && ctx.Err() == nil && !errors.Is(err, gossip.ErrClosed) {
				s.log.Error("joining gossip", "err", err)
			}
		}()
	}
	s.log.Info("gossip started", "addr", s.gossipAddr.String(), "node", agent.Name())
	return nil
}

// gossipTags describes this node for the rest of the cluster. Epoch is the
// known epoch (see knownEpochLocked).
func (s *Server) gossipTags() gossip.Tags {
	s.mu.Lock()
	epoch := s.knownEpochLocked()
	s.mu.Unlock()
	t := gossip.Tags{
		Role:     gossip.RoleShard,
		Shard:    s.cfg.Shard,
		ReplRole: s.replRole(),
		Epoch:    epoch,
		RESPAddr: s.cfg.RESPAddr,
		Version:  s.cfg.Version,
	}
	extra := map[string]string{}
	if s.cfg.Diskless && s.cfg.MaxMemory > 0 {
		// Diskless cached mode: the frontend sends reads that miss here
		// (-NOTCACHED) to the master (frontend.TagCached).
		extra[gossip.KeyCached] = "1"
	}
	if s.isReplica() && s.repl.linkDown.Load() {
		// An early sign of a master failure for the leader.
		extra[gossip.KeyMasterLink] = "down"
	}
	if s.cfg.RaftAddr != "" {
		extra[gossip.KeyRaftAddr] = s.cfg.RaftAddr
		if s.cfg.RaftVoter {
			extra[gossip.KeyRaftVoter] = "1"
		}
	}
	if len(extra) > 0 {
		t.Extra = extra
	}
	return t
}

// tagCached is the gossip tag (gossip.Tags.Extra) a cached node announces.
const tagCached = gossip.KeyCached

// updateGossipTags asks for the node's current role, epoch and link state
// to be published. It does not block: publishTags does the work, always
// with the state as it is when it runs, so updates never go out of order.
// Without gossip the request is never read.
func (s *Server) updateGossipTags() {
	select {
	case s.tagsDirty <- struct{}{}:
	default: // one is pending: it will read the newest state
	}
}

// publishTags sets the gossip tags each time updateGossipTags asks, until
// Shutdown. It is the only writer of the tags after start.
func (s *Server) publishTags() {
	defer s.bg.Done()
	for {
		select {
		case <-s.quit:
			return
		case <-s.tagsDirty:
		}
		t := s.gossipTags()
		if t.Equal(s.lastTags) || s.inShutdown.Load() {
			continue
		}
		if err := s.gossip.SetTags(t); err != nil {
			s.log.Warn("updating gossip tags", "err", err)
			continue
		}
		s.lastTags = t
	}
}

// Gossip returns the node's gossip agent, or nil when gossip is off.
func (s *Server) Gossip() *gossip.Agent { return s.gossip }

// GossipAddr returns the node's gossip address (for other nodes' Join), or
// the zero value when gossip is off. Use it rather than Gossip().Addr(),
// which races with the node's tag updates.
func (s *Server) GossipAddr() netip.AddrPort { return s.gossipAddr }
