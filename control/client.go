package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/shoal-kv/shoal/proto"
)

// shardClient talks RESP to shardd nodes: one short-lived connection per
// command, bounded by a timeout, with AUTH first when a password is set.
// It is safe for concurrent use.
type shardClient struct {
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	password string
}

func newShardClient(cfg Config) *shardClient {
	c := &shardClient{dial: cfg.Dial, password: cfg.Password}
	if c.dial == nil {
		var d net.Dialer
		c.dial = d.DialContext
	}
	return c
}

// do sends one command to addr and returns its reply. A transport failure
// is returned as an error naming addr; an error reply from the server is
// returned as a proto.Error (match with errors.As).
func (c *shardClient) do(ctx context.Context, timeout time.Duration, addr string, args ...string) (proto.Value, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := c.dial(ctx, "tcp", addr)
	if err != nil {
		return proto.Value{}, fmt.Errorf("dialing %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var req []byte
	if c.password != "" {
		req = proto.AppendCommandStrings(req, "AUTH", c.password)
	}
	req = proto.AppendCommandStrings(req, args...)
	if _, err := conn.Write(req); err != nil {
		return proto.Value{}, fmt.Errorf("%s %s: %w", args[0], addr, err)
	}
	rd := proto.NewReader(conn, proto.DefaultLimits())
	if c.password != "" {
		if v, err := readValue(rd); err != nil {
			return proto.Value{}, fmt.Errorf("AUTH %s: %w", addr, err)
		} else if err := v.Err(); err != nil {
			return proto.Value{}, fmt.Errorf("AUTH %s: %w", addr, err)
		}
	}
	v, err := readValue(rd)
	if err != nil {
		return proto.Value{}, fmt.Errorf("%s %s: %w", args[0], addr, err)
	}
	if err := v.Err(); err != nil {
		return v, err
	}
	return v, nil
}

func readValue(rd *proto.Reader) (proto.Value, error) {
	frame, err := rd.ReadReply()
	if err != nil {
		return proto.Value{}, err
	}
	return proto.ParseReply(frame)
}

// ping sends PING and expects PONG.
func (c *shardClient) ping(ctx context.Context, timeout time.Duration, addr string) error {
	v, err := c.do(ctx, timeout, addr, "PING")
	if err != nil {
		return err
	}
	if v.Kind != proto.KindSimpleString || string(v.Str) != "PONG" {
		return fmt.Errorf("PING %s: unexpected reply %v", addr, v)
	}
	return nil
}

// roleInfo is a parsed ROLE reply.
type roleInfo struct {
	master    bool
	offset    uint64     // master: last log index; replica: applied index
	followers []follower // master only: connected replicas
}

type follower struct {
	addr  string // IP:PORT the replica announced
	acked uint64 // highest index it acknowledged
}

// role sends ROLE and parses Redis's shapes:
// master ["master", offset, [[ip, port, acked], ...]],
// replica ["slave", host, port, state, offset].
func (c *shardClient) role(ctx context.Context, timeout time.Duration, addr string) (roleInfo, error) {
	v, err := c.do(ctx, timeout, addr, "ROLE")
	if err != nil {
		return roleInfo{}, err
	}
	r, err := parseRole(v)
	if err != nil {
		return roleInfo{}, fmt.Errorf("ROLE %s: %w", addr, err)
	}
	return r, nil
}

var errBadRole = errors.New("unexpected ROLE reply")

func parseRole(v proto.Value) (roleInfo, error) {
	bad := func() (roleInfo, error) { return roleInfo{}, fmt.Errorf("%w: %v", errBadRole, v) }
	if v.Kind != proto.KindArray || len(v.Array) == 0 || v.Array[0].Kind != proto.KindBulk {
		return bad()
	}
	a := v.Array
	switch string(a[0].Str) {
	case "master":
		if len(a) != 3 || a[1].Kind != proto.KindInteger || a[1].Int < 0 || a[2].Kind != proto.KindArray {
			return bad()
		}
		r := roleInfo{master: true, offset: uint64(a[1].Int)}
		for _, f := range a[2].Array {
			if f.Kind != proto.KindArray || len(f.Array) != 3 {
				return bad()
			}
			acked, err := strconv.ParseUint(string(f.Array[2].Str), 10, 64)
			if err != nil {
				return bad()
			}
			r.followers = append(r.followers, follower{
				addr: net.JoinHostPort(string(f.Array[0].Str), string(f.Array[1].Str)), acked: acked})
		}
		return r, nil
	case "slave":
		if len(a) != 5 || a[4].Kind != proto.KindInteger || a[4].Int < 0 {
			return bad()
		}
		return roleInfo{offset: uint64(a[4].Int)}, nil
	}
	return bad()
}

// roleAll asks ROLE of every address in parallel; failed ones are absent
// from the result.
func (c *shardClient) roleAll(ctx context.Context, timeout time.Duration, addrs []string) map[string]roleInfo {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		out = make(map[string]roleInfo, len(addrs))
	)
	for _, a := range addrs {
		wg.Go(func() {
			r, err := c.role(ctx, timeout, a)
			if err != nil {
				return
			}
			mu.Lock()
			out[a] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}
