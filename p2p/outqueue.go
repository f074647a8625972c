package p2p

import "sync"

// outQueue is one bounded outgoing queue (one peer, one kind). The driver
// pushes without ever blocking; the writer goroutine drains it.
type outQueue struct {
	mu        sync.Mutex
	frames    [][]byte
	bytes     int
	maxFrames int
	maxBytes  int
}

// push enqueues frame or reports false if the queue is full.
func (q *outQueue) push(frame []byte) bool {
	q.mu.Lock()
	if len(q.frames) >= q.maxFrames || q.bytes+len(frame) > q.maxBytes {
		q.mu.Unlock()
		return false
	}
	q.frames = append(q.frames, frame)
	q.bytes += len(frame)
	q.mu.Unlock()
	return true
}

// take removes and returns every queued frame.
func (q *outQueue) take(dst [][]byte) [][]byte {
	q.mu.Lock()
	dst = append(dst[:0], q.frames...)
	clear(q.frames)
	q.frames = q.frames[:0]
	q.bytes = 0
	q.mu.Unlock()
	return dst
}

func (q *outQueue) drop() int {
	q.mu.Lock()
	n := len(q.frames)
	recycleFrames(q.frames)
	q.frames = q.frames[:0]
	q.bytes = 0
	q.mu.Unlock()
	return n
}

func (q *outQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.frames)
}
