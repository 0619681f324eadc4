package store

import "time"

// SetBackfillOpened sets what BackfillDims runs once it has opened a day
// to writes and before it reads the day's raw rows; nil restores nothing.
func SetBackfillOpened(f func(day time.Time)) func() {
	old := backfillOpened
	backfillOpened = f
	return func() { backfillOpened = old }
}

// SetBackfillRowsPerTx sets how many rollup rows a backfill transaction
// writes; it returns the function that restores the default.
func SetBackfillRowsPerTx(n int) func() {
	old := backfillRowsPerTx
	backfillRowsPerTx = n
	return func() { backfillRowsPerTx = old }
}

// SetCostChunk sets how many clicks a SpreadCost transaction changes; it
// returns the function that restores the default.
func SetCostChunk(n int) func() {
	old := costChunk
	costChunk = n
	return func() { costChunk = old }
}
