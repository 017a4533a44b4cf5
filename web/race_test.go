//go:build race

package web_test

// raceEnabled: the race detector multiplies memory and time, so the
// memory test does not measure under it.
const raceEnabled = true
