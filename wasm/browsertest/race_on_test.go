//go:build race

package browsertest

// raceDetector reports whether the tests run under the race detector.
const raceDetector = true
