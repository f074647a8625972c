package sim_test

import (
	"fmt"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

// echo is a minimal protocol: node 0 pings everyone on its first tick and
// every node answers a ping with a pong.
type echo struct {
	ep    *sim.Endpoint
	pongs *int
	sent  bool
}

func (e *echo) Tick() {
	if e.ep.Index() == 0 && !e.sent {
		e.sent = true
		for i := 1; i < e.ep.Network().Len(); i++ {
			e.ep.SendTo(i, []byte("ping"))
		}
	}
}

func (e *echo) Receive(from int, frame []byte) {
	switch string(frame) {
	case "ping":
		e.ep.SendTo(from, []byte("pong"))
	case "pong":
		*e.pongs++
	}
}

func Example() {
	net, err := sim.New(sim.Config{
		Nodes:        100,
		Seed:         1,
		TickInterval: time.Second,
		Latency:      sim.Uniform{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		Loss:         0.1,
	})
	if err != nil {
		panic(err)
	}
	pongs := 0
	for i := 0; i < net.Len(); i++ {
		net.SetHandler(i, &echo{ep: net.Endpoint(i), pongs: &pongs})
	}
	net.Crash(7)
	net.Run(2 * time.Second)
	t := net.Total()
	fmt.Printf("pongs %d, frames sent %d, lost %d, to crashed %d\n",
		pongs, t.FramesSent, t.DroppedLoss, t.DroppedCrash)
	// Output:
	// pongs 85, frames sent 191, lost 13, to crashed 1
}

// ExampleSpread gossips one message through 2,000 nodes by push-pull in
// the textbook round model.
func ExampleSpread() {
	r, err := sim.Spread(sim.SpreadConfig{
		N:           2000,
		Seed:        1,
		Engine:      sim.KarpConfig(core.PushPull),
		Synchronous: true,
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("everyone after %d rounds; residue %d\n", r.Rounds100, r.Residue)
	// Output:
	// everyone after 10 rounds; residue 0
}
