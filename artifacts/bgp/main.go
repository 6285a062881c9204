// kubev6-bgp: the BGP speaker of `network.routing: bgp`, GoBGP (github.com/osrg/gobgp/v4) as a
// library with a FIB writer of its own (gobgpd installs routes into the kernel only through zebra,
// which is not available here).
//
// A node announces its own pod prefix over an IPv6 iBGP session to the gateway; the gateway is the
// route reflector, accepting any node of the node prefix as a client (dynamic neighbors), so neither
// side's config names the other nodes: it stays the same size however many nodes there are. Every
// speaker writes the best paths it learned into the kernel (netlink, `proto <routeProtocol>`,
// replaced in place) and removes those of its protocol that are no longer best, on each change of
// the RIB and every few seconds. A status file (JSON: sessions, learned routes) is rewritten with it.
// On SIGTERM the sessions are closed (a Cease notification: the reflector withdraws the node's
// prefix at once) and the routes this speaker installed are removed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
	"github.com/vishvananda/netlink"
)

// Config is the rendered /etc/kubev6/bgp.json (rendering/bgp.py writes it).
type Config struct {
	ASN              uint32   `json:"asn"`
	RouterID         string   `json:"routerId"`
	Address          string   `json:"address"`          // this machine's node address: the sessions' source
	ListenPort       int32    `json:"listenPort"`       // -1: do not listen (nodes connect to the reflector)
	Announce         []string `json:"announce"`         // prefixes this machine originates (its pod /64)
	Peers            []string `json:"peers"`            // neighbors to connect to (nodes: the gateway)
	DynamicNeighbors string   `json:"dynamicNeighbors"` // the reflector: accept iBGP clients from this prefix
	Device           string   `json:"device"`           // the interface routes go out of
	RouteProtocol    int      `json:"routeProtocol"`    // the kernel routes' protocol number
	Metric           int      `json:"metric"`
	HoldTime         uint64   `json:"holdTime"`
	StatusFile       string   `json:"statusFile"`
}

type peerStatus struct {
	Address string `json:"address"`
	State   string `json:"state"`
	Up      bool   `json:"established"`
}

type status struct {
	Time      string            `json:"time"`
	RouterID  string            `json:"routerId"`
	Announced []string          `json:"announced"`
	Peers     []peerStatus      `json:"peers"`
	Routes    map[string]string `json:"routes"` // installed: prefix -> next hop
}

func main() {
	path := flag.String("config", "/etc/kubev6/bgp.json", "config file")
	check := flag.Bool("check", false, "read the config and exit")
	flag.Parse()
	raw, err := os.ReadFile(*path)
	if err != nil {
		fatal("read config", err)
	}
	var cfg Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		fatal("parse config", err)
	}
	if *check {
		fmt.Println("config ok")
		return
	}
	if err := run(cfg); err != nil {
		fatal("run", err)
	}
}

func fatal(what string, err error) {
	fmt.Fprintf(os.Stderr, "kubev6-bgp: %s: %v\n", what, err)
	os.Exit(1)
}

func ipv6Unicast() *api.Family {
	return &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
}

func afiSafis() []*api.AfiSafi {
	return []*api.AfiSafi{{Config: &api.AfiSafiConfig{Family: ipv6Unicast(), Enabled: true}}}
}

func timers(hold uint64) *api.Timers {
	keepalive := hold / 3
	if keepalive == 0 {
		keepalive = 1
	}
	return &api.Timers{Config: &api.TimersConfig{HoldTime: hold, KeepaliveInterval: keepalive, ConnectRetry: 3}}
}

