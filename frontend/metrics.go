package frontend

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shoal-kv/shoal/internal/respserver"
	"github.com/shoal-kv/shoal/proto"
)

// metrics are the frontend's Prometheus series. Per-command series are
// created on first use, so /metrics lists only commands that were seen.
type metrics struct {
	commands         *prometheus.CounterVec   // by command
	latency          *prometheus.HistogramVec // by command: read to reply written
	errors           *prometheus.CounterVec   // error replies by code
	connections      prometheus.GaugeFunc     // from the connection registry
	connectionsTot   prometheus.CounterFunc   // likewise
	rejected         prometheus.CounterFunc   // likewise
	upstreamLatency  *prometheus.HistogramVec // by node address
	upstreamErrors   *prometheus.CounterVec   // by kind: dial, conn, timeout
	upstreamWrites   prometheus.Counter       // write syscalls to shard nodes
	upstreamRequests prometheus.Counter       // requests sent to shard nodes
	ready            prometheus.Gauge
	shards           prometheus.Gauge
	shardsMaster     prometheus.Gauge

	failoverHeld      prometheus.Gauge         // requests in the failover buffer now
	failoverHeldTotal prometheus.Counter       // requests ever held
	failoverTimeouts  prometheus.Counter       // held requests that failed when their time was up
	failoverFull      prometheus.Counter       // requests refused because the buffer was full
	failoverHold      *prometheus.HistogramVec // time held, by outcome: sent, timeout

	byCmd   map[*proto.CommandSpec]*cmdMetrics // read-only after newMetrics
	unknown *cmdMetrics

	errMu  sync.Mutex
	errByC map[string]prometheus.Counter
}

// cmdMetrics are one command's series, made on first use.
type cmdMetrics struct {
	once    sync.Once
	name    string
	count   prometheus.Counter
	latency prometheus.Observer
}

// latencyBuckets span 25 µs to 2.5 s.
var latencyBuckets = []float64{.000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

func newMetrics(reg prometheus.Registerer, conns *respserver.Conns[*clientConn]) (*metrics, error) {
	m := &metrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "commands_total",
			Help: "Commands received, by command name.",
		}, []string{"cmd"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "command_duration_seconds",
			Help:    "Time from reading a command's batch to writing its reply, by command name.",
			Buckets: latencyBuckets,
		}, []string{"cmd"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "error_replies_total",
			Help: "Error replies sent to clients, by error code (ERR, WRONGTYPE, CLUSTERDOWN, CROSSSLOT, ...).",
		}, []string{"code"}),
		connections: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "connections",
			Help: "Client connections open now.",
		}, func() float64 { return float64(conns.Len()) }),
		connectionsTot: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "connections_total",
			Help: "Client connections accepted.",
		}, func() float64 { return float64(conns.Received()) }),
		rejected: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "rejected_connections_total",
			Help: "Client connections refused (maxclients, shutting down).",
		}, func() float64 { return float64(conns.Rejected()) }),
		upstreamLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "upstream_duration_seconds",
			Help:    "Time from queueing a request for a shard node to reading its reply, by node address.",
			Buckets: latencyBuckets,
		}, []string{"node"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "upstream_errors_total",
			Help: "Upstream failures by kind: dial, conn (connection lost), timeout.",
		}, []string{"kind"}),
		upstreamWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "upstream_writes_total",
			Help: "Writes to shard nodes' pipelined connections (requests_total / writes_total = batching).",
		}),
		upstreamRequests: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "upstream_requests_total",
			Help: "Requests sent on shard nodes' pipelined connections.",
		}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "ready",
			Help: "1 when the frontend serves data commands.",
		}),
		shards: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "shards",
			Help: "Shards in the shard set.",
		}),
		shardsMaster: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "shards_with_master",
			Help: "Shards that have a reachable master.",
		}),
		failoverHeld: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "failover_buffer_requests",
			Help: "Requests held now by the failover buffer (their shard has no reachable master).",
		}),
		failoverHeldTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "failover_buffered_total",
			Help: "Requests held by the failover buffer.",
		}),
		failoverTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "failover_buffer_timeouts_total",
			Help: "Held requests that failed with CLUSTERDOWN because no master appeared within failover-buffer.",
		}),
		failoverFull: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "failover_buffer_full_total",
			Help: "Requests that failed at once because the failover buffer held failover-buffer-size requests.",
		}),
		failoverHold: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "shoal", Subsystem: "frontend", Name: "failover_hold_duration_seconds",
			Help:    "Time requests spent in the failover buffer, by outcome: sent (to a new master) or timeout.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 1.5, 2, 3, 5, 10},
		}, []string{"outcome"}),
		byCmd:  make(map[*proto.CommandSpec]*cmdMetrics),
		errByC: make(map[string]prometheus.Counter),
	}
	for _, c := range []prometheus.Collector{m.commands, m.latency, m.errors, m.connections, m.connectionsTot,
		m.rejected, m.upstreamLatency, m.upstreamErrors, m.upstreamWrites, m.upstreamRequests, m.ready, m.shards, m.shardsMaster,
		m.failoverHeld, m.failoverHeldTotal, m.failoverTimeouts, m.failoverFull, m.failoverHold} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, s := range proto.All() {
		m.byCmd[s] = &cmdMetrics{name: s.Name}
		for _, sub := range s.Subcommands {
			m.byCmd[sub] = &cmdMetrics{name: s.Name}
		}
	}
	m.unknown = &cmdMetrics{name: "unknown"}
	return m, nil
}

// forCmd returns spec's series (nil spec: unknown commands).
func (m *metrics) forCmd(spec *proto.CommandSpec) *cmdMetrics {
	cm := m.unknown
	if spec != nil {
		if c := m.byCmd[spec]; c != nil {
			cm = c
		}
	}
	cm.once.Do(func() {
		cm.count = m.commands.WithLabelValues(cm.name)
		cm.latency = m.latency.WithLabelValues(cm.name)
	})
	return cm
}

// countError counts an error reply frame by its code.
func (m *metrics) countError(frame []byte) {
	code := frame[1:min(len(frame), 33)]
	for i, ch := range code {
		if ch == ' ' || ch == '\r' {
			code = code[:i]
			break
		}
	}
	m.errMu.Lock()
	c := m.errByC[string(code)] // no allocation for a lookup
	if c == nil {
		name := string(code)
		if len(m.errByC) >= 64 { // bound the label set
			name = "other"
		}
		if c = m.errByC[name]; c == nil {
			c = m.errors.WithLabelValues(name)
			m.errByC[name] = c
		}
	}
	m.errMu.Unlock()
	c.Inc()
}
