package main

import "fmt"

// dueCheck checks a node's grapevine.Node.NextDue answers (-nextdue):
// after every tick and every input (a frame, a publish, a join, a driver
// timer) it asks the node how many ticks may pass before it next acts,
// and counts every tick before that one in which the node sent a frame,
// delivered a message or emitted a membership event. p2p's driver sleeps
// through such quiet ticks (p2p/tick_schedule.go), so each one counted
// here would be an output that a p2p peer sends late.
type dueCheck struct {
	on      bool
	ticks   int // ticks run
	dueAt   int // the tick the node may next act in, as last answered
	outputs int // outputs so far
	last    string
}

// dueStats sums the checks over the nodes.
type dueStats struct {
	ticks, quiet, violations int
	first                    string // the first violation
}

func (c *dueCheck) note(nd *node) {
	if c.on {
		c.dueAt = c.ticks + nd.gn.NextDue()
	}
}

func (c *dueCheck) output(what string) {
	if c.on {
		c.outputs++
		c.last = what
	}
}

// tick runs one of nd's ticks, checking that it acts only if it said it may.
func (c *dueCheck) tick(nd *node) {
	if !c.on {
		nd.gn.Tick()
		return
	}
	c.ticks++
	before, dueAt := c.outputs, c.dueAt
	nd.gn.Tick()
	st := &nd.w.due
	st.ticks++
	if c.ticks < dueAt {
		st.quiet++
		if c.outputs > before {
			st.violations++
			if st.first == "" {
				st.first = fmt.Sprintf("node %d at its tick %d (%v): %s in a tick it said was quiet (due at its tick %d)",
					nd.idx, c.ticks, nd.w.net.Now(), c.last, dueAt)
			}
		}
	}
}