func run(cfg Config) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	level := &slog.LevelVar{}
	level.Set(slog.LevelWarn)
	s := server.NewBgpServer(server.LoggerOption(log, level))
	go s.Serve()
	ctx := context.Background()
	global := &api.Global{Asn: cfg.ASN, RouterId: cfg.RouterID, ListenPort: cfg.ListenPort}
	if cfg.ListenPort > 0 {
		global.ListenAddresses = []string{cfg.Address}
	}
	if err := s.StartBgp(ctx, &api.StartBgpRequest{Global: global}); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if cfg.DynamicNeighbors != "" {
		group := &api.PeerGroup{
			Conf:           &api.PeerGroupConf{PeerGroupName: "nodes", PeerAsn: cfg.ASN},
			RouteReflector: &api.RouteReflector{RouteReflectorClient: true, RouteReflectorClusterId: cfg.RouterID},
			Timers:         timers(cfg.HoldTime),
			AfiSafis:       afiSafis(),
		}
		if err := s.AddPeerGroup(ctx, &api.AddPeerGroupRequest{PeerGroup: group}); err != nil {
			return fmt.Errorf("peer group: %w", err)
		}
		dyn := &api.DynamicNeighbor{Prefix: cfg.DynamicNeighbors, PeerGroup: "nodes"}
		if err := s.AddDynamicNeighbor(ctx, &api.AddDynamicNeighborRequest{DynamicNeighbor: dyn}); err != nil {
			return fmt.Errorf("dynamic neighbors: %w", err)
		}
	}
	for _, p := range cfg.Peers {
		peer := &api.Peer{
			Conf:      &api.PeerConf{NeighborAddress: p, PeerAsn: cfg.ASN},
			Timers:    timers(cfg.HoldTime),
			Transport: &api.Transport{LocalAddress: cfg.Address},
			AfiSafis:  afiSafis(),
		}
		if err := s.AddPeer(ctx, &api.AddPeerRequest{Peer: peer}); err != nil {
			return fmt.Errorf("peer %s: %w", p, err)
		}
	}
	self, err := netip.ParseAddr(cfg.Address)
	if err != nil {
		return fmt.Errorf("address: %w", err)
	}
	for _, a := range cfg.Announce {
		prefix, err := netip.ParsePrefix(a)
		if err != nil {
			return fmt.Errorf("announce %s: %w", a, err)
		}
		nlri, err := bgp.NewIPAddrPrefix(prefix)
		if err != nil {
			return fmt.Errorf("announce %s: %w", a, err)
		}
		reach, err := bgp.NewPathAttributeMpReachNLRI(bgp.RF_IPv6_UC, []bgp.PathNLRI{{NLRI: nlri}}, self)
		if err != nil {
			return fmt.Errorf("announce %s: %w", a, err)
		}
		attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(0), reach}
		if _, err := s.AddPath(apiutil.AddPathRequest{Paths: []*apiutil.Path{{Family: bgp.RF_IPv6_UC, Nlri: nlri, Attrs: attrs}}}); err != nil {
			return fmt.Errorf("announce %s: %w", a, err)
		}
	}

	link, err := netlink.LinkByName(cfg.Device)
	if err != nil {
		return fmt.Errorf("device %s: %w", cfg.Device, err)
	}
	changed := make(chan struct{}, 1)
	poke := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	watch := server.WatchEventMessageCallbacks{
		OnBestPath:   func([]*apiutil.Path, time.Time) { poke() },
		OnPeerUpdate: func(*apiutil.WatchEventMessage_PeerEvent, time.Time) { poke() },
	}
	if err := s.WatchEvent(ctx, watch, server.WatchBestPath(true), server.WatchPeer()); err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-changed:
		case <-tick.C:
		case sig := <-signals:
			log.Warn("stopping", "signal", sig.String())
			_ = s.StopBgp(ctx, &api.StopBgpRequest{})
			_ = sync(cfg, link, self, nil)
			_ = os.Remove(cfg.StatusFile)
			return nil
		}
		want := learned(s, self)
		if err := sync(cfg, link, self, want); err != nil {
			log.Error("routes", "error", err)
		}
		writeStatus(cfg, s, want)
	}
}

// learned: the best path of every prefix a peer announced, by prefix, with its next hop.
func learned(s *server.BgpServer, self netip.Addr) map[netip.Prefix]netip.Addr {
	want := map[netip.Prefix]netip.Addr{}
	_ = s.ListPath(apiutil.ListPathRequest{TableType: api.TableType_TABLE_TYPE_GLOBAL, Family: bgp.RF_IPv6_UC},
		func(nlri bgp.NLRI, paths []*apiutil.Path) {
			prefix, err := netip.ParsePrefix(nlri.String())
			if err != nil {
				return
			}
			for _, p := range paths {
				if !p.Best || p.Withdrawal || !p.PeerAddress.IsValid() {
					continue // a local path (this machine's own prefix) has no peer
				}
				for _, a := range p.Attrs {
					if reach, ok := a.(*bgp.PathAttributeMpReachNLRI); ok && reach.Nexthop.IsValid() && reach.Nexthop != self {
						want[prefix] = reach.Nexthop
					}
				}
			}
		})
	return want
}

// sync makes the kernel's routes of cfg.RouteProtocol exactly `want`.
func sync(cfg Config, link netlink.Link, self netip.Addr, want map[netip.Prefix]netip.Addr) error {
	have, err := netlink.RouteListFiltered(netlink.FAMILY_V6, &netlink.Route{Protocol: netlink.RouteProtocol(cfg.RouteProtocol)}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return err
	}
	var firstErr error
	for _, r := range have {
		if r.Dst == nil {
			continue
		}
		prefix, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		if _, keep := want[netip.PrefixFrom(prefix.Unmap(), ones)]; !keep {
			if err := netlink.RouteDel(&r); err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	for prefix, via := range want {
		route := &netlink.Route{
			LinkIndex: link.Attrs().Index,
			Dst:       &net.IPNet{IP: prefix.Addr().AsSlice(), Mask: net.CIDRMask(prefix.Bits(), 128)},
			Gw:        via.AsSlice(),
			Protocol:  netlink.RouteProtocol(cfg.RouteProtocol),
			Priority:  cfg.Metric,
			Family:    netlink.FAMILY_V6,
		}
		if err := netlink.RouteReplace(route); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("%s via %s: %w", prefix, via, err)
		}
	}
	return firstErr
}

func writeStatus(cfg Config, s *server.BgpServer, routes map[netip.Prefix]netip.Addr) {
	if cfg.StatusFile == "" {
		return
	}
	st := status{Time: time.Now().UTC().Format(time.RFC3339), RouterID: cfg.RouterID, Announced: cfg.Announce, Routes: map[string]string{}}
	_ = s.ListPeer(context.Background(), &api.ListPeerRequest{}, func(p *api.Peer) {
		state := p.GetState()
		st.Peers = append(st.Peers, peerStatus{
			Address: state.GetNeighborAddress(),
			State:   state.GetSessionState().String(),
			Up:      state.GetSessionState() == api.PeerState_SESSION_STATE_ESTABLISHED,
		})
	})
	sort.Slice(st.Peers, func(i, j int) bool { return st.Peers[i].Address < st.Peers[j].Address })
	for prefix, via := range routes {
		st.Routes[prefix.String()] = via.String()
	}
	raw, _ := json.MarshalIndent(st, "", "  ")
	tmp := cfg.StatusFile + ".tmp"
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o644); err == nil {
		_ = os.Rename(tmp, cfg.StatusFile)
	}
}
