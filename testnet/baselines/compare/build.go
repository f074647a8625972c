package compare

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/testnet/baselines"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

func newRand(seed, stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x62617365^stream)) }

// transport sends through a node's endpoint; IDs are the simulator's.
type transport struct{ ep *sim.Endpoint }

func (t transport) Send(to core.NodeID, frame []byte) { t.ep.Send(to, frame) }

// buildBaseline installs one baseline node per simulated node and returns
// the nodes and the source's publish function.
func buildBaseline(p Params, net *sim.Network, ids []core.NodeID, g *baselines.Group, c *coords, tr *tracker) ([]node, func() error, error) {
	nodes := make([]node, p.N)
	payload := make([]byte, p.Payload)
	src := ids[0]
	var publish func() error
	var regions map[int][]core.NodeID // DR index -> members (RMTP)
	var drOf []int
	var drs []core.NodeID
	if p.Protocol == "rmtp" {
		drOf, regions, drs = rmtpRegions(p.N, c)
	}
	srmTicks := func(d time.Duration) int { return int(math.Ceil(float64(d) / float64(p.SRMTick))) }
	for i := 0; i < p.N; i++ {
		a := &app{t: tr, node: i, net: net}
		tp := transport{ep: net.Endpoint(i)}
		var nd node
		var err error
		switch p.Protocol {
		case "centralized":
			cfg := baselines.DefaultCentralizedConfig()
			cfg.ID, cfg.Source, cfg.Group, cfg.Transport, cfg.App = ids[i], src, g, tp, a
			if p.SendsPerTick > 0 {
				cfg.SendsPerTick = p.SendsPerTick
			}
			var x *baselines.Centralized
			x, err = baselines.NewCentralized(cfg)
			nd = x
			if i == 0 {
				publish = func() error { _, err := x.Publish("t", payload); return err }
			} else {
				// Receivers only react to frames: they need no ticks.
				defer net.SetTickInterval(i, 0)
			}
		case "tree":
			cfg := baselines.DefaultTreeConfig()
			cfg.ID, cfg.Root, cfg.Group, cfg.Transport, cfg.App = ids[i], src, g, tp, a
			if p.Arity > 0 {
				cfg.Arity = p.Arity
			}
			var x *baselines.Tree
			x, err = baselines.NewTree(cfg)
			nd = x
			if i == 0 {
				publish = func() error { _, err := x.Publish("t", payload); return err }
			}
		case "srm":
			cfg := baselines.DefaultSRMConfig()
			cfg.ID, cfg.Group, cfg.Transport, cfg.App = ids[i], g, tp, a
			cfg.Rand = net.NodeRand(i)
			cfg.SessionTicks = srmTicks(500 * time.Millisecond)
			// The repair window widens with the group (see the package
			// doc): D1 = D2 = max(1, log10 n).
			cfg.D1 = max(1, math.Log10(float64(p.N)))
			if p.SRMD > 0 {
				cfg.D1 = p.SRMD
			}
			cfg.D2 = cfg.D1
			self := i
			cfg.Distance = func(peer core.NodeID) int {
				j, ok := sim.Index(peer)
				if !ok || j >= p.N {
					return 1
				}
				return srmTicks(c.latency(self, j))
			}
			var x *baselines.SRM
			x, err = baselines.NewSRM(cfg)
			nd = x
			if i == 0 {
				publish = func() error { _, err := x.Publish("t", payload); return err }
			}
		case "rmtp":
			cfg := baselines.DefaultRMTPConfig()
			cfg.ID, cfg.Source, cfg.Group, cfg.Transport, cfg.App = ids[i], src, g, tp, a
			switch {
			case i == 0:
				cfg.Region = drs
			case drOf[i] == i:
				cfg.DR = src
				cfg.Region = regions[i]
			default:
				cfg.DR = ids[drOf[i]]
			}
			var x *baselines.RMTP
			x, err = baselines.NewRMTP(cfg)
			nd = x
			if i == 0 {
				publish = func() error { _, err := x.Publish("t", payload); return err }
			}
		}
		if err != nil {
			return nil, nil, err
		}
		nodes[i] = nd
		net.SetHandler(i, &handler{nd: nd, ids: ids})
	}
	return nodes, publish, nil
}

// rmtpRegions groups the receivers (all nodes but 0) into about √n regions
// of nearby nodes: cells of a grid over the unit square. Each region's DR
// is the member nearest the cell's centre.
func rmtpRegions(n int, c *coords) (drOf []int, regions map[int][]core.NodeID, drs []core.NodeID) {
	side := max(1, int(math.Round(math.Sqrt(math.Sqrt(float64(n))))))
	cells := make([][]int, side*side)
	for i := 1; i < n; i++ {
		cx := min(int(c.x[i]*float32(side)), side-1)
		cy := min(int(c.y[i]*float32(side)), side-1)
		cells[cy*side+cx] = append(cells[cy*side+cx], i)
	}
	drOf = make([]int, n)
	regions = map[int][]core.NodeID{}
	for k, members := range cells {
		if len(members) == 0 {
			continue
		}
		mx := (float32(k%side) + 0.5) / float32(side)
		my := (float32(k/side) + 0.5) / float32(side)
		best, bestD := -1, float32(math.MaxFloat32)
		for _, i := range members {
			d := (c.x[i]-mx)*(c.x[i]-mx) + (c.y[i]-my)*(c.y[i]-my)
			if d < bestD {
				best, bestD = i, d
			}
		}
		drs = append(drs, sim.ID(best))
		for _, i := range members {
			drOf[i] = best
			if i != best {
				regions[best] = append(regions[best], sim.ID(i))
			}
		}
	}
	slices.Sort(drs)
	return drOf, regions, drs
}

func addStats(a, b baselines.Stats) baselines.Stats {
	a.Published += b.Published
	a.Delivered += b.Delivered
	a.Duplicates += b.Duplicates
	a.DecodeErrors += b.DecodeErrors
	a.FramesSent += b.FramesSent
	a.MessagesSent += b.MessagesSent
	a.Retransmitted += b.Retransmitted
	a.ControlSent += b.ControlSent
	a.AckTimeouts += b.AckTimeouts
	a.GaveUp += b.GaveUp
	a.QueueDrops += b.QueueDrops
	a.ParentLost += b.ParentLost
	a.ChildrenLost += b.ChildrenLost
	a.Adoptions += b.Adoptions
	a.Reattachments += b.Reattachments
	a.RequestsSent += b.RequestsSent
	a.RequestsSuppressed += b.RequestsSuppressed
	a.RepairsSent += b.RepairsSent
	a.RepairsSuppressed += b.RepairsSuppressed
	a.RequestsAbandoned += b.RequestsAbandoned
	a.SessionsSent += b.SessionsSent
	a.StatusSent += b.StatusSent
	a.Subcasts += b.Subcasts
	a.Unicasts += b.Unicasts
	a.StoreEvicted += b.StoreEvicted
	a.OriginsDropped += b.OriginsDropped
	a.AboveOverflow += b.AboveOverflow
	return a
}
