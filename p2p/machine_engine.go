package p2p

import (
	"math/rand/v2"
	"slices"

	"github.com/grapevine-p2p/grapevine/core"
)

// MembershipStats are membership's counters.
type MembershipStats struct{}

// engineMachine runs the gossip engine alone over the set of peers heard
// from or joined (no failure detection).
type engineMachine struct {
	p     *Peer
	e     *core.Engine
	peers []core.NodeID
	rng   *rand.Rand
}

func newMachine(p *Peer) (machine, core.Limits, error) {
	m := &engineMachine{p: p, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	cfg := engineConfig(p)
	cfg.Sampler = m
	e, err := core.New(cfg)
	if err != nil {
		return nil, core.Limits{}, err
	}
	m.e = e
	return m, cfg.Limits, nil
}

func (m *engineMachine) add(id core.NodeID) {
	if id == m.p.id {
		return
	}
	i, found := slices.BinarySearch(m.peers, id)
	if !found {
		m.peers = slices.Insert(m.peers, i, id)
	}
}

func (m *engineMachine) Sample(dst []core.NodeID, k int) []core.NodeID {
	return core.SampleDistinct(dst, k, len(m.peers), m.rng, func(i int) core.NodeID { return m.peers[i] })
}
func (m *engineMachine) Size() int { return len(m.peers) + 1 }
func (m *engineMachine) Tick()     { m.e.Tick() }
func (m *engineMachine) Step(from core.NodeID, raw []byte) error {
	m.add(from)
	return m.e.Step(from, raw)
}
func (m *engineMachine) Publish(topic string, payload []byte, prio uint8, ts int64) (*core.Message, error) {
	return m.e.Publish(topic, payload, prio, ts)
}
func (m *engineMachine) Join(seeds []core.NodeID) {
	for _, s := range seeds {
		m.add(s)
	}
}
func (m *engineMachine) Leave() {}
func (m *engineMachine) Members() []Member {
	out := []Member{{ID: m.p.host.ID(), State: StateAlive, Self: true}}
	for _, id := range m.peers {
		pid, _ := PeerID(id)
		out = append(out, Member{ID: pid, State: StateAlive})
	}
	return out
}
func (m *engineMachine) EngineStats() core.Stats          { return m.e.Stats() }
func (m *engineMachine) MembershipStats() MembershipStats { return MembershipStats{} }
