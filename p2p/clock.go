package p2p

import "time"

// Deadlines and instants a peer keeps per stream, per address or per remote
// are stored as int64 nanoseconds rather than time.Time (24 bytes, and not
// atomic). They are read off the monotonic clock, as time.Time comparisons
// are: wall-clock nanoseconds (UnixNano) jump when the system clock is
// stepped (NTP, a VM or laptop resuming), which would reset silent streams
// early or keep them late, and end or stretch address backoffs and
// penalties by the size of the step.

// monoBase anchors monoNanos; set once, when the package loads.
var monoBase = time.Now()

// monoNanos is t as nanoseconds since monoBase, on the monotonic clock when
// t carries a reading of it (every time.Now() does), on the wall clock
// otherwise (a time built by time.Unix, as tests do).
func monoNanos(t time.Time) int64 { return int64(t.Sub(monoBase)) }
