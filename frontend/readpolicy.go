package frontend

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shoal-kv/shoal/proto"
)

// LagProbe measures how far a shard's replicas are behind its master. The
// frontend calls it every ReplicaLagInterval for each shard that has
// replicas, when a replica read policy and MaxReplicaLag are set.
type LagProbe interface {
	// ReplicaLags returns the lag of each of replicas (RESP addresses, as
	// gossip announces them) behind master. A replica missing from the
	// result is not usable (not connected, not in sync, unknown).
	ReplicaLags(ctx context.Context, master string, replicas []string) (map[string]time.Duration, error)
}

// RedisLagProbe reads the master's INFO replication in Redis's format:
// one "slaveN:ip=...,port=...,state=online,offset=...,lag=<seconds>" line
// per connected replica. A replica matches by ip:port, or by port alone
// when the master sees it from another address and the port is unique.
// Only replicas in state "online" are returned.
type RedisLagProbe struct {
	Timeout  time.Duration // per probe (dial, write, read); default 1 s
	Password string        // AUTH password of the shard nodes, if any
}

// ReplicaLags implements LagProbe.
func (p RedisLagProbe) ReplicaLags(ctx context.Context, master string, replicas []string) (map[string]time.Duration, error) {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", master)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	if err := authenticate(nc, p.Password, timeout); err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(timeout))
	if _, err := nc.Write(proto.AppendCommandStrings(nil, "INFO", "replication")); err != nil {
		return nil, err
	}
	rd := proto.NewReaderSize(bufio.NewReader(nc), proto.Limits{}, 4096)
	frame, err := rd.ReadReply()
	if err != nil {
		return nil, err
	}
	v, err := proto.ParseReply(frame)
	if err != nil {
		return nil, err
	}
	if v.Kind != proto.KindBulk {
		return nil, fmt.Errorf("frontend: INFO replication from %s: unexpected reply %s", master, v)
	}
	return matchReplicaLags(parseInfoReplicas(string(v.Str)), replicas), nil
}

// infoReplica is one "slaveN:" line of INFO replication.
type infoReplica struct {
	ip, port, state string
	lag             time.Duration
}

func parseInfoReplicas(info string) []infoReplica {
	var out []infoReplica
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "slave") {
			continue
		}
		_, fields, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var r infoReplica
		lagSet := false
		for _, f := range strings.Split(fields, ",") {
			k, val, _ := strings.Cut(f, "=")
			switch k {
			case "ip":
				r.ip = val
			case "port":
				r.port = val
			case "state":
				r.state = val
			case "lag":
				if secs, err := strconv.ParseFloat(val, 64); err == nil {
					r.lag = time.Duration(secs * float64(time.Second))
					lagSet = true
				}
			}
		}
		if r.port != "" && lagSet {
			out = append(out, r)
		}
	}
	return out
}

func matchReplicaLags(listed []infoReplica, replicas []string) map[string]time.Duration {
	out := make(map[string]time.Duration, len(replicas))
	for _, addr := range replicas {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			continue
		}
		var byPort []infoReplica
		found := false
		for _, r := range listed {
			if r.port != port {
				continue
			}
			if r.ip == host {
				if r.state == "online" {
					out[addr] = r.lag
				}
				found = true
				break
			}
			byPort = append(byPort, r)
		}
		if !found && len(byPort) == 1 && byPort[0].state == "online" {
			out[addr] = byPort[0].lag
		}
	}
	return out
}

// lagProber keeps every replica node's lagOK current.
type lagProber struct {
	s     *Server
	probe LagProbe
}

func newLagProber(s *Server, probe LagProbe) *lagProber { return &lagProber{s: s, probe: probe} }

func (lp *lagProber) run() {
	defer lp.s.bg.Done()
	t := time.NewTicker(lp.s.cfg.ReplicaLagInterval)
	defer t.Stop()
	for {
		lp.round()
		select {
		case <-lp.s.quit:
			return
		case <-t.C:
		}
	}
}

// round probes every shard with replicas, in parallel.
func (lp *lagProber) round() {
	v := lp.s.router.view()
	ctx, cancel := context.WithTimeout(context.Background(), lp.s.cfg.ReplicaLagInterval)
	defer cancel()
	var wg sync.WaitGroup
	for _, sh := range v.order {
		if len(sh.replicas) == 0 {
			continue
		}
		wg.Add(1)
		go func(sh *shardView) {
			defer wg.Done()
			lp.probeShard(ctx, sh)
		}(sh)
	}
	wg.Wait()
}

func (lp *lagProber) probeShard(ctx context.Context, sh *shardView) {
	max := lp.s.cfg.MaxReplicaLag
	addrs := make([]string, len(sh.replicas))
	for i, r := range sh.replicas {
		addrs[i] = r.n.addr
	}
	var lags map[string]time.Duration
	var err error
	if sh.master != nil {
		lags, err = lp.probe.ReplicaLags(ctx, sh.master.addr, addrs)
		if err != nil {
			lp.s.log.Debug("probing replica lag", "shard", sh.name, "master", sh.master.addr, "err", err)
		}
	}
	for _, r := range sh.replicas {
		lag, ok := lags[r.n.addr]
		if !ok {
			r.n.lag.Store(-1)
			r.n.lagOK.Store(false)
			continue
		}
		r.n.lag.Store(lag.Milliseconds())
		r.n.lagOK.Store(lag <= max)
	}
}
