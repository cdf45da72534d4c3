package shardd

import (
	"context"
	"fmt"

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
			if err := agent.Join(ctx, s.cfg.Join); err != nil && ctx.Err() == nil {
				s.log.Error("joining gossip", "err", err)
			}
		}()
	}
	s.log.Info("gossip started", "addr", agent.Addr().String(), "node", agent.Name())
	return nil
}

// gossipTags describes this node for the rest of the cluster.
func (s *Server) gossipTags() gossip.Tags {
	s.mu.Lock()
	epoch := s.epoch
	s.mu.Unlock()
	t := gossip.Tags{
		Role:     gossip.RoleShard,
		Shard:    s.cfg.Shard,
		ReplRole: s.replRole(),
		Epoch:    epoch,
		RESPAddr: s.cfg.RESPAddr,
		Version:  s.cfg.Version,
	}
	if s.cfg.Diskless && s.cfg.MaxMemory > 0 {
		// Diskless cached mode: the frontend sends reads that miss here
		// (-NOTCACHED) to the master (frontend.TagCached).
		t.Extra = map[string]string{tagCached: "1"}
	}
	return t
}

// tagCached is the gossip tag (gossip.Tags.Extra) a cached node announces.
const tagCached = gossip.KeyCached

// updateGossipTags publishes the node's current role and epoch (after a
// role change).
func (s *Server) updateGossipTags() {
	if s.gossip == nil {
		return
	}
	if err := s.gossip.SetTags(s.gossipTags()); err != nil {
		s.log.Warn("updating gossip tags", "err", err)
	}
}

// Gossip returns the node's gossip agent, or nil when gossip is off.
func (s *Server) Gossip() *gossip.Agent { return s.gossip }
