package local

import (
	"errors"
	"time"
)

type procGroup struct{}

func newProcGroup(sc *Scenario, opt Options, col *collector) (*procGroup, error) {
	return nil, errors.New("not yet")
}
func (g *procGroup) launch(i, inst int, seeds []string) (handle, error) { return nil, nil }
func (g *procGroup) close()                                             {}
func (g *procGroup) clock(t time.Time)                                  {}
func (g *procGroup) injected() (uint64, uint64)                         { return 0, 0 }
