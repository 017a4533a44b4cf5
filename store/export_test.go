package store

// SetAfterFlush makes c's flushes run f after their statement; an error from
// f stands for a flush that committed but whose answer was lost.
func SetAfterFlush(c *TrafficCounter, f func() error) { c.afterFlush = f }
