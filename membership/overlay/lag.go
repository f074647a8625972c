package overlay

// ReportLag tells the overlay that its node ran behind real time by ticks
// ticks: a frame waited that long in the owner's inbox before Step, or that
// many ticks went by without a Tick. A neighbour whose keepalive answer is
// among the frames not read yet is not silent, so for FailTicks/2 after a
// lag of at least a quarter of KeepaliveTicks the overlay declares no
// neighbour failed and gives up no NEIGHBOR request (counted in
// Stats.FailuresHeld); a crashed neighbour is declared once the lag is
// over. Replacing neighbours costs connections, and a node that cannot keep
// up should not add that work to its own load.
func (o *Overlay) ReportLag(ticks int) {
	if 4*ticks < max(o.cfg.KeepaliveTicks, 1) {
		return
	}
	o.lagSeen, o.lagAt = true, o.now
}

// holdFailures reports whether failure verdicts wait (ReportLag), counting
// the verdict held.
func (o *Overlay) holdFailures() bool {
	if !o.lagSeen || o.now-o.lagAt > int64(o.cfg.FailTicks/2) {
		return false
	}
	o.stats.FailuresHeld++
	return true
}
