package store_test

import (
	"testing"

	"github.com/roster-dev/roster/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.OpenSQLite)
}
