package frontend

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AdminHandler serves the admin HTTP endpoints:
//
//	/metrics   Prometheus metrics (commands, latencies, errors, connections, upstream)
//	/healthz   200 while the process runs
//	/readyz    200 once ExpectShards shards have a master and until shutdown begins, else 503
//	/cluster   the cluster view as JSON (ClusterStatus)
//	/debug/pprof/  when Config.EnablePprof
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.Ready() {
			fmt.Fprintln(w, "ready")
			return
		}
		v := s.router.view()
		w.WriteHeader(http.StatusServiceUnavailable)
		if s.draining.Load() {
			fmt.Fprintln(w, "shutting down")
			return
		}
		fmt.Fprintf(w, "not ready: %d of %d expected shards have a master\n", v.withMaster, s.cfg.ExpectShards)
	})
	mux.HandleFunc("/cluster", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(s.ClusterStatus())
	})
	if s.cfg.EnablePprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// ClusterStatus is the frontend's view of the cluster (/cluster).
type ClusterStatus struct {
	Ready        bool           `json:"ready"`
	ReadySince   *time.Time     `json:"ready_since,omitempty"`
	ExpectShards int            `json:"expect_shards"`
	ReadPolicy   ReadPolicy     `json:"read_policy"`
	Shards       []ShardStatus  `json:"shards"`
	Members      []MemberStatus `json:"members"`
}

// ShardStatus is one shard of ClusterStatus.
type ShardStatus struct {
	Name       string          `json:"name"`
	Master     string          `json:"master,omitempty"` // RESP address; empty when none
	MasterNode string          `json:"master_node,omitempty"`
	Epoch      uint64          `json:"epoch"`               // the master's epoch (the highest an alive master announces, or the map's)
	MapEpoch   uint64          `json:"map_epoch,omitempty"` // set when the cluster map overrode gossip for this shard
	Routable   bool            `json:"routable"`
	Held       int             `json:"held"` // requests the failover buffer holds for the shard now
	Replicas   []ReplicaStatus `json:"replicas"`
}

// ReplicaStatus is one replica of a ShardStatus.
type ReplicaStatus struct {
	Addr   string `json:"addr"`
	Node   string `json:"node"`
	Cached bool   `json:"cached"`
	LagMS  int64  `json:"lag_ms"` // -1 when unknown
	Usable bool   `json:"usable"` // for replica reads now
}

// MemberStatus is one gossip member of ClusterStatus.
type MemberStatus struct {
	Name     string `json:"name"`
	Addr     string `json:"addr"`
	Status   string `json:"status"`
	Role     string `json:"role,omitempty"`
	Shard    string `json:"shard,omitempty"`
	ReplRole string `json:"repl_role,omitempty"`
	Epoch    uint64 `json:"epoch,omitempty"`
	RESPAddr string `json:"resp_addr,omitempty"`
	TagsErr  string `json:"tags_error,omitempty"`
}

// ClusterStatus returns the current view.
func (s *Server) ClusterStatus() ClusterStatus {
	v := s.router.view()
	st := ClusterStatus{Ready: s.Ready(), ExpectShards: s.cfg.ExpectShards, ReadPolicy: s.cfg.ReadPolicy,
		Shards: []ShardStatus{}, Members: []MemberStatus{}}
	if at := s.readyAt.Load(); at != 0 {
		t := time.Unix(0, at)
		st.ReadySince = &t
	}
	for _, sh := range v.order {
		ss := ShardStatus{Name: sh.name, Master: addrOf(sh.master), MasterNode: sh.masterName, Epoch: sh.epoch, MapEpoch: sh.mapEpoch,
			Routable: v.ring != nil && (!s.cfg.EjectFailedShards || sh.master != nil), Held: s.fobuf.held(sh.name),
			Replicas: []ReplicaStatus{}}
		for _, r := range sh.replicas {
			usable := !r.n.down() && (s.cfg.MaxReplicaLag == 0 || r.n.lagOK.Load())
			ss.Replicas = append(ss.Replicas, ReplicaStatus{Addr: r.n.addr, Node: r.name, Cached: r.cached,
				LagMS: r.n.lag.Load(), Usable: usable})
		}
		st.Shards = append(st.Shards, ss)
	}
	for _, m := range v.members {
		ms := MemberStatus{Name: m.Name, Addr: m.Addr.String(), Status: m.Status.String(), Role: string(m.Tags.Role),
			Shard: m.Tags.Shard, ReplRole: string(m.Tags.ReplRole), Epoch: m.Tags.Epoch, RESPAddr: m.Tags.RESPAddr}
		if m.TagsErr != nil {
			ms.TagsErr = m.TagsErr.Error()
		}
		st.Members = append(st.Members, ms)
	}
	return st
}
