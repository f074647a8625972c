package p2p

// PenaltyGater is the connection gater of the hosts a Peer builds (gater),
// for a host built elsewhere and given with WithHost (package wasm builds
// the browser's): it refuses to dial, and refuses connections from, peers
// the Peer has penalized (its misbehaviour score above the threshold; see doc.go).
// Create it before the host, install it on the host's swarm and upgrader
// (it implements connmgr.ConnectionGater), and give it to New with
// WithPenaltyGater. One gater serves one Peer.
type PenaltyGater struct{ *gater }

// NewPenaltyGater returns a gater that refuses nobody until the Peer it is
// given to (WithPenaltyGater) starts.
func NewPenaltyGater() *PenaltyGater { return &PenaltyGater{&gater{}} }

// WithPenaltyGater makes the Peer report its penalized peers to g, the
// gater installed on the host given with WithHost.
func WithPenaltyGater(g *PenaltyGater) Option {
	return func(s *settings) error {
		s.gater = g.gater
		return nil
	}
}
