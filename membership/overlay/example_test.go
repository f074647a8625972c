package overlay_test

import (
	"fmt"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership/overlay"
)

// queue is a transport that holds frames until the owner delivers them:
// Send must not call back into the overlay.
type queue struct {
	from core.NodeID
	out  *[]frameTo
}

type frameTo struct {
	from, to core.NodeID
	frame    []byte
}

func (q queue) Send(to core.NodeID, frame []byte) {
	*q.out = append(*q.out, frameTo{q.from, to, frame})
}

func Example() {
	var wire []frameTo
	nodes := map[core.NodeID]*overlay.Overlay{}
	for _, id := range []core.NodeID{"a", "b", "c"} {
		cfg := overlay.DefaultConfig()
		cfg.ID, cfg.Transport = id, queue{from: id, out: &wire}
		cfg.OnUp = func(p core.NodeID) { fmt.Printf("%s: open a connection to %s\n", id, p) }
		ov, err := overlay.New(cfg)
		if err != nil {
			panic(err)
		}
		nodes[id] = ov
	}
	deliver := func() {
		for len(wire) > 0 {
			f := wire[0]
			wire = wire[1:]
			if err := nodes[f.to].Step(f.from, f.frame); err != nil {
				panic(err)
			}
		}
	}
	nodes["b"].Join("a")
	deliver()
	nodes["c"].Join("a") // a links up with c and walks it to b, which offers c a link
	deliver()
	fmt.Println("a's neighbours:", nodes["a"].Active(nil))
	// Output:
	// a: open a connection to b
	// b: open a connection to a
	// a: open a connection to c
	// c: open a connection to a
	// c: open a connection to b
	// b: open a connection to c
	// a's neighbours: [b c]
}
