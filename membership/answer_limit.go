package membership

import "github.com/grapevine-p2p/grapevine/core"

// Answering state requests. A full-state request costs its sender a few
// bytes (a record with the request flag and any number of entries, none
// required), and its answer costs this member its whole view: every
// member encoded, about 120 bytes each, 60 KB at n = 500. Answered without
// limit, one hostile member asking in a loop (the transport lets a peer
// send thousands of frames a second) would spend this member's CPU and
// upload thousands of times faster than its own. So a member is answered
// at most once per Config.StateAnswerGap ticks; its requests in between
// are applied (their entries are news like any other) but not answered,
// and counted in Stats.StateAnswersLimited. Honest members never ask one
// member that often: a joiner's follow-ups are ProbeInterval/2 ticks
// apart at the closest, its retries JoinRetryInterval ticks, and periodic
// exchanges tens of seconds.

// maxStateAnswerMemory bounds the members whose last answer is
// remembered. Entries older than the gap are forgotten first; while every
// remembered answer is younger (that many distinct members asked within
// the gap), new requesters are not answered until one ages out.
const maxStateAnswerMemory = 1024

// mayAnswerState reports whether a state request from member from may be
// answered now, and if so records the answer.
func (m *Memberlist) mayAnswerState(from core.NodeID) bool {
	gap := uint64(m.cfg.StateAnswerGap)
	if gap == 0 {
		return true
	}
	last, known := m.stateAnswers[from]
	if known && m.tick < last+gap {
		m.stats.StateAnswersLimited++
		return false
	}
	if !known && len(m.stateAnswers) >= maxStateAnswerMemory {
		for id, at := range m.stateAnswers {
			if at+gap <= m.tick {
				delete(m.stateAnswers, id)
			}
		}
		if len(m.stateAnswers) >= maxStateAnswerMemory {
			m.stats.StateAnswersLimited++
			return false
		}
	}
	if m.stateAnswers == nil {
		m.stateAnswers = make(map[core.NodeID]uint64)
	}
	m.stateAnswers[from] = m.tick
	return true
}
