package frontend

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/proto"
)

// The cluster map. Shards' masters are learned from gossip tags (the
// highest epoch an alive master announces wins); where the control plane
// runs (shard nodes with the `ra` gossip tag), the frontend also reads its
// map, SHOAL MAP, from one of those nodes every MapInterval, soon after
// every change of its view, and every mapMinGap while requests wait in the
// failover buffer. The map is what the raft leader committed, so
// it can be ahead of gossip in two ways, and the router uses it there:
//
//   - a promoted replica is the map's master before its own tags say so:
//     requests go to it at once instead of waiting for its tags;
//   - a master that still announces an older epoch (deposed while cut
//     off, or not yet told) is not routed to: its shard has no master
//     until the new one is reachable (requests wait in the failover
//     buffer), rather than writes landing on a master about to drop them.
//
// Where gossip is ahead of the map (a newer epoch in tags than in the last
// map read), gossip wins, as before.

// mapEntry is one shard of the cluster map.
type mapEntry struct {
	node  string // master's gossip node name
	addr  string // master's RESP address
	epoch uint64
}

// runMapReader reads the map until the server quits. It runs on its own
// goroutine (Server.bg); kicks come from view changes.
func (s *Server) runMapReader() {
	defer s.bg.Done()
	tick := time.NewTicker(s.cfg.MapInterval)
	defer tick.Stop()
	for {
		// While requests wait in the failover buffer, read every
		// mapMinGap: the map names a promoted master before its gossip
		// tags reach this frontend.
		if !s.fobuf.holding() {
			select {
			case <-s.quit:
				return
			case <-tick.C:
			case <-s.mapKick:
			}
		}
		m, from, err := s.readMap()
		switch {
		case err != nil:
			s.log.Debug("reading the cluster map", "err", err)
		case m != nil:
			s.router.setMap(m, from)
		}
		// At most one read per mapMinGap, however often the view changes.
		select {
		case <-s.quit:
			return
		case <-time.After(mapMinGap):
		}
	}
}

// mapMinGap spaces map reads during membership churn.
const mapMinGap = 100 * time.Millisecond

// kickMap asks for a map read soon (after a view change).
func (s *Server) kickMap() {
	select {
	case s.mapKick <- struct{}{}:
	default:
	}
}

// readMap asks up to three alive control-plane nodes, in random order, for
// SHOAL MAP. It returns nil, "", nil when no node runs the control plane.
func (s *Server) readMap() (map[string]mapEntry, string, error) {
	var candidates []gossip.Member
	for _, m := range s.router.view().members {
		if m.Alive() && m.TagsErr == nil && m.Tags.Role == gossip.RoleShard && m.Tags.Extra[gossip.KeyRaftAddr] != "" {
			candidates = append(candidates, m)
		}
	}
	if len(candidates) == 0 {
		return nil, "", nil
	}
	rand.Shuffle(len(candidates), func(i, j int) { candidates[i], candidates[j] = candidates[j], candidates[i] })
	var errs []error
	for _, m := range candidates[:min(3, len(candidates))] {
		mp, err := fetchMap(m.Tags.RESPAddr, s.cfg.ShardPassword, s.cfg.DialTimeout)
		if err == nil {
			return mp, m.Name, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", m.Name, err))
	}
	return nil, "", errors.Join(errs...)
}

// fetchMap sends SHOAL MAP (after AUTH when password is set) on a new
// connection and parses the reply.
func fetchMap(addr, password string, timeout time.Duration) (map[string]mapEntry, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(timeout))
	var req []byte
	if password != "" {
		req = proto.AppendCommandStrings(req, "AUTH", password)
	}
	req = proto.AppendCommandStrings(req, "SHOAL", "MAP")
	if _, err := nc.Write(req); err != nil {
		return nil, err
	}
	rd := proto.NewReader(nc, proto.Limits{})
	if password != "" {
		raw, err := rd.ReadReply()
		if err != nil {
			return nil, err
		}
		if v, err := proto.ParseReply(raw); err != nil || v.Err() != nil {
			return nil, fmt.Errorf("AUTH: %v %v", v.Err(), err)
		}
	}
	raw, err := rd.ReadReply()
	if err != nil {
		return nil, err
	}
	return parseMap(raw)
}

// parseMap decodes the SHOAL MAP reply: an array of
// [shard, master node, master address, epoch].
func parseMap(raw []byte) (map[string]mapEntry, error) {
	v, err := proto.ParseReply(raw)
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if v.Kind != proto.KindArray {
		return nil, fmt.Errorf("SHOAL MAP: not an array: %s", v)
	}
	m := make(map[string]mapEntry, len(v.Array))
	for _, e := range v.Array {
		if len(e.Array) != 4 || e.Array[3].Kind != proto.KindInteger || e.Array[3].Int < 0 {
			return nil, fmt.Errorf("SHOAL MAP: bad entry %s", e)
		}
		m[string(e.Array[0].Str)] = mapEntry{node: string(e.Array[1].Str), addr: string(e.Array[2].Str), epoch: uint64(e.Array[3].Int)}
	}
	return m, nil
}

// setMap installs a map read from node from and rebuilds the view when it
// differs from the last one.
func (r *router) setMap(m map[string]mapEntry, from string) {
	r.mu.Lock()
	same := len(m) == len(r.clusterMap)
	for k, e := range m {
		if r.clusterMap[k] != e {
			same = false
			break
		}
	}
	if !same {
		r.clusterMap, r.mapFrom = m, from
	}
	r.mu.Unlock()
	if !same {
		r.apply(nil, nil)
	}
}

// applyMap corrects a view being built (under r.mu) with the cluster map,
// as the comment at the top of this file says. nodeFor is build's.
func (r *router) applyMap(v *view, nodeFor func(string) *node) {
	for name, e := range r.clusterMap {
		sh := v.shards[name]
		if sh == nil || (sh.master != nil && e.epoch <= sh.epoch) {
			continue // unknown shard, or gossip is as new as the map
		}
		sh.mapEpoch = e.epoch
		m, ok := r.members[e.node]
		if ok && m.Alive() && m.TagsErr == nil && m.Tags.Shard == name && m.Tags.Epoch <= e.epoch && m.Tags.RESPAddr == e.addr {
			sh.master, sh.masterName, sh.epoch = nodeFor(e.addr), e.node, e.epoch
			continue
		}
		if sh.master != nil {
			r.s.log.Debug("not routing to a master of an older epoch than the map's", "shard", name,
				"master", sh.master.addr, "epoch", sh.epoch, "map_epoch", e.epoch, "map_master", e.node)
		}
		sh.master, sh.masterName, sh.epoch = nil, "", 0
	}
}
