package store

import "time"

// SetBackfillOpened sets what BackfillDims runs once it has opened a day
// to writes and before it reads the day's raw rows; nil restores nothing.
func SetBackfillOpened(f func(day time.Time)) func() {
	old := backfillOpened
	backfillOpened = f
	return func() { backfillOpened = old }
}
