//go:build race

package browser

// raceDetector: the race detector slows every goroutine of the server
// several times over, so an input→frame figure from such a build says
// nothing about the requirement; the test logs it and does not judge it
// (.ci/run runs the test once more without -race, alone, to judge it).
const raceDetector = true
